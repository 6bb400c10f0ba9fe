"""Ingest: the tracking function behind the API, and the events-stream consumer."""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from kaeri_cdk import constants as c
from kaeri_cdk.data import Data
from kaeri_cdk.function import KaeriFunction
from kaeri_cdk.layers import Layers
from kaeri_cdk.queues import dead_letter_queue
from kaeri_ops.definitions.topology import EVALUATE_STREAM, TRACK_API


class Ingest(Construct):
    def __init__(self, scope: Construct, id: str, *, data: Data, layers: Layers) -> None:
        super().__init__(scope, id)
        self.track = KaeriFunction(self, TRACK_API, data=data, layers=layers)
        self.stream_consumer = KaeriFunction(self, EVALUATE_STREAM, data=data, layers=layers)
        self.stream_failures = dead_letter_queue(
            self, "StreamFailures", purpose="events-stream batches that failed after every retry"
        )
        self.stream_consumer.function.add_event_source(
            sources.DynamoEventSource(
                data.table("events"),
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=c.STREAM_BATCH_SIZE,
                max_batching_window=c.STREAM_BATCHING_WINDOW,
                bisect_batch_on_error=True,
                retry_attempts=c.STREAM_RETRY_ATTEMPTS,
                max_record_age=c.STREAM_MAX_RECORD_AGE,
                parallelization_factor=c.STREAM_PARALLELIZATION,
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(self.stream_failures),
            )
        )

    @property
    def functions(self) -> list[KaeriFunction]:
        return [self.track, self.stream_consumer]
