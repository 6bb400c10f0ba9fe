"""API Gateway (REST, proxy integration) in front of the handlers, on 127.0.0.1.

Each HTTP request becomes the v1 proxy event API Gateway would send; the route's handler runs
in-process and its proxy response is written back. `/_local/...` paths are the stack's own controls.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from kaeri.tracking.wire import CORS_HEADERS
from kaeri_ops.definitions.topology import ROUTES, Function, Route
from kaeri_ops.local.functions import FunctionRunner

log = logging.getLogger("kaeri_ops.local")

STAGE = "local"
TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded", "application/xml", "+json")

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


def read_chunked(stream: Any, limit: int) -> bytes:
    """A Transfer-Encoding: chunked body (RFC 9112 section 7.1); trailers are read and dropped."""
    chunks: list[bytes] = []
    total = 0
    while True:
        line = stream.readline(1024)
        if not line.endswith(b"\n"):
            raise ValueError("malformed chunk size line")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ValueError("malformed chunk size") from None
        if size == 0:
            while stream.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailer fields
            return b"".join(chunks)
        total += size
        if total > limit:
            raise ValueError(f"larger than {limit} bytes")
        chunk = stream.read(size)
        if len(chunk) != size:
            raise ValueError("truncated chunk")
        chunks.append(chunk)
        stream.readline(16)  # the CRLF after each chunk


# (method, path, query, body) -> (status, body); the stack handles /_local/* itself.
ControlHandler = Callable[[str, str, dict[str, str], bytes], tuple[int, Any]]


@dataclass(frozen=True)
class CompiledRoute:
    route: Route
    pattern: re.Pattern[str]
    params: tuple[str, ...]

    @classmethod
    def compile(cls, route: Route) -> CompiledRoute:
        params: list[str] = []
        regex = ""
        for part in re.split(r"(\{[^}]+\})", route.path):
            if part.startswith("{") and part.endswith("}"):
                name = part[1:-1]
                if name.endswith("+"):
                    name = name[:-1]
                    regex += f"(?P<{name}>.+)"
                else:
                    regex += f"(?P<{name}>[^/]+)"
                params.append(name)
            else:
                regex += re.escape(part)
        return cls(route, re.compile(f"^{regex}$"), tuple(params))


COMPILED = tuple(CompiledRoute.compile(r) for r in ROUTES)


def match_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for a request and its path parameters; literal routes win over parameterised ones."""
    for compiled in sorted(COMPILED, key=lambda c: len(c.params)):
        if compiled.route.method not in (method.upper(), "ANY"):
            continue
        found = compiled.pattern.match(path)
        if found:
            return compiled.route, found.groupdict()
    return None


def _is_text(content_type: str) -> bool:
    content_type = content_type.lower()
    return any(t in content_type for t in TEXT_TYPES) or not content_type


def proxy_event(
    method: str,
    raw_path: str,
    headers: list[tuple[str, str]],
    body: bytes,
    route: Route,
    path_params: dict[str, str],
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """The API Gateway REST proxy (payload v1.0) event for one request."""
    split = urlsplit(raw_path)
    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        single_headers[name] = value  # API Gateway keeps the last value
        multi_headers.setdefault(name, []).append(value)
    pairs = parse_qsl(split.query, keep_blank_values=True)
    single_query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in pairs:
        single_query[name] = value
        multi_query.setdefault(name, []).append(value)
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    encoded = any(k.lower() == "content-encoding" and v.strip().lower() != "identity" for k, v in headers)
    if not body:
        body_text, is_b64 = None, False
    elif _is_text(content_type) and not encoded:
        try:
            body_text, is_b64 = body.decode("utf-8"), False
        except UnicodeDecodeError:
            body_text, is_b64 = base64.b64encode(body).decode("ascii"), True
    else:
        body_text, is_b64 = base64.b64encode(body).decode("ascii"), True
    now_ms = int(time.time() * 1000)
    request_id = str(uuid.uuid4())
    return {
        "resource": route.path,
        "path": split.path,
        "httpMethod": method.upper(),
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": method.upper(),
            "path": f"/{STAGE}{split.path}",
            "stage": STAGE,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "accountId": "000000000000",
            "apiId": "kaerilocal",
            "protocol": "HTTP/1.1",
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now_ms / 1000)),
            "requestTimeEpoch": now_ms,
            "domainName": single_headers.get("Host", "127.0.0.1"),
            "identity": {
                "sourceIp": source_ip,
                "userAgent": next((v for k, v in headers if k.lower() == "user-agent"), None),
            },
        },
        "body": body_text,
        "isBase64Encoded": is_b64,
    }


