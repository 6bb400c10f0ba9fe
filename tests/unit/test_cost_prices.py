"""prices.json: dated, in ap-northeast-1 and USD, every price with a unit and a source."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from kaeri_ops.cost.model import FunctionFigures, Mix, UnitFigures, monthly_bill
from kaeri_ops.cost.prices import PRICE_FILE, Prices, load_prices


def test_the_price_file_is_dated_regional_and_sourced():
    prices = load_prices()
    assert prices.region == "ap-northeast-1"
    assert prices.currency == "USD"
    assert prices.free_tier == "excluded"
    for key, price in prices.prices.items():
        assert price.unit.strip(), key
        assert str(price.source).startswith("https://"), key
        assert price.per > 0, key
        if not price.confirmed:
            assert price.note.strip(), f"{key} is unconfirmed without saying why"
    for plan in prices.line_plans_:
        assert str(plan.source).startswith("https://")


def test_every_price_the_model_uses_is_in_the_file():
    prices = load_prices()
    used: list[str] = []

    class Spy(Prices):
        def usd(self, key: str) -> float:
            used.append(key)
            return super().usd(key)

    spy = Spy.model_validate(json.loads(PRICE_FILE.read_text(encoding="utf-8")))
    units = UnitFigures(
        customers=10,
        days=30,
        months=1,
        events=100,
        api_requests=100,
        journeys=10,
        transitions=50,
        messages={"email": 5, "line": 5},
        functions={"send-message": FunctionFigures(invocations=10)},
    )
    monthly_bill(1000, 10_000, units, spy, Mix())
    assert set(used) <= set(prices.prices)
    assert len(set(used)) >= 25  # the bill touches every service priced


def _raw() -> dict:
    return json.loads(PRICE_FILE.read_text(encoding="utf-8"))


def test_a_price_without_a_source_is_refused():
    raw = _raw()
    del raw["prices"]["sfn_transition"]["source"]
    with pytest.raises(ValidationError, match="source"):
        Prices.model_validate(raw)


def test_an_unconfirmed_price_must_say_why():
    raw = _raw()
    raw["prices"]["sqs_request"].update(confirmed=False, note="")
    with pytest.raises(ValidationError, match="sqs_request"):
        Prices.model_validate(raw)


def test_another_region_or_currency_is_refused():
    raw = _raw()
    raw["region"] = "us-east-1"
    with pytest.raises(ValidationError, match="region"):
        Prices.model_validate(raw)


def test_the_bill_is_set_beside_the_smallest_published_saas_tier_that_holds_the_contacts():
    prices = load_prices()
    (at_10k,) = prices.saas_at(10_000)
    assert (at_10k.tool, at_10k.contacts, at_10k.monthly_usd) == ("Mailchimp", 10_000, 100.0)
    assert prices.saas_at(20_000)[0].contacts == 50_000  # the next tier up, not the 10,000 one
    assert prices.saas_at(1_000_000) == []  # no published tier that large: no figure invented
    assert all(str(t.source).startswith("https://") and t.read_on for t in prices.saas)


def test_a_confirmed_price_says_where_its_regional_figure_was_read():
    # confirmed means the Tokyo figure was read somewhere; the note is the only record of where
    prices = load_prices()
    for key, price in prices.prices.items():
        if price.confirmed:
            assert price.note.strip(), f"{key} is confirmed without naming where it was read"
