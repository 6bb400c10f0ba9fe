"""EventBridge Scheduler expressions: cron(...), rate(...) and at(...), evaluated in a timezone.

cron(...) is the runtime's kaeri.scenarios.cron (the same validator the scenario model uses); rate()
and at() are only scheduled by the local stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from kaeri.scenarios.cron import Cron, ScheduleExpressionError

__all__ = ["Cron", "ScheduleExpression", "ScheduleExpressionError", "next_occurrence"]


_RATE = re.compile(r"^(\d+)\s+(minute|minutes|hour|hours|day|days)$")
_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class ScheduleExpression:
    kind: str  # cron | rate | at
    cron: Cron | None = None
    period: timedelta | None = None
    at: datetime | None = None  # naive local time for at()

    @classmethod
    def parse(cls, expression: str) -> ScheduleExpression:
        text = expression.strip()
        found = re.fullmatch(r"(cron|rate|at)\((.*)\)", text)
        if not found:
            raise ScheduleExpressionError(
                f"not a schedule expression: {expression!r} (cron(...), rate(...), at(...))"
            )
        kind, body = found.groups()
        body = body.strip()
        if kind == "cron":
            return cls("cron", cron=Cron.parse(body))
        if kind == "rate":
            rate = _RATE.match(body)
            if not rate or int(rate.group(1)) == 0:
                raise ScheduleExpressionError(
                    f"rate({body}): use e.g. rate(5 minutes), rate(1 hour), rate(2 days)"
                )
            unit = rate.group(2).rstrip("s")
            return cls("rate", period=timedelta(seconds=int(rate.group(1)) * _RATE_UNITS[unit]))
        try:
            return cls("at", at=datetime.strptime(body, "%Y-%m-%dT%H:%M:%S"))
        except ValueError as exc:
            raise ScheduleExpressionError(f"at({body}): use at(yyyy-mm-ddThh:mm:ss)") from exc

    def next_after(
        self, after: datetime, timezone: str = "UTC", anchor: datetime | None = None
    ) -> datetime | None:
        """The first firing strictly after `after`; rate() counts whole periods from `anchor`."""
        tz = ZoneInfo(timezone or "UTC")
        if self.kind == "cron":
            assert self.cron is not None
            return self.cron.next_after(after, tz)
        if self.kind == "rate":
            assert self.period is not None
            start = anchor or after
            periods = max(0, int((after - start) / self.period)) + 1
            when = start + periods * self.period
            while when <= after:
                when += self.period
            return when.astimezone(UTC)
        assert self.at is not None
        when = self.at.replace(tzinfo=tz).astimezone(UTC)
        return when if when > after else None


def next_occurrence(expression: str, after: datetime, timezone: str = "UTC") -> datetime | None:
    """Shortcut: the next firing of a cron()/rate()/at() expression strictly after `after`."""
    return ScheduleExpression.parse(expression).next_after(after, timezone)
