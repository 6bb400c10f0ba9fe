"""The console's shared plumbing: the Console settings object, the session cookie, the one tenancy
guard (`shop`), page rendering and redirects. Route modules (kaeri.console.routes) call these.

The Console serving the current request is set by `bind_console`, a global middleware `build_app`
installs, and read with `current()`; the request itself is the resolver's current event.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, tzinfo
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlencode

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from jinja2 import PackageLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from kaeri import clock
from kaeri.console.auth import REFRESH_COOKIE, REFRESH_TOKEN_HOURS, SESSION_COOKIE, Marketer, SignInFailed
from kaeri.console.i18n import translator

HTML = "text/html; charset=utf-8"


class NotFound(Exception):
    """Answered 404 with the same page whether the thing is missing or belongs to another shop."""


class Redirect(Exception):
    def __init__(self, location: str) -> None:
        self.location = location


class BadRequest(Exception):
    pass


@dataclass(frozen=True)
class Signed:
    marketer: Marketer
    cookie: str
    # The expired ID token this request renewed with the refresh token: forms rendered before the
    # renewal carry its CSRF token, which stays good for this one request.
    previous: str | None = None


_ENV = ImmutableSandboxedEnvironment(
    loader=PackageLoader("kaeri.console", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _fmt_time(value: datetime | None, zone: tzinfo | None = None) -> str:
    if value is None:
        return "–"
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if zone else clock.iso(value)


def _money(value: float, currency: str = "JPY") -> str:
    return f"¥{value:,.0f}" if currency == "JPY" else f"{value:,.2f} {currency}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


_ENV.filters["money"] = _money
_ENV.filters["pct"] = _pct
_ENV.filters["when"] = _fmt_time


class Console:
    """Everything a page needs: the AWS clients (injected), the sign-in service and URL settings."""

    def __init__(
        self,
        clients: Any,
        auth: Any,
        *,
        secure_cookie: bool = True,
        prefix: str = "",
        sign_in_failed: type[SignInFailed] = SignInFailed,
    ) -> None:
        self.clients = clients
        self.auth = auth
        self._sign_in_failed = sign_in_failed
        self.secure_cookie = secure_cookie
        self.prefix = prefix.rstrip("/")

    @property
    def sign_in_failed(self) -> type[SignInFailed]:
        """What auth.sign_in raises for a refused sign-in (kaeri.console.auth.SignInFailed)."""
        return self._sign_in_failed

    def path_prefix(self) -> str:
        """What the browser's URLs start with before /console: the configured prefix, else the API
        stage when the request came through execute-api's own URL (https://ID.execute-api.REGION.
        amazonaws.com/STAGE/console/...); a custom domain or the local stack needs none."""
        if self.prefix:
            return self.prefix
        serving_now = _CURRENT.get(None)
        if serving_now is None:
            return ""
        request = serving_now[1]
        headers = request.headers or {}
        host = (headers.get("host") or headers.get("Host") or "").lower().partition(":")[0]
        context = request.get("requestContext") or {}
        stage = context.get("stage") if isinstance(context, dict) else None
        execute_api = ".execute-api." in host and host.endswith((".amazonaws.com", ".amazonaws.com.cn"))
        if execute_api and isinstance(stage, str) and stage and stage != "$default":
            return f"/{stage}"
        return ""

    def url(self, path: str, **query: Any) -> str:
        query = {k: v for k, v in query.items() if v not in (None, "")}
        return f"{self.path_prefix()}/console{path}" + (f"?{urlencode(query)}" if query else "")


def new_router() -> Router:
    """A page group's Router (the class aws_lambda_powertools.event_handler.router re-exports)."""
    return Router()  # type: ignore[no-untyped-call]  # Powertools' Router.__init__ has no annotations


# -------------------------------------------------------------- the request being served

_CURRENT: ContextVar[tuple[Console, BaseProxyEvent, dict[str, str | None]]] = ContextVar(
    "kaeri_console_request"
)


@contextmanager
def serving(console: Console, event: BaseProxyEvent) -> Iterator[dict[str, str | None]]:
    state: dict[str, str | None] = {}  # "renewed": the ID token a refresh bought during this request
    token = _CURRENT.set((console, event, state))
    try:
        yield state
    finally:
        _CURRENT.reset(token)


