"""Nightly KPI reports: the report function, its schedule and the private bucket it writes to."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from kaeri_cdk import constants as c
from kaeri_cdk.data import Data
from kaeri_cdk.function import KaeriFunction
from kaeri_cdk.layers import Layers
from kaeri_cdk.nag import acknowledge
from kaeri_cdk.schedules import NightlySchedule
from kaeri_ops.definitions.topology import REPORT_NIGHTLY


class Reports(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        data: Data,
        layers: Layers,
        schedule_group: scheduler.CfnScheduleGroup,
        schedule_dead_letters: sqs.IQueue,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # S3 log delivery cannot write to SSE-KMS buckets
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
            removal_policy=removal_policy,
        )
        acknowledge(
            self.access_logs,
            "S1",
            "This is the access-log bucket of the reports bucket; logging it into itself would loop.",
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="reports/",
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(90))],
            removal_policy=removal_policy,
        )
        self.nightly = KaeriFunction(
            self,
            REPORT_NIGHTLY,
            data=data,
            layers=layers,
            environment={"KAERI_REPORT_BUCKET": self.bucket.bucket_name},
        )
        NightlySchedule(
            self,
            "Nightly",
            target=self.nightly,
            group=schedule_group,
            cron=c.REPORT_NIGHTLY_CRON,
            dead_letters=schedule_dead_letters,
        )

    @property
    def functions(self) -> list[KaeriFunction]:
        return [self.nightly]
