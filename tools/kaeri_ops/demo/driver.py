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
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kaeri.aws import Key, all_items
from kaeri.delivery.links import LinkSigner, signing_secret
from kaeri.delivery.template_store import TemplateStore
from kaeri.delivery.templates_engine import default_templates
from kaeri.scenarios.store import ScenarioStore
from kaeri_ops.definitions.topology import SEND_FEEDBACK
from kaeri_ops.demo.shop import SLOTS, SyntheticShop
from kaeri_ops.scenarios.presets import presets

START = datetime(2025, 1, 6, 0, 0, tzinfo=UTC)  # a Monday; slot hours are JST (UTC+9)
JST = timedelta(hours=9)
BATCH = 100  # calls per POST /v1/batch (well under 500 KB)
HISTORY_DAYS = 400  # imported orders go back at most this far before day 0


@dataclass
class DemoOptions:
    days: int = 120
    customers: int = 2000
    seed: int = 1
    data: Path | None = None
    out: Path = Path("report.html")
    json: bool = False
    quiet: bool = False
    # Keep the stack up afterwards on this port, so the demo shop can be opened in the console.
    serve_port: int | None = None


@dataclass
class DemoResult:
    kpis: dict[str, Any]
    report: Path
    seconds: float
    calls: int
    responses: dict[str, int] = field(default_factory=dict)


class DemoError(RuntimeError):
    pass


class Http:
    """The shop's side of the wire: the storefront's events with the (public) write key, the catalog
    feed from the shop's backend with the (secret) server key."""

    def __init__(self, api_url: str, write_key: str, server_key: str) -> None:
        import requests

        self.api_url = api_url
        self.session = requests.Session()
        self.session.auth = (write_key, "")
        self.server_auth = (server_key, "")
        self.calls = 0  # tracking events (Segment calls) sent
        self.requests = 0  # POST /v1/batch requests

    def batch(self, calls: list[dict[str, Any]]) -> None:
        """Send the calls, each with a messageId as Segment's SDKs give every call: numbered in sending
        order, so a seeded run sends the same events and messages every time (ids the API
        would draw at random change the order of same-moment items, and the simulated answers with it)."""
        for i in range(0, len(calls), BATCH):
            chunk = [
                {"messageId": f"demo-{self.calls + j:08d}", **call}
                for j, call in enumerate(calls[i : i + BATCH])
            ]
            response = self.session.post(f"{self.api_url}/v1/batch", json={"batch": chunk}, timeout=60)
            if response.status_code != 200:
                raise DemoError(f"POST /v1/batch answered {response.status_code}: {response.text[:300]}")
            self.calls += len(chunk)
            self.requests += 1

    def catalog(self, products: list[dict[str, Any]]) -> None:
        for i in range(0, len(products), 100):
            response = self.session.put(
                f"{self.api_url}/v1/catalog/products",
                json={"products": products[i : i + 100]},
                auth=self.server_auth,
                timeout=60,
            )
            if response.status_code != 200:
                raise DemoError(
                    f"PUT /v1/catalog/products answered {response.status_code}: {response.text[:300]}"
                )

    def click(self, url: str) -> bool:
        response = self.session.get(url, allow_redirects=False, timeout=30)
        return response.status_code in (301, 302, 303, 307, 308)


def install(stack: Any) -> list[str]:
    """Push every default template and every built-in scenario (not yet enabled). Returns their ids."""
    store = TemplateStore(stack.clients.table("config"))
    for template in default_templates().values():
        store.push(stack.shop_id, template, author="demo")
    scenarios = ScenarioStore(stack.clients)
    pushed: list[str] = []
    for scenario in presets("ja"):
        scenarios.push(stack.shop_id, scenario)
        pushed.append(scenario.id)
    return pushed


def enable(stack: Any, scenario_ids: list[str]) -> list[str]:
    """Enable the scenarios as `kaeri scenarios enable` does: the stored flag and, for schedule and
    date triggers, the EventBridge Scheduler schedule (without it they never run)."""
    from kaeri.journeys.schedule import sync_schedule

    scenarios = ScenarioStore(stack.clients)
    enabled = []
    for sid in scenario_ids:
        stored = scenarios.set_enabled(stack.shop_id, sid, True)
        sync_schedule(stack.clients, stack.shop_id, stored)
        enabled.append(sid)
    return enabled


def _answer_order(item: dict[str, Any]) -> tuple[str, ...]:
    step = str(item["message_id"]).rpartition(":")[2]
    return (str(item["created_at"]), str(item["customer_id"]), str(item.get("scenario_id")), step)


