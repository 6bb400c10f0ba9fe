"""Reading profiles for the engine: through the profile repository, or from a customers-table item."""

from __future__ import annotations

from typing import Any

from kaeri.aws import AwsClients
from kaeri.events import from_dynamo
from kaeri.journeys.store import Journey
from kaeri.profiles.model import Profile

BATCH_GET_ATTEMPTS = 8


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


def load_journey_and_profile(
    clients: AwsClients, shop_id: str, customer_id: str, scenario_id: str, entry_key: str
) -> tuple[Journey | None, Profile | None]:
    """A journey (consistent read) and its customer's profile in one BatchGetItem round trip.

    Same reads as JourneyStore.get and load_profile, one request instead of two: the step check
    needs both for nearly every journey it sees.
    """
    from kaeri.profiles.repository import profile_from_item as parse_profile

    journeys, customers = clients.table("journeys").name, clients.table("customers").name
    pk = f"{shop_id}#{customer_id}"
    request: dict[str, Any] = {
        journeys: {"Keys": [{"pk": pk, "sk": f"{scenario_id}#{entry_key}"}], "ConsistentRead": True},
        customers: {"Keys": [{"pk": pk, "sk": "PROFILE"}]},
    }
    found: dict[str, list[dict[str, Any]]] = {journeys: [], customers: []}
    for _ in range(BATCH_GET_ATTEMPTS):
        resp = clients.dynamodb_resource.batch_get_item(RequestItems=request)
        for table, items in resp.get("Responses", {}).items():
            found.setdefault(table, []).extend(items)
        request = resp.get("UnprocessedKeys") or {}
        if not request:
            break
    if request:
        raise RuntimeError("BatchGetItem left keys unprocessed; the step check is retried")
    journey = Journey.from_item(found[journeys][0]) if found[journeys] else None
    profile = parse_profile(found[customers][0]) if found[customers] else None
    return journey, profile
