"""EventBridge Scheduler for the local stack: schedules live in moto, this fires them on the clock.

Each poll lists the schedules (so creates, updates, disables and deletes take effect; a schedule is
read again only when its modification date moved), works out
each one's next firing in its timezone and, once the clock has passed it, invokes the target
function with the target's Input as the event, as Scheduler does for a Lambda target.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kaeri import clock
from kaeri_ops.local.cron import ScheduleExpression, ScheduleExpressionError
from kaeri_ops.local.functions import FunctionRunner, UnknownFunctionError, function_for

log = logging.getLogger("kaeri_ops.local")


@dataclass
class _Tracked:
    signature: tuple[str, str]  # (expression, timezone): a change restarts the count
    expression: ScheduleExpression | None
    anchor: datetime  # when the stack first saw this version of the schedule
    last_fired: datetime | None = None
    done: bool = False  # an at() schedule that has fired


@dataclass
class Firing:
    schedule: str
    at: datetime
    target: str
    input: Any
    error: str | None = None


@dataclass
class Scheduler:
    clients: Any  # kaeri.aws.AwsClients
    runner: FunctionRunner
    group: str = "kaeri"
    firings: list[Firing] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._tracked: dict[str, _Tracked] = {}
        self._read: dict[str, tuple[Any, dict[str, Any]]] = {}  # key -> (modification date, schedule)
        self._lock = threading.RLock()

    def _schedules(self) -> list[dict[str, Any]]:
        scheduler = self.clients.scheduler
        summaries = [
            s for page in scheduler.get_paginator("list_schedules").paginate() for s in page["Schedules"]
        ]
        schedules = []
        read: dict[str, tuple[Any, dict[str, Any]]] = {}
        for summary in summaries:
            key = f"{summary['GroupName']}/{summary['Name']}"
            modified = (summary.get("LastModificationDate"), summary.get("State"))
            cached = self._read.get(key)
            if cached is None or modified[0] is None or cached[0] != modified:
                schedule = scheduler.get_schedule(Name=summary["Name"], GroupName=summary["GroupName"])
                cached = (modified, schedule)
            read[key] = cached
            schedules.append(cached[1])
        self._read = read
        return schedules

    def _due(self, now: datetime) -> list[tuple[datetime, dict[str, Any], _Tracked]]:
        """(next firing, schedule, tracking) for every enabled schedule that will fire again."""
        out = []
        seen = set()
        for schedule in self._schedules():
            key = f"{schedule['GroupName']}/{schedule['Name']}"
            seen.add(key)
            signature = (schedule["ScheduleExpression"], schedule.get("ScheduleExpressionTimezone") or "UTC")
            tracked = self._tracked.get(key)
            if tracked is None or tracked.signature != signature:
                try:
                    expression = ScheduleExpression.parse(signature[0])
                except ScheduleExpressionError as exc:
                    log.error("schedule %s has an expression the local stack cannot run: %s", key, exc)
                    expression = None
                tracked = self._tracked[key] = _Tracked(signature, expression, anchor=now)
            if tracked.expression is None or tracked.done or schedule.get("State") == "DISABLED":
                continue
            after = tracked.last_fired or tracked.anchor
            start, end = _aware(schedule.get("StartDate")), _aware(schedule.get("EndDate"))
            if start and start > after:
                after = start
            if tracked.expression.kind == "at" and tracked.last_fired is None:
                # at() fires once at its time, even if the schedule was created after it passed.
                when = tracked.expression.next_after(datetime.min.replace(tzinfo=UTC), signature[1])
            else:
                when = tracked.expression.next_after(after, signature[1], anchor=start or tracked.anchor)
            if when is None or (end and when > end):
                continue
            out.append((when, schedule, tracked))
        for key in set(self._tracked) - seen:
            del self._tracked[key]
        return out

    # Timer protocol

    def next_due(self) -> datetime | None:
        with self._lock:
            dues = [when for when, _, _ in self._due(clock.now())]
            return min(dues) if dues else None

    def run_due(self, now: datetime) -> int:
        with self._lock:
            fired = 0
            for when, schedule, tracked in sorted(self._due(now), key=lambda d: (d[0], d[1]["Name"])):
                if when > now:
                    continue
                tracked.last_fired = when
                if tracked.expression and tracked.expression.kind == "at":
                    tracked.done = True
                self._fire(schedule, when)
                if tracked.done and schedule.get("ActionAfterCompletion") == "DELETE":
                    self.clients.scheduler.delete_schedule(
                        Name=schedule["Name"], GroupName=schedule["GroupName"]
                    )
                fired += 1
            return fired

    def _fire(self, schedule: dict[str, Any], when: datetime) -> None:
        target = schedule["Target"]
        raw = target.get("Input")
        try:
            payload = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            payload = raw
        firing = Firing(schedule["Name"], when, target["Arn"], payload)
        self.firings.append(firing)
        try:
            function = function_for(target["Arn"])
            log.info("schedule %s fires %s at %s", schedule["Name"], function.name, when.isoformat())
            self.runner.invoke(function, payload)
        except UnknownFunctionError as exc:
            firing.error = str(exc)
            log.error(
                "schedule %s targets %s, which the local stack cannot invoke", schedule["Name"], target["Arn"]
            )
        except Exception as exc:  # Scheduler would retry per its policy; locally the failure is recorded
            firing.error = f"{type(exc).__name__}: {exc}"
            log.exception("schedule %s: target %s failed", schedule["Name"], target["Arn"])


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = clock.parse_iso(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
