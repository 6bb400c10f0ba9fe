"""Journey items in the journeys table, and the deterministic ids and holdout they rest on.

pk ``{shop}#{customer}``, sk ``{scenario}#{entry_key}``: a conditional put makes starting a journey
idempotent (the same trigger never starts two).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from kaeri.aws import AwsClients, ClientError, Key, all_items, batch_get, condition_failed
from kaeri.clock import iso, parse_iso
from kaeri.profiles.customers import CustomersTable
from kaeri.profiles.model import Profile
from kaeri.profiles.repository import profile_from_item

JourneyStatus = Literal["running", "completed", "exited", "holdout"]
RETENTION = timedelta(days=400)


def journey_id(shop_id: str, customer_id: str, scenario_id: str, entry_key: str) -> str:
    """Deterministic and a valid Step Functions execution name (<= 80 chars of [A-Za-z0-9-_])."""
    digest = hashlib.sha256(
        f"{shop_id}\x1f{customer_id}\x1f{scenario_id}\x1f{entry_key}".encode()
    ).hexdigest()
    return f"j-{digest[:40]}"


def in_holdout(shop_id: str, scenario_id: str, customer_id: str, percent: float) -> bool:
    """Deterministic per shop + scenario + customer: the same customer is always on the same side."""
    if percent <= 0:
        return False
    digest = hashlib.sha256(f"holdout\x1f{shop_id}\x1f{scenario_id}\x1f{customer_id}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % 10_000
    return bucket < round(percent * 100)


def pick_variant(journey: str, step_id: str, weights: list[tuple[str, int]]) -> str:
    """Deterministic weighted choice, so a retried step picks the same A/B variant."""
    total = sum(w for _, w in weights)
    digest = hashlib.sha256(f"{journey}\x1f{step_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") % total
    for name, weight in weights:
        if point < weight:
            return name
        point -= weight
    return weights[-1][0]


class Journey(BaseModel):
    shop_id: str
    customer_id: str
    scenario_id: str
    scenario_version: int
    entry_key: str
    journey_id: str
    entered_at: datetime
    trigger_at: datetime  # when the triggering event happened ("since entry" for exits)
    holdout: bool = False
    status: JourneyStatus = "running"
    exit_reason: str | None = None
    trigger_message_id: str | None = None
    trigger: dict[str, Any] | None = None
    step_index: int = 0

    @property
    def pk(self) -> str:
        return f"{self.shop_id}#{self.customer_id}"

    @property
    def sk(self) -> str:
        return f"{self.scenario_id}#{self.entry_key}"

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": self.pk,
            "sk": self.sk,
            "shop_id": self.shop_id,
            "customer_id": self.customer_id,
            "scenario_id": self.scenario_id,
            "scenario_version": self.scenario_version,
            "scenario_key": f"{self.shop_id}#{self.scenario_id}",
            "entry_key": self.entry_key,
            "journey_id": self.journey_id,
            "entered_at": iso(self.entered_at),
            "trigger_at": iso(self.trigger_at),
            "holdout": self.holdout,
            "status": self.status,
            "step_index": self.step_index,
            "expires_at": int((self.entered_at + RETENTION).timestamp()),
        }
        if self.trigger_message_id:
            item["trigger_message_id"] = self.trigger_message_id
        if self.exit_reason:
            item["exit_reason"] = self.exit_reason
        if self.trigger is not None:
            item["trigger"] = json.dumps(self.trigger, default=str)
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Journey:
        return cls(
            shop_id=item["shop_id"],
            customer_id=item["customer_id"],
            scenario_id=item["scenario_id"],
            scenario_version=int(item["scenario_version"]),
            entry_key=item["entry_key"],
            journey_id=item["journey_id"],
            entered_at=parse_iso(item["entered_at"]),
            trigger_at=parse_iso(item.get("trigger_at") or item["entered_at"]),
            holdout=bool(item.get("holdout")),
            status=item.get("status", "running"),
            exit_reason=item.get("exit_reason"),
            trigger_message_id=item.get("trigger_message_id"),
            trigger=json.loads(item["trigger"]) if item.get("trigger") else None,
            step_index=int(item.get("step_index", 0)),
        )


class JourneyStore:
    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients
        self._table = clients.table("journeys")

    def create(self, journey: Journey) -> bool:
        """Put unless the (customer, scenario, entry key) journey exists; False when it does."""
        try:
            self._table.put_item(Item=journey.to_item(), ConditionExpression="attribute_not_exists(pk)")
            return True
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise

    def get(self, shop_id: str, customer_id: str, scenario_id: str, entry_key: str) -> Journey | None:
        item = self._table.get_item(
            Key={"pk": f"{shop_id}#{customer_id}", "sk": f"{scenario_id}#{entry_key}"}, ConsistentRead=True
        ).get("Item")
        return Journey.from_item(item) if item else None

    def get_with_profile(
        self, shop_id: str, customer_id: str, scenario_id: str, entry_key: str
    ) -> tuple[Journey | None, Profile | None]:
        """A journey (consistent read) and its customer's profile in one BatchGetItem round trip.

        Same reads as get() and ProfileRepository.get, one request instead of two: the step check
        needs both for nearly every journey it sees.
        """
        customers, profile_request = CustomersTable.of(self._clients).profile_batch_get(shop_id, customer_id)
        journey_key = {"pk": f"{shop_id}#{customer_id}", "sk": f"{scenario_id}#{entry_key}"}
        found = batch_get(
            self._clients.dynamodb_resource,
            {self._table.name: {"Keys": [journey_key], "ConsistentRead": True}, customers: profile_request},
        )
        journeys, profiles = found[self._table.name], found[customers]
        journey = Journey.from_item(journeys[0]) if journeys else None
        return journey, profile_from_item(profiles[0]) if profiles else None

    def entered_between(
        self, shop_id: str, scenario_id: str, since: datetime, until: datetime
    ) -> Iterator[dict[str, Any]]:
        """Journey items of a scenario entered between two times (index by_scenario), as stored."""
        return all_items(
            self._table.query,
            IndexName="by_scenario",
            KeyConditionExpression=Key("scenario_key").eq(f"{shop_id}#{scenario_id}")
            & Key("entered_at").between(iso(since), iso(until)),
        )

    def of_customer(
        self, shop_id: str, customer_id: str, scenario_id: str | None = None, *, consistent: bool = False
    ) -> list[Journey]:
        condition = Key("pk").eq(f"{shop_id}#{customer_id}")
        if scenario_id:
            condition = condition & Key("sk").begins_with(f"{scenario_id}#")
        items = all_items(self._table.query, KeyConditionExpression=condition, ConsistentRead=consistent)
        return [Journey.from_item(i) for i in items]

    def last_entry(self, shop_id: str, customer_id: str, scenario_id: str) -> datetime | None:
        entries = [j.entered_at for j in self.of_customer(shop_id, customer_id, scenario_id)]
        return max(entries) if entries else None

    def finish(self, journey: Journey, status: JourneyStatus, reason: str | None = None) -> bool:
        """Running -> completed or exited; False when it was no longer running."""
        values: dict[str, Any] = {":s": status, ":running": "running"}
        expression = "SET #status = :s"
        if reason:
            expression += ", exit_reason = :r"
            values[":r"] = reason
        try:
            self._table.update_item(
                Key={"pk": journey.pk, "sk": journey.sk},
                UpdateExpression=expression,
                ConditionExpression="#status = :running",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise

    def set_step(self, journey: Journey, step_index: int) -> None:
        self._table.update_item(
            Key={"pk": journey.pk, "sk": journey.sk},
            UpdateExpression="SET step_index = :i",
            ExpressionAttributeValues={":i": step_index},
        )


class EventJourneyStore(JourneyStore):
    """A JourneyStore for handling one event: a customer's journeys are queried at most once.

    When the exits check has read all of a customer's journeys, the re-entry checks that follow
    answer from that list instead of querying again. A re-entry check without it reads the one
    scenario's journeys with a strongly consistent query, which also answers whether the journey of
    this very trigger exists (get), as the consistent GetItem did, without a second request. Writes
    made through this store keep both current. Use one per event (it is not a cache across events).
    """

    def __init__(self, clients: AwsClients) -> None:
        super().__init__(clients)
        self._all: dict[tuple[str, str], list[Journey]] = {}  # eventually consistent, every scenario
        self._scenario: dict[tuple[str, str, str], list[Journey]] = {}  # strongly consistent, one scenario

    def of_customer(
        self, shop_id: str, customer_id: str, scenario_id: str | None = None, *, consistent: bool = False
    ) -> list[Journey]:
        known = self._all.get((shop_id, customer_id))
        if known is not None and not consistent:
            return [j for j in known if scenario_id is None or j.scenario_id == scenario_id]
        if scenario_id is None:
            found = super().of_customer(shop_id, customer_id, consistent=consistent)
            self._all[(shop_id, customer_id)] = found
            return list(found)
        key = (shop_id, customer_id, scenario_id)
        if key not in self._scenario:
            self._scenario[key] = super().of_customer(shop_id, customer_id, scenario_id, consistent=True)
        return list(self._scenario[key])

    def get(self, shop_id: str, customer_id: str, scenario_id: str, entry_key: str) -> Journey | None:
        read = self._scenario.get((shop_id, customer_id, scenario_id))
        if read is None:
            return super().get(shop_id, customer_id, scenario_id, entry_key)
        return next((j for j in read if j.entry_key == entry_key), None)

    def create(self, journey: Journey) -> bool:
        created = super().create(journey)
        scenario_key = (journey.shop_id, journey.customer_id, journey.scenario_id)
        if not created:
            # Written by someone else since it was read: the next get asks the table (consistent read).
            self._scenario.pop(scenario_key, None)
            return False
        for known in (self._all.get(scenario_key[:2]), self._scenario.get(scenario_key)):
            if known is not None:
                known.append(journey)
        return True

    def finish(self, journey: Journey, status: JourneyStatus, reason: str | None = None) -> bool:
        finished = super().finish(journey, status, reason)
        if finished:
            scenario_key = (journey.shop_id, journey.customer_id, journey.scenario_id)
            for known in (self._all.get(scenario_key[:2], []), self._scenario.get(scenario_key, [])):
                for j in known:
                    if j.sk == journey.sk:
                        j.status, j.exit_reason = status, reason or j.exit_reason
        return finished
