"""cdk-nag acknowledgments: every one carries the reason it is safe here.

cdk-nag 3 matches acknowledgments by exact finding id, and wildcard findings name CloudFormation
logical ids (``AwsSolutions-IAM5[Resource::<EventsTable1234.Arn>/index/*]``). Writing those by hand
would break on every rename, so the wildcard *shapes* we accept are listed below with their reasons,
and an aspect acknowledges exactly the findings of those shapes. A wildcard of any other shape stays
an error until someone writes down why it is needed.
"""

from __future__ import annotations

import json
import re

import jsii
from aws_cdk import Acknowledgment, IAspect, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import IConstruct

# (pattern of the IAM5 finding after "AwsSolutions-IAM5[", reason)
WILDCARD_REASONS: tuple[tuple[str, str], ...] = (
    (
        r"Resource::<Archive[A-Za-z0-9]+\.Arn>/(events|messages|errors/events|errors/messages|athena-results)/\*",
        "Objects under one dataset prefix of the archive bucket (Firehose names them by shop, day "
        "and time; Athena names its result files per query).",
    ),
    (
        r"Resource::<[A-Za-z0-9]+\.Arn>/index/\*",
        "Query access to a table's global secondary indexes; every index of a Kaeri table serves "
        "the same function that may already read the base table (see kaeri/tables.py).",
    ),
    (
        r"Resource::<[A-Za-z0-9]+\.Arn>:\*",
        "Log streams inside the function's own log group (names are chosen by Lambda at runtime), "
        "or versions/aliases of one named function.",
    ),
    (
        r"Action::kms:(GenerateDataKey|ReEncrypt)\*",
        "CDK's standard grant on one customer-managed key: data key generation and re-encryption "
        "families for that single key ARN, needed to write encrypted items and messages.",
    ),
    (
        r"Action::s3:(GetObject|GetBucket|List|DeleteObject|Abort)\*",
        "CDK's standard bucket grant, limited to the one reports bucket.",
    ),
    (
        r"Resource::<[A-Za-z0-9]+\.Arn>/\*",
        "Objects under the one reports bucket; object keys are per shop and per day.",
    ),
    (
        r"Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/[a-z0-9-]+/\*",
        "Per-scenario schedules are created at runtime, but only inside Kaeri's own schedule group.",
    ),
    (
        r"Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/\*",
        "Each shop sends from its own verified SES identity (its domain or address), registered "
        "after deployment, so the identity is not known at synth time (set context sender_identity to "
        "pin one); the statement's ses:FromAddress condition follows that context value.",
    ),
)

_ACCEPTED = tuple((re.compile(pattern), reason) for pattern, reason in WILDCARD_REASONS)


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one AwsSolutions finding (e.g. "L1", "IAM5[Resource::*]") with its reason."""
    Validations.of(construct).acknowledge(Acknowledgment(id=f"AwsSolutions-{rule}", reason=reason))


def flatten_reference(node: object) -> str:
    """The string cdk-nag shows for a CloudFormation value (same rules as its flattenCfnReference)."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return delimiter.join(flatten_reference(i) for i in items)
        if "Fn::Sub" in node:
            return flatten_reference(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{flatten_reference(resource)}.{flatten_reference(attribute)}>"
        if "Fn::ImportValue" in node:
            return flatten_reference(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{flatten_reference(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def wildcard_findings(document: dict) -> list[str]:
    findings: list[str] = []
    for statement in document.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        for action in _as_list(statement.get("Action", [])):
            if isinstance(action, str) and "*" in action:
                findings.append(f"Action::{action}")
        for resource in _as_list(statement.get("Resource", [])):
            flat = flatten_reference(resource)
            if "*" in flat:
                findings.append(f"Resource::{flat}")
    return list(dict.fromkeys(findings))


@jsii.implements(IAspect)
class AcknowledgeAcceptedWildcards:
    """Acknowledges the IAM5 findings whose shape is listed in WILDCARD_REASONS."""

    def visit(self, node: IConstruct) -> None:
        # Kaeri attaches permissions as CfnPolicy (roles' default policies), never inline on a role.
        if not isinstance(node, iam.CfnPolicy):
            return
        resolved = Stack.of(node).resolve(node.policy_document) or {}
        for finding in wildcard_findings(resolved):
            for pattern, reason in _ACCEPTED:
                if pattern.fullmatch(finding):
                    acknowledge(node, f"IAM5[{finding}]", reason)
                    break
