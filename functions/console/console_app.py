"""The marketer console (kaeri.console): server-rendered pages behind Cognito sign-in.

Thin: builds the app once per container from the settings and clients, then resolves each request.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from kaeri.aws import AwsClients
from kaeri.console.app import Console, build_app
from kaeri.console.auth import ConsoleAuth
from kaeri.pii import MaskingFormatter
from kaeri.settings import get_settings

logger = Logger(logger_formatter=MaskingFormatter())
settings = get_settings()
clients = AwsClients(settings)
auth = ConsoleAuth.from_settings(settings, clients)
app = build_app(Console(clients, auth, secure_cookie=not settings.local, prefix=settings.console_path_prefix))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
