"""EmbeddedStack: the whole deployed stack on loopback, for the CLI (`kaeri local`), the demo and the tests.

    with EmbeddedStack(clock="manual", start=datetime(2025, 1, 6, 9, tzinfo=UTC)) as stack:
        requests.post(f"{stack.api_url}/v1/track", auth=(stack.write_key, ""), json={...})
        stack.drain()                    # stream records, queue messages, due waits, schedules
        stack.advance(timedelta(hours=1))  # every wait and schedule due in that hour, in time order

moto's server holds the AWS resources (one per process: moto's state is global, so run one stack at a
time and do not mix it with `mock_aws` while it runs). The handlers named in kaeri_ops.definitions.topology run
in-process; this module plays the services that invoke them.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import tempfile
import threading
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from kaeri import aws
from kaeri import clock as kaeri_clock
from kaeri.aws import AwsClients
from kaeri.console.auth import default_jwks_url
from kaeri.delivery.channels import line_token_secret_name
from kaeri.scenarios.timing import parse_duration
from kaeri.settings import Settings, get_settings
from kaeri.tables import TABLES
from kaeri_ops.console_users import ConsoleUsers, create_pool
from kaeri_ops.definitions.topology import EVALUATE_FANOUT, EVALUATE_STREAM
from kaeri_ops.local import iam, inprocess, moto_speedups
from kaeri_ops.local.api import ApiServer
from kaeri_ops.local.archiver import LocalArchiver
from kaeri_ops.local.functions import FunctionRunner, function_arns
from kaeri_ops.local.line_server import LineServer
from kaeri_ops.local.parquet import ParquetArchive
from kaeri_ops.local.queues import QueuePoller
from kaeri_ops.local.streams import StreamPoller

log = logging.getLogger("kaeri_ops.local")

ACCOUNT_ID = "000000000000"
STATE_MACHINE_NAME = "journey"
SCHEDULE_GROUP = "kaeri"
MAX_DRAIN_ROUNDS = 100_000
# The local stack's link signing secret: fixed, so links in the outbox survive a restart of `kaeri local`.
LOCAL_LINK_SIGNING_SECRET = "kaeri-local-signing-secret"


class Timer(Protocol):
    """Work that falls due at clock times (journey waits, schedules)."""

    def next_due(self) -> datetime | None: ...

    def run_due(self, now: datetime) -> int: ...


class DrainError(RuntimeError):
    pass


@dataclass(frozen=True)
class Resources:
    state_machine_arn: str
    fanout_queue_url: str
    send_queue_url: str
    stream_failure_queue_url: str
    feedback_topic_arn: str
    line_token_secret_name: str
    link_secret_name: str
    console_user_pool_id: str
    console_client_id: str


class EmbeddedStack:
    """The embedded stack. All public attributes are valid after start()."""

    def __init__(
        self,
        port: int = 0,
        aws_port: int = 0,
        clock: str = "manual",
        start: datetime | None = None,
        write_key: str | None = None,
        shop_id: str = "demo-shop",
        *,
        region: str = "ap-northeast-1",
        table_prefix: str = "kaeri",
        shop_name: str = "Demo Shop",
        from_email: str = "shop@demo-shop.example",
        sender_name: str = "Demo Shop",
        postal_address: str = "1-1 Marunouchi, Chiyoda-ku, Tokyo 100-0005",
        webhook_secret: str | None = None,
        server_key: str | None = None,
        poll_interval: float | None = None,
        inprocess_aws: bool = True,
        enforce_access: bool = True,
        archive_dir: str | None = None,
        console_password: str | None = None,
    ) -> None:
        if clock not in ("manual", "system"):
            raise ValueError(f"clock must be 'manual' or 'system', not {clock!r}")
        self.port = port
        self.aws_port = aws_port
        self.clock_mode = clock
        self.start_time = start
        self.write_key = write_key or f"wk_{secrets.token_urlsafe(18)}"
        self.shop_id = shop_id
        self.region = region
        self.table_prefix = table_prefix
        self.shop_name = shop_name
        self.from_email = from_email
        self.sender_name = sender_name
        self.postal_address = postal_address
        self.webhook_secret = webhook_secret or f"whsec_{secrets.token_urlsafe(24)}"
        self.server_key = server_key or f"sk_{secrets.token_urlsafe(24)}"
        # The console's demo marketer (a user of the local Cognito pool, member of the shop).
        self.console_username = "demo-marketer"
        self.console_password = console_password
        # Background polling: on by default with the system clock. With the manual clock time only
        # moves when told, but polling still processes what is due now (the CLI turns it on).
        self.poll_interval = (
            poll_interval if poll_interval is not None else (0.5 if clock == "system" else None)
        )
        # In-process clients reach moto's application directly (kaeri_ops.local.inprocess); other
        # processes keep using the server on loopback.
        self.inprocess_aws = inprocess_aws
        # Each function's AWS calls are held to its grants in kaeri_ops.definitions.access (kaeri_ops.local.iam).
        self.enforce_access = enforce_access
        self.access: iam.LocalResources | None = None
        # The event archive (Parquet, what Firehose writes to S3 on AWS); a fresh folder per stack.
        self.archive_dir = archive_dir
        self.archive: Any = None
        self.clock: kaeri_clock.Clock = kaeri_clock.SystemClock()
        self.runner = FunctionRunner(region)
        self.timers: list[Timer] = []
        self.streams: StreamPoller | None = None
        self.queue: QueuePoller | None = None
        self.resources: Resources | None = None
        self._moto: Any = None
        self._api: ApiServer | None = None
        self.line: LineServer | None = None
        self._previous_clock: kaeri_clock.Clock | None = None
        self._saved_env: dict[str, str | None] = {}
        self._work_lock = threading.RLock()
        self._stop_polling = threading.Event()
        self._poller: threading.Thread | None = None
        self._started = False
        self.clients: AwsClients = AwsClients(Settings(local=True))

    # lifecycle ---------------------------------------------------------------------------------

    def __enter__(self) -> EmbeddedStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> EmbeddedStack:
        if self._started:
            return self
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self._started = True
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request
        moto_speedups.install()  # same answers, without moto's whole-table work on every request
        self._moto = _start_moto(self.aws_port)
        host, port = self._moto.get_host_and_port()
        self.aws_endpoint_url = f"http://{host}:{port}"
        # moto's state is per process; start from nothing even if an earlier stack ran here.
        urllib.request.urlopen(
            urllib.request.Request(f"{self.aws_endpoint_url}/moto-api/reset", method="POST")
        )
        if self.inprocess_aws:
            inprocess.route(self.aws_endpoint_url, self._moto._server.app)
            # Clients cached before the hook was installed would still take the socket.
            aws.reset_cache()

        self._api = ApiServer(self.runner, self._control, port=self.port)
        self.api_url = self._api.url
        # LINE pushes go to a loopback endpoint that speaks the Messaging API.
        self.line = LineServer().start()

        if self.clock_mode == "manual":
            self.clock = kaeri_clock.ManualClock(self.start_time)
        self._previous_clock = kaeri_clock.use(self.clock)

        bootstrap = Settings(
            aws_endpoint_url=self.aws_endpoint_url,
            region=self.region,
            table_prefix=self.table_prefix,
            api_url=self.api_url,
            line_api_endpoint=self.line.url,
            archive_path=self.archive_dir or tempfile.mkdtemp(prefix="kaeri-archive-"),
            local=True,
        )
        self._set_env(bootstrap, None)
        self.resources = self._create_resources(AwsClients(bootstrap))
        settings = bootstrap.model_copy(
            update={
                "journey_state_machine_arn": self.resources.state_machine_arn,
                "fanout_queue_url": self.resources.fanout_queue_url,
                "send_queue_url": self.resources.send_queue_url,
                "link_signing_secret_name": self.resources.link_secret_name,
                "console_user_pool_id": self.resources.console_user_pool_id,
                "console_client_id": self.resources.console_client_id,
                "console_jwks_url": self._console_jwks_url(self.resources),
            }
        )
        self._set_env(settings, self.resources)
        self.settings = settings
        self.clients = AwsClients(settings)
        self._create_shop()
        self._create_console_marketer()
        if self.enforce_access:
            self.access = self._local_resources(settings, self.resources)
            iam.enforce(self.access)

        self.streams = StreamPoller(self.clients, self.runner, EVALUATE_STREAM, settings.table("events"))
        self.archive = LocalArchiver(self.clients, ParquetArchive(str(settings.archive_path)))
        self.queue = QueuePoller(self.clients, self.runner, EVALUATE_FANOUT, self.resources.fanout_queue_url)
        self._add_timers()
        self._api.start()
        if self.poll_interval:
            self._poller = threading.Thread(target=self._poll_loop, name="kaeri-local-poller", daemon=True)
            self._poller.start()
        log.info(
            "local stack ready: api %s, aws %s, shop %s", self.api_url, self.aws_endpoint_url, self.shop_id
        )

    def stop(self) -> None:
        self._stop_polling.set()
        if self.access is not None:
            iam.relax()
        if self._poller:
            self._poller.join(timeout=10)
            self._poller = None
        if self._api:
            self._api.stop()
            self._api = None
        if self.line:
            self.line.stop()
            self.line = None
        if self._moto:
            inprocess.unroute(getattr(self, "aws_endpoint_url", ""))
            try:
                self._moto.stop()
            except Exception:  # a half-started server has nothing to stop
                log.debug("moto server stop failed", exc_info=True)
            self._moto = None
            moto_speedups.uninstall()  # moto as released again for whatever runs next in this process
        if self._previous_clock is not None:
            kaeri_clock.use(self._previous_clock)
            self._previous_clock = None
        self._restore_env()
        self._started = False

    # environment the in-process handlers read through kaeri.settings ---------------------------

    def _set_env(self, settings: Settings, resources: Resources | None) -> None:
        env = {
            "AWS_ACCESS_KEY_ID": "kaeri-local",
            "AWS_SECRET_ACCESS_KEY": "kaeri-local",
            "AWS_SESSION_TOKEN": None,
            "AWS_PROFILE": None,
            "AWS_REGION": settings.region,
            "AWS_DEFAULT_REGION": settings.region,
            "AWS_ENDPOINT_URL": settings.aws_endpoint_url,
            "KAERI_AWS_ENDPOINT_URL": settings.aws_endpoint_url,
            "KAERI_REGION": settings.region,
            "KAERI_TABLE_PREFIX": settings.table_prefix,
            "KAERI_API_URL": settings.api_url,
            "KAERI_LINE_API_ENDPOINT": settings.line_api_endpoint,
            "KAERI_ARCHIVE_PATH": settings.archive_path,
            "KAERI_LOCAL_MODE": "1",
            "POWERTOOLS_SERVICE_NAME": os.environ.get("POWERTOOLS_SERVICE_NAME", "kaeri"),
            "POWERTOOLS_METRICS_NAMESPACE": os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Kaeri"),
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        if resources:
            env |= {
                "KAERI_JOURNEY_STATE_MACHINE_ARN": resources.state_machine_arn,
                "KAERI_FANOUT_QUEUE_URL": resources.fanout_queue_url,
                "KAERI_SEND_QUEUE_URL": resources.send_queue_url,
                "KAERI_LINK_SIGNING_SECRET_NAME": resources.link_secret_name,
                "KAERI_CONSOLE_USER_POOL_ID": resources.console_user_pool_id,
                "KAERI_CONSOLE_CLIENT_ID": resources.console_client_id,
                "KAERI_CONSOLE_JWKS_URL": self._console_jwks_url(resources),
                # Scenario schedules (the CLI and the console sync them with kaeri.journeys.schedule).
                "KAERI_SCHEDULE_GROUP": SCHEDULE_GROUP,
                "KAERI_SCHEDULE_TARGET_ARN": self._schedule_target_arn(),
                "KAERI_SCHEDULE_ROLE_ARN": self._scheduler_role_arn(),
            }
        for name, value in env.items():
            if name not in self._saved_env:
                self._saved_env[name] = os.environ.get(name)
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._clear_caches()

    def _restore_env(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        self._clear_caches()

    @staticmethod
    def _clear_caches() -> None:
        get_settings.cache_clear()
        try:
            from kaeri import shops

            shops.clear_cache()
        except ImportError:
            pass

    # resources the deployed stack has -----------------------------------------------------------

    def _create_resources(self, clients: AwsClients) -> Resources:
        for table in TABLES:
            clients.dynamodb.create_table(**table.create_table_kwargs(self.table_prefix))
            if table.ttl_attribute:
                clients.dynamodb.update_time_to_live(
                    TableName=table.physical_name(self.table_prefix),
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
                )
        prefix = self.table_prefix
        sqs = clients.sqs
        failures = sqs.create_queue(QueueName=f"{prefix}-stream-failures")["QueueUrl"]
        fanout_dlq = sqs.create_queue(QueueName=f"{prefix}-fanout-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=fanout_dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        fanout = sqs.create_queue(
            QueueName=f"{prefix}-fanout",
            Attributes={
                "VisibilityTimeout": "120",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
            },
        )["QueueUrl"]
        send = sqs.create_queue(QueueName=f"{prefix}-send", Attributes={"VisibilityTimeout": "120"})[
            "QueueUrl"
        ]

        topic = clients.sns.create_topic(Name=f"{prefix}-ses-feedback")["TopicArn"]
        self._setup_ses(topic)

        # The shop's LINE channel token, as `kaeri shops` stores it on AWS; the loopback LINE API accepts it.
        assert self.line is not None
        line_secret = line_token_secret_name(prefix, self.shop_id)
        link_secret = f"{prefix}/link-signing-secret"
        clients.secretsmanager.create_secret(Name=line_secret, SecretString=self.line.token)
        clients.secretsmanager.create_secret(Name=link_secret, SecretString=LOCAL_LINK_SIGNING_SECRET)

        state_machine = clients.stepfunctions.create_state_machine(
            name=f"{prefix}-{STATE_MACHINE_NAME}",
            definition=json.dumps(journey_definition(self.region)),
            roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{prefix}-journey",
            type="STANDARD",
        )["stateMachineArn"]
        clients.scheduler.create_schedule_group(Name=SCHEDULE_GROUP)
        console = create_pool(clients.client("cognito-idp"), f"{prefix}-console")
        return Resources(
            state_machine_arn=state_machine,
            fanout_queue_url=fanout,
            send_queue_url=send,
            stream_failure_queue_url=failures,
            feedback_topic_arn=topic,
            line_token_secret_name=line_secret,
            link_secret_name=link_secret,
            console_user_pool_id=console.user_pool_id,
            console_client_id=console.client_id,
        )

    def _local_resources(self, settings: Settings, resources: Resources) -> iam.LocalResources:
        """The local names of what kaeri_ops.definitions.access grants on."""
        prefix = self.table_prefix
        return iam.LocalResources(
            tables={settings.table(t.logical): t.logical for t in TABLES},
            queues={
                resources.fanout_queue_url: "fanout",
                resources.send_queue_url: "send",
                resources.stream_failure_queue_url: "stream-failures",
            },
            state_machines={
                resources.state_machine_arn: "journeys",
                # executions of the machine: arn:aws:states:REGION:ACCOUNT:execution:NAME:...
                resources.state_machine_arn.replace(":stateMachine:", ":execution:") + ":": "journeys",
            },
            secrets={resources.link_secret_name: "link-signing"},
            line_token_prefix=f"{prefix}/",
            buckets={f"{prefix}-reports": "reports"},
            schedule_groups={SCHEDULE_GROUP: "scenarios"},
            roles={self._scheduler_role_arn(): "scenario-scheduler"},
        )

    def _scheduler_role_arn(self) -> str:
        """The role scenario schedules name (Scheduler assumes it on AWS; the local scheduler needs none)."""
        return f"arn:aws:iam::{ACCOUNT_ID}:role/{self.table_prefix}-scenario-scheduler"

    def _schedule_target_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.table_prefix}-evaluate-schedule"

    def _setup_ses(self, topic_arn: str) -> None:
        ses = self.clients_for_setup().client("ses")
        ses.verify_email_identity(EmailAddress=self.from_email)
        ses.verify_domain_identity(Domain=self.from_email.partition("@")[2])
        sesv2 = self.clients_for_setup().sesv2
        sesv2.create_configuration_set(ConfigurationSetName="kaeri")
        try:
            sesv2.create_configuration_set_event_destination(
                ConfigurationSetName="kaeri",
                EventDestinationName="feedback",
                EventDestination={
                    "Enabled": True,
                    "MatchingEventTypes": [
                        "SEND",
                        "DELIVERY",
                        "BOUNCE",
                        "COMPLAINT",
                        "OPEN",
                        "CLICK",
                        "REJECT",
                    ],
                    "SnsDestination": {"TopicArn": topic_arn},
                },
            )
        except Exception:  # moto may not model event destinations; feedback is simulated by delivery
            log.debug("SES event destination not supported by moto", exc_info=True)

    def clients_for_setup(self) -> AwsClients:
        return AwsClients(Settings(aws_endpoint_url=self.aws_endpoint_url, region=self.region, local=True))

    def _create_shop(self) -> None:
        from kaeri.shops import create_shop, update_shop

        create_shop(
            self.clients,
            self.shop_id,
            name=self.shop_name,
            write_key=self.write_key,
            server_key=self.server_key,
            webhook_secret=self.webhook_secret,
            from_email=self.from_email,
            sender_name=self.sender_name,
            postal_address=self.postal_address,
        )
        # Seed recipients for the console's test sends (`kaeri shops seeds` changes them).
        domain = self.from_email.partition("@")[2] or "demo-shop.example"
        update_shop(self.clients, self.shop_id, seed_recipients={"email": [f"seed@{domain}"]})

    def _console_jwks_url(self, resources: Resources) -> str:
        """moto serves the pool's JWKS on its own endpoint, at Cognito's path."""
        return default_jwks_url(resources.console_user_pool_id, self.aws_endpoint_url)

    def _create_console_marketer(self) -> None:
        assert self.resources is not None
        users = ConsoleUsers(self.clients.client("cognito-idp"), self.resources.console_user_pool_id)
        _, self.console_password = users.add(
            self.console_username, [self.shop_id], language="ja", password=self.console_password
        )

    def _add_timers(self) -> None:
        """The journey runner (Step Functions waits) and the scheduler (EventBridge Scheduler)."""
        from kaeri_ops.local.journeys import JourneyRunner
        from kaeri_ops.local.scheduler import Scheduler

        assert self.resources is not None
        self.journeys = JourneyRunner(self.clients, self.runner, self.resources.state_machine_arn)
        self.scheduler = Scheduler(self.clients, self.runner, SCHEDULE_GROUP)
        self.timers.extend([self.journeys, self.scheduler])

    # running work -------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def _round(self) -> int:
        done = 0
        if self.streams:
            done += self.streams.poll_once()
        if self.queue:
            done += self.queue.poll_once()
        now = self.clock.now()
        if self.archive and (due := self.next_due()) is not None and due <= now:
            self.archive.poll_once()  # scheduled jobs (nightly, report) read the archive: bring it up to date
            self.archive.flush()
        for timer in self.timers:
            done += timer.run_due(now)
        return done

    def drain(self, max_rounds: int = MAX_DRAIN_ROUNDS) -> int:
        """Process pending stream records, queue messages, and waits and schedules due now, until quiet.

        Returns the number of work items handled. Time does not move.
        """
        total = 0
        with self._work_lock:
            for _ in range(max_rounds):
                done = self._round()
                if not done:
                    if self.archive:  # quiet: deliver what was stored to the archive (Firehose's flush)
                        self.archive.poll_once()
                        self.archive.flush()
                    return total
                total += done
        raise DrainError(f"still busy after {max_rounds} rounds: a handler may be re-triggering itself")

    def next_due(self) -> datetime | None:
        dues = [d for d in (t.next_due() for t in self.timers) if d is not None]
        return min(dues) if dues else None

    def advance_to(self, when: datetime) -> datetime:
        """Move the manual clock to `when`, stopping at every due wait and schedule on the way.

        At each due time the clock is set there, the due work runs and everything it causes is
        drained before moving on, so work happens in time order.
        """
        if not isinstance(self.clock, kaeri_clock.ManualClock):
            raise RuntimeError(
                "the clock can only be moved with --clock manual (this stack uses the system clock)"
            )
        target = when.astimezone(kaeri_clock.now().tzinfo) if when.tzinfo else None
        if target is None:
            raise ValueError("advance_to needs a timezone-aware datetime")
        with self._work_lock:
            self.drain()
            while True:
                due = self.next_due()
                if due is None or due > target:
                    break
                if due > self.clock.now():
                    self.clock.set(due)
                self.drain()
            if target > self.clock.now():
                self.clock.set(target)
            self.drain()
            return self.clock.now()

    def advance(self, delta: timedelta | str) -> datetime:
        if isinstance(delta, str):
            delta = parse_duration(delta)
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        return self.advance_to(self.clock.now() + delta)

    def _poll_loop(self) -> None:
        assert self.poll_interval
        while not self._stop_polling.wait(self.poll_interval):
            try:
                self.drain()
            except Exception:
                log.exception("background drain failed")

    # control endpoints (/_local/...) ------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """What `kaeri local` prints after READY and writes to .kaeri/local.json."""
        return {
            "api_url": self.api_url,
            "aws_endpoint_url": self.aws_endpoint_url,
            "region": self.region,
            "shop_id": self.shop_id,
            "write_key": self.write_key,
            # Local only: a deployed stack stores digests and shows keys once (`kaeri shops create`).
            "server_key": self.server_key,
            "webhook_secret": self.webhook_secret,
            "table_prefix": self.table_prefix,
            "clock": self.clock_mode,
            # The console and its demo marketer (local only: on AWS `kaeri console users add`).
            "console_url": f"{self.api_url}/console",
            "console_user_pool_id": self.resources.console_user_pool_id if self.resources else None,
            "console_client_id": self.resources.console_client_id if self.resources else None,
            "console_username": self.console_username,
            "console_password": self.console_password,
        }

    def _clock_state(self) -> dict[str, Any]:
        due = self.next_due()
        return {
            "now": kaeri_clock.iso(self.clock.now()),
            "clock": self.clock_mode,
            "next_due": kaeri_clock.iso(due) if due else None,
        }

    def _control(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        if path == "/_local/clock" and method == "GET":
            return 200, self._clock_state()
        if path == "/_local/clock" and method == "POST":
            try:
                request = json.loads(body or b"{}")
                if not isinstance(request, dict):
                    raise ValueError("body must be a JSON object")
                if "advance" in request:
                    self.advance(str(request["advance"]))
                elif "to" in request:
                    self.advance_to(kaeri_clock.parse_iso(str(request["to"])))
                else:
                    raise ValueError('give {"advance": "2h"} or {"to": "2025-01-06T09:00:00Z"}')
            except (ValueError, RuntimeError) as exc:
                return 400, {"message": str(exc)}
            return 200, self._clock_state()
        if path == "/_local/drain" and method == "POST":
            handled = self.drain()
            return 200, {"handled": handled, **self._clock_state()}
        if path == "/_local/info" and method == "GET":
            return 200, self.info()
        return 404, {"message": f"no local control {method} {path}"}


_last_aws_port: int | None = None


def _start_moto(port: int) -> Any:
    """moto's server on loopback. With port 0, reuse the port of the previous stack in this process when
    free, so clients cached by code outside the stack (module-level, warm) still reach the emulation."""
    from moto.server import ThreadedMotoServer

    global _last_aws_port
    candidates = [port] if port else ([_last_aws_port, 0] if _last_aws_port else [0])
    for index, candidate in enumerate(candidates):
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=candidate, verbose=False)
        try:
            _bind_check(candidate)
            server.start()
        except OSError:
            if index == len(candidates) - 1:
                raise
            continue
        _last_aws_port = server.get_host_and_port()[1]
        return server
    raise RuntimeError("unreachable")


def _bind_check(port: int) -> None:
    """Fail fast (OSError) when a fixed port is taken; ThreadedMotoServer would hang in its thread."""
    if not port:
        return
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


def journey_definition(region: str) -> dict[str, Any]:
    """The journey state machine's ASL, built by the same function CDK uses, with local Lambda ARNs."""
    from kaeri_ops.definitions.state_machine import build_definition

    return build_definition(function_arns(region))
