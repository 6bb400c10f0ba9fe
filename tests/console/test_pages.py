"""The console over HTTP, signed in through Cognito: tenancy on every shop route, CSRF, saving versions,
form edits, test sends kept out of KPIs, template refusals, and both languages."""

from __future__ import annotations

import re

import pytest

from tests.console.conftest import PASSWORD, SEED_EMAIL, SEED_LINE, SHOP_A, SHOP_B, Browserless

pytestmark = pytest.mark.slow

# Every shop-scoped route of the console (GET pages and POST forms), with ids that exist in both shops.
SHOP_ROUTES = [
    ("GET", "/console/shops/{shop}"),
    ("GET", "/console/shops/{shop}/scenarios/cart-abandonment"),
    ("GET", "/console/shops/{shop}/scenarios/cart-abandonment?from=1&to=1"),
    ("GET", "/console/shops/{shop}/scenarios/cart-abandonment/audience"),
    ("GET", "/console/shops/{shop}/scenarios/cart-abandonment/preview?customer=c1"),
    ("GET", "/console/shops/{shop}/templates"),
    ("GET", "/console/shops/{shop}/templates/cart-abandonment-1"),
    ("GET", "/console/shops/{shop}/report"),
    ("GET", "/console/shops/{shop}/messages"),
    ("POST", "/console/shops/{shop}/scenarios/cart-abandonment/enabled"),
    ("POST", "/console/shops/{shop}/scenarios/cart-abandonment/yaml"),
    ("POST", "/console/shops/{shop}/scenarios/cart-abandonment/form"),
    ("POST", "/console/shops/{shop}/scenarios/cart-abandonment/test-send"),
    ("POST", "/console/shops/{shop}/templates/cart-abandonment-1"),
]


@pytest.fixture(scope="module")
def hanako(console_stack):
    return Browserless(console_stack, "hanako")


@pytest.fixture(scope="module")
def bob(console_stack):
    return Browserless(console_stack, "bob")


def test_signed_out_every_page_goes_to_sign_in(console_stack):
    import requests

    for method, route in SHOP_ROUTES:
        r = requests.request(
            method, console_stack.api_url + route.format(shop=SHOP_A), allow_redirects=False, timeout=30
        )
        assert r.status_code == 303 and r.headers["Location"] == "/console/login", route
    assert requests.get(f"{console_stack.api_url}/console/login", timeout=30).status_code == 200


