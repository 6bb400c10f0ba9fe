"""Sign-in, sign-out, the shop chooser and the static assets."""

from __future__ import annotations

import mimetypes
from importlib import resources

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from kaeri.console.auth import SESSION_COOKIE
from kaeri.console.i18n import translator
from kaeri.console.web import NotFound, current, form, new_router, page, see_other, signed_in

STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

router = new_router()


def _session_cookie(value: str, *, max_age: int | None = None) -> Cookie:
    console = current()
    return Cookie(
        SESSION_COOKIE,
        value,
        path="/console" if not console.prefix else f"{console.prefix}/console",
        secure=console.secure_cookie,
        http_only=True,
        same_site=SameSite.LAX_MODE,
        max_age=max_age,
    )


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
        value: str = console.auth.sign_in(username, password)
    except console.sign_in_failed:
        return page("login", None, 401, error=t("login.failed"), username=username)
    return see_other(console.url(""), [_session_cookie(value)])


@router.post("/console/logout")
def logout() -> Response[str]:
    return see_other(current().url("/login"), [_session_cookie("", max_age=0)])


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
