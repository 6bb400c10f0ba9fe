"""Least privilege on the local stack: a function's AWS call outside kaeri_ops.definitions.access is refused.

The FunctionRunner marks which function is running (`acting_as`); a botocore hook on every client
(registered like kaeri_ops.local.inprocess's) works out the IAM action and the resource each call needs
and raises the ClientError AWS would (AccessDeniedException / AccessDenied) when the function's
grants in kaeri_ops.definitions.access do not cover it. Calls made outside any function (the stack setting itself up,
the CLI, tests reading state) act as the operator and pass.

Worker threads a handler starts (ThreadPoolExecutor) act as the same function, as in Lambda, where
every thread of the process holds the function's role.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import functools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore import handlers as botocore_handlers
from botocore.exceptions import ClientError

from kaeri_ops.definitions.access import access_for

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("kaeri_local_function", default=None)
_lock = threading.Lock()


@dataclass
class LocalResources:
    """How the local stack names the resources kaeri_ops.definitions.access grants on."""

    tables: dict[str, str] = field(default_factory=dict)  # physical name -> logical
    queues: dict[str, str] = field(default_factory=dict)  # queue URL or name -> logical
    state_machines: dict[str, str] = field(default_factory=dict)  # ARN -> logical
    secrets: dict[str, str] = field(default_factory=dict)  # secret name -> logical
    line_token_prefix: str = "kaeri/"  # "{prefix}/{shop}/line-channel-access-token"
    buckets: dict[str, str] = field(default_factory=dict)  # bucket name -> logical
    schedule_groups: dict[str, str] = field(default_factory=dict)  # schedule group name -> logical
    roles: dict[str, str] = field(default_factory=dict)  # role ARN -> logical (iam:PassRole)
    denials: list[str] = field(default_factory=list)  # every refusal, for tests and the CLI


_resources: LocalResources | None = None
DENIALS: list[str] = []  # every refusal in this process, whichever stack made it (tests read it)
_original_submit = concurrent.futures.ThreadPoolExecutor.submit


@contextlib.contextmanager
def acting_as(function_name: str) -> Iterator[None]:
    token = _current.set(function_name)
    try:
        yield
    finally:
        _current.reset(token)


def current_function() -> str | None:
    return _current.get()


def _submit_in_context(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    if _current.get() is None:
        return _original_submit(self, fn, *args, **kwargs)
    return _original_submit(self, contextvars.copy_context().run, fn, *args, **kwargs)


def enforce(resources: LocalResources) -> None:
    """Refuse calls outside each function's access from now on (until `relax()`)."""
    global _resources
    with _lock:
        _resources = resources
        concurrent.futures.ThreadPoolExecutor.submit = _submit_in_context  # type: ignore[method-assign]


def relax() -> None:
    global _resources
    with _lock:
        _resources = None
        concurrent.futures.ThreadPoolExecutor.submit = _original_submit  # type: ignore[method-assign]


# What a call needs ------------------------------------------------------------------------------

_TRANSACT_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
_DYNAMODB_STREAMS = {"DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"}


