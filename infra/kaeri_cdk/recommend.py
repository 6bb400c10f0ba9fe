"""Recommendations and predictions: the nightly numpy function and its schedule."""

from __future__ import annotations

from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from kaeri_cdk import constants as c
from kaeri_cdk.data import Data
from kaeri_cdk.function import KaeriFunction
from kaeri_cdk.layers import Layers
from kaeri_cdk.schedules import NightlySchedule
from kaeri_ops.definitions.topology import RECOMMEND_NIGHTLY


class Recommend(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        data: Data,
        layers: Layers,
        schedule_group: scheduler.CfnScheduleGroup,
        schedule_dead_letters: sqs.IQueue,
    ) -> None:
        super().__init__(scope, id)
        self.nightly = KaeriFunction(self, RECOMMEND_NIGHTLY, data=data, layers=layers)
        NightlySchedule(
            self,
            "Nightly",
            target=self.nightly,
            group=schedule_group,
            cron=c.RECOMMEND_NIGHTLY_CRON,
            dead_letters=schedule_dead_letters,
        )

    @property
    def functions(self) -> list[KaeriFunction]:
        return [self.nightly]
