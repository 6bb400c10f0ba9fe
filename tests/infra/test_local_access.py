"""The local stack holds every function to its grants in kaeri_ops.definitions.access, the way IAM would on AWS."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from kaeri_ops.definitions.access import ACCESS
from kaeri_ops.definitions.topology import FUNCTIONS, SEND_FEEDBACK
from kaeri_ops.local import iam
from kaeri_ops.local.stack import EmbeddedStack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack():
    with EmbeddedStack() as running:
        yield running


def _denied(call) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"]


def test_every_topology_function_has_an_access_definition():
    assert set(ACCESS) == {f.name for f in FUNCTIONS}


def test_a_table_write_outside_the_grant_is_refused_and_nothing_is_stored(stack):
    config = stack.clients.table("config")
    with iam.acting_as("send-links"):
        code = _denied(lambda: config.put_item(Item={"pk": "SHOP#x", "sk": "PROBE"}))
    assert code == "AccessDeniedException"
    assert "Item" not in config.get_item(Key={"pk": "SHOP#x", "sk": "PROBE"})
    assert any("kaeri-send-links" in d and "dynamodb:PutItem" in d for d in stack.access.denials)


def test_a_table_the_function_does_not_list_is_out_of_reach_even_for_reads(stack):
    with iam.acting_as("track-api"):
        code = _denied(lambda: stack.clients.table("journeys").get_item(Key={"pk": "a", "sk": "b"}))
    assert code == "AccessDeniedException"


def test_transact_writes_are_judged_per_item(stack):
    events, config = stack.settings.table("events"), stack.settings.table("config")
    items = [
        {"Put": {"TableName": events, "Item": {"pk": {"S": "probe"}, "sk": {"S": "1"}}}},
        {"Put": {"TableName": config, "Item": {"pk": {"S": "probe"}, "sk": {"S": "1"}}}},
    ]
    with iam.acting_as("track-api"):
        code = _denied(lambda: stack.clients.dynamodb.transact_write_items(TransactItems=items))
    assert code == "AccessDeniedException"


@pytest.mark.parametrize(
    ("function", "call"),
    [
        (
            "track-api",
            lambda s: s.clients.sqs.send_message(QueueUrl=s.resources.fanout_queue_url, MessageBody="x"),
        ),
        (
            "evaluate-step",
            lambda s: s.clients.stepfunctions.start_execution(stateMachineArn=s.resources.state_machine_arn),
        ),
        (
            "evaluate-stream",
            lambda s: s.clients.secretsmanager.get_secret_value(SecretId=s.resources.link_secret_name),
        ),
        ("send-links", lambda s: s.clients.sns.publish(PhoneNumber="+819012345678", Message="x")),
        (
            "send-message",
            lambda s: s.clients.sns.publish(TopicArn=s.resources.feedback_topic_arn, Message="x"),
        ),
        ("evaluate-schedule", lambda s: s.clients.scheduler.delete_schedule(Name="x", GroupName="kaeri")),
        (
            "send-links",
            lambda s: s.clients.sesv2.send_email(
                FromEmailAddress=s.from_email,
                Destination={"ToAddresses": ["a@example.com"]},
                Content={"Simple": {"Subject": {"Data": "x"}, "Body": {"Text": {"Data": "x"}}}},
            ),
        ),
    ],
)
def test_calls_to_other_services_outside_the_grant_are_refused(stack, function, call):
    with iam.acting_as(function):
        assert _denied(lambda: call(stack)) in ("AccessDenied", "AccessDeniedException")


def test_what_the_definition_grants_is_allowed(stack):
    with iam.acting_as("evaluate-schedule"):
        stack.clients.sqs.send_message(QueueUrl=stack.resources.fanout_queue_url, MessageBody="{}")
    with iam.acting_as("send-message"):
        stack.clients.secretsmanager.get_secret_value(SecretId=stack.resources.link_secret_name)


def test_a_complaint_handled_by_send_feedback_pauses_the_shop(stack):
    """send-feedback writes the shop's SENDING pause into config (issue 11: it was read-only)."""
    shop = stack.shop_id
    messages = stack.clients.table("messages")
    for i in range(50):
        messages.put_item(
            Item={
                "pk": f"{shop}#h{i}",
                "shop_id": shop,
                "message_id": f"h{i}",
                "customer_id": "c1",
                "channel": "email",
                "status": "sent",
                "created_at": f"2025-04-01T00:00:{i % 60:02d}.{i:03d}Z",
                "provider_message_id": f"ses-h{i}",
            }
        )
    complaint = {
        "eventType": "Complaint",
        "mail": {"messageId": "ses-h1"},
        "complaint": {"complainedRecipients": [{"emailAddress": "c1@example.com"}]},
    }
    event = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(complaint)}}]}
    before = len(stack.access.denials)
    stack.runner.invoke(SEND_FEEDBACK, event)
    assert stack.access.denials[before:] == []
    paused = stack.clients.table("config").get_item(Key={"pk": f"SHOP#{shop}", "sk": "SENDING"})
    assert "complaint rate" in paused["Item"]["paused_reason"]
