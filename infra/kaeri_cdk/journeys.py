"""Journeys and scheduled scenarios: the Step Functions journey machine, the scenario schedules'
group and role, the fan-out queue, and the evaluate functions they drive."""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from kaeri_cdk import constants as c
from kaeri_cdk.data import Data
from kaeri_cdk.function import KaeriFunction
from kaeri_cdk.layers import Layers
from kaeri_cdk.nag import acknowledge
from kaeri_cdk.queues import dead_letter_queue, work_queue
from kaeri_ops.definitions.state_machine import build_definition
from kaeri_ops.definitions.topology import EVALUATE_FANOUT, EVALUATE_SCHEDULE, EVALUATE_STEP, SEND_MESSAGE


def _in_partition(value: Any) -> Any:
    """The definition with every "arn:aws:" integration ARN in the deploying stack's partition."""
    if isinstance(value, dict):
        return {k: _in_partition(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_in_partition(v) for v in value]
    if isinstance(value, str) and value.startswith("arn:aws:"):
        return f"arn:{Aws.PARTITION}:" + value.removeprefix("arn:aws:")
    return value


class Journeys(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        data: Data,
        layers: Layers,
        send: KaeriFunction,
        journey_starters: list[KaeriFunction],
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        prefix = data.prefix

        self.schedule_group = scheduler.CfnScheduleGroup(self, "ScheduleGroup", name=prefix)
        self.schedule_group_name = prefix
        schedule_function_name = c.function_name(prefix, EVALUATE_SCHEDULE.name)
        # Built from the name, not a reference, so the function may carry its own ARN in its environment.
        self.schedule_target_arn = schedule_target_arn = stack.format_arn(
            service="lambda",
            resource="function",
            resource_name=schedule_function_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

        self.fanout_dlq = dead_letter_queue(
            self, "FanoutDeadLetters", purpose="fan-out chunks that kept failing"
        )
        self.schedule_dlq = dead_letter_queue(
            self, "ScheduleDeadLetters", purpose="schedule invocations Scheduler could not deliver"
        )
        fanout_timeout = c.FUNCTION_TIMEOUT[EVALUATE_FANOUT.name]
        self.fanout_queue = work_queue(
            self,
            "FanoutQueue",
            visibility=Duration.seconds(fanout_timeout.to_seconds() * 6),
            dlq=self.fanout_dlq,
        )

        self.evaluate_step = KaeriFunction(self, EVALUATE_STEP, data=data, layers=layers)
        self.schedule = KaeriFunction(
            self,
            EVALUATE_SCHEDULE,
            data=data,
            layers=layers,
            environment={"KAERI_FANOUT_QUEUE_URL": self.fanout_queue.queue_url},
        )
        self.fanout = KaeriFunction(self, EVALUATE_FANOUT, data=data, layers=layers)
        self.fanout.function.add_event_source(
            sources.SqsEventSource(
                self.fanout_queue, batch_size=c.FANOUT_BATCH_SIZE, report_batch_item_failures=True
            )
        )

        self._scenario_schedules(stack, schedule_target_arn)

        self.state_machine = self._state_machine(prefix, send)
        for fn in (*journey_starters, self.schedule, self.fanout):
            fn.add_environment("KAERI_JOURNEY_STATE_MACHINE_ARN", self.state_machine.state_machine_arn)

    def _scenario_schedules(self, stack: Stack, target_arn: str) -> None:
        """The role Scheduler assumes for per-scenario schedules (it may invoke evaluate-schedule only)."""
        self.scheduler_role = iam.Role(
            self,
            "ScenarioSchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description="Kaeri: EventBridge Scheduler invokes evaluate-schedule for scenario schedules",
        )
        self.scheduler_role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[target_arn])
        )
        # evaluate-schedule only runs what is due and holds no Scheduler permission: `kaeri scenarios
        # push/enable` (operator credentials; outputs ScheduleGroup, SchedulerRoleArn, ScheduleTargetArn)
        # and the console (its grant in kaeri_ops.definitions.access) create, update and delete them.

    def _state_machine(self, prefix: str, send: KaeriFunction) -> sfn.StateMachine:
        stack = Stack.of(self)
        definition = build_definition(
            {
                EVALUATE_STEP.name: self.evaluate_step.function.function_arn,
                SEND_MESSAGE.name: send.function.function_arn,
            }
        )
        # Service integrations are written for the aws partition; deploy them in the stack's own.
        definition = _in_partition(definition)
        body = definition if isinstance(definition, str) else stack.to_json_string(definition)
        role = iam.Role(
            self,
            "JourneyRole",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="Kaeri journeys: invoke evaluate-step and send-message, nothing else",
        )
        for fn in (self.evaluate_step, send):
            fn.function.grant_invoke(role)
        log_group = logs.LogGroup(
            self,
            "JourneyLogs",
            log_group_name=f"/aws/vendedlogs/states/{prefix}-journeys",
            retention=c.LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        machine = sfn.StateMachine(
            self,
            "JourneyStateMachine",
            state_machine_name=f"{prefix}-journeys",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(body),
            role=role,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        acknowledge(
            role,
            "IAM5[Resource::*]",
            "CloudWatch Logs vended-delivery actions (logs:CreateLogDelivery, ...) and X-Ray trace "
            "segments have no resource-level permissions; added by the machine's logging and tracing.",
        )
        return machine

    @property
    def functions(self) -> list[KaeriFunction]:
        return [self.schedule, self.fanout, self.evaluate_step]
