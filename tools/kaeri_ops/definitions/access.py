"""What each Lambda function may do: the one least-privilege definition, reviewed in one place.

The CDK app renders every grant below into the function's IAM role (infra/kaeri_cdk/function.py), and
the local stack refuses any AWS call a function makes outside its grants with AccessDenied
(kaeri_ops.local.iam), so every scenario and integration test is also a permission test. A test
synthesizes the template and checks each role grants exactly this (tests/infra/test_access.py).

A grant is a set of IAM actions on one named resource:

| resource          | what it names                                                       |
|-------------------|---------------------------------------------------------------------|
| table:LOGICAL     | a table of kaeri.tables.TABLES and its indexes                      |
| queue:NAME        | an SQS queue of the stack (fanout)                                  |
| state-machine:journeys | the journey state machine                                      |
| secret:link-signing    | the HMAC key of unsubscribe and tracked-link tokens           |
| secret:line-tokens     | every shop's LINE channel access token (one secret per shop)  |
| ses:identities    | the shops' verified SES identities, on Kaeri's configuration set    |
| sns:sms           | direct-to-phone SMS publishes (no topic)                            |
| bucket:reports    | objects in the nightly reports bucket                               |
| bucket:archive    | the event archive bucket and its objects (Parquet)                  |
| bucket:archive-results | Athena's result and UNLOAD objects in the archive bucket (`athena-results/`) |
| athena:archive    | the archive's Athena workgroup                                      |
| glue:archive      | the archive's Glue catalog, database and tables                     |
| kms:pii           | the PII key (beyond table grants: the archive bucket is under it)   |
| function:NAME     | a Lambda function of the stack (the nightly job fans out to itself) |
| schedule-group:scenarios | the schedules in the stack's scenario schedule group          |
| role:scenario-scheduler  | the role Scheduler assumes to invoke evaluate-schedule (PassRole) |

Permissions that come with a function's trigger (reading the events stream, receiving from the
fan-out queue, the stream's on-failure queue) and its plumbing (its own log group, X-Ray, the KMS keys
of the tables it uses) are not listed: CDK adds them with the event source, the log group and the
table grant, and the template test names each one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

Access = Literal["r", "rw"]

# DynamoDB actions per access level. IAM action names equal the API operation names for DynamoDB;
# TransactWriteItems/TransactGetItems are authorized per item as Put/Update/Delete/ConditionCheck/Get.
TABLE_READ: tuple[str, ...] = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
)
TABLE_WRITE: tuple[str, ...] = (
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)

SEND_EMAIL: tuple[str, ...] = ("ses:SendEmail", "ses:SendRawEmail")
READ_SECRET: tuple[str, ...] = ("secretsmanager:GetSecretValue",)


@dataclass(frozen=True)
class Grant:
    actions: tuple[str, ...]
    resource: str  # "kind:name", see the module docstring

    @property
    def kind(self) -> str:
        return self.resource.partition(":")[0]

    @property
    def name(self) -> str:
        return self.resource.partition(":")[2]


@dataclass(frozen=True)
class FunctionAccess:
    tables: Mapping[str, Access] = field(default_factory=dict)
    other: tuple[Grant, ...] = ()

    def grants(self) -> Iterator[Grant]:
        for logical, access in sorted(self.tables.items()):
            actions = TABLE_READ + (TABLE_WRITE if access == "rw" else ())
            yield Grant(tuple(sorted(actions)), f"table:{logical}")
        yield from self.other

    def allows(self, action: str, resource: str) -> bool:
        return any(action in g.actions and g.resource == resource for g in self.grants())


START_JOURNEYS = Grant(("states:StartExecution",), "state-machine:journeys")
# SQL over the event archive with Athena (kaeri.archive): the workgroup, the Glue tables, the Parquet
# objects, Athena's results, and the PII key the bucket and results are encrypted with.
QUERY_ARCHIVE: tuple[Grant, ...] = (
    Grant(
        ("athena:GetQueryExecution", "athena:GetWorkGroup", "athena:StartQueryExecution"), "athena:archive"
    ),
    Grant(("glue:GetDatabase", "glue:GetPartitions", "glue:GetTable"), "glue:archive"),
    Grant(("s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket"), "bucket:archive"),
    # UNLOAD output is written with the caller's credentials, then read and deleted by it (listing the
    # prefix is s3:ListBucket on the bucket, granted above).
    Grant(
        ("s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"),
        "bucket:archive-results",
    ),
    Grant(("kms:Decrypt", "kms:GenerateDataKey*"), "kms:pii"),
)
LINK_SECRET = Grant(READ_SECRET, "secret:link-signing")
# What kaeri.journeys.schedule.sync_schedule calls: create, update or delete a scenario's schedule in
# the stack's schedule group, handing Scheduler the scenario scheduler role (and no other role).
SYNC_SCENARIO_SCHEDULES: tuple[Grant, ...] = (
    Grant(
        ("scheduler:CreateSchedule", "scheduler:DeleteSchedule", "scheduler:UpdateSchedule"),
        "schedule-group:scenarios",
    ),
    Grant(("iam:PassRole",), "role:scenario-scheduler"),
)

ACCESS: dict[str, FunctionAccess] = {
    # Ingest: writes events once per messageId, upserts the catalog, reads keys and recommendations,
    # signs customer tokens (POST /v1/tokens) with the signing secret.
    "track-api": FunctionAccess(
        tables={"events": "rw", "catalog": "rw", "config": "r", "customers": "rw"},
        other=(LINK_SECRET,),
    ),
    # Profile projection, journey starts and exits; holdout entrants get a skip record in messages.
    "evaluate-stream": FunctionAccess(
        tables={
            "events": "rw",
            "customers": "rw",
            "journeys": "rw",
            "config": "r",
            "catalog": "r",
            "messages": "rw",
        },
        other=(START_JOURNEYS,),
    ),
    # Scheduled scenarios read their audience through indexes and start journeys or fan out. The
    # per-scenario schedules themselves are created by `kaeri scenarios push` (operator credentials).
    "evaluate-schedule": FunctionAccess(
        tables={"customers": "r", "journeys": "rw", "config": "r", "events": "r", "messages": "rw"},
        other=(START_JOURNEYS, Grant(("sqs:SendMessage",), "queue:fanout")),
    ),
    "evaluate-fanout": FunctionAccess(
        tables={
            "customers": "r",
            "journeys": "rw",
            "config": "r",
            "events": "r",
            "catalog": "r",
            "messages": "rw",
        },
        other=(START_JOURNEYS,),
    ),
    # The state machine's check step: audience, exits, caps, quiet hours.
    # Writes skip records (capped, exited, ...) and the shop's daily send counter.
    "evaluate-step": FunctionAccess(
        tables={"customers": "r", "journeys": "rw", "config": "rw", "events": "r", "messages": "rw"},
    ),
    # Records the intent first, renders, delivers; suppression and consent live on customers.
    "send-message": FunctionAccess(
        tables={"customers": "rw", "messages": "rw", "config": "r", "catalog": "r", "events": "rw"},
        other=(
            LINK_SECRET,
            Grant(READ_SECRET, "secret:line-tokens"),
            Grant(SEND_EMAIL, "ses:identities"),
            Grant(("sns:Publish",), "sns:sms"),
        ),
    ),
    # SES feedback: message status, suppression list, feedback events into the stream, and the
    # shop's sending pause after complaints (config).
    "send-feedback": FunctionAccess(
        tables={"messages": "rw", "customers": "rw", "events": "rw", "config": "rw"},
    ),
    # Unsubscribe (consent change) and tracked-link redirects.
    "send-links": FunctionAccess(
        tables={"customers": "rw", "events": "rw", "messages": "r", "config": "r"},
        other=(LINK_SECRET,),
    ),
    # Nightly models: read behaviour, write recommendations and predictions onto profiles.
    # One run per shop: the scheduled run lists the shops and invokes itself once per shop.
    "recommend-nightly": FunctionAccess(
        tables={"events": "r", "customers": "rw", "catalog": "r", "config": "r"},
        other=(*QUERY_ARCHIVE, Grant(("lambda:InvokeFunction",), "function:recommend-nightly")),
    ),
    # Nightly KPI report to S3.
    "report-nightly": FunctionAccess(
        tables={"events": "r", "customers": "r", "messages": "r", "journeys": "r", "config": "r"},
        other=(Grant(("s3:PutObject",), "bucket:reports"), *QUERY_ARCHIVE),
    ),
    # The marketer console: scenarios, rules and templates (config), profiles to preview and count
    # audiences (customers), the KPI inputs (events, messages, journeys), and test sends to the shop's
    # seed addresses through the send path (it writes the message log and reads the link secret).
    # Enabling, disabling or saving a scheduled scenario syncs its schedule, as `kaeri scenarios enable`.
    "console": FunctionAccess(
        tables={
            "config": "rw",
            "customers": "r",
            "events": "r",
            "journeys": "r",
            "messages": "rw",
            "catalog": "r",
        },
        other=(
            LINK_SECRET,
            Grant(READ_SECRET, "secret:line-tokens"),
            Grant(SEND_EMAIL, "ses:identities"),
            Grant(("sns:Publish",), "sns:sms"),
            *SYNC_SCENARIO_SCHEDULES,
        ),
    ),
}


def access_for(function_name: str) -> FunctionAccess:
    """The access of a topology function; a function not listed may do nothing."""
    return ACCESS.get(function_name, FunctionAccess())
