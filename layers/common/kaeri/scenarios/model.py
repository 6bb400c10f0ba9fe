"""A scenario as typed data: trigger, audience, steps, exit, re-entry, holdout and goal.

Marketers write it as YAML; docs/scenario.schema.json (exported from these models) gives editors
autocompletion. Conditions and steps are keyed by their kind (`order_count: {gte: 1}`,
`send: {...}`) so a YAML file reads like the brief.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from kaeri.scenarios.cron import Cron
from kaeri.scenarios.timing import parse_duration
from kaeri.vocabulary import ORDER_COMPLETED, Channel

_SLUG = r"^[a-z0-9][a-z0-9-]{0,62}$"
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _duration(value: str) -> str:
    parse_duration(value)
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"'{value}' is not an IANA timezone such as Asia/Tokyo") from exc
    return value


def _hhmm(value: str) -> str:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ValueError(f"'{value}' is not a local time HH:MM (00:00-23:59)")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- conditions


class Range(_Strict):
    """A numeric comparison; every bound given must hold."""

    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    eq: float | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> Range:
        if all(v is None for v in (self.gt, self.gte, self.lt, self.lte, self.eq)):
            raise ValueError("give at least one of gt, gte, lt, lte, eq")
        return self

    def holds(self, value: float | None) -> bool:
        if value is None:
            return False
        return (
            (self.gt is None or value > self.gt)
            and (self.gte is None or value >= self.gte)
            and (self.lt is None or value < self.lt)
            and (self.lte is None or value <= self.lte)
            and (self.eq is None or value == self.eq)
        )

    def describe(self) -> str:
        parts = [
            f"{sym} {v:g}"
            for sym, v in (
                (">", self.gt),
                (">=", self.gte),
                ("<", self.lt),
                ("<=", self.lte),
                ("==", self.eq),
            )
            if v is not None
        ]
        return " and ".join(parts)


class OrderCount(_Strict):
    order_count: Range


class TotalSpent(_Strict):
    total_spent: Range


class DaysSinceLastOrder(_Strict):
    """Customers who never ordered have no value and never match."""

    days_since_last_order: Range


class DaysSinceSignup(_Strict):
    days_since_signup: Range


class PointsBalance(_Strict):
    points_balance: Range


class ConsentOn(_Strict):
    """Granted consent on this channel."""

    consent: Channel


class CategoryBought(_Strict):
    """Bought at least one of these categories."""

    category_bought: list[str] = Field(min_length=1)

    @field_validator("category_bought", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class ChurnRiskIs(_Strict):
    """Predicted churn band (needs predictions; customers without them never match)."""

    churn_risk: list[Literal["low", "medium", "high"]] = Field(min_length=1)

    @field_validator("churn_risk", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class PAlive(_Strict):
    """Predicted probability the customer is still active (BG/NBD)."""

    p_alive: Range


class SignedUp(_Strict):
    signed_up: bool


class CartNotEmpty(_Strict):
    cart_not_empty: bool


class All(_Strict):
    all: list[Condition] = Field(min_length=1)


class AnyOf(_Strict):
    any: list[Condition] = Field(min_length=1)


class Not(_Strict):
    not_: Condition = Field(alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True)


CONDITION_KINDS: dict[str, type[BaseModel]] = {
    "all": All,
    "any": AnyOf,
    "not": Not,
    "order_count": OrderCount,
    "total_spent": TotalSpent,
    "days_since_last_order": DaysSinceLastOrder,
    "days_since_signup": DaysSinceSignup,
    "points_balance": PointsBalance,
    "consent": ConsentOn,
    "category_bought": CategoryBought,
    "churn_risk": ChurnRiskIs,
    "p_alive": PAlive,
    "signed_up": SignedUp,
    "cart_not_empty": CartNotEmpty,
}


def _kind_of(value: Any, kinds: dict[str, Any]) -> str | None:
    """The one key naming the kind of a condition or step (None lets pydantic say what is wrong)."""
    if isinstance(value, BaseModel):
        for name, cls in kinds.items():
            if type(value) is cls:
                return name
        return None
    if isinstance(value, dict):
        found = [k for k in value if k in kinds]
        return found[0] if len(found) == 1 else None
    return None


def _condition_kind(value: Any) -> str | None:
    return _kind_of(value, CONDITION_KINDS)


Condition = Annotated[
    Annotated[All, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[Not, Tag("not")]
    | Annotated[OrderCount, Tag("order_count")]
    | Annotated[TotalSpent, Tag("total_spent")]
    | Annotated[DaysSinceLastOrder, Tag("days_since_last_order")]
    | Annotated[DaysSinceSignup, Tag("days_since_signup")]
    | Annotated[PointsBalance, Tag("points_balance")]
    | Annotated[ConsentOn, Tag("consent")]
    | Annotated[CategoryBought, Tag("category_bought")]
    | Annotated[ChurnRiskIs, Tag("churn_risk")]
    | Annotated[PAlive, Tag("p_alive")]
    | Annotated[SignedUp, Tag("signed_up")]
    | Annotated[CartNotEmpty, Tag("cart_not_empty")],
    Discriminator(
        _condition_kind,
        custom_error_type="condition_kind",
        custom_error_message="a condition has exactly one of: " + ", ".join(CONDITION_KINDS),
    ),
]

All.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()


# ---------------------------------------------------------------- triggers


class EventTrigger(_Strict):
    """Starts a journey when the customer's event arrives; `where` filters on event properties."""

    event: str = Field(min_length=1)
    where: dict[str, str | int | float | bool | list[str | int | float]] = Field(default_factory=dict)
    audience_from: Literal["customer", "product_interest"] = Field(
        default="customer",
        description="customer: the event's own customer; product_interest: customers who viewed or "
        "wish-listed properties.product_id within interest_days (restock)",
    )
    interest_days: int = Field(default=30, ge=1, le=365)


