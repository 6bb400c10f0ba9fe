"""The customers-table repository: one consent format (old items still read), bulk nightly writes."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from kaeri import clock
from kaeri.delivery.compliance import Compliance
from kaeri.predictions import nightly
from kaeri.profiles import customers as customers_module
from kaeri.profiles.customers import PREDICTION_WRITERS, RECS_WRITERS, CustomersTable, PredictionWrite
from kaeri.profiles.model import Consent, Predictions, Profile
from kaeri.profiles.repository import ProfileRepository

SHOP = "shop-c"
AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
CONSENT_ATTRIBUTES = {
    "pk",
    "sk",
    "shop",
    "customer_id",
    "channel",
    "status",
    "at",
    "source",
    "wording_version",
}


class _Requests:
    """Counts the DynamoDB requests of some operations (botocore's before-call event) and how many
    were in flight at once."""

    def __init__(self, clients, *operations: str) -> None:
        self._events = clients.dynamodb_resource.meta.client.meta.events
        self._operations = operations
        self.count = {op: 0 for op in operations}
        self.items_per_request: list[int] = []
        self._in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def _before(self, model, params, **_kwargs) -> None:
        with self._lock:
            self.count[model.name] += 1
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _built(self, params, **_kwargs) -> None:
        with self._lock:
            self.items_per_request.append(sum(len(v) for v in params["RequestItems"].values()))

    def _after(self, **_kwargs) -> None:
        with self._lock:
            self._in_flight -= 1

    def __enter__(self) -> _Requests:
        for op in self._operations:
            self._events.register(f"before-call.dynamodb.{op}", self._before, unique_id=f"count-{op}")
            self._events.register(f"after-call.dynamodb.{op}", self._after, unique_id=f"count-after-{op}")
        self._events.register(
            "before-parameter-build.dynamodb.BatchWriteItem", self._built, unique_id="items"
        )
        return self

    def __exit__(self, *exc) -> None:
        for op in self._operations:
            self._events.unregister(f"before-call.dynamodb.{op}", unique_id=f"count-{op}")
            self._events.unregister(f"after-call.dynamodb.{op}", unique_id=f"count-after-{op}")
        self._events.unregister("before-parameter-build.dynamodb.BatchWriteItem", unique_id="items")


# --- consent -------------------------------------------------------------------------------------


def test_projector_and_unsubscribe_write_the_same_consent_format(aws, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: AT)
    repo = ProfileRepository(aws)
    repo.record_consent(SHOP, "u1", "email", Consent(status="granted", at=AT))  # no source, no wording
    Compliance.of(aws).record_consent(SHOP, "u1", "line", "revoked", "unsubscribe_link", None)
    stored = aws.table("customers").query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :c)",
        ExpressionAttributeValues={":pk": f"{SHOP}#u1", ":c": "CONSENT#"},
    )["Items"]
    assert len(stored) == 2
    assert [set(item) for item in stored] == [CONSENT_ATTRIBUTES, CONSENT_ATTRIBUTES]
    email = next(i for i in stored if i["channel"] == "email")
    assert email["source"] == "unknown" and email["wording_version"] == "unknown"
    assert email["shop"] == SHOP and email["customer_id"] == "u1" and "shop_id" not in email


def test_consent_items_of_the_old_form_are_read_in_the_one_format(aws):
    # As the stream projector wrote them before the formats were merged: no shop, no customer_id,
    # source and wording left out when unknown.
    aws.table("customers").put_item(
        Item={
            "pk": f"{SHOP}#u2",
            "sk": "CONSENT#2025-01-02T03:04:05.000Z#email",
            "channel": "email",
            "status": "revoked",
            "at": "2025-01-02T03:04:05.000Z",
        }
    )
    history = CustomersTable.of(aws).consent_history(SHOP, "u2")
    assert history == [
        {
            "pk": f"{SHOP}#u2",
            "sk": "CONSENT#2025-01-02T03:04:05.000Z#email",
            "shop": SHOP,
            "customer_id": "u2",
            "channel": "email",
            "status": "revoked",
            "at": "2025-01-02T03:04:05.000Z",
            "source": "unknown",
            "wording_version": "unknown",
        }
    ]
    # A second unsubscribe finds the old-form revocation and writes no new record.
    assert Compliance.of(aws).unsubscribe(SHOP, "u2", "email") is False
    assert len(CustomersTable.of(aws).consent_history(SHOP, "u2")) == 1


# --- predictions and recommendations in bulk -----------------------------------------------------


def _profiles(aws, n: int) -> None:
    repo = ProfileRepository(aws)
    for i in range(n):
        repo.put(
            Profile(
                shop_id=SHOP,
                customer_id=f"c{i:03d}",
                email=f"c{i}@example.com",
                order_count=2,
                last_order_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )


def _predicted(churn_risk: str) -> Predictions:
    return Predictions(
        p_alive=0.5,
        expected_orders_30d=0.1,
        expected_orders_90d=0.25,
        expected_orders_365d=1.0,
        predicted_value_365d=120.0,
        churn_risk=churn_risk,
        computed_at=AT,
    )


def _prediction(i: int) -> nightly.CustomerPrediction:
    return nightly.CustomerPrediction(f"{SHOP}#c{i:03d}", _predicted("high" if i % 2 else "low"))


def test_nightly_predictions_update_profiles_concurrently_and_never_create_one(aws):
    n = 60
    _profiles(aws, n)
    predictions = [_prediction(i) for i in range(n)] + [
        nightly.CustomerPrediction(f"{SHOP}#gone", _predicted("low"))
    ]
    with _Requests(aws, "UpdateItem", "PutItem", "BatchWriteItem") as requests:
        written = nightly.write_predictions(aws, SHOP, predictions)
    assert written == n
    # One conditional UpdateItem per profile (a batch write would replace the projector's item),
    # at most PREDICTION_WRITERS in flight; nothing else written.
    assert requests.count == {"UpdateItem": n + 1, "PutItem": 0, "BatchWriteItem": 0}
    assert 1 <= requests.max_in_flight <= PREDICTION_WRITERS
    assert aws.table("customers").get_item(Key={"pk": f"{SHOP}#gone", "sk": "PROFILE"}).get("Item") is None
    # Readers still find them on the profile: the by_churn_risk audience and the profile itself.
    high = list(ProfileRepository(aws).matching("by_churn_risk", ("churn_key", f"{SHOP}#high")))
    assert sorted(p.customer_id for p in high) == [f"c{i:03d}" for i in range(1, n, 2)]
    assert all(p.predictions and p.predictions.churn_risk == "high" for p in high)
    profile = ProfileRepository(aws).get(SHOP, "c000")
    assert profile is not None and profile.email == "c0@example.com"  # the rest of the profile kept
    assert profile.predictions is not None and profile.predictions.p_alive == pytest.approx(0.5)


def test_a_failing_prediction_write_is_raised_not_counted(aws):
    customers = CustomersTable.of(aws)
    bad = PredictionWrite(f"{SHOP}#c000", {"p_alive": 0.5}, f"{SHOP}#low")  # a float: refused by boto3
    _profiles(aws, 1)
    with pytest.raises(TypeError):
        customers.write_predictions([bad])


def test_recommendations_are_written_25_items_a_request(aws):
    n = 130
    entries = [{"product_id": "p1", "score": Decimal("0.5"), "reason": "similar"}]
    customers = CustomersTable.of(aws)
    with (
        _Requests(aws, "BatchWriteItem", "PutItem") as requests,
        customers.recs_writer(AT.isoformat()) as put,
    ):
        for i in range(n):
            put(f"{SHOP}#c{i:03d}", entries)
    assert requests.count["PutItem"] == 0
    assert requests.count["BatchWriteItem"] == math.ceil(n / 25)
    assert sum(requests.items_per_request) == n and max(requests.items_per_request) == 25
    assert 1 <= requests.max_in_flight <= RECS_WRITERS
    assert CustomersTable.of(aws).recs(f"{SHOP}#c129") == entries
    assert all(CustomersTable.of(aws).recs(f"{SHOP}#c{i:03d}") == entries for i in range(n))


class _Throttled:
    """The table with a client that leaves all but the first `accept` items of a request unprocessed
    for the first `throttled` requests (what DynamoDB does under throttling)."""

    def __init__(self, table, throttled: int, accept: int = 10) -> None:
        self.name, self._client, self.calls = table.name, table.meta.client, []
        self._throttled, self._accept = throttled, accept
        self.meta = self

    @property
    def client(self):
        return self

    def batch_write_item(self, RequestItems):  # noqa: N803 (boto3's parameter name)
        (puts,) = RequestItems.values()
        self.calls.append(len(puts))
        if len(self.calls) > self._throttled:
            return self._client.batch_write_item(RequestItems=RequestItems)
        if self._accept:
            self._client.batch_write_item(RequestItems={self.name: puts[: self._accept]})
        return {"UnprocessedItems": {self.name: puts[self._accept :]}}


def test_unprocessed_recommendations_are_retried_until_written(aws, monkeypatch):
    monkeypatch.setattr(customers_module, "BATCH_BACKOFF_SECONDS", 0.0)
    entries = [{"product_id": "p1", "score": Decimal("0.5"), "reason": "similar"}]
    throttled = _Throttled(aws.table("customers"), throttled=2)
    with CustomersTable(throttled).recs_writer(AT.isoformat(), workers=1) as put:
        for i in range(25):
            put(f"{SHOP}#c{i:03d}", entries)
        put(f"{SHOP}#c000", entries + entries)  # the same key again: the later item is kept
    assert throttled.calls == [25, 15, 5, 1]  # 10 accepted per throttled request, then the rest
    table = CustomersTable.of(aws)
    assert all(table.recs(f"{SHOP}#c{i:03d}") == entries for i in range(1, 25))
    assert table.recs(f"{SHOP}#c000") == entries + entries


def test_recommendations_never_written_are_an_error_not_a_silent_loss(aws, monkeypatch):
    monkeypatch.setattr(customers_module, "BATCH_BACKOFF_SECONDS", 0.0)
    entries = [{"product_id": "p1", "score": Decimal("0.5"), "reason": "similar"}]
    throttled = _Throttled(aws.table("customers"), throttled=10**6, accept=0)
    with (
        pytest.raises(RuntimeError, match="3 RECS items still unprocessed after 8 attempts"),
        CustomersTable(throttled).recs_writer(AT.isoformat()) as put,
    ):
        for i in range(3):
            put(f"{SHOP}#c{i:03d}", entries)
    assert len(throttled.calls) == customers_module.BATCH_WRITE_ATTEMPTS
