"""The monthly AWS bill of one shop's stack, from counted per-unit figures, a stated mix and prices.

Pure functions, no AWS. Three inputs:

- `UnitFigures`: what the system did on the local stack (kaeri_ops.cost.harness counts it): per function
  its invocations, CPU seconds, AWS calls and DynamoDB request units, plus Step Functions
  transitions, messages, archive rows and bytes, Athena scans, stored item sizes and the deployed
  template's memory sizes and monthly resources.
- `Mix`: the shop's month (events per customer, carts and how many are abandoned, other journeys,
  messages per journey and channel) and the assumptions that are not counted (AWS call latency, how
  the stream batches at that traffic, log sizes of the AWS services themselves). Every one is a
  named field with its reason, so a reader can disagree with it.
- `Prices` (kaeri_ops.cost.prices): unit prices with their sources.

Each of the system's functions does work that scales with one driver: an API request, an event, a
journey, a message, a feedback event, a click, or a customer-month (scheduled and nightly work).
A counted total divided by its driver's count in the run is a per-unit figure; the bill multiplies
it by the driver's volume in the month asked about.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from kaeri_ops.cost.prices import Prices

SECONDS_PER_MONTH = 30 * 24 * 3600
DAYS_PER_MONTH = 30
LAMBDA_VCPU_MB = 1769  # Lambda gives one full vCPU at 1,769 MB, proportionally less below it
GB = 2**30

# What each function's work scales with: (invocations driver, work driver).
DRIVERS: dict[str, tuple[str, str]] = {
    "track-api": ("api_request", "event"),  # one invocation per request, work per event in it
    "evaluate-stream": ("stream_batch", "event"),
    "evaluate-step": ("journey", "journey"),
    "send-message": ("message", "message"),
    "send-feedback": ("feedback_event", "feedback_event"),
    "send-links": ("click", "click"),
    "evaluate-schedule": ("day", "customer_month"),
    "recommend-nightly": ("day", "customer_month"),
    "report-nightly": ("day", "customer_month"),
    "evaluate-fanout": ("customer_month", "customer_month"),
}
DEFAULT_DRIVER = ("customer_month", "customer_month")


class FunctionFigures(BaseModel):
    invocations: int = 0
    records: int = 0  # stream records / queue messages it was handed
    cpu_seconds: float = 0.0  # the handler's own CPU, AWS calls (the emulator's work) taken out
    aws_calls: dict[str, int] = Field(default_factory=dict)  # "service:Operation" -> requests
    wru: float = 0.0
    rru: float = 0.0
    s3_put_bytes: float = 0.0
    log_bytes: float = 0.0  # what it printed (JSON logs and EMF metrics), CloudWatch Logs ingests it


class UnitFigures(BaseModel):
    """Everything one harness run counted (build/cost-units.json; kaeri/cost/counted.json)."""

    customers: int
    days: int
    months: float
    events: int
    api_requests: int
    journeys: int
    transitions: int
    messages: dict[str, int] = Field(default_factory=dict)  # channel -> sent
    line_pushes: int = 0
    feedback_events: int = 0
    clicks: int = 0
    functions: dict[str, FunctionFigures] = Field(default_factory=dict)
    stack_calls: dict[str, int] = Field(default_factory=dict)  # the emulators' own calls (not billed)
    custom_metrics: int = 0
    archive_rows: dict[str, int] = Field(default_factory=dict)
    archive_parquet_bytes: dict[str, float] = Field(default_factory=dict)
    archive_record_bytes: dict[str, float] = Field(default_factory=dict)
    athena_queries: int = 0
    athena_bytes: float = 0.0
    athena_min_billed_bytes: float = 0.0
    storage: dict[str, float] = Field(default_factory=dict)
    deployed: dict[str, Any] = Field(default_factory=dict)
    harness_seconds: float = 0.0
    counted_on: str = ""
    command: str = ""
    warnings: list[str] = Field(default_factory=list)

    @property
    def stream_records_per_event(self) -> float:
        stream = self.functions.get("evaluate-stream")
        return stream.records / self.events if stream and self.events and stream.records else 1.0

    # drivers -----------------------------------------------------------------------------------

    @property
    def messages_total(self) -> int:
        return sum(self.messages.values())

    def driver_count(self, driver: str) -> float:
        return {
            "api_request": self.api_requests,
            "event": self.events,
            "journey": self.journeys,
            "message": self.messages_total,
            "feedback_event": self.feedback_events,
            "click": self.clicks,
            "customer_month": self.customers * self.months,
            "day": float(self.days),
        }.get(driver, 0.0)

    def per(self, value: float, driver: str) -> float:
        count = self.driver_count(driver)
        return value / count if count else 0.0

    # headline per-unit figures (the bench reports these) ---------------------------------------

    def function_per_unit(self, name: str) -> dict[str, float]:
        f = self.functions.get(name, FunctionFigures())
        work = DRIVERS.get(name, DEFAULT_DRIVER)[1]
        return {
            "cpu_seconds": self.per(f.cpu_seconds, work),
            "wru": self.per(f.wru, work),
            "rru": self.per(f.rru, work),
            "log_bytes": self.per(f.log_bytes, work),
            "calls": self.per(sum(f.aws_calls.values()), work),
        }

    def headline(self) -> dict[str, float]:
        """The counted figures per event, per journey and per message."""
        event_fns = [n for n, d in DRIVERS.items() if d[1] in ("event", "api_request")]
        per_event_wru = 0.0
        per_event_rru = 0.0
        for name in event_fns:
            f = self.functions.get(name, FunctionFigures())
            per_event_wru += f.wru / self.events if self.events else 0.0
            per_event_rru += f.rru / self.events if self.events else 0.0
        track = self.functions.get("track-api", FunctionFigures())
        stream = self.functions.get("evaluate-stream", FunctionFigures())
        step = self.functions.get("evaluate-step", FunctionFigures())
        send = self.functions.get("send-message", FunctionFigures())
        journeys = self.journeys or 1
        messages = self.messages_total or 1
        events = self.events or 1
        return {
            "lambda_invocations_per_event": (track.invocations + stream.invocations) / events,
            "dynamodb_wru_per_event": per_event_wru,
            "dynamodb_rru_per_event": per_event_rru,
            "stream_records_per_event": stream.records / events,
            "sfn_transitions_per_journey": self.transitions / journeys,
            "lambda_invocations_per_journey": step.invocations / journeys,
            "dynamodb_wru_per_journey": step.wru / journeys,
            "dynamodb_rru_per_journey": step.rru / journeys,
            "messages_per_journey": self.messages_total / journeys,
            "dynamodb_wru_per_message": send.wru / messages,
            "dynamodb_rru_per_message": send.rru / messages,
            "aws_calls_per_message": sum(send.aws_calls.values()) / messages,
            "archive_parquet_bytes_per_event": self.archive_parquet_bytes.get("events", 0.0)
            / max(1, self.archive_rows.get("events", 0)),
            "dynamodb_bytes_per_event": self.storage.get("events_bytes", 0.0)
            / max(1.0, self.storage.get("events_items", 0.0)),
            "dynamodb_bytes_per_customer": self.storage.get("customers_bytes", 0.0) / max(1, self.customers),
        }


class Mix(BaseModel):
    """A shop's month, and the assumptions the local stack cannot count. Defaults: the realistic mix
    docs/cost.md states (a fashion / lifestyle shop, mostly dormant customers)."""

    events_per_customer_month: float = Field(8.0, gt=0, description="tracking events per customer")
    events_per_api_request: float = Field(
        1.0, ge=1, description="calls per POST (browser SDKs send one call per request by default)"
    )
    carts_per_customer_month: float = Field(0.25, ge=0, description="carts started per customer")
    cart_abandon_share: float = Field(0.7, ge=0, le=1, description="share of carts not ordered")
    other_journeys_per_customer_month: float = Field(
        0.15, ge=0, description="welcome, browse, win-back, birthday, points journeys per customer"
    )
    messages_per_journey: float = Field(1.3, ge=0, description="messages one journey sends")
    channel_share: dict[str, float] = Field(
        default_factory=lambda: {"email": 0.75, "line": 0.22, "sms": 0.03},
        description="share of messages per channel",
    )
    feedback_events_per_email: float = Field(1.45, ge=0, description="SES delivery + open events")
    clicks_per_message: float = Field(0.12, ge=0, description="tracked link clicks per message")
    history_months: float = Field(12, gt=0, description="months of history stored (archive, tables)")
    # assumptions --------------------------------------------------------------------------------
    call_latency_ms: dict[str, float] = Field(
        default_factory=lambda: {
            "dynamodb": 6.0,
            "states": 25.0,
            "email": 45.0,
            "sns": 30.0,
            "sqs": 12.0,
            "secretsmanager": 20.0,
            "s3": 25.0,
            "scheduler": 20.0,
            "athena": 1500.0,
            "lambda": 20.0,
            "line": 150.0,
            "default": 15.0,
        },
        description="wall ms a function waits per AWS call on AWS (LINE: per push)",
    )
    local_cpu_speed: float = Field(1.0, gt=0, description="Graviton vCPU speed relative to this machine")
    cold_start_share: float = Field(0.02, ge=0, le=1, description="invocations that start a container")
    init_ms: float = Field(700, ge=0, description="billed INIT duration of a cold start")
    stream_window_seconds: float = Field(1.0, gt=0, description="the stream's batching window")
    stream_batch_size: int = Field(100, gt=0)
    platform_log_bytes_per_invocation: float = Field(350, ge=0, description="START/END/REPORT lines")
    api_access_log_bytes: float = Field(450, ge=0, description="one JSON access log line per request")
    sfn_log_bytes_per_transition: float = Field(900, ge=0, description="level ALL, no execution data")
    xray_reservoir_per_second: float = Field(1, ge=0, description="default sampling: 1/s + 5%")
    xray_rate: float = Field(0.05, ge=0, le=1)
    sqs_polls_per_month_per_queue: float = Field(
        650_000, ge=0, description="Lambda's SQS pollers on an idle queue (long polling)"
    )
    kms_requests_per_month: float = Field(
        100_000, ge=0, description="DynamoDB, S3 and Firehose data-key requests (cached per 5 min)"
    )
    firehose_objects_per_day: float = Field(
        2 * 96, ge=0, description="two datasets flushed every 15 minutes, one shop partition each"
    )

    def journeys(self, customers: float) -> float:
        carts = customers * self.carts_per_customer_month * self.cart_abandon_share
        return carts + customers * self.other_journeys_per_customer_month


@dataclass(frozen=True)
class Line:
    service: str
    item: str
    quantity: float
    unit: str
    usd: float


@dataclass
class Bill:
    customers: int
    events: float
    lines: list[Line] = field(default_factory=list)
    volumes: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(line.usd for line in self.lines)

    def by_service(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for line in self.lines:
            out[line.service] += line.usd
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    @property
    def usd_per_1000_customers(self) -> float:
        return 1000 * self.total / self.customers if self.customers else 0.0


def _latency_key(service: str) -> str:
    return {"sesv2": "email", "ses": "email"}.get(service, service)


def stream_invocations(events: float, mix: Mix) -> float:
    """Invocations of a stream consumer with a batching window at this traffic (Poisson arrivals):
    one per window with at least one record, at most batch_size records each."""
    if events <= 0:
        return 0.0
    per_window = events / SECONDS_PER_MONTH * mix.stream_window_seconds
    windows = SECONDS_PER_MONTH / mix.stream_window_seconds
    busy = windows * (1 - math.exp(-per_window))
    return max(busy, events / mix.stream_batch_size)


def line_messages_jpy(messages: float, prices: Prices) -> float:
    """LINE Official Account: the cheapest plan that carries the month's pushes, plus paid extras."""
    if messages <= 0:
        return 0.0
    plans = sorted(prices.line_plans(), key=lambda p: p[1])
    for _name, included, monthly_jpy, _extras in plans:
        if messages <= included:
            return monthly_jpy
    _name, included, monthly_jpy, extras = plans[-1]
    remaining = messages - included
    cost = monthly_jpy
    floor = included
    for upto, jpy in extras:
        take = min(remaining, upto - floor)
        if take <= 0:
            break
        cost += take * jpy
        remaining -= take
        floor = upto
    if remaining > 0:  # beyond the last confirmed tier: its price (an upper bound)
        cost += remaining * extras[-1][1]
    return cost


