"""One Lambda function of kaeri_ops.definitions.topology, with its own role, its own log group and its table grants."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from kaeri_cdk import constants as c
from kaeri_cdk.data import Data
from kaeri_cdk.layers import Layers
from kaeri_cdk.nag import acknowledge
from kaeri_ops.definitions.topology import Function as FunctionSpec

_CODE_EXCLUDES = ["__pycache__", "*.pyc", "tests", ".pytest_cache"]


class KaeriFunction(Construct):
    """A topology function with its own role. Its grants come from kaeri_ops.definitions.access, rendered by
    kaeri_cdk.access.grant_access once every resource exists (KaeriStack), never by a shared role."""

    def __init__(
        self,
        scope: Construct,
        spec: FunctionSpec,
        *,
        data: Data,
        layers: Layers,
        environment: dict[str, str] | None = None,
    ) -> None:
        super().__init__(scope, _construct_id(spec.name))
        self.spec = spec
        name = c.function_name(data.prefix, spec.name)
        self.function_name = name  # fixed, so a policy can name the function without referencing it
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Kaeri {spec.name}: least privilege for this function only",
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{name}",
            retention=c.LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.log_group.grant_write(self.role)
        function_layers = [layers.common] + ([layers.numpy] if spec.numpy else [])
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=name,
            code=lambda_.Code.from_asset(str(c.REPO_ROOT / spec.code_dir), exclude=_CODE_EXCLUDES),
            handler=spec.handler,
            runtime=c.RUNTIME,
            architecture=c.ARCHITECTURE,
            role=self.role,
            log_group=self.log_group,
            layers=function_layers,
            memory_size=c.FUNCTION_MEMORY.get(spec.name, c.DEFAULT_MEMORY),
            timeout=c.FUNCTION_TIMEOUT.get(spec.name, c.DEFAULT_TIMEOUT),
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                "KAERI_TABLE_PREFIX": data.prefix,
                "POWERTOOLS_SERVICE_NAME": c.SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": c.METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                # kaeri.tracing: traces carry timings and AWS calls, never responses or errors (PII).
                "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
                "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
                **(environment or {}),
            },
            description=f"Kaeri {spec.name} ({spec.code_dir}/{spec.handler})",
        )
        acknowledge(
            self,
            "L1",
            "Python 3.12 on purpose: the layers' binary wheels (pydantic-core, numpy) are built for cp312 "
            "by kaeri_cdk.layer_build; runtime and layer move together in constants.PYTHON_VERSION.",
        )
        acknowledge(
            self,
            "IAM5[Resource::*]",
            "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions "
            "(added by tracing=ACTIVE; handlers record their segments with kaeri.tracing).",
        )

    def add_environment(self, key: str, value: str) -> None:
        self.function.add_environment(key, value)

    @property
    def arn(self) -> str:
        return self.function.function_arn


def _construct_id(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-")) + "Function"
