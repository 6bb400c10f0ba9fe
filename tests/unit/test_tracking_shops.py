"""Shops and write keys: what the track API authenticates against."""

from __future__ import annotations

import pytest

from kaeri import shops


@pytest.fixture(autouse=True)
def _fresh_cache():
    shops.clear_cache()
    yield
    shops.clear_cache()


def test_created_shop_is_found_by_id_and_write_key(aws):
    created = shops.create_shop(aws, "shop-a", name="Shop A", write_key="wk_a", webhook_secret="s3cret")

    assert created.write_key == "wk_a"
    shops.clear_cache()
    assert shops.shop_for_write_key(aws, "wk_a") == "shop-a"
    shop = shops.get_shop(aws, "shop-a")
    assert shop is not None and shop.name == "Shop A" and shop.webhook_secret == "s3cret"
    assert shop.timezone == "Asia/Tokyo" and shop.paused_reason is None


def test_write_key_is_stored_only_as_its_hash(aws):
    shops.create_shop(aws, "shop-a", name="Shop A", write_key="wk_plain")

    items = aws.table("config").scan()["Items"]
    assert all("wk_plain" not in str(item) for item in items)


def test_unknown_or_empty_key_resolves_to_nothing(aws):
    assert shops.shop_for_write_key(aws, "nope") is None
    assert shops.shop_for_write_key(aws, "") is None
    assert shops.get_shop(aws, "missing") is None


def test_a_write_key_cannot_be_taken_by_another_shop(aws):
    shops.create_shop(aws, "shop-a", name="A", write_key="shared")

    with pytest.raises(shops.ShopError, match="another shop"):
        shops.create_shop(aws, "shop-b", name="B", write_key="shared")
    assert shops.shop_for_write_key(aws, "shared") == "shop-a"