def monthly_bill(
    customers: int,
    events_per_month: float | None,
    units: UnitFigures,
    prices: Prices,
    mix: Mix | None = None,
) -> Bill:
    """The month's bill for one shop with `customers` customers sending `events_per_month` events."""
    mix = mix or Mix()
    events = events_per_month if events_per_month is not None else customers * mix.events_per_customer_month
    journeys = mix.journeys(customers)
    messages = journeys * mix.messages_per_journey
    by_channel = {c: messages * s for c, s in mix.channel_share.items()}
    api_requests = events / mix.events_per_api_request + messages * mix.clicks_per_message
    volumes: dict[str, float] = {
        "api_request": api_requests,
        "event": events,
        "journey": journeys,
        "message": messages,
        "feedback_event": by_channel.get("email", 0.0) * mix.feedback_events_per_email,
        "click": messages * mix.clicks_per_message,
        "customer_month": float(customers),
        "day": float(DAYS_PER_MONTH),
        "stream_batch": stream_invocations(events * units.stream_records_per_event, mix),
    }
    bill = Bill(customers=customers, events=events, volumes=volumes)
    p = prices.usd
    add = bill.lines.append
    memory = units.deployed.get("function_memory_mb", {})

    # Lambda: requests and GB-seconds per function --------------------------------------------
    invocations_total = 0.0
    gb_seconds = 0.0
    log_bytes = 0.0
    calls: dict[str, float] = defaultdict(float)
    wru = rru = s3_bytes = 0.0
    for name, f in units.functions.items():
        inv_driver, work_driver = DRIVERS.get(name, DEFAULT_DRIVER)
        volume = volumes.get(work_driver, 0.0)
        invocations = (
            volumes["stream_batch"]
            if inv_driver == "stream_batch"
            else units.per(f.invocations, inv_driver) * volumes.get(inv_driver, 0.0)
        )
        mb = memory.get(name, 512)
        cpu_scale = max(1.0, LAMBDA_VCPU_MB / mb) / mix.local_cpu_speed
        wait_ms = 0.0
        for key, n in f.aws_calls.items():
            service = key.partition(":")[0]
            per_unit = units.per(n, work_driver)
            calls[key] += per_unit * volume
            wait_ms += per_unit * mix.call_latency_ms.get(
                _latency_key(service), mix.call_latency_ms["default"]
            )
        if name == "send-message" and units.messages_total:
            wait_ms += units.line_pushes / units.messages_total * mix.call_latency_ms["line"]
        ms = units.per(f.cpu_seconds, work_driver) * 1000 * cpu_scale + wait_ms
        seconds = (ms * volume + invocations * mix.cold_start_share * mix.init_ms) / 1000
        invocations_total += invocations
        gb_seconds += seconds * mb / 1024
        log_bytes += units.per(f.log_bytes, work_driver) * volume
        log_bytes += invocations * mix.platform_log_bytes_per_invocation
        wru += units.per(f.wru, work_driver) * volume
        rru += units.per(f.rru, work_driver) * volume
        s3_bytes += units.per(f.s3_put_bytes, work_driver) * volume
    # The archive's transform (EventBridge Pipes enrichment) runs per stream batch of records.
    # Archive rows: event rows per event, message rows (one per status change) per message.
    archive_volume = {
        "events": units.archive_rows.get("events", 0) / max(1, units.events) * events,
        "messages": units.archive_rows.get("messages", 0) / max(1, units.messages_total) * messages,
    }
    archive_records = sum(archive_volume.values())
    transform_invocations = stream_invocations(archive_records, mix)
    invocations_total += transform_invocations
    gb_seconds += transform_invocations * (5 / 1000) * memory.get("archive-transform", 512) / 1024
    log_bytes += transform_invocations * mix.platform_log_bytes_per_invocation
    add(Line("Lambda", "requests", invocations_total, "requests", invocations_total * p("lambda_request")))
    add(Line("Lambda", "duration (arm64)", gb_seconds, "GB-s", gb_seconds * p("lambda_arm_gb_second")))

    # API Gateway (REST) ------------------------------------------------------------------------
    add(Line("API Gateway", "REST requests", api_requests, "requests", api_requests * p("api_rest_request")))

    # DynamoDB -----------------------------------------------------------------------------------
    add(Line("DynamoDB", "write request units", wru, "WRU", wru * p("dynamodb_wru")))
    add(Line("DynamoDB", "read request units", rru, "RRU", rru * p("dynamodb_rru")))
    stored = _dynamodb_bytes(units, customers, events, messages, mix)
    add(Line("DynamoDB", "storage", stored / GB, "GB-month", stored / GB * p("dynamodb_storage_gb_month")))

    # Step Functions -------------------------------------------------------------------------------
    transitions = units.per(units.transitions, "journey") * journeys
    add(
        Line(
            "Step Functions",
            "state transitions",
            transitions,
            "transitions",
            transitions * p("sfn_transition"),
        )
    )

    # Messages ---------------------------------------------------------------------------------------
    emails = by_channel.get("email", 0.0)
    add(Line("SES", "emails", emails, "emails", emails * p("ses_email")))
    sms = by_channel.get("sms", 0.0)
    add(Line("SNS", "SMS to Japan", sms, "messages", sms * p("sns_sms_jp")))
    feedback = volumes["feedback_event"]
    add(Line("SNS", "SES feedback notifications", feedback, "publishes", feedback * p("sns_publish")))
    line_messages = by_channel.get("line", 0.0)
    line_usd = line_messages_jpy(line_messages, prices) / prices.jpy_per_usd
    add(Line("LINE", "Messaging API (plan + extra)", line_messages, "messages", line_usd))

    # Archive: Pipes, Firehose, S3, Athena ---------------------------------------------------------
    add(
        Line(
            "EventBridge Pipes", "requests", archive_records, "requests", archive_records * p("pipes_request")
        )
    )
    record_kb = {
        d: math.ceil(max(1.0, units.archive_record_bytes.get(d, 1.0)) / 5120) * 5
        for d in ("events", "messages")
    }
    firehose_gb = sum(archive_volume[d] * record_kb[d] / 2**20 for d in ("events", "messages"))
    add(Line("Firehose", "ingestion (5 KB steps)", firehose_gb, "GB", firehose_gb * p("firehose_ingest_gb")))
    add(Line("Firehose", "format conversion", firehose_gb, "GB", firehose_gb * p("firehose_conversion_gb")))
    parquet_bytes = {
        d: units.archive_parquet_bytes.get(d, 0.0) / max(1, units.archive_rows.get(d, 0)) * archive_volume[d]
        for d in ("events", "messages")
    }
    parquet_month = sum(parquet_bytes.values())  # Parquet bytes the month adds to the archive
    delivered_gb = parquet_month / GB
    objects = mix.firehose_objects_per_day * DAYS_PER_MONTH
    add(
        Line(
            "Firehose",
            "dynamic partitioning",
            delivered_gb,
            "GB",
            delivered_gb * p("firehose_partitioning_gb") + objects * p("firehose_partitioning_object"),
        )
    )
    archive_gb = parquet_month * min(mix.history_months, 36) / GB
    add(Line("S3", "archive storage", archive_gb, "GB-month", archive_gb * p("s3_storage_gb_month")))
    s3_puts = (
        objects
        + units.per(
            sum(f.aws_calls.get("s3:PutObject", 0) for f in units.functions.values()), "customer_month"
        )
        * customers
    )
    add(Line("S3", "PUT requests", s3_puts, "requests", s3_puts * p("s3_put")))
    queries_per_day = units.athena_queries / max(1, units.days)
    window_months = min(12.0, mix.history_months)  # the nightly job reads up to a year
    per_query = max(10 * 2**20, parquet_month * window_months)
    scanned_tb = queries_per_day * DAYS_PER_MONTH * per_query / 2**40
    add(Line("Athena", "data scanned", scanned_tb * 1024, "GB", scanned_tb * p("athena_tb")))

    # KMS, CloudWatch, X-Ray, SQS, Scheduler, Secrets Manager -----------------------------------
    deployed = units.deployed
    keys = deployed.get("kms_keys", 0)
    add(Line("KMS", "customer managed keys", keys, "keys", keys * p("kms_key_month")))
    kms_requests = (
        mix.kms_requests_per_month + calls.get("kms:Decrypt", 0) + calls.get("kms:GenerateDataKey", 0)
    )
    add(Line("KMS", "requests", kms_requests, "requests", kms_requests * p("kms_request")))
    log_bytes += api_requests * mix.api_access_log_bytes + transitions * mix.sfn_log_bytes_per_transition
    log_gb = log_bytes / GB
    add(Line("CloudWatch", "logs ingested", log_gb, "GB", log_gb * p("logs_ingest_gb")))
    add(Line("CloudWatch", "logs stored (1 month)", log_gb, "GB-month", log_gb * p("logs_storage_gb_month")))
    metrics = units.custom_metrics
    add(Line("CloudWatch", "custom metrics", metrics, "metrics", metrics * p("cloudwatch_metric_month")))
    alarms = deployed.get("alarms", 0)
    add(Line("CloudWatch", "alarms", alarms, "alarms", alarms * p("cloudwatch_alarm_month")))
    dashboards = deployed.get("dashboards", 0)
    add(
        Line(
            "CloudWatch", "dashboards", dashboards, "dashboards", dashboards * p("cloudwatch_dashboard_month")
        )
    )
    traced = api_requests + volumes["stream_batch"] + journeys
    reservoir = mix.xray_reservoir_per_second * SECONDS_PER_MONTH
    traces = min(traced, reservoir) + mix.xray_rate * max(0.0, traced - reservoir)
    add(Line("X-Ray", "traces recorded", traces, "traces", traces * p("xray_trace")))
    sqs = sum(n for k, n in calls.items() if k.startswith("sqs:"))
    sqs += mix.sqs_polls_per_month_per_queue * 2  # the two queues Lambda polls (fan-out, send)
    add(Line("SQS", "requests", sqs, "requests", sqs * p("sqs_request")))
    schedule_runs = sum(
        units.per(f.invocations, "day") * DAYS_PER_MONTH
        for n, f in units.functions.items()
        if DRIVERS.get(n, DEFAULT_DRIVER)[0] == "day"
    )
    add(
        Line(
            "EventBridge Scheduler",
            "invocations",
            schedule_runs,
            "invocations",
            schedule_runs * p("scheduler_invocation"),
        )
    )
    secrets = deployed.get("secrets", 0)
    secret_calls = sum(n for k, n in calls.items() if k.startswith("secretsmanager:"))
    add(
        Line(
            "Secrets Manager",
            "secrets and API calls",
            secrets,
            "secrets",
            secrets * p("secret_month") + secret_calls * p("secret_api_call"),
        )
    )
    return bill


def _dynamodb_bytes(units: UnitFigures, customers: int, events: float, messages: float, mix: Mix) -> float:
    """Bytes stored at steady state: events for their TTL (or the history), customers, messages."""
    storage = units.storage
    per_event = storage.get("events_bytes", 0.0) / max(1.0, storage.get("events_items", 0.0))
    per_customer = (storage.get("customers_bytes", 0.0) + storage.get("config_bytes", 0.0)) / max(
        1, units.customers
    )
    per_message = storage.get("messages_bytes", 0.0) / max(1.0, storage.get("messages_items", 0.0))
    event_months = min(mix.history_months, 400 / 30)  # events expire after events_ttl_days (400)
    other = sum(
        v
        for k, v in storage.items()
        if k.endswith("_bytes") and k.split("_")[0] not in ("events", "customers", "config", "messages")
    ) / max(1, units.customers)
    return (
        per_event * events * event_months
        + (per_customer + other) * customers
        + per_message * messages * mix.history_months
    )