class ApiServer:
    """A ThreadingHTTPServer that plays API Gateway for kaeri_ops.definitions.topology.ROUTES."""

    def __init__(
        self, runner: FunctionRunner, control: ControlHandler, port: int = 0, host: str = "127.0.0.1"
    ):
        self.runner = runner
        self.control = control
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                log.debug("api %s", format % args)

            def _serve(self) -> None:
                try:
                    body = self._body()
                except ValueError as exc:
                    self.send_response(400)
                    payload = json.dumps({"message": f"unreadable request body: {exc}"}).encode()
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(payload)
                    self.close_connection = True
                    return
                status, headers, payload = server.handle(
                    self.command, self.path, list(self.headers.items()), body, self.client_address[0]
                )
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def _body(self) -> bytes:
                """The request body: Content-Length, or Transfer-Encoding: chunked (as API Gateway reads it)."""
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    return read_chunked(self.rfile, MAX_BODY_BYTES)
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    raise ValueError(f"larger than {MAX_BODY_BYTES} bytes")
                return self.rfile.read(length) if length > 0 else b""

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="kaeri-local-api", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread:  # shutdown() waits for serve_forever(), which never ran if start() did not
            self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def handle(
        self, method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        path = urlsplit(raw_path).path
        if path.startswith("/_local/"):
            query = dict(parse_qsl(urlsplit(raw_path).query))
            try:
                status, result = self.control(method.upper(), path, query, body)
            except Exception as exc:  # a control error must answer, not kill the server thread
                log.exception("control %s %s failed", method, path)
                status, result = 500, {"message": f"{type(exc).__name__}: {exc}"}
            return status, [("Content-Type", "application/json")], json.dumps(result).encode()
        if method.upper() == "OPTIONS" and any(c.pattern.match(path) for c in COMPILED):
            # API Gateway answers CORS preflight itself (a mock integration); so does the local one.
            return 204, list(CORS_HEADERS.items()), b""
        found = match_route(method, path)
        if not found:
            return _json(404, {"message": f"no route for {method.upper()} {path}"})
        route, params = found
        event = proxy_event(method, raw_path, headers, body, route, params, source_ip)
        return self.invoke(route.function, event)

    def invoke(self, function: Function, event: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        try:
            response = self.runner.invoke(function, event)
        except Exception as exc:
            log.exception("%s failed on %s %s", function.name, event["httpMethod"], event["path"])
            # What API Gateway answers when the integration fails.
            return _json(502, {"message": "Internal server error", "error": f"{type(exc).__name__}: {exc}"})
        if not isinstance(response, dict) or "statusCode" not in response:
            log.error("%s returned a malformed proxy response: %r", function.name, response)
            return _json(
                502, {"message": "Internal server error", "error": "malformed Lambda proxy response"}
            )
        headers: list[tuple[str, str]] = []
        seen: set[str] = set()
        for name, values in (response.get("multiValueHeaders") or {}).items():
            for value in values:
                headers.append((name, str(value)))
            seen.add(name.lower())
        for name, value in (response.get("headers") or {}).items():
            if name.lower() not in seen:
                headers.append((name, str(value)))
        raw = response.get("body") or ""
        payload = base64.b64decode(raw) if response.get("isBase64Encoded") else str(raw).encode("utf-8")
        headers = [(k, v) for k, v in headers if k.lower() not in ("content-length", "connection")]
        return int(response["statusCode"]), headers, payload


def _json(status: int, body: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [("Content-Type", "application/json")], json.dumps(body).encode()
