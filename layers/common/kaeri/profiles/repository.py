"""Profiles in the customers table: read, resolve identities, and save exactly once per event.

Items (pk ``{shop}#{customer}``):
- ``PROFILE``: the Profile, plus ``version`` (optimistic lock), ``applied`` (recent message ids, so a
  replayed stream record changes nothing), ``order_ids`` (an order counts once whatever delivers it),
  ``order_totals`` (recent orders' counted amount and time, so a cancel takes back the right amount),
  ``cancelled_order_ids`` (an order is taken back once) and the sparse GSI keys of tables.CUSTOMERS.
- ``ALIAS`` at pk ``{shop}#anon:{anonymous_id}``: the user id that anonymous id was merged into.
- ``CONFLICT#{message_id}`` at the same pk: an identify/alias from another user that claimed an
  anonymous id already merged (merge protection: the alias is never re-pointed).
- ``CONSENT#{at}#{channel}``: one record per consent change (Act on Specified Electronic Mail), in
  the one format of kaeri.profiles.customers.consent_record.

The table itself, its other item kinds and the shared keys are kaeri.profiles.customers; this module
is the profile section of that repository.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from kaeri.aws import AwsClients, ClientError, Key, all_items, batch_get, condition_failed
from kaeri.clock import iso, parse_iso
from kaeri.events import from_dynamo
from kaeri.profiles.customers import (
    ALIAS,
    ANON_PREFIX,
    CONFLICT,
    PROFILE,
    CustomersTable,
    anonymous_customer,
    consent_record,
    profile_key,
    profile_pk,
)
from kaeri.profiles.model import Consent, Profile

__all__ = [
    "ALIAS",
    "ANON_PREFIX",
    "CONFLICT",
    "PROFILE",
    "ConcurrentUpdate",
    "ProfileRepository",
    "ProfileState",
    "alias_item",
    "anonymous_customer",
    "consent_item",
    "profile_attributes",
    "profile_from_item",
    "profile_key",
    "profile_pk",
]
# Attributes this repository writes on PROFILE items; others (predictions, churn_key) belong to
# functions/recommend and are never touched here.
NOT_OWNED = frozenset({"predictions"})
STATE_ATTRIBUTES = ("version", "applied", "order_ids", "order_totals", "cancelled_order_ids", "projection")
GSI_ATTRIBUTES = ("shop_id", "birthday_key", "points_shop", "points_expire_on", "buyer_shop", "last_order_at")


class ConcurrentUpdate(Exception):
    """Another writer saved the profile since it was read; read again and re-apply."""


@dataclass
class ProfileState:
    """A profile as read for an update, with what makes re-applying an event a no-op."""

    profile: Profile
    version: int | None = None  # None: no PROFILE item yet
    applied: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    # Recent counted orders: order id -> (amount still counted, order time), oldest first (bounded by
    # the projector); what an Order Cancelled / full refund takes back.
    order_totals: dict[str, tuple[Decimal, datetime]] = field(default_factory=dict)
    cancelled_order_ids: list[str] = field(default_factory=list)
    # What makes the projection order-independent (kaeri.profiles.projection): the stamp and raw
    # value of each last-writer-wins field, the cart's per-product adds/removals, wishlist and bought
    # registers. None: a profile saved before this existed (seeded from its fields on first use).
    projection: dict[str, Any] | None = None
    has_version: bool = True
    # The PROFILE item as read (None: not read from the table). save() writes only what differs
    # from it: the conditional version check guarantees the item is still exactly this one.
    stored: dict[str, Any] | None = field(default=None, repr=False)


def _value(value: Any) -> Any:
    """Python values to what DynamoDB stores: canonical time text, Decimal numbers."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    return value


