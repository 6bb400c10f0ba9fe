"""`kaeri doctor` against the local stack: passes on a healthy stack, names a broken one and its fix."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kaeri import shops
from kaeri_ops import doctor
from kaeri_ops.local.stack import EmbeddedStack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack():
    start = datetime(2025, 1, 6, 1, 0, tzinfo=UTC)
    with EmbeddedStack(clock="manual", start=start, shop_id="shop-a", poll_interval=0.1) as running:
        yield running


def test_doctor_passes_on_a_healthy_local_stack_and_leaves_nothing_behind(stack):
    before = stack.clients.table("config").scan()["Items"]

    checks = doctor.run(stack.clients)

    problems = [c for c in checks if c.status == "problem"]
    assert problems == []
    names = {c.name for c in checks if c.status == "ok"}
    assert {"settings", "event flow", "table events", "table customers", "schedules"} <= names
    assert any(n.startswith("ses identity") for n in names)
    after = stack.clients.table("config").scan()["Items"]
    assert len(after) == len(before)  # the probe shop and its keys are gone
    assert not [s for s in shops.list_shops(stack.clients) if s.shop_id.startswith("kaeri-doctor-")]


def test_doctor_names_a_missing_index_and_stops_there(stack):
    clients = stack.clients
    table = clients.settings.table("journeys")
    described = clients.dynamodb.describe_table(TableName=table)["Table"]
    index = described["GlobalSecondaryIndexes"][0]["IndexName"]
    clients.dynamodb.update_table(
        TableName=table, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": index}}]
    )

    checks = doctor.run(clients)

    [problem] = [c for c in checks if c.status == "problem"]
    assert problem.name == "table journeys" and index in problem.detail and problem.fix
    assert not any(c.name == "event flow" for c in checks)