class ScheduleTrigger(_Strict):
    """Runs on an EventBridge Scheduler cron (6 fields, `0 10 1 * ? *`) in an IANA timezone."""

    cron: str
    timezone: str = "Asia/Tokyo"

    @field_validator("cron")
    @classmethod
    def _six_fields(cls, value: str) -> str:
        text = value.strip()
        if text.startswith("cron(") and text.endswith(")"):
            text = text[5:-1].strip()
        Cron.parse(text)  # ranges, names, '?', L/W/# as EventBridge Scheduler reads them
        return text

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: Any) -> Any:
        return _timezone(v)


class DateTrigger(_Strict):
    """Daily at `at` (local, `timezone`): customers whose profile date is today + days_before."""

    date: Literal["birthday", "points_expire_on"]
    days_before: int = Field(default=0, ge=0, le=365)
    at: str = "10:00"
    timezone: str = "Asia/Tokyo"

    @field_validator("at")
    @classmethod
    def _at(cls, v: Any) -> Any:
        return _hhmm(v)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: Any) -> Any:
        return _timezone(v)


class Trigger(_Strict):
    """Exactly one of event, schedule, date."""

    event: EventTrigger | None = None
    schedule: ScheduleTrigger | None = None
    date: DateTrigger | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Trigger:
        given = [n for n in ("event", "schedule", "date") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of event, schedule, date (got {', '.join(given) or 'none'})")
        return self

    @property
    def kind(self) -> Literal["event", "schedule", "date"]:
        return "event" if self.event else "schedule" if self.schedule else "date"

    @property
    def timezone(self) -> str | None:
        spec = self.schedule or self.date
        return spec.timezone if spec else None

    def cron(self) -> str | None:
        """The EventBridge Scheduler expression for scheduled and date triggers."""
        if self.schedule:
            return f"cron({self.schedule.cron})"
        if self.date:
            hours, minutes = self.date.at.split(":")
            return f"cron({int(minutes)} {int(hours)} * * ? *)"
        return None


# ---------------------------------------------------------------- steps


class TimeWindow(_Strict):
    """A local time-of-day window in the customer's timezone; may wrap midnight."""

    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _hm(cls, v: Any) -> Any:
        return _hhmm(v)

    @model_validator(mode="after")
    def _not_empty(self) -> TimeWindow:
        if self.start == self.end:
            raise ValueError("start and end must differ")
        return self


class WaitSpec(_Strict):
    """Wait `duration`, then (if given) until the next moment inside `window`.

    With `predicted_next_order_lead`, a customer with a predicted next order waits until that
    moment minus the lead (never longer than `duration`).
    """

    duration: str | None = None
    window: TimeWindow | None = None
    predicted_next_order_lead: str | None = None

    @field_validator("duration", "predicted_next_order_lead")
    @classmethod
    def _d(cls, v: Any) -> Any:
        return v if v is None else _duration(v)

    @model_validator(mode="after")
    def _something(self) -> WaitSpec:
        if self.duration is None and self.window is None:
            raise ValueError("give duration, window or both")
        if self.predicted_next_order_lead and not self.duration:
            raise ValueError("predicted_next_order_lead needs duration as the upper bound")
        return self


class Variant(_Strict):
    id: str = Field(pattern=_SLUG)
    template: str = Field(min_length=1)
    weight: int = Field(default=1, ge=0)


class SendSpec(_Strict):
    channels: list[Channel] = Field(min_length=1)
    template: str = Field(min_length=1)
    variants: list[Variant] = Field(default_factory=list)
    purpose: Literal["marketing", "transactional"] = "marketing"
    context: dict[str, Any] = Field(default_factory=dict)
    expires_after: str | None = None  # from when the step fell due; quiet hours past this skip

    @field_validator("expires_after")
    @classmethod
    def _d(cls, v: Any) -> Any:
        return v if v is None else _duration(v)

    @field_validator("channels")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a channel appears twice")
        return value

    @model_validator(mode="after")
    def _weights(self) -> SendSpec:
        if self.variants:
            ids = [v.id for v in self.variants]
            if len(set(ids)) != len(ids):
                raise ValueError("variant ids must be unique")
            if sum(v.weight for v in self.variants) <= 0:
                raise ValueError("variant weights must add up to more than 0")
        return self


class BranchSpec(_Strict):
    """If the condition holds go to `then` (a step id or `end`), else to `else` (default: next step)."""

    if_: Condition = Field(alias="if")
    then: str
    else_: str | None = Field(default=None, alias="else")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True)