def test_a_wrong_password_is_refused_without_a_session(console_stack):
    import requests

    r = requests.post(
        f"{console_stack.api_url}/console/login",
        data={"username": "hanako", "password": "wrong-Password-1"},
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 401
    assert "kaeri_console" not in r.headers.get("Set-Cookie", "")
    assert "ユーザー名またはパスワードが正しくありません" in r.text


def test_the_session_cookie_is_http_only_lax_and_scoped_to_the_console(console_stack):
    import requests

    r = requests.post(
        f"{console_stack.api_url}/console/login",
        data={"username": "hanako", "password": PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("kaeri_console=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie


def test_a_marketer_of_shop_b_gets_404_on_every_shop_a_route(console_stack, bob, hanako):
    from kaeri.scenarios.store import ScenarioStore

    before = ScenarioStore(console_stack.clients).get(SHOP_A, "cart-abandonment")
    csrf = bob.csrf(f"/console/shops/{SHOP_B}")
    for method, route in SHOP_ROUTES:
        path = route.format(shop=SHOP_A)
        if method == "GET":
            r = bob.get(path)
        else:
            r = bob.post(
                path,
                {
                    "csrf": csrf,
                    "enabled": "0",
                    "yaml": "id: x",
                    "step": "email-reminder",
                    "customer": "c1",
                    "recipient": f"email:{SEED_EMAIL}",
                    "action": "save",
                    "source": "---\nid: cart-abandonment-1\n---\n=== ja sms\nhi",
                },
            )
        assert r.status_code == 404, (method, path, r.status_code)
        assert "cart-abandonment" not in r.text and "Cart abandonment" not in r.text
        # The same route of a shop that does not exist answers the same.
        missing = route.format(shop="no-such-shop")
        assert (bob.get(missing) if method == "GET" else bob.post(missing, {"csrf": csrf})).status_code == 404
    # and their own shop opens
    assert bob.get(f"/console/shops/{SHOP_B}").status_code == 200
    after = ScenarioStore(console_stack.clients).get(SHOP_A, "cart-abandonment")
    assert (after.version, after.enabled) == (before.version, before.enabled)


def test_a_form_without_the_session_csrf_token_changes_nothing(console_stack, hanako, bob):
    from kaeri.scenarios.store import ScenarioStore

    path = f"/console/shops/{SHOP_A}/scenarios/welcome/enabled"
    assert hanako.post(path, {"enabled": "0"}).status_code == 400
    assert (
        hanako.post(path, {"enabled": "0", "csrf": bob.csrf(f"/console/shops/{SHOP_B}")}).status_code == 400
    )
    assert ScenarioStore(console_stack.clients).get(SHOP_A, "welcome").enabled is True


def test_disable_and_enable_from_the_list(console_stack, hanako):
    from kaeri.scenarios.store import ScenarioStore

    path = f"/console/shops/{SHOP_A}/scenarios/welcome/enabled"
    csrf = hanako.csrf(f"/console/shops/{SHOP_A}")
    r = hanako.post(path, {"enabled": "0", "csrf": csrf})
    assert r.status_code == 303
    assert ScenarioStore(console_stack.clients).get(SHOP_A, "welcome").enabled is False
    page = hanako.get(r.headers["Location"]).text
    assert "無効にしました" in page
    hanako.post(path, {"enabled": "1", "csrf": csrf})
    assert ScenarioStore(console_stack.clients).get(SHOP_A, "welcome").enabled is True


def test_the_form_edits_make_a_new_version_and_bad_values_name_the_field(console_stack, hanako):
    from kaeri.scenarios.store import ScenarioStore

    store = ScenarioStore(console_stack.clients)
    before = store.get(SHOP_A, "winback")
    path = f"/console/shops/{SHOP_A}/scenarios/winback"
    csrf = hanako.csrf(path)
    r = hanako.post(f"{path}/form", {"csrf": csrf, "holdout_percent": "150"})
    assert r.status_code == 422
    assert "holdout_percent" in r.text
    assert store.get(SHOP_A, "winback").version == before.version
    r = hanako.post(
        f"{path}/form",
        {"csrf": csrf, "holdout_percent": "20", "reentry_policy": "once_per", "reentry_days": "60"},
    )
    assert r.status_code == 303
    after = store.get(SHOP_A, "winback")
    assert after.version == before.version + 1
    assert after.scenario.holdout_percent == 20 and after.scenario.reentry.days == 60
    assert after.scenario.steps == before.scenario.steps


def test_a_yaml_error_is_placed_at_its_line_and_column(console_stack, hanako):
    path = f"/console/shops/{SHOP_A}/scenarios/birthday"
    csrf = hanako.csrf(path)
    r = hanako.post(f"{path}/yaml", {"csrf": csrf, "yaml": "id: birthday\nname: [unclosed\n"})
    assert r.status_code == 422
    assert re.search(r'data-line="\d+"', r.text)
    assert "(yaml)" in r.text


def test_a_test_send_reaches_only_a_seed_recipient_and_is_never_counted(console_stack, hanako):
    from kaeri.analytics.reader import KpiReader
    from kaeri.analytics.summary import compute

    path = f"/console/shops/{SHOP_A}/scenarios/cart-abandonment"
    csrf = hanako.csrf(f"{path}/preview?customer=c6")
    before = compute(KpiReader(console_stack.clients).read(SHOP_A, until=console_stack.now()))
    refused = hanako.post(
        f"{path}/test-send",
        {"csrf": csrf, "customer": "c6", "step": "line-reminder", "recipient": "email:someone@else.example"},
    )
    assert refused.status_code == 400 and "テスト用宛先ではありません" in refused.text
    r = hanako.post(
        f"{path}/test-send",
        {"csrf": csrf, "customer": "c6", "step": "line-reminder", "recipient": f"line:{SEED_LINE}"},
    )
    assert r.status_code == 200, r.text
    assert SEED_LINE in r.text
    assert any(p.to == SEED_LINE for p in console_stack.line.received), console_stack.line.received
    after = compute(KpiReader(console_stack.clients).read(SHOP_A, until=console_stack.now()))
    assert after.scenarios["cart-abandonment"].funnel.sent == before.scenarios["cart-abandonment"].funnel.sent


def test_a_template_that_would_render_blank_is_refused(console_stack, hanako):
    from kaeri.delivery.template_store import TemplateStore

    path = f"/console/shops/{SHOP_A}/templates/winback-1"
    page = hanako.get(path).text
    source = re.search(r'<textarea name="source"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    import html

    source = html.unescape(source)
    csrf = hanako.csrf(path)
    broken = re.sub(r"(=== ja sms\n)[^=]*", r"\1{{ customer.nickname }}\n", source)
    r = hanako.post(path, {"csrf": csrf, "action": "save", "source": broken})
    assert r.status_code == 422 and "nickname" in r.text
    assert TemplateStore(console_stack.clients.table("config")).get(SHOP_A, "winback-1").version == 0
    r = hanako.post(
        path,
        {
            "csrf": csrf,
            "action": "save",
            "source": source.replace("\n=== ja sms", "\n=== ja sms\n【Shop A】", 1),
        },
    )
    assert r.status_code == 303
    assert (
        TemplateStore(console_stack.clients.table("config")).get(SHOP_A, "winback-1", max_age=0).version == 1
    )


def test_an_english_marketer_reads_english(console_stack):
    alice = Browserless(console_stack, "alice")
    page = alice.get(f"/console/shops/{SHOP_A}/report").text
    assert "Funnels per scenario (step order)" in page and "レポート" not in page


def test_static_assets_ship_with_the_function_and_nothing_else_is_served(hanako):
    css = hanako.get("/console/static/console.css")
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    assert hanako.get("/console/static/..%2Fapp.py").status_code == 404
    assert hanako.get("/console/static/app.py").status_code == 404


# ---------------------------------------------------------------- scheduled scenarios


def _schedule(stack, scenario_id: str):
    from kaeri.aws import ClientError

    try:
        return stack.clients.scheduler.get_schedule(Name=f"kaeri-{SHOP_A}-{scenario_id}", GroupName="kaeri")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ResourceNotFoundException"
        return None


def test_enabling_a_scheduled_scenario_creates_its_schedule_and_disabling_pauses_it(console_stack, hanako):
    import os

    path = f"/console/shops/{SHOP_A}/scenarios/points-statement/enabled"
    assert _schedule(console_stack, "points-statement") is None
    csrf = hanako.csrf(f"/console/shops/{SHOP_A}")
    r = hanako.post(path, {"enabled": "1", "csrf": csrf})
    assert r.status_code == 303, r.text
    schedule = _schedule(console_stack, "points-statement")
    assert schedule["ScheduleExpression"] == "cron(0 10 1 * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Asia/Tokyo"
    assert schedule["State"] == "ENABLED"
    assert schedule["Target"]["RoleArn"] == os.environ["KAERI_SCHEDULE_ROLE_ARN"]
    assert schedule["Target"]["Arn"].endswith(":function:kaeri-evaluate-schedule")
    page = hanako.get(r.headers["Location"]).text
    assert "cron(0 10 1 * ? *)" in page and "運用担当" not in page

    r = hanako.post(path, {"enabled": "0", "csrf": csrf})
    assert r.status_code == 303
    # As `kaeri scenarios disable`: the schedule stays, paused, so it fires nothing.
    assert _schedule(console_stack, "points-statement")["State"] == "DISABLED"


def test_enabling_a_date_scenario_schedules_its_daily_run_in_its_time_zone(console_stack, hanako):
    csrf = hanako.csrf(f"/console/shops/{SHOP_A}")
    r = hanako.post(f"/console/shops/{SHOP_A}/scenarios/birthday/enabled", {"enabled": "1", "csrf": csrf})
    assert r.status_code == 303, r.text
    schedule = _schedule(console_stack, "birthday")
    assert schedule["ScheduleExpression"] == "cron(5 0 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Asia/Tokyo"
    assert schedule["State"] == "ENABLED"


def test_saving_a_new_cron_moves_the_schedule(console_stack, hanako):
    from kaeri.scenarios.source import to_yaml
    from kaeri.scenarios.store import ScenarioStore

    store = ScenarioStore(console_stack.clients)
    path = f"/console/shops/{SHOP_A}/scenarios/points-statement"
    csrf = hanako.csrf(f"/console/shops/{SHOP_A}")
    assert hanako.post(f"{path}/enabled", {"enabled": "1", "csrf": csrf}).status_code == 303
    before = store.get(SHOP_A, "points-statement")
    text = to_yaml(before.scenario, concise=True)
    assert "0 10 1 * ? *" in text
    r = hanako.post(f"{path}/yaml", {"csrf": csrf, "yaml": text.replace("0 10 1 * ? *", "30 9 2 * ? *")})
    assert r.status_code == 303, r.text
    assert store.get(SHOP_A, "points-statement").version == before.version + 1
    schedule = _schedule(console_stack, "points-statement")
    assert schedule["ScheduleExpression"] == "cron(30 9 2 * ? *)"
    assert schedule["State"] == "ENABLED"
    assert f"version {before.version + 1}" in schedule["Description"]


def test_when_scheduler_refuses_nothing_changes_and_the_marketer_is_told(console_stack, hanako, monkeypatch):
    import os

    from kaeri.scenarios.source import to_yaml
    from kaeri.scenarios.store import ScenarioStore
    from kaeri_ops.local import iam

    store = ScenarioStore(console_stack.clients)
    # The console's role may no longer hand Scheduler the scenario role: a real AccessDenied.
    assert iam._resources is not None
    monkeypatch.delitem(iam._resources.roles, os.environ["KAERI_SCHEDULE_ROLE_ARN"])
    csrf = hanako.csrf(f"/console/shops/{SHOP_A}")
    assert store.get(SHOP_A, "points-expiry").enabled is False
    r = hanako.post(
        f"/console/shops/{SHOP_A}/scenarios/points-expiry/enabled", {"enabled": "1", "csrf": csrf}
    )
    assert r.status_code == 503
    assert "スケジュールを更新できなかった" in r.text and "AccessDenied" in r.text
    assert store.get(SHOP_A, "points-expiry").enabled is False
    assert _schedule(console_stack, "points-expiry") is None

    path = f"/console/shops/{SHOP_A}/scenarios/points-statement"
    before = store.get(SHOP_A, "points-statement")
    text = to_yaml(before.scenario, concise=True).replace("30 9 2 * ? *", "0 8 3 * ? *")
    r = hanako.post(f"{path}/yaml", {"csrf": csrf, "yaml": text})
    assert r.status_code == 503
    assert "0 8 3 * ? *" in r.text  # the edit is still in the editor
    assert store.get(SHOP_A, "points-statement").version == before.version
    assert _schedule(console_stack, "points-statement")["ScheduleExpression"] == "cron(30 9 2 * ? *)"
