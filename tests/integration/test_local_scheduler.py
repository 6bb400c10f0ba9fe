"""Schedules created through the Scheduler API fire on the local stack's clock, in their timezone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from kaeri import clock
from kaeri_ops.local.stack import EmbeddedStack

pytestmark = pytest.mark.slow

START = datetime(2025, 1, 6, 0, 30, tzinfo=UTC)  # 09:30 in Tokyo
TARGET = "arn:aws:lambda:ap-northeast-1:000000000000:function:kaeri-evaluate-schedule"


def test_cron_schedule_fires_daily_in_its_timezone_and_stops_when_disabled():
    with EmbeddedStack(clock="manual", start=START, shop_id="shop-s") as stack:
        fired: list[tuple[datetime, dict]] = []
        stack.runner.overrides["evaluate-schedule"] = lambda event, ctx: fired.append((clock.now(), event))
        schedule = {
            "Name": "kaeri-shop-s-points-statement",
            "GroupName": "kaeri",
            "ScheduleExpression": "cron(0 10 * * ? *)",
            "ScheduleExpressionTimezone": "Asia/Tokyo",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": TARGET,
                "RoleArn": "arn:aws:iam::000000000000:role/kaeri-scheduler",
                "Input": json.dumps({"shop_id": "shop-s", "scenario_id": "points-statement"}),
            },
        }
        stack.clients.scheduler.create_schedule(**schedule)

        assert stack.next_due() == datetime(2025, 1, 6, 1, 0, tzinfo=UTC)
        stack.advance(timedelta(minutes=29))
        assert fired == []

        stack.advance(timedelta(days=2, minutes=1))
        assert [at for at, _ in fired] == [
            datetime(2025, 1, 6, 1, 0, tzinfo=UTC),
            datetime(2025, 1, 7, 1, 0, tzinfo=UTC),
            datetime(2025, 1, 8, 1, 0, tzinfo=UTC),
        ]
        assert fired[0][1] == {"shop_id": "shop-s", "scenario_id": "points-statement"}

        stack.clients.scheduler.update_schedule(**{**schedule, "State": "DISABLED"})
        stack.advance(timedelta(days=1))
        assert len(fired) == 3
        assert stack.next_due() is None
