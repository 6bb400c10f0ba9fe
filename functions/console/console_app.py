"""The marketer console (kaeri.console): server-rendered pages behind Cognito sign-in.

Thin: builds the app once per execution environment from the settings and clients (kaeri.wiring),
then resolves each request.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from kaeri.aws import AwsClients
from kaeri.console.app import Console, build_app
from kaeri.console.auth import ConsoleAuth
from kaeri.pii import MaskingFormatter
from kaeri.tracing import tracer
from kaeri.wiring import once

logger = Logger(logger_formatter=MaskingFormatter())


def _wire(clients: AwsClients) -> APIGatewayRestResolver:
    settings = clients.settings
    auth = ConsoleAuth.from_settings(settings, clients)
    return build_app(
        Console(clients, auth, secure_cookie=not settings.local, prefix=settings.console_path_prefix)
    )


wired = once(_wire)  # kaeri.wiring: built on the first invocation, reused while the environment is warm


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return wired().resolve(event, context)
