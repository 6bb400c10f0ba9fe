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
# What the stack sets on every deployed function (kaeri.settings.REQUIRED_ON_AWS), for handlers the tests
# import; shipped code has no default for it.
os.environ.setdefault("KAERI_API_URL", "http://127.0.0.1:8787")
# The console function needs its user pool and app client at cold start (its deployed environment sets them).
os.environ.setdefault("KAERI_CONSOLE_USER_POOL_ID", "ap-northeast-1_tests")
os.environ.setdefault("KAERI_CONSOLE_CLIENT_ID", "tests-console-client")

LINK_SECRET_NAME = "kaeri/link-signing-secret"


@pytest.fixture
def aws():
    """moto in-process, with every Kaeri table created from the one definition and the signing secret."""
    from moto import mock_aws

    from kaeri.aws import AwsClients
    from kaeri.settings import Settings
    from kaeri.tables import TABLES

    with mock_aws():
        clients = AwsClients(
            Settings(api_url="http://127.0.0.1:8787", link_signing_secret_name=LINK_SECRET_NAME)
        )
        for table in TABLES:
            clients.dynamodb.create_table(**table.create_table_kwargs())
        # The stack's link signing secret (Secrets Manager), as CDK creates it.
        clients.secretsmanager.create_secret(Name=LINK_SECRET_NAME, SecretString="test-link-signing-secret")
        _deployed_stack_outputs(clients.settings)
        yield clients


def _deployed_stack_outputs(settings):
    """A CloudFormation stack named "kaeri" with the outputs a deployed Kaeri stack has, so that
    `kaeri ... --stack kaeri` finds its tables the way it does on AWS (from the stack's outputs)."""
    import json

    import boto3

    outputs = {
        "TablePrefix": settings.table_prefix,
        "Region": settings.region,
        "ApiUrl": settings.api_url,
    }
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation", region_name=settings.region).create_stack(
        StackName="kaeri", TemplateBody=json.dumps(template)
    )
