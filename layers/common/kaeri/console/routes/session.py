"""Sign-in, sign-out, the shop chooser and the static assets."""

from __future__ import annotations

import mimetypes
from importlib import resources

from aws_lambda_powertools.event_handler import Response

from kaeri.console.auth import CHALLENGES, REFRESH_COOKIE, Challenge, Tokens
from kaeri.console.i18n import translator
from kaeri.console.web import (
    NotFound,
    cookie_value,
    current,
    event,
    form,
    new_router,
    page,
    refresh_cookie,
    see_other,
    session_cookie,
    signed_in,
)

STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

router = new_router()


@router.get("/console")
def home() -> Response[str]:
    signed = signed_in()
    shops = sorted(signed.marketer.shops)
    if len(shops) == 1:
        return see_other(current().url(f"/shops/{shops[0]}"))
    return page("shops", signed, shops=shops)


@router.get("/console/login")
def login_page() -> Response[str]:
    return page("login", None, error=None, username="")


@router.post("/console/login")
def login() -> Response[str]:
    console = current()
    fields = form()
    username, password = fields.get("username", "").strip(), fields.get("password", "")
    t = translator("ja")
    if not username or not password:
        return page("login", None, 400, error=t("login.missing"), username=username)
    try:
        result = console.auth.authenticate(username, password)
    except console.sign_in_failed:
        return page("login", None, 401, error=t("login.failed"), username=username)
    return _signed_in_or_challenge(result)


@router.post("/console/login/challenge")
def challenge() -> Response[str]:
    """The new-password or authenticator-code step Cognito asked for (RespondToAuthChallenge)."""
    console = current()
    fields = form()
    name = fields.get("challenge", "")
    username, session = fields.get("username", ""), fields.get("session", "")
    # Cognito's challenge session is 20 to 2048 characters; anything else is no sign-in in progress.
    if name not in CHALLENGES or not username or not 20 <= len(session) <= 2048:
        return page("login", None, 400, error=translator("ja")("login.expired"), username=username)
    pending = Challenge(name, username, session)
    if name == "NEW_PASSWORD_REQUIRED":
        response = fields.get("new_password", "")
        if response != fields.get("confirm_password", ""):
            return _challenge_page(pending, 400, translator("ja")("challenge.mismatch"))
    else:
        response = fields.get("code", "").strip()
    try:
        result = console.auth.answer(pending, response)
    except console.sign_in_failed as exc:
        t = translator("ja")
        return _challenge_page(pending, 401, t(exc.key) if exc.key else str(exc))
    return _signed_in_or_challenge(result)


def _challenge_page(pending: Challenge, status: int = 200, error: str | None = None) -> Response[str]:
    return page("challenge", None, status, challenge=pending, error=error)


def _signed_in_or_challenge(result: Tokens | Challenge) -> Response[str]:
    console = current()
    if isinstance(result, Challenge):
        return _challenge_page(result)
    cookies = [session_cookie(console, result.id_token)]
    if result.refresh_token:
        cookies.append(refresh_cookie(console, result.refresh_token))
    return see_other(console.url(""), cookies)


@router.post("/console/logout")
def logout() -> Response[str]:
    """Clear both cookies and revoke the refresh token at Cognito (GlobalSignOut)."""
    console = current()
    console.auth.sign_out(cookie_value(event(), REFRESH_COOKIE))
    cleared = [session_cookie(console, "", max_age=0), refresh_cookie(console, "", max_age=0)]
    return see_other(console.url("/login"), cleared)


@router.get("/console/static/<name>")
def static(name: str) -> Response[str]:
    suffix = "." + name.rpartition(".")[2]
    if "/" in name or ".." in name or suffix not in STATIC_TYPES:
        raise NotFound()
    asset = resources.files("kaeri.console").joinpath("static", name)
    if not asset.is_file():
        raise NotFound()
    return Response(
        status_code=200,
        content_type=STATIC_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "text/plain",
        body=asset.read_text(encoding="utf-8"),
        headers={"Cache-Control": "max-age=300"},
    )
