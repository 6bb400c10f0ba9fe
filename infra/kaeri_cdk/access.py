"""Renders kaeri_ops.definitions.access (the one definition of each function's grants) into the functions' IAM roles.

The grants name resources by kind and logical name ("table:events", "queue:fanout"); this module knows
which construct each of those is, and writes one statement per grant. Nothing else in the CDK app
grants a function anything beyond its trigger (event source) and plumbing (log group, X-Ray, the KMS
key of the tables it uses).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aws_cdk import Aws
from aws_cdk import aws_iam as iam

from kaeri_cdk.data import Data
from kaeri_cdk.function import KaeriFunction
from kaeri_ops.definitions.access import TABLE_WRITE, Grant, access_for


@dataclass
class GrantTargets:
    """What each resource named in kaeri_ops.definitions.access is in this stack."""

    data: Data
    resources: dict[str, list[str]]  # "queue:fanout" -> ARNs
    conditions: dict[str, dict] | None = None  # resource -> IAM condition block
    not_resources: dict[str, list[str]] | None = None  # resource -> NotResource ARNs


def grant_access(fn: KaeriFunction, targets: GrantTargets) -> None:
    for grant in access_for(fn.spec.name).grants():
        _RENDER.get(grant.kind, _render_named)(fn, grant, targets)


def _render_table(fn: KaeriFunction, grant: Grant, targets: GrantTargets) -> None:
    table = targets.data.table(grant.name)
    fn.role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=list(grant.actions), resources=[table.table_arn, f"{table.table_arn}/index/*"]
        )
    )
    if table.encryption_key is not None:  # PII tables: the CMK, for reads and (if granted) writes
        if set(TABLE_WRITE) & set(grant.actions):
            table.encryption_key.grant_encrypt_decrypt(fn.role)
        else:
            table.encryption_key.grant_decrypt(fn.role)


def _render_named(fn: KaeriFunction, grant: Grant, targets: GrantTargets) -> None:
    not_resources = (targets.not_resources or {}).get(grant.resource)
    statement = iam.PolicyStatement(
        actions=list(grant.actions),
        resources=None if not_resources else targets.resources[grant.resource],
        not_resources=not_resources,
        conditions=(targets.conditions or {}).get(grant.resource),
    )
    fn.role.add_to_principal_policy(statement)


_RENDER: dict[str, Callable[[KaeriFunction, Grant, GrantTargets], None]] = {"table": _render_table}

SMS_NOT_RESOURCE = f"arn:{Aws.PARTITION}:sns:*:*:*"
