"""In-process calls to moto's server for clients in the stack's own process.

moto's ThreadedMotoServer answers on loopback for other processes (the CLI, an integrator's shop). The
handlers the stack runs in-process reach it through boto3 clients with that same endpoint URL; for
them the socket, werkzeug's HTTP parsing and urllib3 are pure overhead. This module registers a
botocore `before-send` hook (on every client botocore builds after import, the way moto's own
`mock_aws` hooks in) that hands such a request straight to the server's WSGI application, in the
calling thread. The application, its routing and the backends are the very ones the server uses
(which already serves many threads at once), so answers are the same; only the transport is skipped.

Requests for any other URL pass through untouched, and nothing is intercepted unless a stack has
registered its endpoint with `route()`.
"""

from __future__ import annotations

import io
import sys
import threading
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from botocore import handlers as botocore_handlers
from botocore.awsrequest import AWSResponse

_lock = threading.Lock()
_routes: dict[str, Any] = {}  # "http://127.0.0.1:PORT" -> WSGI application


class _RawBody(io.BytesIO):
    """What botocore reads a response body from (`stream()` for streaming outputs)."""

    def stream(self, **_: Any) -> Any:
        chunk = self.read(65536)
        while chunk:
            yield chunk
            chunk = self.read(65536)


def route(endpoint_url: str, app: Any) -> None:
    """Serve requests for `endpoint_url` from this process with the WSGI `app`."""
    with _lock:
        _routes[endpoint_url.rstrip("/")] = app


def unroute(endpoint_url: str) -> None:
    with _lock:
        app = _routes.pop(endpoint_url.rstrip("/"), None)
        for key in [k for k in _service_apps if k[0] == id(app)]:
            del _service_apps[key]


def _environ(method: str, url: str, headers: Any, body: bytes) -> dict[str, Any]:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        # As werkzeug's server does: the percent-decoded path, bytes carried as latin-1.
        "PATH_INFO": unquote_to_bytes(parts.path or "/").decode("latin-1"),
        "QUERY_STRING": parts.query,
        "SERVER_NAME": host,
        "SERVER_PORT": str(parts.port or 80),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "0",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": parts.scheme or "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": parts.netloc,
    }
    for name, value in headers.items():
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            environ[f"HTTP_{key}"] = value
    return environ


def _body(request: Any) -> bytes:
    body = request.body
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        if hasattr(body, "seek"):
            body.seek(0)  # botocore may rewind and resend on a retry
        return data.encode("utf-8") if isinstance(data, str) else data
    return b"".join(body)


def _app_for(url: str) -> Any:
    if not _routes:
        return None
    parts = urlsplit(url)
    return _routes.get(f"{parts.scheme}://{parts.netloc}")


_service_apps: dict[tuple[int, str, str, str, str], Any] = {}  # -> moto's Flask app for the service
# Services whose application moto's dispatcher picks from the signing scope, the X-Amz-Target prefix
# and at most the first path segment (DynamoDB vs DynamoDB Streams by target, SES vs SESv2 by /v2/).
_CACHEABLE = frozenset({"dynamodb", "sqs", "sns", "ses", "states", "scheduler", "secretsmanager", "events"})


def _service_app(dispatcher: Any, environ: dict[str, Any]) -> Any:
    """The service application moto's dispatcher would pick, remembered per kind of request.

    For the services in _CACHEABLE the dispatcher's choice depends only on the credential scope's
    region and service, the target header's prefix and the first path segment, so the answer is
    cached instead of being worked out (with URL pattern matching under a lock) on every request.
    """
    get_application = getattr(dispatcher, "get_application", None)
    if get_application is None:
        return dispatcher
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        _, _, region, service, _ = auth.split(",")[0].split()[1].split("/")
    except (IndexError, ValueError):
        return get_application(environ)
    path = environ["PATH_INFO"]
    if service not in _CACHEABLE or path.startswith(("/moto-api", "/latest/", "/favicon.ico")):
        return get_application(environ)
    target = environ.get("HTTP_X_AMZ_TARGET", "").partition(".")[0]
    key = (id(dispatcher), region, service, target, path.lstrip("/").partition("/")[0])
    app = _service_apps.get(key)
    if app is None:
        app = _service_apps[key] = get_application(environ)
    return app


def _before_send(request: Any, **_: Any) -> AWSResponse | None:
    app = _app_for(request.url)
    if app is None:
        return None
    environ = _environ(request.method, request.url, request.headers, _body(request))
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started["status"], started["headers"] = status, headers
        return lambda data: chunks.append(data)

    chunks: list[bytes] = []
    result = _service_app(app, environ)(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    status = int(started["status"].split(" ", 1)[0])
    headers: dict[str, str] = {}
    for name, value in started["headers"]:
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return AWSResponse(request.url, status, headers, _RawBody(b"".join(chunks)))


def install() -> None:
    """Hook every botocore session created from now on (idempotent)."""
    entry = ("before-send", _before_send)
    if entry not in botocore_handlers.BUILTIN_HANDLERS:
        botocore_handlers.BUILTIN_HANDLERS.append(entry)


install()
