"""Delivery: the send function (SES, SNS SMS, LINE), SES feedback, and the signed-link endpoint."""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct
from kaeri.topology import LINKS_API, SEND, SEND_FEEDBACK

from kaeri_cdk import constants as c
from kaeri_cdk.data import Data
from kaeri_cdk.function import KaeriFunction
from kaeri_cdk.layers import Layers
from kaeri_cdk.nag import acknowledge


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
            secret_name=c.secret_name(prefix, "link-signing-secret"),
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
        self.send = KaeriFunction(self, SEND, data=data, layers=layers, environment=common)
        self.feedback = KaeriFunction(self, SEND_FEEDBACK, data=data, layers=layers, environment=common)
        self.links = KaeriFunction(self, LINKS_API, data=data, layers=layers, environment=common)
        self.feedback_topic.add_subscription(subscriptions.LambdaSubscription(self.feedback.function))
        for fn in (self.send, self.links):
            self.link_secret.grant_read(fn.role)

        self._grant_email(stack, sender_identity)
        self._grant_sms()
        self._grant_line_tokens(stack, prefix)

    def _grant_email(self, stack: Stack, sender_identity: str) -> None:
        identity = stack.format_arn(service="ses", resource="identity", resource_name=sender_identity)
        config_set = stack.format_arn(
            service="ses",
            resource="configuration-set",
            resource_name=self.configuration_set.configuration_set_name,
        )
        self.send.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail", "ses:SendRawEmail"],
                resources=[identity, config_set],
            )
        )

    def _grant_sms(self) -> None:
        # SMS publish addresses a phone number, which has no ARN; NotResource on every topic ARN allows
        # exactly direct-to-phone publishes and nothing else.
        self.send.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sns:Publish"], not_resources=["arn:aws:sns:*:*:*"])
        )

    def _grant_line_tokens(self, stack: Stack, prefix: str) -> None:
        """Each shop's LINE channel token is its own secret, named by kaeri.delivery.channels."""
        pattern = stack.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{prefix}/*/line-channel-access-token-*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.send.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[pattern])
        )
        acknowledge(
            self.send,
            f"IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:{prefix}/*/line-channel-access-token-*]",
            "One LINE channel access token per shop, created when a shop connects LINE; the name pattern "
            "admits only those tokens (the trailing * is Secrets Manager's random suffix).",
        )

    @property
    def functions(self) -> list[KaeriFunction]:
        return [self.send, self.feedback, self.links]
