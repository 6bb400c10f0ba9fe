from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.scenarios.driver import Harness

# Monday 2026-06-01 10:00 JST: inside sending hours, no DST in Tokyo.
START = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
def harness(aws):
    h = Harness(aws, START)
    yield h
    h.close()
