"""Unit prices as data (prices.json): each with its unit, its source page and whether it was confirmed.

The file carries its date, region and currency; the free tier is excluded (a shop's second year
pays full price, and several free tiers only last twelve months). A price whose regional figure
could not be read on a public page says so (`confirmed: false`, with a note), and docs/cost.md
lists them.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

PRICE_FILE = Path(__file__).with_name("prices.json")


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid")

    usd: float = Field(ge=0, description="price in USD for `per` units")
    per: float = Field(1, gt=0, description="how many units the price is for (1,000,000 requests)")
    unit: str = Field(min_length=1, description="what is counted: request, GB-second, GB-month ...")
    source: HttpUrl
    confirmed: bool = Field(description="the regional figure was read on the source page")
    note: str = ""

    @property
    def unit_price(self) -> float:
        return self.usd / self.per


class LinePlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    included_messages: int = Field(ge=0)
    monthly_jpy: float = Field(ge=0)
    extra_jpy: list[tuple[int, float]] = Field(
        default_factory=list, description="(messages up to, JPY per extra message) tiers"
    )
    source: HttpUrl
    confirmed: bool
    note: str = ""


class SaasTier(BaseModel):
    """A marketing-automation tool's published monthly list price at a contact count (for comparison)."""

    model_config = ConfigDict(extra="forbid")

    tool: str = Field(min_length=1)
    plan: str = Field(min_length=1)
    contacts: int = Field(gt=0, description="the tier's contact / profile limit")
    monthly_usd: float = Field(gt=0)
    source: HttpUrl
    read_on: date
    confirmed: bool = Field(
        description="read on the vendor's own page (false: a third-party page quoting it)"
    )
    note: str = ""


class ExchangeRate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jpy_per_usd: float = Field(gt=0)
    source: str = Field(min_length=1)
    note: str = ""


class Prices(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: date
    region: Literal["ap-northeast-1"]
    currency: Literal["USD"]
    free_tier: Literal["excluded"]
    notes: list[str] = Field(default_factory=list)
    exchange_rate: ExchangeRate
    prices: dict[str, Price]
    line_plans_: list[LinePlan] = Field(alias="line_plans", min_length=1)
    saas: list[SaasTier] = Field(default_factory=list)

    @field_validator("prices")
    @classmethod
    def _unconfirmed_have_notes(cls, prices: dict[str, Price]) -> dict[str, Price]:
        missing = [k for k, p in prices.items() if not p.confirmed and not p.note.strip()]
        if missing:
            raise ValueError(f"unconfirmed prices need a note saying why: {', '.join(missing)}")
        return prices

    @property
    def jpy_per_usd(self) -> float:
        return self.exchange_rate.jpy_per_usd

    def usd(self, key: str) -> float:
        """USD per single unit (per request, per GB ...)."""
        try:
            return self.prices[key].unit_price
        except KeyError:
            raise KeyError(f"prices.json has no price {key!r}") from None

    def line_plans(self) -> list[tuple[str, int, float, list[tuple[int, float]]]]:
        return [(p.name, p.included_messages, p.monthly_jpy, list(p.extra_jpy)) for p in self.line_plans_]

    def saas_at(self, contacts: int) -> list[SaasTier]:
        """Per tool, the smallest published tier that holds `contacts` (none when no tier is that large)."""
        best: dict[str, SaasTier] = {}
        for tier in sorted(self.saas, key=lambda t: t.contacts):
            if tier.contacts >= contacts and tier.tool not in best:
                best[tier.tool] = tier
        return list(best.values())

    def unconfirmed(self) -> list[str]:
        return sorted(k for k, p in self.prices.items() if not p.confirmed)


def load_prices(path: Path | None = None) -> Prices:
    return Prices.model_validate(json.loads((path or PRICE_FILE).read_text(encoding="utf-8")))
