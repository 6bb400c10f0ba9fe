"""Run a shop on the local stack and count what it asks of AWS: the per-unit figures of the cost model.

The shop is kaeri_ops.demo's synthetic shop (customers, visits, carts, orders, responses to what they
receive), driven through the real HTTP API with every built-in scenario enabled, exactly as
`kaeri demo` does. While it runs:

- every boto3 client built in the process carries kaeri_ops.cost.counter's hooks (requests, DynamoDB
  request units, S3 bytes), attributed to the acting function;
- the function runner is wrapped to count invocations, CPU seconds outside AWS calls, and the log
  bytes and custom metrics (EMF) each function prints;
- the journey runner's executions give Step Functions state transitions;
- the archive's Parquet files give Firehose records and bytes, and the DuckDB engine's scans the
  bytes Athena would read;
- the synthesized CDK template gives memory sizes, alarms, keys, secrets and dashboards.

The imported history (customers' past orders) runs before counting starts; what is counted is the
shop's steady state over the simulated days.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from kaeri_ops.cost.counter import CallCounter, item_size
from kaeri_ops.cost.model import FunctionFigures, UnitFigures

log = logging.getLogger("kaeri_ops.cost")

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass
class HarnessOptions:
    customers: int = 80
    days: int = 21
    seed: int = 3


class _LogMeter(io.TextIOBase):
    """stdout while the harness runs: bytes per acting function and the EMF metrics they define."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor
        self.bytes: Counter = Counter()
        self.metrics: set[tuple[str, str, tuple[str, ...]]] = set()
        self.tail: deque[str] = deque(maxlen=40)  # the last lines, to explain a failed run
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        name = self.actor() or "(stack)"
        with self._lock:
            self.bytes[name] += len(text.encode("utf-8"))
            for line in text.splitlines():
                self.tail.append(line)
                if '"_aws"' in line:
                    self._emf(line)
        return len(text)

    def _emf(self, line: str) -> None:
        try:
            record = json.loads(line)
        except ValueError:
            return
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            namespace = directive.get("Namespace", "")
            for dimensions in directive.get("Dimensions", []) or [[]]:
                values = tuple(f"{d}={record.get(d)}" for d in dimensions)
                for metric in directive.get("Metrics", []):
                    self.metrics.add((namespace, metric.get("Name", ""), values))


class _Invocations:
    """Wraps FunctionRunner.invoke: invocations and CPU seconds per function."""

    def __init__(self, runner: Any, counter: CallCounter) -> None:
        self.counter = counter
        self.count: Counter = Counter()
        self.cpu: defaultdict[str, float] = defaultdict(float)
        self.records: Counter = Counter()  # stream records / queue messages per function
        self.active = False
        self._invoke = runner.invoke
        runner.invoke = self.invoke

    def invoke(self, function: Any, event: Any) -> Any:
        if not self.active:
            return self._invoke(function, event)
        started = time.thread_time()
        in_aws = self.counter.aws_cpu_in_this_thread()
        try:
            return self._invoke(function, event)
        finally:
            aws = self.counter.aws_cpu_in_this_thread() - in_aws
            self.count[function.name] += 1
            self.cpu[function.name] += max(0.0, time.thread_time() - started - aws)
            if isinstance(event, dict) and isinstance(event.get("Records"), list):
                self.records[function.name] += len(event["Records"])


