"""The customer profile every scenario, template and KPI reads."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ConsentStatus = Literal["granted", "revoked", "unknown"]
ChurnRisk = Literal["low", "medium", "high"]


class Consent(BaseModel):
    """Consent on one channel, with when, how and under which wording it was given or withdrawn."""

    status: ConsentStatus = "unknown"
    at: datetime | None = None
    source: str | None = None
    wording_version: str | None = None


class CartLine(BaseModel):
    product_id: str
    name: str | None = None
    price: Decimal | None = None
    quantity: int = 1
    category: str | None = None
    url: str | None = None
    image_url: str | None = None
    added_at: datetime | None = None  # the latest add
    # The earliest add still counted (after the last removal or order): an add before it is not in
    # the cart any more, whichever order the events arrived in.
    first_added_at: datetime | None = None


class ViewedProduct(BaseModel):
    product_id: str
    name: str | None = None
    category: str | None = None
    price: Decimal | None = None
    url: str | None = None
    image_url: str | None = None
    at: datetime


class Predictions(BaseModel):
    """Written nightly by functions/recommend (BG/NBD and Gamma-Gamma)."""

    p_alive: float
    expected_orders_30d: float
    expected_orders_90d: float
    expected_orders_365d: float
    predicted_value_365d: float
    next_order_at: datetime | None = None
    churn_risk: ChurnRisk
    computed_at: datetime


class Profile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    shop_id: str
    customer_id: str
    anonymous_ids: list[str] = Field(default_factory=list)

    email: str | None = None
    phone: str | None = None
    line_user_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    birthday: date | None = None
    locale: str | None = None
    timezone: str | None = None
    traits: dict[str, object] = Field(default_factory=dict)  # every other trait, as sent
    consent: dict[str, Consent] = Field(default_factory=dict)  # channel -> consent

    signed_up_at: datetime | None = None
    order_count: int = 0
    total_spent: Decimal = Decimal("0")
    currency: str | None = None
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    categories_bought: list[str] = Field(default_factory=list)
    products_bought: list[str] = Field(default_factory=list)

    cart: dict[str, CartLine] = Field(default_factory=dict)  # product_id -> line
    cart_updated_at: datetime | None = None
    recently_viewed: list[ViewedProduct] = Field(default_factory=list)  # newest first, bounded
    wishlist: list[str] = Field(default_factory=list)

    points_balance: int = 0
    points_expire_on: date | None = None

    predictions: Predictions | None = None
    updated_at: datetime | None = None

    def has_consent(self, channel: str) -> bool:
        c = self.consent.get(channel)
        return c is not None and c.status == "granted"

    def address(self, channel: str) -> str | None:
        return {"email": self.email, "line": self.line_user_id, "sms": self.phone}.get(channel)
