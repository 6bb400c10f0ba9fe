"""The demo's synthetic shop: seeded, plausible, and responsive to the messages it receives."""

from datetime import UTC, datetime, timedelta

from kaeri_ops.demo.shop import SLOTS, SyntheticShop

START = datetime(2025, 1, 6, tzinfo=UTC)


def simulate(shop: SyntheticShop, days: int) -> list[dict]:
    calls = []
    for day in range(days):
        for slot, hour in enumerate(SLOTS):
            visits, _ = shop.slot(day, slot, START + timedelta(days=day, hours=hour - 9))
            calls += [call for visit in visits for call in visit.calls]
    return calls


def test_same_seed_same_shop():
    assert simulate(SyntheticShop(50, 7, START, 20), 20) == simulate(SyntheticShop(50, 7, START, 20), 20)


def test_the_shop_produces_signups_carts_and_orders_with_products():
    calls = simulate(SyntheticShop(300, 1, START, 30), 30)
    names = [c.get("event") for c in calls if c["type"] == "track"]
    assert {"Signed Up", "Product Viewed", "Product Added", "Order Completed"} <= set(names)
    order = next(c for c in calls if c.get("event") == "Order Completed")
    assert order["properties"]["total"] == sum(
        p["price"] * p["quantity"] for p in order["properties"]["products"]
    )
    merges = [c for c in calls if c["type"] == "identify" and "anonymousId" in c]
    assert merges, "logins before a cart carry the anonymous id so it merges"


def test_a_message_makes_a_customer_come_back_more():
    base = SyntheticShop(400, 2, START, 10)
    touched = SyntheticShop(400, 2, START, 10)
    for c in touched.customers:
        touched.touch(c.customer_id, START, engaged=True)
    visits = [sum(1 for c in simulate(s, 3) if c.get("event") == "Product Viewed") for s in (base, touched)]
    assert visits[1] > 2 * visits[0]
