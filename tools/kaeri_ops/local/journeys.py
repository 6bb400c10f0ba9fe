"""Runs the executions started on the journey state machine (through moto's Step Functions API).

Handlers start journeys exactly as on AWS (`stepfunctions.start_execution`); moto records the
execution and this runner picks it up, interprets the deployed definition with kaeri_ops.local.asl,
and parks it on each future Wait until the stack's clock passes it. Finished executions are
reflected back into moto, so `describe_execution` shows SUCCEEDED/FAILED and the output.
"""

from __future__ import annotations

import heapq
import json
import logging
import threading
from datetime import datetime
from typing import Any

from kaeri import clock
from kaeri_ops.local.asl import Execution, Interpreter
from kaeri_ops.local.functions import FunctionRunner, function_for

log = logging.getLogger("kaeri_ops.local")


class JourneyRunner:
    def __init__(self, clients: Any, runner: FunctionRunner, state_machine_arn: str) -> None:
        self.clients = clients
        self.runner = runner
        self.state_machine_arn = state_machine_arn
        self.executions: dict[str, Execution] = {}
        self._interpreter: Interpreter | None = None
        self._definition_text: str | None = None
        self._lock = threading.RLock()
        # Parked executions by wake time: (wake_at, execution ARN). Entries go stale when an
        # execution moves on; they are dropped when they reach the top.
        self._waiting: list[tuple[datetime, str]] = []
        self._machine: Any = None  # moto's record of the state machine (None: not looked up yet)
        self._seen = 0  # how many of moto's executions of the machine have been looked at
        self._records: dict[str, Any] = {}  # execution ARN -> moto's record of it

    def _backend_machine(self) -> Any:
        """moto's StateMachine (moto runs in this process), or False when it cannot be reached."""
        if self._machine is None:
            try:
                from moto.stepfunctions.models import stepfunctions_backends

                parts = self.state_machine_arn.split(":")
                backend = stepfunctions_backends[parts[4]][parts[3]]
                self._machine = backend.describe_state_machine(self.state_machine_arn)
            except Exception:
                log.debug("moto's Step Functions backend is not reachable in-process", exc_info=True)
                self._machine = False
        return self._machine

    def _definition(self) -> str:
        machine = self._backend_machine()
        if machine:
            return machine.definition
        described = self.clients.stepfunctions.describe_state_machine(stateMachineArn=self.state_machine_arn)
        return described["definition"]

    def interpreter(self) -> Interpreter:
        definition = self._definition()
        if self._interpreter is None or definition != self._definition_text:
            self._definition_text = definition
            self._interpreter = Interpreter(
                definition, self._invoke, clock.now, state_machine_arn=self.state_machine_arn
            )
        return self._interpreter

    def _invoke(self, function: str, payload: Any) -> Any:
        return self.runner.invoke(function_for(function), payload)

    # Timer protocol

    def _valid(self, entry: tuple[datetime, str]) -> bool:
        execution = self.executions.get(entry[1])
        return execution is not None and execution.status == "WAITING" and execution.wake_at == entry[0]

    def next_due(self) -> datetime | None:
        with self._lock:
            while self._waiting and not self._valid(self._waiting[0]):
                heapq.heappop(self._waiting)
            return self._waiting[0][0] if self._waiting else None

    def run_due(self, now: datetime) -> int:
        """Start new executions and resume those whose wait is over; returns how many ran."""
        with self._lock:
            ran = self._start_new()
            due: list[Execution] = []
            while self._waiting and self._waiting[0][0] <= now:
                entry = heapq.heappop(self._waiting)
                if self._valid(entry):
                    due.append(self.executions[entry[1]])
            # (wake_at, ARN) order, as the heap gives it; an execution parked twice at once runs once.
            ran_now: set[str] = set()
            for execution in due:
                if execution.execution_id in ran_now:
                    continue
                ran_now.add(execution.execution_id)
                self._run(execution, lambda e: self.interpreter().resume(e))
            return ran + len(ran_now)

    # internals

    def _new_executions(self) -> list[tuple[str, str, str | None]]:
        """(ARN, name, input) of running executions not yet picked up, oldest first."""
        machine = self._backend_machine()
        if machine:
            stored = machine.executions
            fresh, self._seen = stored[self._seen :], len(stored)
            out = []
            for record in fresh:
                if record.status == "RUNNING" and record.execution_arn not in self.executions:
                    self._records[record.execution_arn] = record
                    out.append((record.execution_arn, record.name, record.execution_input))
            return out
        # Through the API: moto lists newest first; stop paging at the first execution already known.
        arns: list[str] = []
        paginator = self.clients.stepfunctions.get_paginator("list_executions")
        pages = paginator.paginate(stateMachineArn=self.state_machine_arn, statusFilter="RUNNING")
        for page in pages:
            known = False
            for item in page["executions"]:
                if item["executionArn"] in self.executions:
                    known = True
                    break
                arns.append(item["executionArn"])
            if known:
                break
        out = []
        for arn in reversed(arns):
            described = self.clients.stepfunctions.describe_execution(executionArn=arn)
            out.append((arn, described["name"], described.get("input")))
        return out

    def _start_new(self) -> int:
        started = 0
        for arn, name, raw_input in self._new_executions():
            payload = json.loads(raw_input or "{}")
            interpreter = self.interpreter()
            execution = Execution(
                execution_id=arn,
                name=name,
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
        if execution.status == "WAITING" and execution.wake_at:
            heapq.heappush(self._waiting, (execution.wake_at, execution.execution_id))
        if execution.done:
            if execution.status == "FAILED":
                log.warning("journey %s failed: %s %s", execution.name, execution.error, execution.cause)
            self._reflect(execution)

    def _reflect(self, execution: Execution) -> None:
        """Show the outcome through moto's API (moto runs in this process)."""
        try:
            record = self._records.pop(execution.execution_id, None)
            if record is None:
                from moto.stepfunctions.models import stepfunctions_backends

                account, region = execution.execution_id.split(":")[4], execution.execution_id.split(":")[3]
                record = stepfunctions_backends[account][region].describe_execution(execution.execution_id)
            record.status = execution.status
            record.stop_date = clock.now().replace(tzinfo=None)  # moto keeps naive UTC
            record.output = json.dumps(execution.output) if execution.status == "SUCCEEDED" else None
            record.error, record.cause = execution.error, execution.cause
        except Exception:  # only cosmetic: the runner's own record is authoritative
            log.debug("could not reflect execution %s into moto", execution.execution_id, exc_info=True)
