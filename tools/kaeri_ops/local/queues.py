"""The SQS -> Lambda event source mapping, played against moto's SQS.

Succeeded messages are deleted; those named in `batchItemFailures` (or the whole batch when the
function raises) are made visible again at once and retried, and after `max_receives` they move to
`dead_letters`, as a redrive policy would.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from kaeri_ops.definitions.topology import Function
from kaeri_ops.local.functions import FunctionRunner

log = logging.getLogger("kaeri_ops.local")


def _attributes_to_event(attributes: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in attributes.items():
        item: dict[str, Any] = {"dataType": value.get("DataType", "String")}
        if "StringValue" in value:
            item["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            import base64

            item["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
        item["stringListValues"], item["binaryListValues"] = [], []
        out[name] = item
    return out


@dataclass
class QueuePoller:
    clients: Any  # kaeri.aws.AwsClients
    runner: FunctionRunner
    function: Function
    queue_url: str
    batch_size: int = 10
    max_receives: int = 3
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    invocations: int = 0
    check_backend: bool = True  # skip receive_message while moto's queue has nothing visible

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._arn: str | None = None
        self._backend_queue: Any = None

    @property
    def queue_arn(self) -> str:
        if self._arn is None:
            attrs = self.clients.sqs.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
            )
            self._arn = attrs["Attributes"]["QueueArn"]
        return self._arn

    def _idle(self) -> bool:
        """True when moto (in this process) holds no visible message for the queue: then the poll
        costs no receive_message call. False when that cannot be told (the API decides)."""
        if self._backend_queue is None:
            try:
                from moto.sqs.models import sqs_backends

                _, region, account, name = self.queue_arn.split(":")[2:6]
                self._backend_queue = sqs_backends[account][region].get_queue(name)
            except Exception:
                log.debug("moto's SQS backend is not reachable in-process", exc_info=True)
                self._backend_queue = False
        if not self._backend_queue:
            return False
        return not any(m.visible and not m.delayed for m in list(self._backend_queue._messages))

    def poll_once(self) -> int:
        with self._lock:
            if self.check_backend and self._idle():
                return 0
            sqs = self.clients.sqs
            messages = sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=self.batch_size,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return 0
            region = self.clients.settings.region
            records = [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": _attributes_to_event(m.get("MessageAttributes", {})),
                    "md5OfBody": m.get("MD5OfBody"),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": region,
                }
                for m in messages
            ]
            self.invocations += 1
            try:
                response = self.runner.invoke(self.function, {"Records": records})
                failed = {
                    str(f.get("itemIdentifier")) for f in (response or {}).get("batchItemFailures", []) or []
                }
                error = "reported in batchItemFailures"
            except Exception as exc:
                log.warning(
                    "%s raised on %d messages: %s", self.function.name, len(records), exc, exc_info=True
                )
                failed = {r["messageId"] for r in records}
                error = f"{type(exc).__name__}: {exc}"
            for record in records:
                if record["messageId"] not in failed:
                    sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"])
                    continue
                receives = int(record["attributes"].get("ApproximateReceiveCount", "1"))
                if receives >= self.max_receives:
                    log.error(
                        "%s: message %s failed %d times (%s); moved to dead letters",
                        self.function.name,
                        record["messageId"],
                        receives,
                        error,
                    )
                    self.dead_letters.append({**record, "error": error})
                    sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"])
                else:
                    sqs.change_message_visibility(
                        QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                    )
            return len(records)