def profile_attributes(profile: Profile) -> dict[str, Any]:
    """Owned attributes of the PROFILE item, GSI keys included; None means REMOVE."""
    data = profile.model_dump(mode="python", exclude=set(NOT_OWNED))
    attributes: dict[str, Any] = {k: (_value(v) if v is not None else None) for k, v in data.items()}
    shop = profile.shop_id
    attributes["shop_id"] = shop
    attributes["birthday_key"] = f"{shop}#{profile.birthday.strftime('%m-%d')}" if profile.birthday else None
    expires = profile.points_expire_on if profile.points_balance > 0 else None
    attributes["points_shop"] = shop if expires else None
    attributes["points_expire_on"] = expires.isoformat() if expires else None
    attributes["buyer_shop"] = shop if profile.last_order_at else None
    return attributes


def order_totals_value(totals: dict[str, tuple[Decimal, datetime]]) -> list[dict[str, Any]]:
    """ProfileState.order_totals as stored: a list (DynamoDB maps do not keep their order)."""
    return [{"order_id": k, "total": total, "at": iso(at)} for k, (total, at) in totals.items()]


def _order_totals(value: Any) -> dict[str, tuple[Decimal, datetime]]:
    return {str(e["order_id"]): (Decimal(str(e["total"])), parse_iso(str(e["at"]))) for e in value or []}


def profile_from_item(item: dict[str, Any]) -> Profile:
    """A PROFILE item (as read, or as an index with projection ALL returns it) to a Profile."""
    return Profile.model_validate(from_dynamo({k: v for k, v in item.items() if k not in ("pk", "sk")}))


def alias_item(shop_id: str, anonymous_id: str, user_id: str, at: datetime) -> dict[str, Any]:
    """The ALIAS item: this anonymous id was merged into that user."""
    return {
        "pk": profile_pk(shop_id, anonymous_customer(anonymous_id)),
        "sk": ALIAS,
        "user_id": user_id,
        "at": iso(at),
    }


def consent_item(shop_id: str, customer_id: str, channel: str, consent: Consent) -> dict[str, Any]:
    """One consent change as evidence: when, status, how (source) and under which wording."""
    return consent_record(
        shop_id,
        customer_id,
        channel,
        consent.status,
        iso(consent.at) if consent.at else None,
        consent.source,
        consent.wording_version,
    )


