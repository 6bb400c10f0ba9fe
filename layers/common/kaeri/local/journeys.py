"""Runs the executions started on the journey state machine (through moto's Step Functions API).

Handlers start journeys exactly as on AWS (`stepfunctions.start_execution`); moto records the
execution and this runner picks it up, interprets the deployed definition with kaeri.local.asl,
and parks it on each future Wait until the stack's clock passes it. Finished executions are
reflected back into moto, so `describe_execution` shows SUCCEEDED/FAILED and the output.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from typing import Any

from kaeri import clock
from kaeri.local.asl import Execution, Interpreter
from kaeri.local.functions import FunctionRunner, function_for

log = logging.getLogger("kaeri.local")


class JourneyRunner:
    def __init__(self, clients: Any, runner: FunctionRunner, state_machine_arn: str) -> None:
        self.clients = clients
        self.runner = runner
        self.state_machine_arn = state_machine_arn
        self.executions: dict[str, Execution] = {}
        self._interpreter: Interpreter | None = None
        self._definition_text: str | None = None
        self._lock = threading.RLock()

    def interpreter(self) -> Interpreter:
        described = self.clients.stepfunctions.describe_state_machine(stateMachineArn=self.state_machine_arn)
        if self._interpreter is None or described["definition"] != self._definition_text:
            self._definition_text = described["definition"]
            self._interpreter = Interpreter(
                described["definition"], self._invoke, clock.now, state_machine_arn=self.state_machine_arn
            )
        return self._interpreter

    def _invoke(self, function: str, payload: Any) -> Any:
        return self.runner.invoke(function_for(function), payload)

    # Timer protocol

    def next_due(self) -> datetime | None:
        with self._lock:
            waits = [e.wake_at for e in self.executions.values() if e.status == "WAITING" and e.wake_at]
            return min(waits) if waits else None

    def run_due(self, now: datetime) -> int:
        """Start new executions and resume those whose wait is over; returns how many ran."""
        with self._lock:
            ran = self._start_new()
            due = sorted(
                (
                    e
                    for e in self.executions.values()
                    if e.status == "WAITING" and e.wake_at and e.wake_at <= now
                ),
                key=lambda e: (e.wake_at, e.execution_id),
            )
            for execution in due:
                self._run(execution, lambda e: self.interpreter().resume(e))
            return ran + len(due)

    # internals

    def _start_new(self) -> int:
        started = 0
        paginator = self.clients.stepfunctions.get_paginator("list_executions")
        arns = [
            item["executionArn"]
            for page in paginator.paginate(stateMachineArn=self.state_machine_arn, statusFilter="RUNNING")
            for item in page["executions"]
        ]
        for arn in reversed(arns):  # moto lists newest first; start in the order they were made
            if arn in self.executions:
                continue
            described = self.clients.stepfunctions.describe_execution(executionArn=arn)
            payload = json.loads(described.get("input") or "{}")
            interpreter = self.interpreter()
            execution = Execution(
                execution_id=arn,
                name=described["name"],
                input=payload,
                start_time=clock.now(),
                state=interpreter.definition["StartAt"],
                data=payload,
            )
            self.executions[arn] = execution
            self._run(execution, interpreter.resume)
            started += 1
        return started

    def _run(self, execution: Execution, step: Any) -> None:
        try:
            step(execution)
        except Exception as exc:  # a definition problem: fail this execution, keep the stack running
            log.exception("journey execution %s could not run", execution.name)
            execution.status, execution.error, execution.cause = "FAILED", "States.Runtime", str(exc)
        if execution.done:
            if execution.status == "FAILED":
                log.warning("journey %s failed: %s %s", execution.name, execution.error, execution.cause)
            self._reflect(execution)

    def _reflect(self, execution: Execution) -> None:
        """Show the outcome through moto's API (moto runs in this process)."""
        try:
            from moto.stepfunctions.models import stepfunctions_backends

            account, region = execution.execution_id.split(":")[4], execution.execution_id.split(":")[3]
            backend = stepfunctions_backends[account][region]
            record = backend.describe_execution(execution.execution_id)
            record.status = execution.status
            record.stop_date = clock.now().replace(tzinfo=None)  # moto keeps naive UTC
            record.output = json.dumps(execution.output) if execution.status == "SUCCEEDED" else None
            record.error, record.cause = execution.error, execution.cause
        except Exception:  # only cosmetic: the runner's own record is authoritative
            log.debug("could not reflect execution %s into moto", execution.execution_id, exc_info=True)