class Responder:
    """Simulated customers reacting to the messages Kaeri sent them."""

    OPEN = {"email": 0.45}
    CLICK = {"email": 0.35, "line": 0.22, "sms": 0.08}  # email: share of opens; LINE/SMS: share of sends

    def __init__(self, stack: Any, http: Http, rng: random.Random) -> None:
        self.stack = stack
        self.http = http
        self.rng = rng
        self.seen: set[str] = set()
        self.cursor: datetime | None = None  # messages created up to here have been answered
        self.counts = {"sent": 0, "feedback_events": 0, "clicks": 0, "message_reads": 0}
        self.signer = LinkSigner(signing_secret(stack.settings, stack.clients.secretsmanager), stack.api_url)

    def sent_between(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        from kaeri.clock import iso

        table = self.stack.clients.table("messages")

        def query(**request: Any) -> dict[str, Any]:
            self.counts["message_reads"] += 1  # pages read
            return table.query(**request)

        items = all_items(
            query,
            IndexName="by_shop_time",
            KeyConditionExpression=Key("shop_id").eq(self.stack.shop_id)
            & Key("created_at").between(iso(since), iso(until)),
        )
        sent = [i for i in items if i.get("status") == "sent" and i["message_id"] not in self.seen]
        # Answered in an order the run's randomness cannot change: the index keeps same-second items in
        # key order, and a journey's id depends on which of a customer's events arrived first.
        return sorted(sent, key=_answer_order)

    def _ses_event(self, kind: str, item: dict[str, Any], at: datetime) -> dict[str, Any]:
        from kaeri.clock import iso

        mail = {
            "timestamp": iso(at),
            "messageId": item.get("provider_message_id") or item["message_id"],
            "source": self.stack.from_email,
            "destination": [item.get("address") or item.get("recipient") or ""],
            "tags": {"kaeri_shop": [self.stack.shop_id]},
            # as SES event publishing does: the sent message's headers, ours among them
            "headers": [{"name": "X-Kaeri-Message", "value": f"{self.stack.shop_id}#{item['message_id']}"}],
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
        self.stack.runner.invoke(SEND_FEEDBACK, self._ses_event(kind, item, at))
        self.counts["feedback_events"] += 1
        return True

    def _click(self, item: dict[str, Any]) -> bool:
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

    def respond(self, shop: SyntheticShop | _NoShop) -> None:
        """Answer every message sent since the last call: one index query, whatever the shop's size."""
        now = self.stack.clock.now()
        since = self.cursor or now - timedelta(days=1)
        items = self.sent_between(since, now)
        # the message log's time is second-precision: re-read the last second next time (seen filters it)
        self.cursor = now - timedelta(seconds=1)
        for item in items:
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


def _steps(start: datetime, days: int) -> list[tuple[int, int, datetime]]:
    """(day, slot, time) of every half-day step: visits are sent at 10:00 and 20:00 JST."""
    return [
        (day, slot, start + timedelta(days=day, hours=hour) - JST)
        for day in range(days)
        for slot, hour in enumerate(SLOTS)
    ]


def run(options: DemoOptions, console: Console | None = None) -> DemoResult:
    console = console or Console(stderr=options.json)
    began = time.perf_counter()
    from kaeri_ops.local.stack import EmbeddedStack

    replay = None
    start = START
    if options.data:
        from kaeri_ops.demo.retail import RetailReplay

        replay = RetailReplay.load(options.data, options.days, options.customers, options.seed)
        start = replay.start
    stack = EmbeddedStack(
        clock="manual",
        start=start - timedelta(hours=1),
        shop_id="demo-shop",
        shop_name="Kaeri Demo Shop",
        port=options.serve_port or 0,
    )
    stack.start()
    timings: dict[str, float] = {"stack_start": time.perf_counter() - began}
    try:
        mark = time.perf_counter()
        pushed = install(stack)
        timings["install"] = time.perf_counter() - mark
        mark = time.perf_counter()
        http = Http(stack.api_url, stack.write_key, stack.server_key)
        rng = random.Random(options.seed + 7)
        shop = SyntheticShop(options.customers, options.seed, start, options.days) if replay is None else None
        responder = Responder(stack, http, rng)
        target: SyntheticShop | _NoShop = shop if shop is not None else _NoShop()
        tracking = {"history_events": 0, "visits": 0, "steps": 0, "clock_moves": 0}
        with _progress(console) as progress:
            task = progress.add_task("importing customers", total=options.days, status="")
            # The shop's existing customers and past orders go in before any scenario is enabled,
            # as a shop importing its history would do: old events must not start journeys.
            if shop is not None:
                http.catalog(shop.catalog_batch())
                history = shop.history()
                http.batch(history)
                tracking["history_events"] = len(history)
            else:
                assert replay is not None
                http.catalog(replay.catalog())
            stack.drain()
            enabled = enable(stack, pushed)
            timings["history"] = time.perf_counter() - mark
            mark = time.perf_counter()
            progress.update(task, description="simulating")
            day_done = -1
            for day, slot, at in _steps(start, options.days):
                if shop is not None:
                    visits, catalog = shop.slot(day, slot, at)
                    batches = [v.calls for v in visits]
                else:
                    assert replay is not None
                    calls, catalog = replay.slot(day, slot, at)
                    batches = [calls] if calls else []
                # Coarse steps: a half day with no visit and nothing due is skipped, not stepped through.
                if batches or catalog or _due_by(stack, at):
                    if at > stack.clock.now():
                        stack.advance_to(at)  # stops at every wait and schedule due on the way
                        tracking["clock_moves"] += 1
                    responder.respond(target)
                    if catalog:
                        http.catalog(catalog)
                    for calls in batches:  # one request per visit, as a browser session flushes its events
                        http.batch(calls)
                    tracking["visits"] += len(batches)
                    tracking["steps"] += 1
                    stack.drain()
                if day != day_done:
                    day_done = day
                    progress.update(
                        task,
                        completed=day + 1,
                        status=(
                            f"{at + JST:%Y-%m-%d} · {http.calls:,} events in {http.requests:,} requests"
                            f" · {responder.counts['sent']:,} messages sent"
                        ),
                    )
            end = start + timedelta(days=options.days)
            stack.advance_to(end)
            responder.respond(target)
        timings["simulate"] = time.perf_counter() - mark
        mark = time.perf_counter()
        from kaeri.analytics.archive_reader import kpi_reader
        from kaeri.analytics.report import render
        from kaeri.analytics.summary import compute, to_json

        # From the oldest imported order, so a customer who bought before day 0 is not a first-time buyer.
        since = start - timedelta(days=HISTORY_DAYS)
        # SQL over the stack's event archive (DuckDB), as the nightly report does.
        kpis = compute(kpi_reader(stack.clients).read(stack.shop_id, since=since, until=end))
        options.out.write_text(
            render(kpis, shop=f"{stack.shop_id} (demo, seed {options.seed})"), encoding="utf-8"
        )
        data = to_json(kpis)
        data["report"] = str(options.out)
        data["enabled_scenarios"] = enabled
        if not options.json:
            from kaeri_ops.kpis_view import print_kpis

            print_kpis(kpis, console)
        timings["measure"] = time.perf_counter() - mark
        seconds = time.perf_counter() - began
        tracking.update(
            events=http.calls,
            requests=http.requests,
            simulated_events=http.calls - tracking["history_events"],
            **({f"visits_{k}": v for k, v in shop.counts.items()} if shop is not None else {}),
        )
        data["seconds"] = round(seconds, 1)
        data["timings"] = {k: round(v, 1) for k, v in timings.items()}
        data["calls"] = http.calls
        data["tracking"] = tracking
        data["responses"] = dict(responder.counts)
        result = DemoResult(data, options.out, seconds, http.calls, dict(responder.counts))
        if options.serve_port:
            _serve(stack, result, console)
        return result
    finally:
        stack.stop()


def _serve(stack: Any, result: DemoResult, console: Console) -> None:
    """Print the demo's summary and the console's sign-in, then serve until Ctrl-C."""
    console.print(f"[green]done[/green] in {result.seconds:.0f} s; report written to {result.report}")
    console.print(
        f"Console: [bold]{stack.api_url}/console[/bold]  sign in as [bold]{stack.console_username}[/bold]"
        f" / [bold]{stack.console_password}[/bold] (shop {stack.shop_id}). Ctrl-C stops the stack."
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        console.print("stopped")


def _due_by(stack: Any, at: datetime) -> bool:
    due = stack.next_due()
    return due is not None and due <= at


class _NoShop:
    """Replayed customers do not change their orders in response to messages."""

    def touch(self, customer_id: str, at: datetime, engaged: bool) -> None:
        return None


class _Discard:
    """Where the in-process handlers' stdout goes (EMF metric lines, as Lambda would print them)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        return None


def run_demo(options: DemoOptions) -> int:
    # The console keeps the real stream: the handlers' own stdout is discarded below.
    console = Console(file=sys.stderr if options.json else sys.stdout)
    # The handlers run in this process: keep their per-request logs out of the demo's output.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    logging.getLogger("kaeri").setLevel(logging.ERROR)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    try:
        with contextlib.redirect_stdout(_Discard()), warnings_off():
            result = run(options, console)
    except DemoError as exc:
        console.print(f"[red]demo stopped:[/red] {exc}")
        return 1
    if options.json:
        sys.stdout.write(json.dumps(result.kpis, indent=2, ensure_ascii=False) + "\n")
    else:
        t = result.kpis.get("tracking", {})
        console.print(
            f"[green]done[/green] in {result.seconds:.0f} s: {result.calls:,} tracking events "
            f"({t.get('history_events', 0):,} imported history, {t.get('simulated_events', 0):,} from "
            f"{t.get('visits', 0):,} visits) in {t.get('requests', 0):,} requests, "
            f"{result.responses.get('sent', 0):,} messages sent, report written to {result.report}"
        )
        timings = ", ".join(f"{k} {v:.0f} s" for k, v in result.kpis.get("timings", {}).items())
        console.print(f"time: {timings}")
    return 0


@contextlib.contextmanager
def warnings_off() -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. Powertools' "no application metrics to publish"
        yield