class WaitStep(_Strict):
    id: str = Field(pattern=_SLUG)
    wait: WaitSpec


class SendStep(_Strict):
    id: str = Field(pattern=_SLUG)
    send: SendSpec


class BranchStep(_Strict):
    id: str = Field(pattern=_SLUG)
    branch: BranchSpec


STEP_KINDS: dict[str, type[BaseModel]] = {"wait": WaitStep, "send": SendStep, "branch": BranchStep}

Step = Annotated[
    Annotated[WaitStep, Tag("wait")]
    | Annotated[SendStep, Tag("send")]
    | Annotated[BranchStep, Tag("branch")],
    Discriminator(
        lambda v: _kind_of(v, STEP_KINDS),
        custom_error_type="step_kind",
        custom_error_message="a step has an id and exactly one of: wait, send, branch",
    ),
]


# ---------------------------------------------------------------- the scenario


ExitName = Literal["order_completed", "cart_emptied", "unsubscribed"]


class Exit(_Strict):
    """What ends a journey, checked before every send (and marked as events arrive).

    `when`: built-in checks on the profile since entry; `events`: any other event names seen since entry.
    """

    when: list[ExitName] = Field(default_factory=list)
    events: list[str] = Field(default_factory=list)


class Reentry(_Strict):
    policy: Literal["once", "once_per", "every_time"] = "once_per"
    days: int | None = Field(default=None, ge=1, le=3650)

    @model_validator(mode="after")
    def _days(self) -> Reentry:
        if self.policy == "once_per" and self.days is None:
            raise ValueError("once_per needs days")
        if self.policy != "once_per" and self.days is not None:
            raise ValueError(f"days only applies to once_per, not {self.policy}")
        return self


