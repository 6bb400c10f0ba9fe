"""An in-process journey driver on moto: the real step check and ASL, a manual clock, a fake send.

Events go through `on_event` exactly as the stream consumer calls it; executions started on moto's
Step Functions API are run by the local ASL interpreter; the send function is replaced by one that
logs a "sent" message (so frequency caps count it) and remembers what went out.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from kaeri import clock
from kaeri.aws import AwsClients
from kaeri.delivery.request import SendRequest, SendResult
from kaeri.events import StoredEvent
from kaeri.journeys.schedule import run_schedule
from kaeri.journeys.step import StepChecker
from kaeri.journeys.triggers import on_event
from kaeri.profiles.model import CartLine, Consent, Profile
from kaeri.profiles.repository import ProfileRepository
from kaeri.scenarios.model import Scenario, ShopRules
from kaeri.scenarios.store import ScenarioStore, clear_cache
from kaeri.tables import TABLES
from kaeri_ops.definitions.state_machine import build_definition
from kaeri_ops.local import iam
from kaeri_ops.local.asl import Execution, Interpreter
from kaeri_ops.scenarios.presets import preset

SHOP = "shop1"


@dataclass
class Sent:
    at: datetime
    request: SendRequest


class Harness:
    def __init__(self, aws: AwsClients, start: datetime) -> None:
        self.clock = clock.ManualClock(start)
        self._previous = clock.use(self.clock)
        definition = build_definition({"evaluate-step": "evaluate-step", "send-message": "send-message"})
        arn = aws.stepfunctions.create_state_machine(
            name="kaeri-journey",
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/kaeri-journey",
        )["stateMachineArn"]
        self.clients = AwsClients(aws.settings.model_copy(update={"journey_state_machine_arn": arn}))
        self.arn = arn
        self.interpreter = Interpreter(definition, self._invoke, self.clock.now)
        self.executions: dict[str, Execution] = {}
        self.sent: list[Sent] = []
        self.store = ScenarioStore(self.clients)
        self.profiles = ProfileRepository(self.clients)
        clear_cache()
        # Each step acts as the function that runs it on AWS, held to its grants in kaeri_ops.definitions.access.
        self.access = iam.LocalResources(
            tables={aws.settings.table(t.logical): t.logical for t in TABLES},
            state_machines={arn: "journeys"},
        )
        iam.enforce(self.access)

    def close(self) -> None:
        iam.relax()
        clock.use(self._previous)
        clear_cache()

    # ------------------------------------------------------------ setup

    def install(self, scenario: Scenario | str, enabled: bool = True) -> Scenario:
        scenario = preset(scenario) if isinstance(scenario, str) else scenario
        self.store.push(SHOP, scenario)
        if enabled:
            self.store.set_enabled(SHOP, scenario.id, True)
        return scenario

    def rules(self, rules: ShopRules) -> None:
        self.store.put_rules(SHOP, rules)

    def customer(self, customer_id: str, **fields: Any) -> Profile:
        consent = {"email": Consent(status="granted", at=self.now - timedelta(days=400))}
        data: dict[str, Any] = {
            "shop_id": SHOP,
            "customer_id": customer_id,
            "email": f"{customer_id}@example.com",
            "consent": consent,
            "timezone": "Asia/Tokyo",
            "signed_up_at": self.now - timedelta(days=400),
        }
        data.update(fields)
        profile = Profile.model_validate(data)
        self.profiles.put(profile)
        return profile

    def profile(self, customer_id: str) -> Profile:
        found = self.profiles.get(SHOP, customer_id)
        assert found is not None
        return found

    # ------------------------------------------------------------ behaviour

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def track(
        self, customer_id: str, name: str, properties: dict[str, Any] | None = None, **changes: Any
    ) -> None:
        """Apply the profile change the event implies, store the event, call on_event, run journeys."""
        profile = self.profile(customer_id) if customer_id else None
        if profile is not None and changes:
            profile = profile.model_copy(update=changes)
            self.profiles.put(profile)
        event = StoredEvent(
            shop_id=SHOP,
            message_id=str(uuid.uuid4()),
            type="track",
            event=name,
            user_id=customer_id or None,
            anonymous_id=None if customer_id else "catalog",  # Kaeri's own catalog events have no customer
            properties=properties or {},
            timestamp=self.now,
            received_at=self.now,
        )
        self.clients.table("events").put_item(Item=event.to_item())
        with iam.acting_as("evaluate-stream"):
            on_event(event, profile, self.clients)
        self.pump()

    def add_to_cart(self, customer_id: str, product_id: str = "p1") -> None:
        cart = dict(self.profile(customer_id).cart)
        cart[product_id] = CartLine(product_id=product_id, price=Decimal("3000"), added_at=self.now)
        self.track(
            customer_id, "Product Added", {"product_id": product_id}, cart=cart, cart_updated_at=self.now
        )

    def remove_from_cart(self, customer_id: str, product_id: str = "p1") -> None:
        cart = {k: v for k, v in self.profile(customer_id).cart.items() if k != product_id}
        self.track(
            customer_id, "Product Removed", {"product_id": product_id}, cart=cart, cart_updated_at=self.now
        )

    def order(self, customer_id: str, total: int = 3000) -> None:
        p = self.profile(customer_id)
        self.track(
            customer_id,
            "Order Completed",
            {"order_id": str(uuid.uuid4()), "total": total},
            cart={},
            order_count=p.order_count + 1,
            total_spent=p.total_spent + total,
            first_order_at=p.first_order_at or self.now,
            last_order_at=self.now,
        )

    def run_schedule(self, scenario_id: str):
        with iam.acting_as("evaluate-schedule"):
            result = run_schedule(self.clients, SHOP, scenario_id, self.now)
        self.pump()
        return result

    # ------------------------------------------------------------ the machine

    def _invoke(self, function: str, payload: Any) -> Any:
        if function == "evaluate-step":
            with iam.acting_as("evaluate-step"):
                return StepChecker(self.clients).check(payload, self.now)
        if function == "send-message":
            return self._send(SendRequest.model_validate(payload))
        raise AssertionError(function)

    def _send(self, request: SendRequest) -> dict[str, Any]:
        self.sent.append(Sent(self.now, request))
        item = {
            "pk": f"{request.shop_id}#{request.message_id}",
            "shop_id": request.shop_id,
            "message_id": request.message_id,
            "customer_id": request.customer_id,
            "customer_key": f"{request.shop_id}#{request.customer_id}",
            "created_at": clock.iso(self.now),
            "status": "sent",
            "channel": request.channels[0],
            "purpose": request.purpose,
            "scenario_id": request.scenario_id,
            "step_id": request.step_id,
        }
        self.clients.table("messages").put_item(Item=item)
        return SendResult(
            message_id=request.message_id, status="sent", channel=request.channels[0]
        ).model_dump(mode="json")

    def pump(self) -> None:
        """Start executions moto has recorded, and resume those whose wait is over."""
        resp = self.clients.stepfunctions.list_executions(stateMachineArn=self.arn)
        for summary in resp["executions"]:
            if summary["name"] in self.executions:
                continue
            described = self.clients.stepfunctions.describe_execution(executionArn=summary["executionArn"])
            self.executions[summary["name"]] = self.interpreter.start(
                json.loads(described["input"]), summary["name"]
            )
        for execution in self.executions.values():
            if execution.status == "WAITING" and execution.wake_at and execution.wake_at <= self.now:
                self.interpreter.resume(execution)

    def advance(self, delta: timedelta) -> None:
        """Move the clock, stopping at every wait that falls due on the way."""
        target = self.now + delta
        while True:
            self.pump()
            waits = [e.wake_at for e in self.executions.values() if e.status == "WAITING" and e.wake_at]
            due = min(waits) if waits else None
            if due is None or due > target:
                break
            self.clock.set(max(due, self.now))
        self.clock.set(target)
        self.pump()

    # ------------------------------------------------------------ what happened

    def sent_to(self, customer_id: str, scenario_id: str | None = None) -> list[Sent]:
        return [
            s
            for s in self.sent
            if s.request.customer_id == customer_id
            and (scenario_id is None or s.request.scenario_id == scenario_id)
        ]

    def messages(self, customer_id: str) -> list[dict[str, Any]]:
        resp = self.clients.table("messages").query(
            IndexName="by_customer",
            KeyConditionExpression="customer_key = :k",
            ExpressionAttributeValues={":k": f"{SHOP}#{customer_id}"},
        )
        return resp["Items"]

    def skips(self, customer_id: str) -> list[dict[str, Any]]:
        return [m for m in self.messages(customer_id) if m.get("status") == "skipped"]

    def failed(self) -> list[Execution]:
        return [e for e in self.executions.values() if e.status == "FAILED"]
