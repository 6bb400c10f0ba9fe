"""Delivery: the send function (SES, SNS SMS, LINE), SES feedback, and the signed-link endpoint."""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from kaeri_cdk import constants as c
from kaeri_cdk.access import SMS_NOT_RESOURCE
from kaeri_cdk.data import Data
from kaeri_cdk.function import KaeriFunction
from kaeri_cdk.layers import Layers
from kaeri_cdk.nag import acknowledge
from kaeri_cdk.queues import dead_letter_queue
from kaeri_ops.definitions.topology import SEND_FEEDBACK, SEND_LINKS, SEND_MESSAGE


class Delivery(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        data: Data,
        layers: Layers,
        sender_identity: str,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        prefix = data.prefix

        self.link_secret = secretsmanager.Secret(
            self,
            "LinkSigningSecret",
            # A generated name: a secret left behind by a failed first deploy cannot block the retry.
            # The functions and the CLI read the name from the environment and the stack's outputs.
            description="Kaeri: HMAC key signing unsubscribe and tracked-link tokens",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=removal_policy,
        )
        acknowledge(
            self.link_secret,
            "SMG4",
            "Rotating the signing key would invalidate the unsubscribe links in every mail already "
            "sent, which must keep working (Act on Specified Electronic Mail, RFC 8058). Rotate by hand "
            "with a grace period if it ever leaks (docs/deployment.md).",
        )

        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            configuration_set_name=prefix,
            reputation_metrics=True,
            sending_enabled=True,
        )
        self.feedback_key = kms.Key(
            self,
            "FeedbackKey",
            alias=f"alias/{prefix}-ses-feedback",
            description="Kaeri: encrypts the SES feedback topic (bounces, complaints, opens, clicks)",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.feedback_key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        self.feedback_topic = sns.Topic(
            self,
            "FeedbackTopic",
            master_key=self.feedback_key,
            enforce_ssl=True,
            display_name="Kaeri SES feedback",
        )
        self.feedback_topic.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                resources=[self.feedback_topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        self.configuration_set.add_event_destination(
            "Feedback",
            destination=ses.EventDestination.sns_topic(self.feedback_topic),
            events=[getattr(ses.EmailSendingEvent, e) for e in c.SES_EVENTS],
        )

        common = {
            "KAERI_SES_CONFIGURATION_SET": self.configuration_set.configuration_set_name,
            "KAERI_LINK_SIGNING_SECRET_NAME": self.link_secret.secret_name,
        }
        self.send = KaeriFunction(self, SEND_MESSAGE, data=data, layers=layers, environment=common)
        self.feedback = KaeriFunction(self, SEND_FEEDBACK, data=data, layers=layers, environment=common)
        self.links = KaeriFunction(self, SEND_LINKS, data=data, layers=layers, environment=common)
        # Feedback that could not be handled (SNS could not deliver it, or the function failed after
        # Lambda's async retries) is kept in one dead-letter queue, alarmed on in Monitoring.
        self.feedback_dlq = dead_letter_queue(
            self, "FeedbackDeadLetters", purpose="SES feedback send-feedback could not take"
        )
        self.feedback.function.configure_async_invoke(
            on_failure=destinations.SqsDestination(self.feedback_dlq), retry_attempts=2
        )
        self.feedback_topic.add_subscription(
            subscriptions.LambdaSubscription(self.feedback.function, dead_letter_queue=self.feedback_dlq)
        )
        self._email_targets(stack, sender_identity)
        self._line_token_targets(stack, prefix)
        self.sms_not_resources = [SMS_NOT_RESOURCE]
        acknowledge(
            self.send,
            "IAM5[Resource::*]",
            "sns:Publish to a phone number: SMS publishes address a number, which has no ARN and no IAM "
            "condition key, so NotResource on every topic ARN is the tightest IAM allows (direct-to-phone "
            "publishes only). Which numbers receive is decided by consent in kaeri.delivery.",
        )

    def _email_targets(self, stack: Stack, sender_identity: str) -> None:
        """ses:SendEmail on the shops' identities and Kaeri's configuration set, from their addresses."""
        identity = stack.format_arn(service="ses", resource="identity", resource_name=sender_identity)
        config_set = stack.format_arn(
            service="ses",
            resource="configuration-set",
            resource_name=self.configuration_set.configuration_set_name,
        )
        self.email_resources = [identity, config_set]
        # ses:FromAddress limits the sender to the identity: a domain's addresses or the one address.
        if sender_identity == "*":
            from_address = "*"
        elif "@" in sender_identity:
            from_address = sender_identity
        else:
            from_address = f"*@{sender_identity}"
        self.email_conditions = {"StringLike": {"ses:FromAddress": from_address}}

    def _line_token_targets(self, stack: Stack, prefix: str) -> None:
        """Each shop's LINE channel token is its own secret, named by kaeri.delivery.channels."""
        pattern = stack.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{prefix}/*/line-channel-access-token-*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.line_token_resources = [pattern]
        acknowledge(
            self.send,
            f"IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:{prefix}/*/line-channel-access-token-*]",
            "One LINE channel access token per shop, created when a shop connects LINE; the name pattern "
            "admits only those tokens (the trailing * is Secrets Manager's random suffix).",
        )

    @property
    def functions(self) -> list[KaeriFunction]:
        return [self.send, self.feedback, self.links]
