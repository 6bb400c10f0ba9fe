"""Each synthesized role grants exactly what kaeri_ops.definitions.access says: no more, no less.

Besides the grants, a role may hold only its plumbing, each named below: its own log group, X-Ray,
the PII key of the tables it uses, and what its trigger needs (the events stream and its failure
queue for evaluate-stream, the fan-out queue for evaluate-fanout, the feedback dead-letter queue as
send-feedback's on-failure destination).
"""

from __future__ import annotations

import pytest

from kaeri.tables import TABLES_BY_NAME
from kaeri_cdk.nag import flatten_reference
from kaeri_ops.definitions.access import ACCESS, TABLE_WRITE

pytestmark = pytest.mark.slow

LOGS = ("logs:CreateLogStream", "logs:PutLogEvents")
XRAY = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
KMS_WRITE = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*")
STREAM = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
QUEUE_SEND = ("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage")
QUEUE_RECEIVE = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
)

# Logical-id prefixes of the resources grants name (construct paths in kaeri_cdk).
NAMED = {
    "JourneysFanoutQueue": "queue:fanout",
    "JourneysJourneyStateMachine": "state-machine:journeys",
    "DeliveryLinkSigningSecret": "secret:link-signing",
    "IngestStreamFailures": "queue:stream-failures",
    "DeliveryFeedbackDeadLetters": "queue:feedback-dead-letters",
    "DataPiiKey": "kms:pii",
    "JourneysScenarioSchedulerRole": "role:scenario-scheduler",
}


def _pairs(actions: tuple[str, ...], *resources: str) -> set[tuple[str, str]]:
    return {(a, r) for a in actions for r in resources}


def _resource_token(resource: object, template: dict, log_group: str) -> str:
    flat = flatten_reference(resource)
    for logical, props in template["Resources"].items():
        token = _built_resource_token(flat, logical, props)
        if token:
            return token
    return _named_resource_token(flat, log_group)


def _built_resource_token(flat: str, logical: str, props: dict) -> str | None:
    """The token of a reference to a table, stream, index or bucket of the template, if it is one."""
    if props["Type"] == "AWS::DynamoDB::Table":
        name = props["Properties"]["TableName"].removeprefix("kaeri-")
        forms = {
            f"<{logical}.Arn>": f"table:{name}",
            f"<{logical}.Arn>/index/*": f"table:{name}/index",
            f"<{logical}.StreamArn>": f"stream:{name}",
        }
        return forms.get(flat)
    if props["Type"] == "AWS::S3::Bucket" and logical.startswith("ReportsBucket"):
        return "bucket:reports" if flat == f"<{logical}.Arn>/*" else None
    if props["Type"] == "AWS::S3::Bucket" and logical.startswith("ArchiveBucket"):
        forms = {
            f"<{logical}.Arn>": "bucket:archive",
            f"<{logical}.Arn>/*": "bucket:archive",
            f"<{logical}.Arn>/athena-results/*": "bucket:archive-results",
        }
        return forms.get(flat)
    return None


# ARNs built from names (not references), by a fragment each contains.
_BY_FRAGMENT = (
    (":secret:kaeri/*/line-channel-access-token-*", "secret:line-tokens"),
    (":ses:", "ses:identities"),
    (":glue:", "glue:archive"),
)


def _named_resource_token(flat: str, log_group: str) -> str:
    if flat == f"<{log_group}.Arn>":
        return "log-group:own"
    if flat == "*":
        return "*"
    for fragment, token in _BY_FRAGMENT:
        if fragment in flat:
            return token
    if ":scheduler:" in flat and flat.endswith(":schedule/kaeri/*"):
        return "schedule-group:scenarios"  # the schedules of the stack's group, no other group's
    if ":athena:" in flat and ":workgroup/" in flat:
        return "athena:archive"
    if ":lambda:" in flat and flat.endswith(":function:kaeri-recommend-nightly"):
        return "function:recommend-nightly"
    for prefix, token in NAMED.items():
        if flat.startswith((f"<{prefix}", f'{{"Ref":"{prefix}')):
            return token
    return f"?{flat}"


