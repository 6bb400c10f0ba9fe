"""The public REST API: kaeri_ops.definitions.topology.ROUTES, each a Lambda proxy to its function."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from constructs import Construct

from kaeri.tracking import wire
from kaeri_cdk import constants as c
from kaeri_cdk.function import KaeriFunction
from kaeri_cdk.nag import acknowledge
from kaeri_ops.definitions.topology import ROUTES, TRACK_API


class Api(Construct):
    """Created before the functions so they can be told the API's URL; routes are added after."""

    def __init__(self, scope: Construct, id: str, *, prefix: str, public_url: str | None = None) -> None:
        super().__init__(scope, id)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=c.ACCESS_LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"{prefix}-api",
            description="Kaeri tracking (Segment-compatible), catalog, webhooks, recommendations, links",
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # SDKs gzip JSON bodies (Content-Encoding: gzip, Content-Type: application/json): as a
            # binary type they reach Lambda intact, base64-encoded, and track-api decodes both layers.
            binary_media_types=list(c.API_BINARY_MEDIA_TYPES),
            deploy_options=apigw.StageOptions(
                stage_name=c.API_STAGE,
                throttling_rate_limit=c.API_THROTTLE_RATE,
                throttling_burst_limit=c.API_THROTTLE_BURST,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
            ),
        )
        # API Gateway writes execution logs (level ERROR) to a group it would create itself, without
        # retention; creating it first with that exact name gives it one.
        self.execution_logs = logs.LogGroup(
            self,
            "ExecutionLogs",
            log_group_name=f"API-Gateway-Execution-Logs_{self.rest_api.rest_api_id}/{c.API_STAGE}",
            retention=c.LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.rest_api.deployment_stage.node.add_dependency(self.execution_logs)
        # Errors the gateway answers itself (throttling, a missing route) carry CORS headers too, so a
        # browser page sees the status instead of an opaque CORS failure.
        cors = {k: f"'{v}'" for k, v in wire.CORS_HEADERS.items()}
        for response_type in (apigw.ResponseType.DEFAULT_4_XX, apigw.ResponseType.DEFAULT_5_XX):
            self.rest_api.add_gateway_response(
                f"Cors{response_type.response_type}", type=response_type, response_headers=cors
            )
        # Required path parameters are enforced here. Body validation applies only to methods that
        # declare a model, and none does: the handlers answer the Segment-style 400 that names the item
        # index and field, which a gateway model error could not.
        self.validator = self.rest_api.add_request_validator(
            "Validator", validate_request_parameters=True, validate_request_body=True
        )
        stack = Stack.of(self)
        self.url = public_url or (
            f"https://{self.rest_api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}/{c.API_STAGE}"
        )
        acknowledge(
            self,
            "APIG4",
            "Shops authenticate as Segment SDKs do (HTTP Basic with the write key), Shopify with an HMAC "
            "of the body, and link clicks with a signed token; the functions verify each, per shop.",
        )
        acknowledge(
            self,
            "APIG3",
            "WAF is left to the operator (fixed monthly cost per web ACL); the stage is throttled and "
            "every request is authenticated per shop by the functions. docs/deployment.md shows how to add it.",
        )
        acknowledge(
            self,
            "COG4",
            "The console's marketers are Cognito users, but their session is a cookie, which a Cognito "
            "authorizer does not read: the console function verifies the ID token on every request "
            "(kaeri.console.auth). Every other caller is a shop's server or SDK (write keys) or a mail "
            "recipient (signed link tokens).",
        )
        acknowledge(
            self,
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            "The account-level role API Gateway needs to write execution logs; AWS's managed policy is the "
            "documented minimum for it.",
        )

    def add_routes(self, functions: dict[str, KaeriFunction]) -> None:
        integrations: dict[str, apigw.LambdaIntegration] = {}
        for route in ROUTES:
            fn = functions[route.function.name]
            if route.function.name not in integrations:
                integrations[route.function.name] = apigw.LambdaIntegration(fn.function, proxy=True)
            resource = self.rest_api.root.resource_for_path(route.path.lstrip("/"))
            params = {
                f"method.request.path.{p.strip('{}+')}": True
                for p in route.path.split("/")
                if p.startswith("{")
            }
            if route.function == TRACK_API and resource.default_cors_preflight_options is None:
                # Browser SDKs post cross-origin with the write key: answer their preflight here.
                resource.add_cors_preflight(
                    allow_origins=[wire.CORS_HEADERS["Access-Control-Allow-Origin"]],
                    allow_headers=list(wire.CORS_ALLOW_HEADERS),
                    allow_methods=list(wire.CORS_ALLOW_METHODS),
                    max_age=Duration.seconds(wire.CORS_MAX_AGE),
                )
            resource.add_method(
                route.method,
                integrations[route.function.name],
                request_parameters=params or None,
                request_validator=self.validator if params else None,
            )
