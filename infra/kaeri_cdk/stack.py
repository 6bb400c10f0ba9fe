"""KaeriStack composes one construct per concern; it builds no resource itself."""

from __future__ import annotations

from aws_cdk import Aspects, Aws, CfnOutput, RemovalPolicy, Stack
from constructs import Construct

from kaeri_cdk import constants as c
from kaeri_cdk.access import GrantTargets, grant_access
from kaeri_cdk.api import Api
from kaeri_cdk.archive import Archive
from kaeri_cdk.console import Console, ScenarioSchedules
from kaeri_cdk.data import Data
from kaeri_cdk.delivery import Delivery
from kaeri_cdk.function import KaeriFunction
from kaeri_cdk.ingest import Ingest
from kaeri_cdk.journeys import Journeys
from kaeri_cdk.layers import Layers
from kaeri_cdk.monitoring import Monitoring
from kaeri_cdk.nag import AcknowledgeAcceptedWildcards
from kaeri_cdk.recommend import Recommend
from kaeri_cdk.reports import Reports


class KaeriStack(Stack):
    def __init__(self, scope: Construct, id: str, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        ctx = self.node.try_get_context
        prefix = ctx(c.CTX_TABLE_PREFIX) or c.DEFAULT_TABLE_PREFIX
        retain = (
            str(ctx(c.CTX_RETAIN_DATA) if ctx(c.CTX_RETAIN_DATA) is not None else "true").lower() != "false"
        )
        # Retained on delete and replacement, but removed when the stack's *first* create rolls back
        # (DeletionPolicy RetainExceptOnCreate): a failed first deploy leaves no table, key or bucket
        # behind, so the retry does not fail with "already exists" on the fixed table names.
        removal = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE if retain else RemovalPolicy.DESTROY

        self.data = Data(self, "Data", prefix=prefix, removal_policy=removal)
        self.layers = Layers(self, "Layers", placeholder=ctx(c.CTX_LAYERS) == "skip")
        self.api = Api(self, "Api", prefix=prefix, public_url=ctx(c.CTX_API_URL))
        self.ingest = Ingest(self, "Ingest", data=self.data, layers=self.layers)
        self.delivery = Delivery(
            self,
            "Delivery",
            data=self.data,
            layers=self.layers,
            sender_identity=ctx(c.CTX_SENDER_IDENTITY) or "*",
            removal_policy=removal,
        )
        self.journeys = Journeys(
            self,
            "Journeys",
            data=self.data,
            layers=self.layers,
            send=self.delivery.send,
            journey_starters=[self.ingest.stream_consumer],
        )
        self.recommend = Recommend(
            self,
            "Recommend",
            data=self.data,
            layers=self.layers,
            schedule_group=self.journeys.schedule_group,
            schedule_dead_letters=self.journeys.schedule_dlq,
        )
        self.reports = Reports(
            self,
            "Reports",
            data=self.data,
            layers=self.layers,
            schedule_group=self.journeys.schedule_group,
            schedule_dead_letters=self.journeys.schedule_dlq,
            removal_policy=removal,
        )

        self.archive = Archive(self, "Archive", data=self.data, layers=self.layers, removal_policy=removal)
        for reader in (self.recommend.nightly, *self.reports.functions):
            self.archive.configure_reader(reader)

        self.console = Console(
            self,
            "Console",
            data=self.data,
            layers=self.layers,
            link_secret_name=self.delivery.link_secret.secret_name,
            configuration_set_name=self.delivery.configuration_set.configuration_set_name,
            schedules=ScenarioSchedules(
                group_name=self.journeys.schedule_group_name,
                target_arn=self.journeys.schedule_target_arn,
                role_arn=self.journeys.scheduler_role.role_arn,
            ),
            removal_policy=removal,
        )

        all_functions = [
            *self.ingest.functions,
            *self.delivery.functions,
            *self.journeys.functions,
            *self.recommend.functions,
            *self.reports.functions,
            self.archive.transform,
            *self.console.functions,
        ]
        self.functions: dict[str, KaeriFunction] = {fn.spec.name: fn for fn in all_functions}
        for fn in all_functions:
            fn.add_environment("KAERI_API_URL", self.api.url)
        # Customer tokens (POST /v1/tokens) are signed like links, per shop, with the same secret.
        self.ingest.track.add_environment(
            "KAERI_LINK_SIGNING_SECRET_NAME", self.delivery.link_secret.secret_name
        )
        self.api.add_routes(self.functions)
        self._grant_access(all_functions)

        self.monitoring = Monitoring(
            self,
            "Monitoring",
            prefix=prefix,
            functions=all_functions,
            stream_consumer=self.ingest.stream_consumer,
            dead_letter_queues={
                "StreamFailures": self.ingest.stream_failures,
                "FanoutDeadLetters": self.journeys.fanout_dlq,
                "ScheduleDeadLetters": self.journeys.schedule_dlq,
                "FeedbackDeadLetters": self.delivery.feedback_dlq,
            },
            state_machine=self.journeys.state_machine,
            rest_api=self.api.rest_api,
            alarm_email=ctx(c.CTX_ALARM_EMAIL),
        )

        outputs = {
            c.OUTPUT_API_URL: self.api.url,
            c.OUTPUT_TABLE_PREFIX: prefix,
            c.OUTPUT_REGION: self.region,
            c.OUTPUT_FANOUT_QUEUE: self.journeys.fanout_queue.queue_url,
            c.OUTPUT_REPORTS_BUCKET: self.reports.bucket.bucket_name,
            c.OUTPUT_CONFIGURATION_SET: self.delivery.configuration_set.configuration_set_name,
            c.OUTPUT_SCHEDULE_GROUP: self.journeys.schedule_group_name,
            c.OUTPUT_SCHEDULER_ROLE: self.journeys.scheduler_role.role_arn,
            c.OUTPUT_SCHEDULE_TARGET: self.journeys.schedule_target_arn,
            c.OUTPUT_LINK_SECRET: self.delivery.link_secret.secret_name,
            c.OUTPUT_STATE_MACHINE: self.journeys.state_machine.state_machine_arn,
            c.OUTPUT_CONSOLE_USER_POOL: self.console.user_pool.user_pool_id,
            c.OUTPUT_CONSOLE_CLIENT: self.console.client.user_pool_client_id,
            c.OUTPUT_CONSOLE_URL: f"{self.api.url}/console",
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
        Aspects.of(self).add(AcknowledgeAcceptedWildcards())

    def _grant_access(self, functions: list[KaeriFunction]) -> None:
        """Each function's role from kaeri_ops.definitions.access: the resources its grants name, as built here."""
        delivery = self.delivery
        resources = {
            "queue:fanout": [self.journeys.fanout_queue.queue_arn],
            "secret:link-signing": [delivery.link_secret.secret_arn],
            "secret:line-tokens": delivery.line_token_resources,
            "ses:identities": delivery.email_resources,
            "bucket:reports": [self.reports.bucket.arn_for_objects("*")],
            "kms:pii": [self.data.pii_key.key_arn],
            **self.archive.query_resources(),
            # By name, not by reference: the nightly job invokes itself, and a reference from its own
            # role's policy to the function would be a circular dependency.
            "function:recommend-nightly": [
                f"arn:{Aws.PARTITION}:lambda:{self.region}:{self.account}:function:"
                f"{self.recommend.nightly.function_name}"
            ],
            "state-machine:journeys": [self.journeys.state_machine.state_machine_arn],
            # Scenario schedules: every schedule of the stack's group; the role those schedules name.
            "schedule-group:scenarios": [
                f"arn:{Aws.PARTITION}:scheduler:{self.region}:{self.account}:schedule/"
                f"{self.journeys.schedule_group_name}/*"
            ],
            "role:scenario-scheduler": [self.journeys.scheduler_role.role_arn],
        }
        targets = GrantTargets(
            data=self.data,
            resources=resources,
            conditions={
                "ses:identities": delivery.email_conditions,
                "role:scenario-scheduler": {
                    "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}
                },
            },
            not_resources={"sns:sms": delivery.sms_not_resources},
        )
        for fn in functions:
            grant_access(fn, targets)
