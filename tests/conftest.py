"""Shared fixtures: fake credentials everywhere, a moto-backed set of Kaeri tables."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "ap-northeast-1")
os.environ.setdefault("AWS_REGION", "ap-northeast-1")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "kaeri")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Kaeri")
os.environ.pop("AWS_ENDPOINT_URL", None)


@pytest.fixture
def aws():
    """moto in-process, with every Kaeri table created from the one definition."""
    from kaeri.aws import AwsClients
    from kaeri.settings import Settings
    from kaeri.tables import TABLES
    from moto import mock_aws

    with mock_aws():
        clients = AwsClients(Settings())
        for table in TABLES:
            clients.dynamodb.create_table(**table.create_table_kwargs())
        yield clients
