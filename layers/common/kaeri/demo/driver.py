"""`kaeri demo`: start the local stack, install every built-in scenario and template, drive a shop
through the real HTTP API day by day, let customers respond to what they receive, then measure.

Each day has two activity slots (10:00 and 20:00 JST). At each slot the manual clock moves there
(running every journey wait and schedule due on the way), the slot's Segment calls go to POST
/v1/batch, and the stack drains. After the last slot, the messages sent that day are read from the
message log and customers respond: an email is delivered and maybe opened (an SES-shaped feedback event
handed to the send-feedback function, as SNS would), a link is maybe clicked (GET /v1/r/{token} on the
API, which records Message Link Clicked). A response raises the customer's chance to visit and buy.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kaeri.demo.shop import SLOTS, SyntheticShop

START = datetime(2025, 1, 6, 0, 0, tzinfo=UTC)  # a Monday; slot hours are JST (UTC+9)
JST = timedelta(hours=9)
BATCH = 100  # calls per POST /v1/batch (well under 500 KB)


@dataclass
class DemoOptions:
    days: int = 120
    customers: int = 2000
    seed: int = 1
    data: Path | None = None
    out: Path = Path("report.html")
    json: bool = False
    quiet: bool = False


@dataclass
class DemoResult:
    kpis: dict[str, Any]
    report: Path
    seconds: float
    calls: int
    responses: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class DemoError(RuntimeError):
    pass


class Http:
    """The shop's side of the wire: the Segment and catalog endpoints with the write key."""

    def __init__(self, api_url: str, write_key: str) -> None:
        import requests

        self.api_url = api_url
        self.session = requests.Session()
        self.session.auth = (write_key, "")
        self.calls = 0

    def batch(self, calls: list[dict[str, Any]]) -> None:
        for i in range(0, len(calls), BATCH):
            chunk = calls[i : i + BATCH]
            response = self.session.post(f"{self.api_url}/v1/batch", json={"batch": chunk}, timeout=60)
            if response.status_code != 200:
                raise DemoError(f"POST /v1/batch answered {response.status_code}: {response.text[:300]}")
            self.calls += len(chunk)

    def catalog(self, products: list[dict[str, Any]]) -> None:
        for i in range(0, len(products), 100):
            response = self.session.put(
                f"{self.api_url}/v1/catalog/products", json={"products": products[i : i + 100]}, timeout=60
            )
            if response.status_code != 200:
                raise DemoError(
                    f"PUT /v1/catalog/products answered {response.status_code}: {response.text[:300]}"
                )

    def click(self, url: str) -> bool:
        response = self.session.get(url, allow_redirects=False, timeout=30)
        return response.status_code in (301, 302, 303, 307, 308)


def install(stack: Any, warnings: list[str]) -> list[str]:
    """Push and enable every built-in scenario; push every default template. Returns enabled ids."""
    enabled: list[str] = []
    try:
        from kaeri.delivery.template_store import TemplateStore
        from kaeri.delivery.templates_engine import default_templates

        store = TemplateStore(stack.clients.table("config"))
        for template in default_templates().values():
            store.push(stack.shop_id, template, author="demo")
    except Exception as exc:  # the delivery engine may not be complete yet
        warnings.append(
            f"templates not installed ({type(exc).__name__}: {exc}); sends use packaged defaults if any"
        )
    try:
        from kaeri.scenarios.presets import presets
        from kaeri.scenarios.store import ScenarioStore

        scenarios = ScenarioStore(stack.clients)
        for scenario in presets("ja"):
            scenarios.push(stack.shop_id, scenario)
            scenarios.set_enabled(stack.shop_id, scenario.id, True)
            enabled.append(scenario.id)
    except Exception as exc:
        warnings.append(f"scenarios not installed ({type(exc).__name__}: {exc}); no messages will be sent")
    return enabled