def _granted(synth, function: str) -> set[tuple[str, str]]:
    template = synth.template
    resources = template["Resources"]
    fn = next(
        v["Properties"]
        for v in resources.values()
        if v["Type"] == "AWS::Lambda::Function" and v["Properties"].get("FunctionName") == f"kaeri-{function}"
    )
    role = fn["Role"]["Fn::GetAtt"][0]
    log_group = next(
        k
        for k, v in resources.items()
        if v["Type"] == "AWS::Logs::LogGroup"
        and v["Properties"].get("LogGroupName") == f"/aws/lambda/kaeri-{function}"
    )
    granted: set[tuple[str, str]] = set()
    for policy in resources.values():
        if policy["Type"] != "AWS::IAM::Policy" or {"Ref": role} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "NotResource" in statement:
                assert flatten_reference(statement["NotResource"]) == "arn:<AWS::Partition>:sns:*:*:*"
                granted |= _pairs(tuple(actions), "sns:sms")
                continue
            targets = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            for target in targets:
                granted |= _pairs(tuple(actions), _resource_token(target, template, log_group))
    assert role not in {
        p
        for v in resources.values()
        if v["Type"] == "AWS::IAM::Role"
        for p in v["Properties"].get("Policies", [])
    }
    return granted


def _expected(function: str) -> set[tuple[str, str]]:
    access = ACCESS[function]
    want = _pairs(LOGS, "log-group:own") | _pairs(XRAY, "*")
    pii_write = False
    pii_read = False
    for grant in access.grants():
        if grant.kind == "table":
            want |= _pairs(grant.actions, grant.resource, f"{grant.resource}/index")
            if TABLES_BY_NAME[grant.name].pii:
                pii_read = True
                pii_write |= bool(set(TABLE_WRITE) & set(grant.actions))
        else:
            want |= _pairs(grant.actions, grant.resource)
    if pii_write:
        want |= _pairs(KMS_WRITE, "kms:pii")
    elif pii_read:
        want |= _pairs(("kms:Decrypt",), "kms:pii")
    if function == "evaluate-stream":
        want |= _pairs(STREAM, "stream:events") | {
            ("dynamodb:ListStreams", "*"),
            ("kms:DescribeKey", "kms:pii"),
        }
        want |= _pairs(QUEUE_SEND, "queue:stream-failures")
    if function == "evaluate-fanout":
        want |= _pairs(QUEUE_RECEIVE, "queue:fanout")
    if function == "send-feedback":
        want |= _pairs(QUEUE_SEND, "queue:feedback-dead-letters")
    return want


@pytest.mark.parametrize("function", sorted(ACCESS))
def test_role_grants_exactly_the_access_definition(synth, function):
    granted, expected = _granted(synth, function), _expected(function)
    assert sorted(granted - expected) == [], "granted but not in kaeri/access.py"
    assert sorted(expected - granted) == [], "in kaeri/access.py but not granted"


def test_email_send_is_held_to_the_sender_identity_and_configuration_set(synth):
    statements = [
        s
        for p in synth.resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "ses:SendEmail" in s["Action"]
    ]
    assert len(statements) == 2  # send, and the console's test sends through the same path
    for statement in statements:
        assert "ses:FromAddress" in statement["Condition"]["StringLike"]
        flat = [flatten_reference(r) for r in statement["Resource"]]
        assert any(":configuration-set/" in r for r in flat) and any(":identity/" in r for r in flat)


def test_no_arn_in_the_template_names_the_aws_partition_literally(synth):
    import json

    text = json.dumps(synth.template)
    assert "arn:aws:" not in text, [m for m in text.split('"') if "arn:aws:" in m][:5]