class ProfileRepository:
    def __init__(self, clients: AwsClients) -> None:
        self.customers = CustomersTable.of(clients)
        self._table = self.customers.table
        self._clients = clients

    def _batch_get(self, keys: list[dict[str, str]], consistent: bool = False) -> list[dict[str, Any]]:
        """Items for the keys (any order, missing ones absent), retrying unprocessed keys."""
        name = self._table.name
        request = {name: {"Keys": keys, "ConsistentRead": consistent}}
        return batch_get(self._clients.dynamodb_resource, request)[name]

    def matching(
        self, index: str, partition: tuple[str, str], sort_between: tuple[str, str, str] | None = None
    ) -> Iterator[Profile]:
        """Profiles on one partition of a customers-table index (sort key between two values), each once."""
        condition = Key(partition[0]).eq(partition[1])
        if sort_between:
            condition = condition & Key(sort_between[0]).between(sort_between[1], sort_between[2])
        seen: set[str] = set()
        for item in all_items(self._table.query, IndexName=index, KeyConditionExpression=condition):
            if item.get("sk", PROFILE) != PROFILE or item["pk"] in seen:
                continue
            seen.add(item["pk"])
            yield profile_from_item(item)

    def get_many(self, shop_id: str, customer_ids: list[str]) -> dict[str, Profile]:
        """Profiles of several customers (eventually consistent, like get); missing ones left out."""
        ids = list(dict.fromkeys(customer_ids))
        if not ids:
            return {}
        items = self._batch_get([profile_key(shop_id, c) for c in ids])
        profiles = [profile_from_item(item) for item in items]
        return {p.customer_id: p for p in profiles}

    def get(self, shop_id: str, customer_id: str, *, consistent: bool = False) -> Profile | None:
        item = self._table.get_item(Key=profile_key(shop_id, customer_id), ConsistentRead=consistent).get(
            "Item"
        )
        return profile_from_item(item) if item else None

    def resolve(self, shop_id: str, identity: str) -> str:
        """The customer an identity belongs to: an anonymous id merged into a user resolves to the user.

        identity is a user id or ``anon:{anonymous_id}`` (StoredEvent.identity).
        """
        if not identity.startswith(ANON_PREFIX):
            return identity
        item = self._table.get_item(Key={"pk": profile_pk(shop_id, identity), "sk": ALIAS}).get("Item")
        return item["user_id"] if item else identity

    def put_alias(self, shop_id: str, anonymous_id: str, user_id: str, at: datetime) -> None:
        self._table.put_item(Item=alias_item(shop_id, anonymous_id, user_id, at))

    def claim_alias(self, shop_id: str, anonymous_id: str, user_id: str, at: datetime) -> str:
        """Point the anonymous id at the user unless it already points at another: the owner after.

        Merge protection: the first user an anonymous id is merged into keeps it (a conditional put,
        so two concurrent claims cannot both win).
        """
        try:
            self._table.put_item(
                Item=alias_item(shop_id, anonymous_id, user_id, at),
                ConditionExpression="attribute_not_exists(#pk) OR #user = :user",
                ExpressionAttributeNames={"#pk": "pk", "#user": "user_id"},
                ExpressionAttributeValues={":user": user_id},
            )
            return user_id
        except ClientError as exc:
            if not condition_failed(exc):
                raise
        return self.resolve(shop_id, anonymous_customer(anonymous_id))

    def put_conflict(self, shop_id: str, anonymous_id: str, claimed_by: str, owner: str, event: Any) -> None:
        """Keep an identity conflict (an id merged into `owner`, claimed by another) for review."""
        self._table.put_item(
            Item={
                "pk": profile_pk(shop_id, anonymous_customer(anonymous_id)),
                "sk": f"{CONFLICT}#{event.message_id}",
                "owner": owner,
                "claimed_by": claimed_by,
                "message_id": event.message_id,
                "type": event.type,
                "at": iso(event.timestamp),
            }
        )

    def conflicts(self, shop_id: str, anonymous_id: str) -> list[dict[str, Any]]:
        condition = Key("pk").eq(profile_pk(shop_id, anonymous_customer(anonymous_id))) & Key(
            "sk"
        ).begins_with(f"{CONFLICT}#")
        return [from_dynamo(i) for i in all_items(self._table.query, KeyConditionExpression=condition)]

    def put_records(self, items: list[dict[str, Any]]) -> None:
        """Unconditional puts of ALIAS / CONSENT items: one request for one item, else BatchWriteItem."""
        self.customers.put_records(items)

    def put(self, profile: Profile) -> None:
        """Write a whole profile unconditionally (imports, fixtures); streams use save()."""
        attributes = {k: v for k, v in profile_attributes(profile).items() if v is not None}
        self._table.put_item(Item={**profile_key(profile.shop_id, profile.customer_id), **attributes})

    def load(self, shop_id: str, customer_id: str) -> ProfileState:
        item = self._table.get_item(Key=profile_key(shop_id, customer_id), ConsistentRead=True).get("Item")
        return _state(shop_id, customer_id, item)

    def resolve_and_load(self, shop_id: str, identity: str) -> tuple[str, ProfileState | None]:
        """resolve() and, when the identity is its own customer, load() in one round trip.

        An anonymous identity reads its ALIAS and PROFILE items together (consistent reads); when the
        alias points to a user the state is None and the caller loads the user's profile.
        """
        if not identity.startswith(ANON_PREFIX):
            return identity, None
        pk = profile_pk(shop_id, identity)
        items = self._batch_get([{"pk": pk, "sk": ALIAS}, {"pk": pk, "sk": PROFILE}], consistent=True)
        by_sk = {item["sk"]: item for item in items}
        if ALIAS in by_sk:
            return str(by_sk[ALIAS]["user_id"]), None
        return identity, _state(shop_id, identity, by_sk.get(PROFILE))

    def save(self, state: ProfileState) -> int:
        """Conditional update of the owned attributes; ConcurrentUpdate if the version moved."""
        profile = state.profile
        sets: dict[str, Any] = {}
        removes: list[str] = []
        stored = state.stored if state.version is not None and state.has_version else None
        for name, value in profile_attributes(profile).items():
            if stored is not None and stored.get(name) == value:
                continue  # unchanged since it was read (None == absent)
            if value is None:
                removes.append(name)
            else:
                sets[name] = value
        new_version = (state.version or 0) + 1
        sets.update({"version": new_version, "applied": state.applied, "order_ids": state.order_ids})
        for name, value in (
            ("order_totals", order_totals_value(state.order_totals)),
            ("cancelled_order_ids", state.cancelled_order_ids),
            ("projection", _value(state.projection) if state.projection is not None else None),
        ):
            if value is None:
                continue
            if stored is None or stored.get(name, []) != value:
                sets[name] = value  # written only when changed: most events touch no order
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        set_clauses = []
        for i, (name, value) in enumerate(sets.items()):
            names[f"#s{i}"] = name
            values[f":s{i}"] = value
            set_clauses.append(f"#s{i} = :s{i}")
        expression = "SET " + ", ".join(set_clauses)
        if state.version is None:
            names["#pk"] = "pk"
            condition = "attribute_not_exists(#pk)"
            removes = []  # nothing to remove from an item that does not exist
        elif not state.has_version:
            names["#ver"] = "version"
            condition = "attribute_not_exists(#ver)"
        else:
            names["#ver"] = "version"
            values[":expected"] = state.version
            condition = "#ver = :expected"
        if removes:
            for i, name in enumerate(removes):
                names[f"#r{i}"] = name
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
        try:
            self._table.update_item(
                Key=profile_key(profile.shop_id, profile.customer_id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise ConcurrentUpdate(profile.customer_id) from exc
            raise
        state.version = new_version
        state.has_version = True
        state.stored = None  # what was written is not tracked; a later save writes every attribute
        return new_version

    def delete_merged(self, shop_id: str, customer_id: str, version: int | None) -> bool:
        """Remove an anonymous profile once merged; False if it changed meanwhile (kept, not lost)."""
        if version is None:
            return True
        try:
            self._table.delete_item(
                Key=profile_key(shop_id, customer_id),
                ConditionExpression="attribute_not_exists(#ver) OR #ver = :v",
                ExpressionAttributeNames={"#ver": "version"},
                ExpressionAttributeValues={":v": version},
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            return False
        return True

    def record_consent(self, shop_id: str, customer_id: str, channel: str, consent: Consent) -> None:
        """One item per consent change: when, status, how (source) and under which wording."""
        self.customers.put_consent(consent_item(shop_id, customer_id, channel, consent))

    def consent_history(self, shop_id: str, customer_id: str) -> list[dict[str, Any]]:
        return self.customers.consent_history(shop_id, customer_id)


def _state(shop_id: str, customer_id: str, item: dict[str, Any] | None) -> ProfileState:
    """A PROFILE item (or its absence) as read for an update."""
    if not item:
        return ProfileState(profile=Profile(shop_id=shop_id, customer_id=customer_id))
    return ProfileState(
        profile=profile_from_item(item),
        version=int(item.get("version", 0)),
        applied=list(item.get("applied", [])),
        order_ids=list(item.get("order_ids", [])),
        order_totals=_order_totals(item.get("order_totals")),
        cancelled_order_ids=list(item.get("cancelled_order_ids", [])),
        projection=from_dynamo(item["projection"]) if "projection" in item else None,
        has_version="version" in item,
        stored=item,
    )
