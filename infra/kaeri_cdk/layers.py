"""The common layer (runtime dependencies + kaeri) and the numpy layer, as Lambda layer versions."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from kaeri_cdk import constants as c
from kaeri_cdk.layer_build import build_common_layer, build_numpy_layer


class Layers(Construct):
    def __init__(self, scope: Construct, id: str, *, placeholder: bool) -> None:
        super().__init__(scope, id)
        self.common_dir = build_common_layer(placeholder=placeholder)
        self.numpy_dir = build_numpy_layer(placeholder=placeholder)
        self.common = self._layer(
            "Common", self.common_dir, "Kaeri shared library and its runtime dependencies"
        )
        self.numpy = self._layer("Numpy", self.numpy_dir, "numpy, only for the functions that predict")

    def _layer(self, id: str, directory, description: str) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            id,
            code=lambda_.Code.from_asset(str(directory)),
            compatible_runtimes=[c.RUNTIME],
            compatible_architectures=[c.ARCHITECTURE],
            description=description,
            removal_policy=RemovalPolicy.DESTROY,
        )
