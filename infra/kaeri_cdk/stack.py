"""KaeriStack composes one construct per concern; it builds no resource itself."""

from __future__ import annotations

from aws_cdk import Aspects, CfnOutput, RemovalPolicy, Stack
from constructs import Construct

from kaeri_cdk import constants as c
from kaeri_cdk.api import Api
from kaeri_cdk.data import Data
from kaeri_cdk.function import KaeriFunction
from kaeri_cdk.ingest import Ingest
from kaeri_cdk.layers import Layers
from kaeri_cdk.nag import AcknowledgeAcceptedWildcards


class KaeriStack(Stack):
    def __init__(self, scope: Construct, id: str, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        ctx = self.node.try_get_context
        prefix = ctx(c.CTX_TABLE_PREFIX) or c.DEFAULT_TABLE_PREFIX
        retain = (
            str(ctx(c.CTX_RETAIN_DATA) if ctx(c.CTX_RETAIN_DATA) is not None else "true").lower() != "false"
        )
        removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY

        self.data = Data(self, "Data", prefix=prefix, removal_policy=removal)
        self.layers = Layers(self, "Layers", placeholder=ctx(c.CTX_LAYERS) == "skip")
        self.api = Api(self, "Api", prefix=prefix, public_url=ctx(c.CTX_API_URL))
        self.ingest = Ingest(self, "Ingest", data=self.data, layers=self.layers)

        self.functions: dict[str, KaeriFunction] = {fn.spec.name: fn for fn in self.ingest.functions}
        for fn in self.functions.values():
            fn.add_environment("KAERI_API_URL", self.api.url)
        self.api.add_routes(self.functions)

        CfnOutput(self, c.OUTPUT_API_URL, value=self.api.url)
        CfnOutput(self, c.OUTPUT_TABLE_PREFIX, value=prefix)
        CfnOutput(self, c.OUTPUT_REGION, value=self.region)
        Aspects.of(self).add(AcknowledgeAcceptedWildcards())
