"""A local LINE Messaging API endpoint on loopback: POST /v2/bot/message/push.

Checks the Bearer token, honours X-Line-Retry-Key (a retried key with the same body returns the
original answer with x-line-accepted-request-id; with a different body, 409) and keeps every
accepted push in `received` for the outbox and tests. Set settings.line_api_endpoint to `url`.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# The channel access token the local stack stores for its shop and this endpoint accepts.
LOCAL_LINE_TOKEN = "kaeri-local-line-token"


@dataclass
class ReceivedPush:
    request_id: str
    to: str
    messages: list[dict[str, Any]]
    retry_key: str | None
    body: dict[str, Any] = field(default_factory=dict)


class LineServer:
    def __init__(self, port: int = 0, host: str = "127.0.0.1", token: str = LOCAL_LINE_TOKEN) -> None:
        self.token = token
        self.received: list[ReceivedPush] = []
        self._by_key: dict[str, tuple[bytes, ReceivedPush]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LineServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="kaeri-line", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> LineServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _push(self, raw: bytes, retry_key: str | None) -> tuple[int, dict[str, str], dict[str, Any]]:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return 400, {}, {"message": "The request body has 1 error(s)"}
        if not body.get("to") or not isinstance(body.get("messages"), list) or not body["messages"]:
            return (
                400,
                {},
                {"message": "The request body has 1 error(s)", "details": [{"property": "to/messages"}]},
            )
        if retry_key is not None:
            try:
                uuid.UUID(retry_key)
            except ValueError:
                return 400, {}, {"message": "The retry key is not a UUID"}
        with self._lock:
            if retry_key and retry_key in self._by_key:
                original_raw, original = self._by_key[retry_key]
                headers = {"x-line-accepted-request-id": original.request_id}
                if original_raw != raw:
                    return 409, headers, {"message": "The retry key is already accepted"}
                return 200, headers, {"sentMessages": _sent(original)}
            push = ReceivedPush(uuid.uuid4().hex, body["to"], body["messages"], retry_key, body)
            self.received.append(push)
            if retry_key:
                self._by_key[retry_key] = (raw, push)
        return 200, {"x-line-request-id": push.request_id}, {"sentMessages": _sent(push)}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _reply(self, status: int, headers: dict[str, str], body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/v2/bot/message/push":
                    self._reply(404, {}, {"message": "Not found"})
                    return
                if self.headers.get("Authorization") != f"Bearer {server.token}":
                    self._reply(
                        401, {}, {"message": "Authentication failed. Confirm that the access token is valid."}
                    )
                    return
                self._reply(*server._push(raw, self.headers.get("X-Line-Retry-Key")))

        return Handler


def _sent(push: ReceivedPush) -> list[dict[str, str]]:
    return [
        {"id": f"{push.request_id[:12]}{i}", "quoteToken": push.request_id}
        for i, _ in enumerate(push.messages)
    ]
