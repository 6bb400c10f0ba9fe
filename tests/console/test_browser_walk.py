"""The marketer's walk in a real browser (Debian's chromium driven by Playwright), screenshots of each page
in build/console/ for review (docs/console.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.console.conftest import PASSWORD, SEED_EMAIL, SHOP_A

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[2] / "build" / "console"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


def whole_page_in_view(page) -> None:
    """Make the viewport as tall as the page. Chromium does not paint sandboxed (opaque-origin, so
    out-of-process) email frames that lie below the viewport, and a full-page screenshot then shows
    them blank: with the whole page in view every frame is painted as a marketer scrolling sees it."""
    size = page.viewport_size
    height = page.evaluate("Math.ceil(document.documentElement.scrollHeight)")
    if height > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": height})
        page.wait_for_timeout(300)  # let the frames paint (a settle delay, not an assertion on time)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    whole_page_in_view(page)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(size)


def painted(page, element) -> int:
    """The PNG size of what the page shows in an element's box: a blank white box compresses to a
    few hundred bytes, a rendered email to many kilobytes."""
    box = element.bounding_box()
    return len(page.screenshot(clip=box))


def test_a_marketer_walks_the_console(console_stack, browser):
    from playwright.sync_api import expect

    from kaeri.analytics.reader import KpiReader
    from kaeri.scenarios.store import ScenarioStore

    base = f"{console_stack.api_url}/console"
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page.set_default_timeout(60_000)

    # Signed out, the console sends the marketer to the sign-in page.
    page.goto(f"{base}/shops/{SHOP_A}")
    expect(page).to_have_url(re.compile(r"/console/login$"))
    shot(page, "login")
    page.fill("input[name=username]", "hanako")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    # Scenarios: status, version, the last 30 days.
    expect(page).to_have_url(re.compile(rf"/console/shops/{SHOP_A}$"))
    row = page.locator("tr[data-scenario=cart-abandonment]")
    expect(row).to_contain_text("有効")
    expect(row).to_contain_text("v1")
    expect(page.locator("#scenarios thead")).to_contain_text("売上")
    shot(page, "scenarios")

    # Scenario: the journey as a timeline; edit its YAML.
    row.locator("a").first.click()
    expect(page.locator("ol.timeline li[data-step=wait-1h]")).to_contain_text("1h")
    expect(page.locator("ol.timeline li[data-step=email-reminder]")).to_contain_text("cart-abandonment-1")
    shot(page, "scenario")
    yaml = page.locator("#yaml")
    text = yaml.input_value()
    assert "duration: 1h" in text
    yaml.fill(text.replace("duration: 1h", "duration: 1 hour", 1))
    page.click("#save-yaml")
    problem = page.locator("li.problem").first
    expect(problem).to_contain_text("steps.0.wait.duration")
    expect(problem).to_contain_text("'1 hour' is not a duration")
    line = int(problem.get_attribute("data-line"))
    assert page.locator("#yaml").input_value().splitlines()[line - 1].strip() == "duration: 1 hour"
    expect(page.locator(".gutter .bad")).to_have_text(str(line))
    shot(page, "scenario-yaml-error")
    assert ScenarioStore(console_stack.clients).get(SHOP_A, "cart-abandonment").version == 1

    yaml = page.locator("#yaml")
    yaml.fill(yaml.input_value().replace("duration: 1 hour", "duration: 30m", 1))
    page.click("#save-yaml")
    expect(page.locator(".notice")).to_contain_text("版 2")
    expect(page.locator("ol.timeline li[data-step=wait-1h]")).to_contain_text("30m")
    page.click("a.diff-link")
    expect(page.locator("pre.diff .d-add")).to_contain_text("duration: 30m")
    expect(page.locator("pre.diff .d-del")).to_contain_text("duration: 1h")
    shot(page, "scenario-v2-diff")
    stored = ScenarioStore(console_stack.clients)
    assert stored.get(SHOP_A, "cart-abandonment").version == 2
    assert (
        stored.version(SHOP_A, "cart-abandonment", 1).steps[0].wait.duration == "1h"
    )  # running journeys keep v1

    # Audience before enabling: who matches now, with a sample.
    page.click("text=対象者を確認")
    count = page.locator("#audience-count")
    expect(count).to_contain_text("現在 3 人が対象です（8 人中）")  # c5, c6 and c8 left items in their carts
    expect(page.locator("#sample")).to_contain_text("c8")
    shot(page, "audience")

    # Preview for the customer with an item in the cart: times, reasons, messages as they arrive.
    page.locator("#sample tr", has_text="c8").locator("a", has_text="プレビュー").click()
    steps = page.locator("#preview-steps")
    expect(steps).to_contain_text("wait-1h")
    expect(steps).to_contain_text("email-reminder")
    expect(steps).to_contain_text("JST")
    frame = page.frame_locator("iframe.email").first
    expect(frame.locator("body")).to_contain_text("ほうじ茶")
    emails = page.locator("iframe.email")
    assert emails.count() >= 2  # the reminder and the follow-ups, each as it would arrive
    for i in range(emails.count()):
        body = page.frame_locator("iframe.email").nth(i).locator("body")
        expect(body).to_contain_text("ほうじ茶")
        assert body.inner_text().strip(), f"email frame {i + 1} shows nothing"
    size = page.viewport_size
    whole_page_in_view(page)
    sizes = [painted(page, emails.nth(i)) for i in range(emails.count())]
    assert all(s > 4000 for s in sizes), f"email frames painted blank in the screenshot: PNG bytes {sizes}"
    page.set_viewport_size(size)
    shot(page, "preview")

    # Test send to the shop's seed inbox; never counted in KPIs.
    page.select_option("select[name=recipient]", f"email:{SEED_EMAIL}")
    page.click("#send-test")
    expect(page.locator(".notice")).to_contain_text(SEED_EMAIL)
    shot(page, "test-send")
    items = console_stack.clients.table("messages").scan()["Items"]
    tests = [i for i in items if i.get("test")]
    assert len(tests) == 1 and tests[0]["recipient"] == SEED_EMAIL and tests[0]["status"] == "sent"
    counted = KpiReader(console_stack.clients).read(SHOP_A, until=console_stack.now()).messages
    assert tests[0]["message_id"] not in {m.message_id for m in counted}
    assert any(m.scenario_id == "cart-abandonment" for m in counted)  # the journey's own sends are

    # A misspelled template id is refused, naming the line and the id it meant.
    page.goto(f"{base}/shops/{SHOP_A}/scenarios/cart-abandonment")
    yaml = page.locator("#yaml")
    yaml.fill(yaml.input_value().replace("template: cart-abandonment-1", "template: cart-abandonmnet-1", 1))
    page.click("#save-yaml")
    problem = page.locator("li.problem").first
    expect(problem).to_contain_text("cart-abandonmnet-1")
    expect(problem).to_contain_text("cart-abandonment-1")
    expect(problem).to_contain_text("行")
    shot(page, "scenario-template-refused")
    assert ScenarioStore(console_stack.clients).get(SHOP_A, "cart-abandonment").version == 2

    # Templates: a live render for a chosen customer; a save that would fail is refused.
    page.goto(f"{base}/shops/{SHOP_A}/templates")
    expect(page.locator("#templates")).to_contain_text("cart-abandonment-1")
    shot(page, "templates")
    page.goto(f"{base}/shops/{SHOP_A}/templates/cart-abandonment-1?customer=c8&channel=email")
    expect(page.frame_locator("iframe.email").first.locator("body")).to_contain_text("ほうじ茶")
    source = page.locator("#source")
    source.fill(source.input_value().replace("{{ line.price | money }}", "{{ line.price | mony }}", 1))
    page.click("#save-template")
    expect(page.locator(".error").first).to_contain_text("mony")
    shot(page, "template-refused")

    # Report: F2 by cohort and category, funnels in step order, lift; the message log.
    page.goto(f"{base}/shops/{SHOP_A}/report")
    expect(page.locator("h1")).to_contain_text("レポート")
    funnel = page.locator("section.funnel[data-scenario=cart-abandonment]")
    expect(funnel).to_contain_text("email-reminder")
    expect(funnel.locator(".small-holdout")).to_be_visible()
    expect(page.locator("table.f2").first).to_contain_text("2025-")
    shot(page, "report")
    page.goto(f"{base}/shops/{SHOP_A}/messages")
    expect(page.locator("#messages tr.test")).to_contain_text(SEED_EMAIL)
    shot(page, "messages")


def test_the_console_speaks_english_to_an_english_marketer(console_stack, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{console_stack.api_url}/console/login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Scenarios")
    expect(page.locator("#scenarios thead")).to_contain_text("Revenue")
    shot(page, "scenarios-en")
