"""The marketers' console: its Cognito user pool and app client, and the console function.

Marketers are created by an operator (`kaeri console users add`), never by signing up; each belongs to
the `shop-<id>` groups of the shops they work for. The function verifies the pool's ID tokens itself
(kaeri.console.auth) because the session is a cookie, which an API Gateway Cognito authorizer does not
read; the routes are the topology's `ANY /console` and `ANY /console/{proxy+}` on the existing API.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from kaeri_cdk.data import Data
from kaeri_cdk.function import KaeriFunction
from kaeri_cdk.layers import Layers
from kaeri_cdk.nag import acknowledge
from kaeri_ops.console_users import CLIENT, POOL
from kaeri_ops.definitions.topology import CONSOLE


@dataclass(frozen=True)
class ScenarioSchedules:
    """Where scenario schedules live (kaeri_cdk.journeys): their group, target and the role they name."""

    group_name: str
    target_arn: str
    role_arn: str


_MFA = {"OFF": cognito.Mfa.OFF, "OPTIONAL": cognito.Mfa.OPTIONAL, "ON": cognito.Mfa.REQUIRED}
_FLOWS = {"ALLOW_USER_PASSWORD_AUTH": "user_password", "ALLOW_USER_SRP_AUTH": "user_srp"}


class Console(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        data: Data,
        layers: Layers,
        link_secret_name: str,
        configuration_set_name: str,
        schedules: ScenarioSchedules,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        # The one definition of the pool and its client (kaeri_ops.console_users), rendered for AWS.
        policy = POOL.password_policy
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=f"{data.prefix}-console",
            self_sign_up_enabled=not POOL.admin_create_user_only,
            sign_in_aliases=cognito.SignInAliases(username=True),
            sign_in_case_sensitive=POOL.case_sensitive_usernames,
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=False, mutable=True),
                locale=cognito.StandardAttribute(required=False, mutable=True),
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=policy["MinimumLength"],
                require_uppercase=policy["RequireUppercase"],
                require_lowercase=policy["RequireLowercase"],
                require_digits=policy["RequireNumbers"],
                require_symbols=policy["RequireSymbols"],
                temp_password_validity=Duration.days(policy["TemporaryPasswordValidityDays"]),
            ),
            mfa=_MFA[POOL.mfa],
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.NONE,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=removal_policy != RemovalPolicy.DESTROY,
            removal_policy=removal_policy,
        )
        acknowledge(
            self.user_pool,
            "COG2",
            "MFA is optional, not required: marketers who turn on an authenticator app answer its code at "
            "the console's sign-in (SOFTWARE_TOKEN_MFA), and the pool's threat protection (Plus plan, "
            "enforced) blocks risky sign-ins; docs/deployment.md says how to require it once marketers have authenticator apps.",
        )
        # CDK adds ALLOW_REFRESH_TOKEN_AUTH to every client; the others are named in CLIENT.auth_flows.
        flows = {_FLOWS[f]: True for f in CLIENT.auth_flows if f != "ALLOW_REFRESH_TOKEN_AUTH"}
        self.client = self.user_pool.add_client(
            "ConsoleClient",
            user_pool_client_name=CLIENT.name,
            generate_secret=False,
            auth_flows=cognito.AuthFlow(**flows),
            disable_o_auth=True,
            prevent_user_existence_errors=CLIENT.prevent_user_existence_errors,
            enable_token_revocation=CLIENT.token_revocation,
            id_token_validity=Duration.minutes(CLIENT.id_token_minutes),
            access_token_validity=Duration.minutes(CLIENT.access_token_minutes),
            refresh_token_validity=Duration.hours(CLIENT.refresh_token_hours),
            read_attributes=cognito.ClientAttributes().with_standard_attributes(
                **{a: True for a in CLIENT.read_attributes}
            ),
            write_attributes=cognito.ClientAttributes(),
        )
        stack = Stack.of(self)
        self.jwks_url = (
            f"https://cognito-idp.{stack.region}.{stack.url_suffix}/{self.user_pool.user_pool_id}"
            "/.well-known/jwks.json"
        )
        self.function = KaeriFunction(
            self,
            CONSOLE,
            data=data,
            layers=layers,
            environment={
                "KAERI_CONSOLE_USER_POOL_ID": self.user_pool.user_pool_id,
                "KAERI_CONSOLE_CLIENT_ID": self.client.user_pool_client_id,
                "KAERI_CONSOLE_JWKS_URL": self.jwks_url,
                # CSRF tokens and test sends' links are signed with the stack's signing secret.
                "KAERI_LINK_SIGNING_SECRET_NAME": link_secret_name,
                # Test sends go through Kaeri's configuration set, so their bounces and complaints are seen.
                "KAERI_SES_CONFIGURATION_SET": configuration_set_name,
                # Enabling, disabling or saving a scheduled scenario syncs its schedule
                # (kaeri.journeys.schedule.sync_schedule, as `kaeri scenarios enable`).
                "KAERI_SCHEDULE_GROUP": schedules.group_name,
                "KAERI_SCHEDULE_TARGET_ARN": schedules.target_arn,
                "KAERI_SCHEDULE_ROLE_ARN": schedules.role_arn,
            },
        )

        acknowledge(
            self.function,
            "IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:"
            f"{data.prefix}/*/line-channel-access-token-*]",
            "Test sends to a shop's seed LINE ids go through the send path, which reads that shop's LINE "
            "channel token; the name pattern admits only those tokens (as for the send function).",
        )

    @property
    def functions(self) -> list[KaeriFunction]:
        return [self.function]