class Goal(_Strict):
    """What counts as a conversion for a scenario and for how long after a touch (or entry)."""

    event: str = ORDER_COMPLETED
    attribution_days: int = Field(default=5, ge=1, le=90)

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.attribution_days)


class Scenario(_Strict):
    id: str = Field(pattern=_SLUG, description="lowercase slug, unique per shop")
    name: str = Field(min_length=1)
    description: str = ""
    kind: Literal["conversion", "loyalty"] = "conversion"
    locale: Literal["ja", "en"] | None = Field(
        default=None, description="copy language when the profile has none"
    )
    trigger: Trigger
    audience: Condition | None = None
    steps: list[Step] = Field(min_length=1)
    exit: Exit = Field(default_factory=Exit)
    reentry: Reentry = Field(default_factory=lambda: Reentry(policy="once_per", days=30))
    holdout_percent: float = Field(default=10, ge=0, le=100)
    goal: Goal = Field(default_factory=Goal)

    @model_validator(mode="after")
    def _steps_consistent(self) -> Scenario:
        ids = [s.id for s in self.steps]
        seen: set[str] = set()
        for index, step_id in enumerate(ids):
            if step_id in seen:
                raise ValueError(f"steps.{index}.id: '{step_id}' is used twice")
            seen.add(step_id)
        for index, step in enumerate(self.steps):
            if isinstance(step, BranchStep):
                for target in (step.branch.then, step.branch.else_):
                    if target is not None and target != "end" and target not in seen:
                        raise ValueError(f"steps.{index}.branch: '{target}' is not a step id (or 'end')")
                    if target is not None and target != "end" and ids.index(target) <= index:
                        raise ValueError(f"steps.{index}.branch: '{target}' must come later (no loops)")
        if not any(isinstance(s, SendStep) for s in self.steps):
            raise ValueError("steps: a scenario needs at least one send step")
        return self

    def step_index(self, step_id: str) -> int:
        return [s.id for s in self.steps].index(step_id)

    def send_steps(self) -> list[SendStep]:
        return [s for s in self.steps if isinstance(s, SendStep)]

    def template_ids(self) -> list[str]:
        out: list[str] = []
        for step in self.send_steps():
            for tid in [step.send.template, *(v.template for v in step.send.variants)]:
                if tid not in out:
                    out.append(tid)
        return out


# ---------------------------------------------------------------- shop-wide rules


class FrequencyCap(_Strict):
    channel: Channel
    max: int = Field(ge=0)
    per: str = "16h"
    purpose: Literal["marketing"] = "marketing"

    @field_validator("per")
    @classmethod
    def _d(cls, v: Any) -> Any:
        return _duration(v)


class QuietHours(_Strict):
    """No marketing sends between start and end, local to the customer; sends are deferred, not dropped."""

    start: str = "21:00"
    end: str = "09:00"

    @field_validator("start", "end")
    @classmethod
    def _hm(cls, v: Any) -> Any:
        return _hhmm(v)

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("start and end must differ")
        return self


def _default_caps() -> list[FrequencyCap]:
    return [FrequencyCap(channel="email", max=1, per="16h")]


class ShopRules(_Strict):
    timezone: str = Field(default="Asia/Tokyo", description="used when a customer has no timezone")
    frequency_caps: list[FrequencyCap] = Field(default_factory=_default_caps)
    quiet_hours: QuietHours | None = Field(default_factory=QuietHours)
    daily_limit: int | None = Field(default=None, ge=0, description="marketing sends per shop per local day")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: Any) -> Any:
        return _timezone(v)