def bind_console(console: Console) -> Callable[[APIGatewayRestResolver, NextMiddleware], Response[str]]:
    """A global middleware: the routes of this resolver see `console` through `current()`; a session
    renewed with the refresh token during the request gets its new session cookie on the response."""

    def middleware(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[str]:
        with serving(console, app.current_event) as state:
            response = next_middleware(app)
            renewed = state.get("renewed")
            if renewed:
                response.cookies.append(session_cookie(console, renewed))
            return response

    return middleware


def cookie_path(console: Console) -> str:
    return f"{console.path_prefix()}/console"


def _console_cookie(
    console: Console, name: str, value: str, same_site: SameSite, max_age: int | None
) -> Cookie:
    """HttpOnly, scoped to the console's path, Secure when the console is served over HTTPS."""
    return Cookie(
        name,
        value,
        path=cookie_path(console),
        secure=console.secure_cookie,
        http_only=True,
        same_site=same_site,
        max_age=max_age,
    )


def session_cookie(console: Console, value: str, *, max_age: int | None = None) -> Cookie:
    """The ID token's cookie: SameSite=Lax (links from mail open signed-in pages)."""
    return _console_cookie(console, SESSION_COOKIE, value, SameSite.LAX_MODE, max_age)


def refresh_cookie(console: Console, value: str, *, max_age: int | None = None) -> Cookie:
    """The refresh token's own cookie: SameSite=Strict, only ever sent to the console."""
    lifetime = REFRESH_TOKEN_HOURS * 3600 if max_age is None else max_age
    return _console_cookie(console, REFRESH_COOKIE, value, SameSite.STRICT_MODE, lifetime)


def current() -> Console:
    return _CURRENT.get()[0]


def event() -> BaseProxyEvent:
    return _CURRENT.get()[1]


# -------------------------------------------------------------- session and request


def cookie_value(request: BaseProxyEvent, name: str = SESSION_COOKIE) -> str | None:
    header = (request.headers or {}).get("cookie") or (request.headers or {}).get("Cookie") or ""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed Cookie header is no session
        return None
    morsel = jar.get(name)
    return morsel.value if morsel and morsel.value else None


def session(console: Console, request: BaseProxyEvent) -> Signed | None:
    """The signed-in marketer: by the ID token, or, once it has expired, by a new one the refresh token
    buys (once per request; the middleware sets it as the new session cookie)."""
    value = cookie_value(request)
    marketer: Marketer | None = console.auth.marketer(value) if value else None
    if marketer is not None and value is not None:
        return Signed(marketer, value)
    state = _CURRENT.get((console, request, {}))[2]
    if "renewed" not in state:
        state["renewed"] = console.auth.refresh(cookie_value(request, REFRESH_COOKIE))
    renewed = state["renewed"]
    marketer = console.auth.marketer(renewed) if renewed else None
    if marketer is None or renewed is None:
        return None
    return Signed(marketer, renewed, previous=value)


def signed_in() -> Signed:
    signed = session(current(), event())
    if signed is None:
        raise Redirect(current().url("/login"))
    return signed


def form() -> dict[str, str]:
    body = event().decoded_body or ""
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


def query(name: str) -> str:
    return (event().query_string_parameters or {}).get(name) or ""


def shop(shop_id: str, *, post: bool = False) -> tuple[Signed, dict[str, str]]:
    """The one tenancy guard: signed in, a member of shop_id, and (for POST) a valid CSRF token."""
    signed = signed_in()
    if shop_id not in signed.marketer.shops:
        raise NotFound()
    fields: dict[str, str] = {}
    if post:
        fields = form()
        auth = current().auth
        sent = fields.get("csrf", "")
        valid = [c for c in (signed.cookie, signed.previous) if c]
        if not any(hmac.compare_digest(sent, auth.csrf_token(c)) for c in valid):
            raise BadRequest(translator(signed.marketer.language)("error.csrf"))
    return signed, fields


# -------------------------------------------------------------- responses


def render(
    console: Console, name: str, signed: Signed | None, status: int = 200, **values: Any
) -> Response[str]:
    language = signed.marketer.language if signed else "ja"
    context = {
        "t": translator(language),
        "lang": language,
        "url": console.url,
        "marketer": signed.marketer if signed else None,
        "csrf": console.auth.csrf_token(signed.cookie) if signed else "",
        "shop_id": values.pop("shop_id", None),
        "now": clock.now(),
        **values,
    }
    body = _ENV.get_template(f"{name}.html.j2").render(**context)
    return Response(
        status_code=status,
        content_type=HTML,
        body=body,
        headers={
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            # Our own script and styles only; email previews render in a sandboxed srcdoc frame.
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data: https:; "
            "style-src 'self' 'unsafe-inline'; frame-src 'self'; frame-ancestors 'none'; form-action 'self'",
        },
    )


def page(name: str, signed: Signed | None, status: int = 200, **values: Any) -> Response[str]:
    """A page of the console serving this request."""
    return render(current(), name, signed, status, **values)


def see_other(location: str, cookies: list[Cookie] | None = None) -> Response[str]:
    return Response(status_code=303, headers={"Location": location}, cookies=cookies or [], body="")


def not_found_page(console: Console, request: BaseProxyEvent) -> Response[str]:
    with serving(console, request):  # exception handlers run outside the middleware: its links, too
        signed = session(console, request)
        message = translator(signed.marketer.language if signed else "ja")("error.not_found")
        return render(console, "error", signed, 404, message=message)
