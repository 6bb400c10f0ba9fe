"""A nightly EventBridge Scheduler schedule invoking one function, with a role for just that target."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from kaeri_cdk import constants as c
from kaeri_cdk.function import KaeriFunction


class NightlySchedule(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        target: KaeriFunction,
        group: scheduler.CfnScheduleGroup,
        cron: str,
        dead_letters: sqs.IQueue,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"Kaeri: Scheduler invokes {target.spec.name} nightly",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[target.function.function_arn])
        )
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            group_name=group.name,
            description=f"Kaeri {target.spec.name}: every shop, nightly",
            schedule_expression=cron,
            schedule_expression_timezone=c.SCHEDULE_TIMEZONE,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=target.function.function_arn,
                role_arn=self.role.role_arn,
                input='{"source": "kaeri.nightly"}',
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=2),
                # An invocation Scheduler could not make after its retries lands here (alarmed on).
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=dead_letters.queue_arn),
            ),
        )
        dead_letters.grant_send_messages(self.role)
        self.schedule.node.add_dependency(group)
