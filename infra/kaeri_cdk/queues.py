"""SQS queues as Kaeri wants them: encrypted, TLS only, long retention for investigation."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from kaeri_cdk import constants as c
from kaeri_cdk.nag import acknowledge


def dead_letter_queue(scope: Construct, id: str, *, purpose: str) -> sqs.Queue:
    """A terminal queue for what could not be processed; nothing consumes it automatically."""
    queue = sqs.Queue(
        scope,
        id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=c.QUEUE_RETENTION,
    )
    acknowledge(
        queue,
        "SQS3",
        f"This queue is itself the dead-letter destination ({purpose}); a queue behind it would only "
        "move the same records again. Its depth is alarmed on in Monitoring.",
    )
    return queue


def work_queue(scope: Construct, id: str, *, visibility: Duration, dlq: sqs.Queue) -> sqs.Queue:
    return sqs.Queue(
        scope,
        id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=c.QUEUE_RETENTION,
        visibility_timeout=visibility,
        dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=c.FANOUT_MAX_RECEIVE),
    )
