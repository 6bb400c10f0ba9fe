"""DynamoDB stream consumer of the events table: update the profile, then run event triggers and exits.

Partial batch failures: a failing record is retried (and bisected) without replaying the others;
replays are harmless because the projector applies each message id once. An event that cannot be
projected at all is quarantined with its reason (kaeri.profiles.quarantine) and counted in the
EventsQuarantined metric, so it is neither retried for ever nor lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from kaeri.aws import AwsClients
from kaeri.pii import MaskingFormatter
from kaeri.profiles.projector import ProfileProjector, project_and_trigger
from kaeri.profiles.quarantine import Quarantine
from kaeri.tracing import tracer
from kaeri.wiring import once

logger = Logger(logger_formatter=MaskingFormatter())  # emails, phones, LINE ids, tokens masked
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@dataclass(frozen=True)
class Services:
    """What every record needs, built once per execution environment (not per record)."""

    clients: AwsClients
    projector: ProfileProjector
    quarantine: Quarantine


def _wire(clients: AwsClients) -> Services:
    return Services(clients, ProfileProjector(clients, metrics=metrics), Quarantine(clients, metrics=metrics))


wired = once(_wire)  # kaeri.wiring: built on the first invocation, reused while the environment is warm


def record_handler(record: DynamoDBRecord) -> None:
    if record.event_name is None or record.event_name.name != "INSERT":
        return  # events are written once and never updated; TTL deletions need no projection
    services = wired()
    project_and_trigger(
        services.clients,
        record.dynamodb.new_image,
        projector=services.projector,
        quarantine=services.quarantine,
    )


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