class Responder:
    """Simulated customers reacting to the messages Kaeri sent them."""

    OPEN = {"email": 0.45}
    CLICK = {"email": 0.35, "line": 0.22, "sms": 0.08}  # email: share of opens; LINE/SMS: share of sends

    def __init__(self, stack: Any, http: Http, rng: random.Random, warnings: list[str]) -> None:
        self.stack = stack
        self.http = http
        self.rng = rng
        self.warnings = warnings
        self.seen: set[str] = set()
        self.counts = {"sent": 0, "feedback_events": 0, "clicks": 0}
        self.signer = self._signer()
        self.feedback = self._feedback_function()

    def _signer(self) -> Any:
        try:
            from kaeri.delivery.links import LinkSigner, signing_secret

            return LinkSigner(
                signing_secret(self.stack.settings, self.stack.clients.secretsmanager), self.stack.api_url
            )
        except Exception as exc:
            self.warnings.append(f"tracked links unavailable ({exc}); no clicks simulated")
            return None

    def _feedback_function(self) -> Any:
        from kaeri.topology import SEND_FEEDBACK

        if self.stack.runner.available(SEND_FEEDBACK):
            return SEND_FEEDBACK
        self.warnings.append(
            "functions/send/send_feedback.py missing: email deliveries and opens not simulated"
        )
        return None

    def sent_between(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        from kaeri.clock import iso

        table = self.stack.clients.table("messages")
        kwargs: dict[str, Any] = {
            "IndexName": "by_shop_time",
            "KeyConditionExpression": Key("shop_id").eq(self.stack.shop_id)
            & Key("created_at").between(iso(since), iso(until)),
        }
        items: list[dict[str, Any]] = []
        while True:
            page = table.query(**kwargs)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return [i for i in items if i.get("status") == "sent" and i["message_id"] not in self.seen]
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _ses_event(self, kind: str, item: dict[str, Any], at: datetime) -> dict[str, Any]:
        from kaeri.clock import iso

        mail = {
            "timestamp": iso(at),
            "messageId": item.get("provider_message_id") or item["message_id"],
            "source": self.stack.from_email,
            "destination": [item.get("address") or item.get("recipient") or ""],
            "tags": {"kaeri_message_id": [item["message_id"]], "kaeri_shop": [self.stack.shop_id]},
        }
        body: dict[str, Any] = {"eventType": kind, "mail": mail}
        if kind == "Delivery":
            body["delivery"] = {"timestamp": iso(at), "recipients": mail["destination"]}
        elif kind == "Open":
            body["open"] = {"timestamp": iso(at), "userAgent": "demo", "ipAddress": "127.0.0.1"}
        return {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "Sns": {"Type": "Notification", "Message": json.dumps(body), "Timestamp": iso(at)},
                }
            ]
        }

    def _send_feedback(self, kind: str, item: dict[str, Any], at: datetime) -> bool:
        if not self.feedback:
            return False
        try:
            self.stack.runner.invoke(self.feedback, self._ses_event(kind, item, at))
            self.counts["feedback_events"] += 1
            return True
        except Exception as exc:
            self.warnings.append(f"send-feedback refused a {kind} event ({exc}); feedback simulation stopped")
            self.feedback = None
            return False

    def _click(self, item: dict[str, Any]) -> bool:
        if not self.signer:
            return False
        from kaeri.delivery.links import RedirectClaim

        claim = RedirectClaim(
            shop_id=self.stack.shop_id,
            customer_id=str(item["customer_id"]),
            url=f"https://demo-shop.example/?utm_source=kaeri&m={item['message_id']}",
            message_id=str(item["message_id"]),
            channel=item.get("channel"),
        )
        if self.http.click(self.signer.redirect_url(claim)):
            self.counts["clicks"] += 1
            return True
        return False

    def respond(self, shop: SyntheticShop | _NoShop, since: datetime, until: datetime) -> None:
        now = self.stack.clock.now()
        for item in self.sent_between(since, until):
            self.seen.add(item["message_id"])
            self.counts["sent"] += 1
            channel = item.get("channel") or "email"
            engaged = False
            if channel == "email":
                self._send_feedback("Delivery", item, now)
                if self.rng.random() < self.OPEN["email"]:
                    engaged = True
                    self._send_feedback("Open", item, now)
                    if self.rng.random() < self.CLICK["email"]:
                        self._click(item)
            elif self.rng.random() < self.CLICK.get(channel, 0.1):
                engaged = self._click(item) or True
            shop.touch(str(item["customer_id"]), now, engaged)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def run(options: DemoOptions, console: Console | None = None) -> DemoResult:
    console = console or Console(stderr=options.json)
    began = time.perf_counter()
    warnings: list[str] = []
    try:
        from kaeri.local.stack import LocalStack
    except ImportError as exc:
        raise DemoError(f"the local stack (kaeri.local.stack) is not available: {exc}") from exc

    replay = None
    start = START
    if options.data:
        from kaeri.demo.retail import RetailReplay

        replay = RetailReplay.load(options.data, options.days, options.customers, options.seed)
        start = replay.start
    stack = LocalStack(
        clock="manual", start=start - timedelta(hours=1), shop_id="demo-shop", shop_name="Kaeri Demo Shop"
    )
    stack.start()
    timings: dict[str, float] = {"stack_start": time.perf_counter() - began}
    try:
        mark = time.perf_counter()
        enabled = install(stack, warnings)
        timings["install"] = time.perf_counter() - mark
        mark = time.perf_counter()
        http = Http(stack.api_url, stack.write_key)
        rng = random.Random(options.seed + 7)
        shop = SyntheticShop(options.customers, options.seed, start, options.days) if replay is None else None
        responder = Responder(stack, http, rng, warnings)
        with _progress(console) as progress:
            task = progress.add_task("setting up", total=options.days, status="")
            if shop is not None:
                http.catalog(shop.catalog_batch())
                http.batch(shop.existing_customers(stack.clock.now()))
            else:
                assert replay is not None
                http.catalog(replay.catalog())
            stack.drain()
            progress.update(task, description="simulating")
            for day in range(options.days):
                day_start = start + timedelta(days=day)
                for slot, hour in enumerate(SLOTS):
                    at = day_start + timedelta(hours=hour) - JST
                    if at > stack.clock.now():
                        stack.advance_to(at)
                    if shop is not None:
                        calls, catalog = shop.slot(day, slot, at)
                    else:
                        assert replay is not None
                        calls, catalog = replay.slot(day, slot, at)
                    if catalog:
                        http.catalog(catalog)
                    http.batch(calls)
                    stack.drain()
                if shop is not None:
                    responder.respond(shop, day_start - timedelta(days=1), start + timedelta(days=day + 1))
                else:
                    responder.respond(
                        _NoShop(), day_start - timedelta(days=1), start + timedelta(days=day + 1)
                    )
                progress.update(
                    task,
                    advance=1,
                    status=f"{day_start:%Y-%m-%d} · {http.calls:,} calls · {responder.counts['sent']:,} messages sent",
                )
        end = start + timedelta(days=options.days)
        stack.advance_to(end)
        responder.respond(shop or _NoShop(), end - timedelta(days=2), end)
        timings["simulate"] = time.perf_counter() - mark
        mark = time.perf_counter()
        from kaeri.analytics.reader import KpiReader
        from kaeri.analytics.report import render
        from kaeri.analytics.summary import compute, to_json

        kpis = compute(
            KpiReader(stack.clients).read(stack.shop_id, since=start - timedelta(days=1), until=end)
        )
        options.out.write_text(
            render(kpis, shop=f"{stack.shop_id} (demo, seed {options.seed})"), encoding="utf-8"
        )
        data = to_json(kpis)
        data["report"] = str(options.out)
        data["enabled_scenarios"] = enabled
        if not options.json:
            from kaeri.analytics.console import print_kpis

            print_kpis(kpis, console)
        timings["measure"] = time.perf_counter() - mark
        seconds = time.perf_counter() - began
        data["seconds"] = round(seconds, 1)
        data["timings"] = {k: round(v, 1) for k, v in timings.items()}
        data["calls"] = http.calls
        return DemoResult(data, options.out, seconds, http.calls, dict(responder.counts), warnings)
    finally:
        stack.stop()


class _NoShop:
    """Replayed customers do not change their orders in response to messages."""

    def touch(self, customer_id: str, at: datetime, engaged: bool) -> None:
        return None


def run_demo(options: DemoOptions) -> int:
    console = Console(stderr=options.json)
    # The handlers run in this process: keep their per-request logs out of the demo's output.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    logging.getLogger("kaeri").setLevel(logging.ERROR)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    try:
        # Handlers print metrics to stdout as Lambda does; with --json only the KPIs go there.
        with contextlib.redirect_stdout(sys.stderr if options.json else sys.stdout):
            result = run(options, console)
    except DemoError as exc:
        console.print(f"[red]demo stopped:[/red] {exc}")
        return 1
    for warning in dict.fromkeys(result.warnings):
        console.print(f"[yellow]note:[/yellow] {warning}")
    if options.json:
        sys.stdout.write(json.dumps(result.kpis, indent=2, ensure_ascii=False) + "\n")
    else:
        console.print(
            f"[green]done[/green] in {result.seconds:.0f} s: {result.calls:,} tracking calls, "
            f"{result.responses.get('sent', 0):,} messages sent, report written to {result.report}"
        )
    return 0
