"""Reading profiles for the engine: through the profile repository, or from a customers-table item."""

from __future__ import annotations

from typing import Any

from kaeri.aws import AwsClients
from kaeri.events import from_dynamo
from kaeri.profiles.model import Profile


def profile_from_item(item: dict[str, Any]) -> Profile | None:
    """A PROFILE item (as an index query returns it, projection ALL) to a Profile."""
    try:
        from kaeri.profiles import repository

        parse = getattr(repository, "profile_from_item", None) or getattr(repository, "from_item", None)
        if parse is not None:
            return parse(item)
    except ImportError:
        pass
    data = from_dynamo(item)
    if "shop_id" not in data or "customer_id" not in data:
        shop, _, customer = str(data.get("pk", "")).partition("#")
        data.setdefault("shop_id", shop)
        data.setdefault("customer_id", customer)
    try:
        return Profile.model_validate(data)
    except ValueError:
        return None


def load_profile(clients: AwsClients, shop_id: str, customer_id: str) -> Profile | None:
    try:
        from kaeri.profiles.repository import ProfileRepository

        return ProfileRepository(clients).get(shop_id, customer_id)
    except ImportError:
        pass
    item = (
        clients.table("customers")
        .get_item(Key={"pk": f"{shop_id}#{customer_id}", "sk": "PROFILE"})
        .get("Item")
    )
    return profile_from_item(item) if item else None


def load_profiles(clients: AwsClients, shop_id: str, customer_ids: list[str]) -> dict[str, Profile]:
    """Several customers' profiles in BatchGetItem round trips (100 keys each); missing ones left out."""
    from kaeri.profiles.repository import ProfileRepository

    return ProfileRepository(clients).get_many(shop_id, customer_ids)
