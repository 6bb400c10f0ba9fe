"""Dashboard and alarms: what was sent and how it fared, and whether the pipeline keeps up."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from kaeri_cdk import constants as c
from kaeri_cdk.function import KaeriFunction

_FIVE_MINUTES = Duration.minutes(5)


def _ses(metric: str, statistic: str = "Sum") -> cw.Metric:
    return cw.Metric(namespace="AWS/SES", metric_name=metric, statistic=statistic, period=Duration.hours(1))


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        prefix: str,
        functions: list[KaeriFunction],
        stream_consumer: KaeriFunction,
        dead_letter_queues: dict[str, sqs.IQueue],
        state_machine: sfn.StateMachine,
        rest_api: apigw.RestApi,
        alarm_email: str | None,
    ) -> None:
        super().__init__(scope, id)
        key = kms.Key(
            self,
            "AlarmKey",
            alias=f"alias/{prefix}-alarms",
            description="Kaeri: encrypts the alarm topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        self.alarm_topic = sns.Topic(
            self, "AlarmTopic", master_key=key, enforce_ssl=True, display_name="Kaeri alarms"
        )
        if alarm_email:
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        action = cw_actions.SnsAction(self.alarm_topic)
        self.alarms: list[cw.Alarm] = []

        def alarm(id: str, metric: cw.IMetric, threshold: float, description: str) -> None:
            created = metric.create_alarm(
                self,
                id,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            created.add_alarm_action(action)
            self.alarms.append(created)

        iterator_age = stream_consumer.function.metric(
            "IteratorAge", statistic="Maximum", period=_FIVE_MINUTES
        )
        alarm(
            "StreamIteratorAge",
            iterator_age,
            c.ITERATOR_AGE_ALARM_MS,
            "Events stream consumer is falling behind",
        )
        dlq_depth = {
            name: q.metric_approximate_number_of_messages_visible(period=_FIVE_MINUTES, statistic="Maximum")
            for name, q in dead_letter_queues.items()
        }
        for name, metric in dlq_depth.items():
            alarm(f"{name}Depth", metric, 1, f"Records landed in the {name} dead-letter queue")
        errors = {fn.spec.name: fn.function.metric_errors(period=_FIVE_MINUTES) for fn in functions}
        for name, metric in errors.items():
            alarm(f"{_camel(name)}Errors", metric, 5, f"{name} failed 5 or more times in 5 minutes")
        quarantined = cw.Metric(
            namespace=c.METRICS_NAMESPACE,
            metric_name="EventsQuarantined",
            dimensions_map={"service": c.SERVICE_NAME},
            statistic="Sum",
            period=_FIVE_MINUTES,
        )
        alarm(
            "EventsQuarantined",
            quarantined,
            1,
            "Accepted events could not be projected: see `kaeri events failed`, fix, `kaeri events replay`",
        )
        failed = state_machine.metric_failed(period=_FIVE_MINUTES)
        alarm("JourneysFailed", failed, 1, "A journey execution failed")
        bounce_rate = _ses("Reputation.BounceRate", "Maximum")
        complaint_rate = _ses("Reputation.ComplaintRate", "Maximum")
        alarm("BounceRate", bounce_rate, c.BOUNCE_RATE_ALARM, "SES bounce rate at the 5% review threshold")
        alarm("ComplaintRate", complaint_rate, c.COMPLAINT_RATE_ALARM, "SES complaint rate at 0.1%")
        server_errors = rest_api.metric_server_error(period=_FIVE_MINUTES)
        alarm("Api5xx", server_errors, 10, "The tracking API answered 5xx")

        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"{prefix}-overview")
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Email: sends and outcomes (per hour)",
                left=[
                    _ses("Send"),
                    _ses("Delivery"),
                    _ses("Bounce"),
                    _ses("Complaint"),
                    _ses("Open"),
                    _ses("Click"),
                ],
                width=12,
            ),
            cw.GraphWidget(title="Email: reputation", left=[bounce_rate, complaint_rate], width=12),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Events stream iterator age (ms)", left=[iterator_age], width=8),
            cw.GraphWidget(title="Dead-letter queue depth", left=list(dlq_depth.values()), width=8),
            cw.GraphWidget(
                title="Journeys",
                left=[state_machine.metric_started(), state_machine.metric_succeeded(), failed],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Lambda errors", left=list(errors.values()), width=12),
            cw.GraphWidget(
                title="API requests and errors",
                left=[rest_api.metric_count(), rest_api.metric_client_error(), server_errors],
                width=12,
            ),
        )


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))