def required(
    service: str, operation: str, params: dict[str, Any], res: LocalResources
) -> list[tuple[str, str]]:
    """The (IAM action, kaeri_ops.definitions.access resource) pairs a call needs; an unknown resource is "?NAME"."""
    if service == "dynamodb":
        return _dynamodb(operation, params, res)
    if service == "sqs":
        action = "SendMessage" if operation == "SendMessageBatch" else operation
        url = str(params.get("QueueUrl") or params.get("QueueName") or "")
        return [(f"sqs:{action}", f"queue:{res.queues.get(url, '?' + url)}")]
    if service == "sfn":
        arn = str(params.get("stateMachineArn") or params.get("executionArn") or "")
        machine = next((name for known, name in res.state_machines.items() if arn.startswith(known)), None)
        return [(f"states:{operation}", f"state-machine:{machine or '?' + arn}")]
    if service == "secrets-manager":
        secret = str(params.get("SecretId") or params.get("Name") or "")
        if secret in res.secrets:
            name = res.secrets[secret]
        elif secret.startswith(res.line_token_prefix) and secret.endswith("/line-channel-access-token"):
            name = "line-tokens"
        else:
            name = "?" + secret
        return [(f"secretsmanager:{operation}", f"secret:{name}")]
    if service in ("sesv2", "ses"):
        return [(f"ses:{operation}", "ses:identities")]
    if service == "sns":
        topic = params.get("TopicArn") or params.get("TargetArn")
        return [(f"sns:{operation}", f"?{topic}" if topic else "sns:sms")]
    if service == "s3":
        bucket = str(params.get("Bucket", ""))
        return [(f"s3:{operation}", f"bucket:{res.buckets.get(bucket, '?' + bucket)}")]
    if service == "scheduler":
        return _scheduler(operation, params, res)
    return [(f"{service}:{operation}", "?")]


def _scheduler(operation: str, params: dict[str, Any], res: LocalResources) -> list[tuple[str, str]]:
    """A schedule call acts on its group; one that hands Scheduler a role also needs iam:PassRole on it."""
    group = str(params.get("GroupName") or "default")
    needs = [(f"scheduler:{operation}", f"schedule-group:{res.schedule_groups.get(group, '?' + group)}")]
    role = (params.get("Target") or {}).get("RoleArn")
    if role:
        needs.append(("iam:PassRole", f"role:{res.roles.get(str(role), '?' + str(role))}"))
    return needs


def _table(name: str, res: LocalResources) -> str:
    return f"table:{res.tables.get(name, '?' + name)}"


def _dynamodb(operation: str, params: dict[str, Any], res: LocalResources) -> list[tuple[str, str]]:
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", _table(name, res)) for name in params.get("RequestItems", {})]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        needs = []
        for item in params.get("TransactItems", []):
            for kind, body in item.items():
                needs.append((f"dynamodb:{_TRANSACT_ITEM_ACTIONS[kind]}", _table(body["TableName"], res)))
        return needs
    if "TableName" in params:
        return [(f"dynamodb:{operation}", _table(str(params["TableName"]), res))]
    return [(f"dynamodb:{operation}", "?")]


@functools.cache
def _allowed(function: str) -> frozenset[tuple[str, str]]:
    return frozenset((a, g.resource) for g in access_for(function).grants() for a in g.actions)


def _check(params: dict[str, Any], model: Any, **_: Any) -> None:
    res = _resources
    function = _current.get()
    if res is None or function is None:
        return
    service = model.service_model.service_id.hyphenize()
    if service in ("dynamodb-streams", "sts"):
        return  # only the stack's own pollers read the stream (the event source mapping's role)
    if model.auth_type == "none":
        return  # unsigned operations (Cognito's InitiateAuth): AWS evaluates no IAM policy for them
    operation = model.name
    allowed = _allowed(function)
    for action, resource in required(service, operation, params, res):
        if (action, resource) not in allowed:
            message = (
                f"local IAM: kaeri-{function} is not authorized to perform: {action} on resource: "
                f"{resource} (grant it in kaeri/access.py if the function really needs it)"
            )
            res.denials.append(message)
            DENIALS.append(message)
            code = "AccessDenied" if service in ("s3", "sns", "ses", "sqs") else "AccessDeniedException"
            raise ClientError(
                {
                    "Error": {"Code": code, "Message": message},
                    "ResponseMetadata": {"HTTPStatusCode": 403},
                },
                operation,
            )


def install() -> None:
    """Hook every botocore session created from now on (idempotent; a no-op until `enforce()`)."""
    entry = ("before-parameter-build", _check)
    if entry not in botocore_handlers.BUILTIN_HANDLERS:
        botocore_handlers.BUILTIN_HANDLERS.append(entry)


install()
