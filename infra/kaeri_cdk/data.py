"""DynamoDB tables, built from kaeri.tables.TABLES so the deployed keys match the code's."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from kaeri.tables import TABLES, Key, Table

_ATTRIBUTE_TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER}


def _attribute(key: Key) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=key.name, type=_ATTRIBUTE_TYPES[key.type])


class Data(Construct):
    """Every table of TABLES as ``{prefix}-{logical}``; PII tables encrypted with one rotating CMK."""

    def __init__(self, scope: Construct, id: str, *, prefix: str, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, id)
        self.prefix = prefix
        self.pii_key = kms.Key(
            self,
            "PiiKey",
            alias=f"alias/{prefix}-pii",
            description="Kaeri: encrypts tables holding personal data (events, customers, messages)",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        self.tables: dict[str, dynamodb.Table] = {
            spec.logical: self._table(spec, removal_policy) for spec in TABLES
        }

    def _table(self, spec: Table, removal_policy: RemovalPolicy) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            _construct_id(spec.logical),
            table_name=spec.physical_name(self.prefix),
            partition_key=_attribute(spec.partition),
            sort_key=_attribute(spec.sort) if spec.sort else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=(
                dynamodb.TableEncryption.CUSTOMER_MANAGED
                if spec.pii
                else dynamodb.TableEncryption.AWS_MANAGED
            ),
            encryption_key=self.pii_key if spec.pii else None,
            stream=dynamodb.StreamViewType.NEW_IMAGE if spec.stream else None,
            time_to_live_attribute=spec.ttl_attribute,
            removal_policy=removal_policy,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_attribute(index.partition),
                sort_key=_attribute(index.sort) if index.sort else None,
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table

    def table(self, logical: str) -> dynamodb.Table:
        return self.tables[logical]


def _construct_id(logical: str) -> str:
    return "".join(part.capitalize() for part in logical.split("-")) + "Table"