def _backend_of(table: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    for account in list(dynamodb_backends.keys()):
        for region in list(dynamodb_backends[account].keys()):
            backend = dynamodb_backends[account][region]
            if table in backend.tables:
                return backend
    return None


def _backend_lookup() -> Any:
    """(table, key) -> the emulator's stored item in wire format, read without an API call."""
    backends: dict[str, Any] = {}

    def lookup(table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        backend = backends.get(table)
        if backend is None or table not in backend.tables:
            backend = backends[table] = _backend_of(table)
        if backend is None:
            return None
        item = backend.get_item(table, key)
        return item.to_json()["Attributes"] if item else None

    return lookup


def _stored_items(table: str) -> list[dict[str, Any]]:
    from moto.dynamodb.models import dynamodb_backends

    for account in list(dynamodb_backends.keys()):
        for region in list(dynamodb_backends[account].keys()):
            backend = dynamodb_backends[account][region]
            if table in backend.tables:
                return [i.to_json()["Attributes"] for i in backend.get_table(table).all_items()]
    return []


def _table_indexes() -> dict[str, list[tuple[str, ...]]]:
    from kaeri.tables import TABLES

    return {t.logical: [tuple(k.name for k in (i.partition, i.sort) if k) for i in t.indexes] for t in TABLES}


@contextlib.contextmanager
def _hooks(counter: CallCounter) -> Any:
    """The counter on every botocore session built from now on (as kaeri_ops.local.inprocess does)."""
    from botocore import handlers as botocore_handlers

    entries = counter.handlers()
    botocore_handlers.BUILTIN_HANDLERS.extend(entries)
    try:
        yield
    finally:
        for entry in entries:
            botocore_handlers.BUILTIN_HANDLERS.remove(entry)


class _ArchiveScans:
    """Bytes of the Parquet partitions each archive query reads (what Athena bills), per query."""

    def __init__(self) -> None:
        self.queries = 0
        self.bytes = 0
        self.per_query: list[int] = []

    @contextlib.contextmanager
    def watching(self) -> Any:
        from kaeri.archive.engine import DuckDbEngine

        original = DuckDbEngine._sql
        scans = self

        def _sql(engine: Any, name: str, params: dict[str, Any]) -> str:
            from kaeri.archive import queries

            text = original(engine, name, params)
            shop = str(params["shop_id"])
            since, until = str(params.get("since_day", "")), str(params.get("until_day", "9999"))
            tree = queries.bind(name, params)
            from sqlglot import exp

            datasets = {
                queries.BASE_TABLES[t.name] for t in tree.find_all(exp.Table) if t.name in queries.BASE_TABLES
            }
            scanned = 0
            for dataset in datasets:
                for path in engine._files(dataset, shop):
                    if since <= path.parent.name.removeprefix("dt=") <= until:
                        scanned += path.stat().st_size
            scans.queries += 1
            scans.bytes += scanned
            scans.per_query.append(scanned)
            return text

        DuckDbEngine._sql = _sql  # type: ignore[method-assign,assignment]  # counting wrapper, restored below
        try:
            yield self
        finally:
            DuckDbEngine._sql = original  # type: ignore[method-assign]


def deployed_template() -> dict[str, Any]:
    """The CloudFormation template of the CDK app (placeholder layers: no dependency download)."""
    for path in (REPO_ROOT / "infra", REPO_ROOT / "layers" / "common"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    from app import build_app  # type: ignore[import-not-found]  # infra/app.py, put on the path above

    with tempfile.TemporaryDirectory(prefix="kaeri-cost-synth-") as out:
        app, stack = build_app(context={"layers": "skip"}, outdir=out)
        try:
            return app.synth().get_stack_artifact(stack.artifact_id).template
        except RuntimeError:  # cdk-nag findings do not change what is deployed
            template = Path(out) / f"{stack.artifact_id}.template.json"
            return json.loads(template.read_text())


def resources_of(template: dict[str, Any]) -> dict[str, Any]:
    """What the bill needs from the template: function memory and the resources billed per month."""
    resources = template.get("Resources", {})
    kinds = Counter(r["Type"] for r in resources.values())
    memory: dict[str, int] = {}
    for resource in resources.values():
        if resource["Type"] == "AWS::Lambda::Function":
            props = resource.get("Properties", {})
            name = props.get("FunctionName")
            if isinstance(name, str):
                memory[name.removeprefix("kaeri-")] = int(props.get("MemorySize", 128))
    return {
        "function_memory_mb": memory,
        "alarms": kinds["AWS::CloudWatch::Alarm"],
        "dashboards": kinds["AWS::CloudWatch::Dashboard"],
        "kms_keys": kinds["AWS::KMS::Key"],
        "secrets": kinds["AWS::SecretsManager::Secret"],
        "pipes": kinds["AWS::Pipes::Pipe"],
        "firehose_streams": kinds["AWS::KinesisFirehose::DeliveryStream"],
        "queues": kinds["AWS::SQS::Queue"],
        "log_groups": kinds["AWS::Logs::LogGroup"],
        "schedules": kinds["AWS::Scheduler::Schedule"],
    }


def count(options: HarnessOptions | None = None, template: dict[str, Any] | None = None) -> UnitFigures:
    """Drive the synthetic shop on the local stack and return the counted per-unit figures."""
    options = options or HarnessOptions()
    from kaeri_ops.demo import driver
    from kaeri_ops.demo.shop import SyntheticShop
    from kaeri_ops.local import iam
    from kaeri_ops.local.stack import EmbeddedStack

    deployed = resources_of(template if template is not None else deployed_template())
    counter = CallCounter(
        actor=iam.current_function, table_indexes=_table_indexes(), lookup=_backend_lookup()
    )
    counter.active = False
    meter = _LogMeter(iam.current_function)
    scans = _ArchiveScans()
    saved = {k: os.environ.get(k) for k in ("POWERTOOLS_LOG_LEVEL", "POWERTOOLS_METRICS_DISABLED")}
    os.environ["POWERTOOLS_LOG_LEVEL"] = "INFO"  # as deployed (kaeri_cdk.function)
    os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
    began = time.perf_counter()
    with _hooks(counter), scans.watching():
        stack = EmbeddedStack(clock="manual", start=driver.START - timedelta(hours=1), shop_id="cost-shop")
        invocations = _Invocations(stack.runner, counter)
        stack.start()
        try:
            with contextlib.redirect_stdout(meter), driver.warnings_off():
                try:
                    figures = _drive(
                        stack, options, counter, invocations, meter, scans, driver, SyntheticShop
                    )
                except driver.DemoError as exc:
                    raise RuntimeError(f"{exc}\nlast log lines:\n" + "\n".join(meter.tail)) from exc
        finally:
            stack.stop()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    figures.deployed = deployed
    figures.harness_seconds = round(time.perf_counter() - began, 1)
    return figures


def _drive(
    stack: Any,
    options: HarnessOptions,
    counter: CallCounter,
    invocations: _Invocations,
    meter: _LogMeter,
    scans: _ArchiveScans,
    driver: Any,
    shop_class: Any,
) -> UnitFigures:
    warnings: list[str] = []
    pushed = driver.install(stack)
    http = driver.Http(stack.api_url, stack.write_key, stack.server_key)
    shop = shop_class(options.customers, options.seed, driver.START, options.days)
    responder = driver.Responder(stack, http, random.Random(options.seed + 7))
    http.catalog(shop.catalog_batch())
    http.batch(shop.history())
    stack.drain()
    driver.enable(stack, pushed)
    # Steady state from here: the import above is a one-off.
    stack.archive.poll_once()
    stack.archive.flush()
    archive_root = Path(stack.settings.archive_path)
    parquet_before = _parquet(archive_root)
    executions_before = set(stack.journeys.executions)
    line_before = len(stack.line.received)
    calls_before = http.calls
    clicks_before = responder.counts["clicks"]
    feedback_before = responder.counts["feedback_events"]
    scans.queries, scans.bytes, scans.per_query = 0, 0, []
    counter.reset()
    counter.active = invocations.active = True
    meter.bytes.clear()
    meter.metrics.clear()
    start = driver.START
    nightly_day = -1
    for day, slot, at in driver._steps(start, options.days):
        if day != nightly_day and day > 0:
            _nightly(stack, warnings)
        nightly_day = day
        visits, catalog = shop.slot(day, slot, at)
        if visits or catalog or driver._due_by(stack, at):
            if at > stack.clock.now():
                stack.advance_to(at)
            responder.respond(shop)
            if catalog:
                http.catalog(catalog)
            for visit in visits:
                http.batch(visit.calls)
            stack.drain()
    stack.advance_to(start + timedelta(days=options.days))
    responder.respond(shop)
    _nightly(stack, warnings)
    counter.active = invocations.active = False

    events = http.calls - calls_before
    # API Gateway requests: what the functions behind routes were invoked for (batches, catalog, clicks).
    api_requests = invocations.count["track-api"] + invocations.count["send-links"]
    new = [e for arn, e in stack.journeys.executions.items() if arn not in executions_before]
    transitions = sum(len(e.history) for e in new)
    messages = _messages(stack)
    parquet_after = _parquet(archive_root)
    return _figures(
        options=options,
        counter=counter,
        invocations=invocations,
        meter=meter,
        scans=scans,
        events=events,
        api_requests=api_requests,
        journeys=len(new),
        transitions=transitions,
        messages=messages,
        line_pushes=len(stack.line.received) - line_before,
        feedback_events=responder.counts["feedback_events"] - feedback_before,
        clicks=responder.counts["clicks"] - clicks_before,
        parquet_before=parquet_before,
        parquet_after=parquet_after,
        stack=stack,
        warnings=warnings,
    )


def _nightly(stack: Any, warnings: list[str]) -> None:
    """The deployed nightly schedules (recommendations, then the KPI report), which the local stack
    leaves to the operator: invoked per shop, as recommend-nightly's fan-out does on AWS."""
    from kaeri_ops.definitions.topology import RECOMMEND_NIGHTLY, REPORT_NIGHTLY

    stack.archive.poll_once()
    stack.archive.flush()
    for function in (RECOMMEND_NIGHTLY, REPORT_NIGHTLY):
        try:
            stack.runner.invoke(function, {"shop_id": stack.shop_id, "source": "kaeri.nightly"})
        except Exception as exc:  # reported with the figures, never silently dropped
            warnings.append(f"{function.name} failed: {type(exc).__name__}: {exc}")


def _parquet(root: Path) -> dict[str, tuple[int, int]]:
    """dataset -> (rows, bytes) of the archive's Parquet files."""
    import pyarrow.parquet as pq

    out: dict[str, tuple[int, int]] = {}
    for dataset in ("events", "messages"):
        rows = size = 0
        for path in (root / dataset).glob("shop_id=*/dt=*/*.parquet"):
            rows += pq.ParquetFile(path).metadata.num_rows
            size += path.stat().st_size
        out[dataset] = (rows, size)
    return out


def _record_bytes(root: Path, dataset: str) -> float:
    """Average JSON bytes of one archive row (what the pipe hands Firehose)."""
    import pyarrow.parquet as pq

    sizes: list[int] = []
    for path in sorted((root / dataset).glob("shop_id=*/dt=*/*.parquet"))[-20:]:
        for row in pq.read_table(path).to_pylist()[:200]:
            sizes.append(len(json.dumps(row, default=str, ensure_ascii=False).encode("utf-8")))
    return sum(sizes) / len(sizes) if sizes else 0.0


def _messages(stack: Any) -> Counter:
    """Messages sent in the counted period, by channel (read from the emulator, not counted)."""
    sent: Counter = Counter()
    for item in _stored_items(stack.settings.table("messages")):
        status = (item.get("status") or {}).get("S")
        channel = (item.get("channel") or {}).get("S", "email")
        if status == "sent":
            sent[channel] += 1
    return sent


def _storage(stack: Any, customers: int) -> dict[str, float]:
    """Bytes DynamoDB stores per item of each table (items + 100 B overhead, GSI copies included)."""
    from kaeri.tables import TABLES

    out: dict[str, float] = {}
    for table in TABLES:
        items = _stored_items(stack.settings.table(table.logical))
        total = 0
        for item in items:
            size = item_size(item) + 100
            total += size
            for index in table.indexes:
                keys = [k.name for k in (index.partition, index.sort) if k]
                if all(k in item for k in keys):
                    total += size
        out[f"{table.logical}_bytes"] = float(total)
        out[f"{table.logical}_items"] = float(len(items))
    return out


def _figures(**kw: Any) -> UnitFigures:
    options: HarnessOptions = kw["options"]
    counter: CallCounter = kw["counter"]
    invocations: _Invocations = kw["invocations"]
    meter: _LogMeter = kw["meter"]
    scans: _ArchiveScans = kw["scans"]
    messages: Counter = kw["messages"]
    stack = kw["stack"]
    functions: dict[str, FunctionFigures] = {}
    names = set(invocations.count) | {a for a in counter.usage if a != "(stack)"}
    for name in sorted(names):
        usage = counter.usage.get(name)
        calls = dict(usage.calls) if usage else {}
        functions[name] = FunctionFigures(
            invocations=invocations.count.get(name, 0),
            records=invocations.records.get(name, 0),
            cpu_seconds=invocations.cpu.get(name, 0.0),
            aws_calls=calls,
            wru=float(sum(usage.wru.values())) if usage else 0.0,
            rru=float(sum(usage.rru.values())) if usage else 0.0,
            s3_put_bytes=float(usage.bytes_out.get("s3", 0)) if usage else 0.0,
            log_bytes=float(meter.bytes.get(name, 0)),
        )
    stack_usage = counter.usage.get("(stack)")
    before, after = kw["parquet_before"], kw["parquet_after"]
    root = Path(stack.settings.archive_path)
    months = options.days / 30.0
    return UnitFigures(
        customers=options.customers,
        days=options.days,
        events=kw["events"],
        api_requests=kw["api_requests"],
        journeys=kw["journeys"],
        transitions=kw["transitions"],
        messages=dict(messages),
        line_pushes=kw["line_pushes"],
        feedback_events=kw["feedback_events"],
        clicks=kw["clicks"],
        functions=functions,
        stack_calls=dict(stack_usage.calls) if stack_usage else {},
        custom_metrics=len(meter.metrics),
        archive_rows={d: after[d][0] - before[d][0] for d in after},
        archive_parquet_bytes={d: float(after[d][1] - before[d][1]) for d in after},
        archive_record_bytes={d: _record_bytes(root, d) for d in after},
        athena_queries=scans.queries,
        athena_bytes=float(scans.bytes),
        athena_min_billed_bytes=float(sum(max(b, 10 * 2**20) for b in scans.per_query)),
        storage=_storage(stack, options.customers),
        months=months,
        warnings=list(dict.fromkeys(kw["warnings"]))
        + [f"not sized ({n} calls): {reason}" for reason, n in counter.errors.most_common(10)],
    )
