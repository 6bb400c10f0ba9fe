"""The console's routes: sign-in, then every page of one shop under /console/shops/{shop_id}/...

Thin over the domain: pages call the same stores, previews and analytics the CLI calls. One guard
(`_shop`) is on every shop route: a marketer who does not belong to the shop gets 404 (no existence
leak); without a session every page answers 303 to the sign-in page; every POST carries the session's
CSRF token.
"""

from __future__ import annotations

import hmac
import mimetypes
from dataclasses import dataclass
from datetime import datetime
from http.cookies import SimpleCookie
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from jinja2 import PackageLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from kaeri import clock
from kaeri.console.auth import SESSION_COOKIE
from kaeri.console.i18n import translator
from kaeri.console.pages import FormEdit, first_wait, lift_warning, step_order, timeline, window, yaml_diff

HTML = "text/html; charset=utf-8"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


class NotFound(Exception):
    """Answered 404 with the same page whether the thing is missing or belongs to another shop."""


class Redirect(Exception):
    def __init__(self, location: str) -> None:
        self.location = location


class BadRequest(Exception):
    pass


@dataclass(frozen=True)
class Signed:
    marketer: Any  # kaeri.console.auth.Marketer
    cookie: str


_ENV = ImmutableSandboxedEnvironment(
    loader=PackageLoader("kaeri.console", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _fmt_time(value: datetime | None, zone: Any = None) -> str:
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
        sign_in_failed: type[Exception] | None = None,
    ) -> None:
        self.clients = clients
        self.auth = auth
        self._sign_in_failed = sign_in_failed
        self.secure_cookie = secure_cookie
        self.prefix = prefix.rstrip("/")

    @property
    def sign_in_failed(self) -> type[Exception]:
        """What auth.sign_in raises for a wrong username or password (kaeri.console.auth.SignInFailed)."""
        if self._sign_in_failed is None:
            from kaeri.console.auth import SignInFailed

            self._sign_in_failed = SignInFailed
        return self._sign_in_failed

    def url(self, path: str, **query: Any) -> str:
        query = {k: v for k, v in query.items() if v not in (None, "")}
        return f"{self.prefix}/console{path}" + (f"?{urlencode(query)}" if query else "")


def build_app(console: Console) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver()

    # -------------------------------------------------------------- plumbing

    def cookie_value() -> str | None:
        header = (app.current_event.headers or {}).get("cookie") or ""
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except Exception:  # a malformed Cookie header is no session
            return None
        morsel = jar.get(SESSION_COOKIE)
        return morsel.value if morsel else None

    def signed_in() -> Signed:
        value = cookie_value()
        marketer = console.auth.marketer(value) if value else None
        if marketer is None:
            raise Redirect(console.url("/login"))
        return Signed(marketer, value)  # type: ignore[arg-type]

    def form() -> dict[str, str]:
        body = app.current_event.decoded_body or ""
        return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}

    def query(name: str) -> str:
        return (app.current_event.query_string_parameters or {}).get(name) or ""

    def shop(shop_id: str, *, post: bool = False) -> tuple[Signed, dict[str, str]]:
        """The one tenancy guard: signed in, a member of shop_id, and (for POST) a valid CSRF token."""
        signed = signed_in()
        if shop_id not in signed.marketer.shops:
            raise NotFound()
        fields: dict[str, str] = {}
        if post:
            fields = form()
            expected = console.auth.csrf_token(signed.cookie)
            if not hmac.compare_digest(fields.get("csrf", ""), expected):
                raise BadRequest(translator(signed.marketer.language)("error.csrf"))
        return signed, fields

    def page(name: str, signed: Signed | None, status: int = 200, **values: Any) -> Response[str]:
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

    def see_other(location: str, cookies: list[Cookie] | None = None) -> Response[str]:
        return Response(status_code=303, headers={"Location": location}, cookies=cookies or [], body="")

    @app.exception_handler(Redirect)
    def _redirect(exc: Redirect) -> Response[str]:
        return see_other(exc.location)

    @app.exception_handler(NotFound)
    def _not_found(exc: NotFound) -> Response[str]:
        value = cookie_value()
        marketer = console.auth.marketer(value) if value else None
        signed = Signed(marketer, value) if marketer else None  # type: ignore[arg-type]
        return page(
            "error",
            signed,
            404,
            message=translator(marketer.language if marketer else "ja")("error.not_found"),
        )

    @app.exception_handler(BadRequest)
    def _bad_request(exc: BadRequest) -> Response[str]:
        return Response(status_code=400, content_type="text/plain; charset=utf-8", body=str(exc))

    @app.not_found
    def _no_route(exc: Exception) -> Response[str]:
        return _not_found(NotFound())

    # -------------------------------------------------------------- sign-in

    @app.get("/console")
    def home() -> Response[str]:
        signed = signed_in()
        shops = sorted(signed.marketer.shops)
        if len(shops) == 1:
            return see_other(console.url(f"/shops/{shops[0]}"))
        return page("shops", signed, shops=shops)

    @app.get("/console/login")
    def login_page() -> Response[str]:
        return page("login", None, error=None, username="")

    @app.post("/console/login")
    def login() -> Response[str]:
        fields = form()
        username, password = fields.get("username", "").strip(), fields.get("password", "")
        t = translator("ja")
        if not username or not password:
            return page("login", None, 400, error=t("login.missing"), username=username)
        try:
            value = console.auth.sign_in(username, password)
        except console.sign_in_failed:
            return page("login", None, 401, error=t("login.failed"), username=username)
        cookie = Cookie(
            SESSION_COOKIE,
            value,
            path="/console" if not console.prefix else f"{console.prefix}/console",
            secure=console.secure_cookie,
            http_only=True,
            same_site=SameSite.LAX_MODE,
        )
        return see_other(console.url(""), [cookie])

    @app.post("/console/logout")
    def logout() -> Response[str]:
        cookie = Cookie(
            SESSION_COOKIE,
            "",
            path="/console" if not console.prefix else f"{console.prefix}/console",
            secure=console.secure_cookie,
            http_only=True,
            same_site=SameSite.LAX_MODE,
            max_age=0,
        )
        return see_other(console.url("/login"), [cookie])

    @app.get("/console/static/<name>")
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

    # -------------------------------------------------------------- scenarios

    def scenario_store() -> Any:
        from kaeri.scenarios.store import ScenarioStore

        return ScenarioStore(console.clients)

    def stored_or_404(shop_id: str, scenario_id: str, version: int | None = None) -> Any:
        from kaeri.scenarios.store import ScenarioNotFound

        try:
            return scenario_store().get(shop_id, scenario_id, version)
        except ScenarioNotFound:
            raise NotFound() from None

    def kpis(shop_id: str, since: datetime | None, until: datetime) -> Any:
        from kaeri.analytics.reader import KpiReader
        from kaeri.analytics.summary import compute

        return compute(KpiReader(console.clients).read(shop_id, since, until), since)

    def currency(shop_id: str) -> str:
        from kaeri.shops import get_shop

        found = get_shop(console.clients, shop_id)
        return getattr(found, "currency", None) or "JPY"

    @app.get("/console/shops/<shop_id>")
    def scenarios(shop_id: str) -> Response[str]:
        signed, _ = shop(shop_id)
        since, until = window(clock.now())
        stored = sorted(scenario_store().list(shop_id), key=lambda s: s.id)
        results = kpis(shop_id, since, until).scenarios
        rows = []
        for s in stored:
            result = results.get(s.id)
            rows.append(
                {"stored": s, "result": result, "warning": lift_warning(result.lift) if result else None}
            )
        notice = query("notice")
        return page(
            "scenarios",
            signed,
            shop_id=shop_id,
            rows=rows,
            since=since,
            until=until,
            currency=currency(shop_id),
            notice=notice,
        )

    @app.post("/console/shops/<shop_id>/scenarios/<scenario_id>/enabled")
    def set_enabled(shop_id: str, scenario_id: str) -> Response[str]:
        from kaeri.delivery.template_store import TemplateStore, missing_templates

        signed, fields = shop(shop_id, post=True)
        stored = stored_or_404(shop_id, scenario_id)
        t = translator(signed.marketer.language)
        enabled = fields.get("enabled") == "1"
        if enabled:
            store = TemplateStore(console.clients.table("config"))
            problems = missing_templates(stored.scenario.template_ids(), store, shop_id)
            if problems:
                raise BadRequest("; ".join(problems))
        stored = scenario_store().set_enabled(shop_id, scenario_id, enabled)
        key = "scenario.enabled_now" if enabled else "scenario.disabled_now"
        notice = t(key, version=stored.version) + _schedule_warning(console, shop_id, stored, t)
        return see_other(console.url(f"/shops/{shop_id}", notice=notice))

    def scenario_page(
        signed: Signed,
        shop_id: str,
        stored: Any,
        *,
        status: int = 200,
        yaml_text: str | None = None,
        problems: list[Any] | None = None,
        notice: str = "",
        alert: str = "",
    ) -> Response[str]:
        from kaeri.scenarios.source import to_yaml

        t = translator(signed.marketer.language)
        store = scenario_store()
        versions = sorted(store.versions(shop_id, stored.id), reverse=True)
        latest = max(versions) if versions else stored.version
        diff = None
        a, b = query("from"), query("to")
        if a.isdigit() and b.isdigit():
            old = store.get(shop_id, stored.id, int(a)).scenario
            new = store.get(shop_id, stored.id, int(b)).scenario
            diff = (
                int(a),
                int(b),
                yaml_diff(to_yaml(old, concise=True), to_yaml(new, concise=True), f"v{a}", f"v{b}"),
            )
        elif len(versions) > 1:
            diff = None
        return page(
            "scenario",
            signed,
            status,
            shop_id=shop_id,
            stored=stored,
            latest=latest,
            versions=versions,
            timeline=timeline(stored.scenario, t),
            yaml_text=yaml_text if yaml_text is not None else to_yaml(stored.scenario, concise=True),
            problems=problems or [],
            diff=diff,
            notice=notice or query("notice"),
            alert=alert,
            steps=stored.scenario.steps,
            first_wait=first_wait(stored.scenario),
        )

    @app.get("/console/shops/<shop_id>/scenarios/<scenario_id>")
    def scenario(shop_id: str, scenario_id: str) -> Response[str]:
        signed, _ = shop(shop_id)
        version = query("version")
        stored = stored_or_404(shop_id, scenario_id, int(version) if version.isdigit() else None)
        return scenario_page(signed, shop_id, stored)

    def save(signed: Signed, shop_id: str, current: Any, text: str | None, data: Any) -> Response[str]:
        """Validate like `kaeri scenarios push`, then store a new version (running journeys keep theirs)."""
        from kaeri.delivery.template_store import TemplateStore, missing_templates
        from kaeri.scenarios.source import Problem, ScenarioError, load_text, parse_scenario, to_yaml

        t = translator(signed.marketer.language)
        try:
            scenario = load_text(text, current.id) if text is not None else parse_scenario(data, current.id)
        except ScenarioError as exc:
            return scenario_page(
                signed,
                shop_id,
                current,
                status=422,
                yaml_text=text,
                problems=exc.located,
                alert=t("scenario.refused"),
            )
        problems: list[Any] = []
        if scenario.id != current.id:
            problems.append(Problem("id", f"stays {current.id!r}: save a new scenario with the CLI"))
        store = TemplateStore(console.clients.table("config"))
        for problem in missing_templates(scenario.template_ids(), store, shop_id):
            problems.append(_template_problem(problem, text, scenario))
        if problems:
            return scenario_page(
                signed,
                shop_id,
                current,
                status=422,
                yaml_text=text if text is not None else to_yaml(scenario, concise=True),
                problems=problems,
                alert=t("scenario.refused"),
            )
        if scenario == current.scenario:
            return see_other(
                console.url(f"/shops/{shop_id}/scenarios/{current.id}", notice=t("scenario.unchanged"))
            )
        saved = scenario_store().push(shop_id, scenario)
        warning = _schedule_warning(console, shop_id, saved, t) if saved.enabled else ""
        return see_other(
            console.url(
                f"/shops/{shop_id}/scenarios/{current.id}",
                notice=t("scenario.saved", version=saved.version) + warning,
            )
        )

    @app.post("/console/shops/<shop_id>/scenarios/<scenario_id>/yaml")
    def save_yaml(shop_id: str, scenario_id: str) -> Response[str]:
        signed, fields = shop(shop_id, post=True)
        current = stored_or_404(shop_id, scenario_id)
        return save(signed, shop_id, current, fields.get("yaml", ""), None)

    @app.post("/console/shops/<shop_id>/scenarios/<scenario_id>/form")
    def save_form(shop_id: str, scenario_id: str) -> Response[str]:
        signed, fields = shop(shop_id, post=True)
        current = stored_or_404(shop_id, scenario_id)
        fields.pop("csrf", None)
        return save(signed, shop_id, current, None, FormEdit(fields).apply(current.scenario))

    @app.get("/console/shops/<shop_id>/scenarios/<scenario_id>/audience")
    def audience(shop_id: str, scenario_id: str) -> Response[str]:
        from kaeri.journeys.reach import audience_now

        signed, _ = shop(shop_id)
        stored = stored_or_404(shop_id, scenario_id)
        reach = audience_now(console.clients, shop_id, stored, clock.now())
        return page("audience", signed, shop_id=shop_id, stored=stored, reach=reach)

    def find_customers(shop_id: str, text: str, limit: int = 20) -> list[Any]:
        from kaeri.profiles.repository import ProfileRepository

        text = text.strip()
        if not text:
            return []
        exact = ProfileRepository(console.clients).get(shop_id, text)
        if exact is not None:
            return [exact]
        from kaeri.profiles.repository import profile_from_item

        found = []
        needle = text.lower()
        kwargs: dict[str, Any] = {
            "IndexName": "by_shop",
            "KeyConditionExpression": "shop_id = :s",
            "ExpressionAttributeValues": {":s": shop_id},
        }
        table = console.clients.table("customers")
        while len(found) < limit:
            resp = table.query(**kwargs)
            for item in resp.get("Items", []):
                if item.get("sk", "PROFILE") != "PROFILE":
                    continue
                hay = " ".join(
                    str(item.get(k) or "") for k in ("customer_id", "email", "first_name", "last_name")
                ).lower()
                if needle in hay:
                    found.append(profile_from_item(item))
                    if len(found) >= limit:
                        break
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return found

    def seeds(shop_id: str) -> list[tuple[str, str]]:
        from kaeri.shops import get_shop

        found = get_shop(console.clients, shop_id)
        listed = getattr(found, "seed_recipients", None) or {}
        return [(channel, address) for channel, addresses in sorted(listed.items()) for address in addresses]

    def preview_page(
        signed: Signed,
        shop_id: str,
        stored: Any,
        customer: str,
        status: int = 200,
        notice: str = "",
        error: str = "",
    ) -> Response[str]:
        from kaeri.delivery.preview import PreviewError, preview_message
        from kaeri.journeys.preview import preview
        from kaeri.scenarios.timing import zone

        t = translator(signed.marketer.language)
        now = clock.now()
        lines, messages, matches = [], {}, []
        if customer:
            matches = find_customers(shop_id, customer)
        chosen = matches[0] if len(matches) == 1 else None
        if chosen is not None:
            lines = preview(console.clients, shop_id, stored.id, chosen.customer_id, now)
            for line in lines:
                if line.action != "send" or not line.template:
                    continue
                rendered = []
                for channel in line.channels:
                    try:
                        rendered.append(
                            (
                                channel,
                                preview_message(
                                    console.clients, shop_id, line.template, chosen.customer_id, channel
                                ),
                                None,
                            )
                        )
                    except PreviewError as exc:
                        rendered.append((channel, None, t("preview.render_failed", error=str(exc))))
                messages[line.step] = rendered
        tz = zone(lines[0].timezone) if lines and lines[0].timezone else None
        return page(
            "preview",
            signed,
            status,
            shop_id=shop_id,
            stored=stored,
            customer=customer,
            matches=matches,
            chosen=chosen,
            lines=lines,
            messages=messages,
            zone=tz,
            stack_now=now,
            seeds=seeds(shop_id),
            sends=[s for s in stored.scenario.steps if hasattr(s, "send")],
            notice=notice,
            error=error,
        )

    @app.get("/console/shops/<shop_id>/scenarios/<scenario_id>/preview")
    def preview_route(shop_id: str, scenario_id: str) -> Response[str]:
        signed, _ = shop(shop_id)
        stored = stored_or_404(shop_id, scenario_id)
        return preview_page(signed, shop_id, stored, query("customer"))

    @app.post("/console/shops/<shop_id>/scenarios/<scenario_id>/test-send")
    def test_send(shop_id: str, scenario_id: str) -> Response[str]:
        import uuid

        from kaeri.delivery.request import SendRequest
        from kaeri.delivery.service import Delivery

        signed, fields = shop(shop_id, post=True)
        stored = stored_or_404(shop_id, scenario_id)
        t = translator(signed.marketer.language)
        customer, step_id = fields.get("customer", ""), fields.get("step", "")
        channel, _, recipient = fields.get("recipient", "").partition(":")
        if (channel, recipient) not in seeds(shop_id):
            return preview_page(
                signed, shop_id, stored, customer, 400, error=t("test.not_seed", recipient=recipient or "–")
            )
        step = next((s for s in stored.scenario.steps if s.id == step_id and hasattr(s, "send")), None)
        if step is None:
            raise BadRequest(f"step: {step_id!r} is not a send step of {scenario_id}")
        if not find_customers(shop_id, customer, limit=1):
            raise BadRequest(f"customer: no customer {customer!r} in this shop")
        request = SendRequest(
            shop_id=shop_id,
            customer_id=customer,
            message_id=f"test:{scenario_id}:{step_id}:{uuid.uuid4().hex[:12]}",
            scenario_id=scenario_id,
            scenario_version=stored.version,
            step_id=step_id,
            channels=[channel],  # type: ignore[list-item]
            template_id=step.send.template,
            purpose=step.send.purpose,
            context=dict(step.send.context),
            test_recipient=recipient,
        )
        result = Delivery.from_clients(console.clients).send(request)
        if result.status == "sent":
            notice = t("test.sent", recipient=recipient, channel=channel, template=step.send.template)
            return preview_page(signed, shop_id, stored, customer, notice=notice)
        detail = result.detail or result.skip_reason or result.status
        return preview_page(signed, shop_id, stored, customer, 422, error=t("test.not_sent", detail=detail))

    # -------------------------------------------------------------- templates

    def template_store() -> Any:
        from kaeri.delivery.template_store import TemplateStore

        return TemplateStore(console.clients.table("config"))

    @app.get("/console/shops/<shop_id>/templates")
    def templates(shop_id: str) -> Response[str]:
        signed, _ = shop(shop_id)
        return page("templates", signed, shop_id=shop_id, rows=template_store().list(shop_id))

    def template_page(
        signed: Signed,
        shop_id: str,
        template_id: str,
        source: str,
        customer: str,
        channel: str,
        status: int = 200,
        notice: str = "",
        error: str = "",
    ) -> Response[str]:
        from kaeri.delivery.preview import PreviewError, preview_source

        rendered, render_error = None, ""
        if customer and not error:
            try:
                rendered = preview_source(console.clients, shop_id, source, customer, channel or None)
            except PreviewError as exc:
                render_error = str(exc)
        return page(
            "template",
            signed,
            status,
            shop_id=shop_id,
            template_id=template_id,
            source=source,
            customer=customer,
            channel=channel,
            rendered=rendered,
            render_error=render_error,
            notice=notice,
            error=error,
        )

    @app.get("/console/shops/<shop_id>/templates/<template_id>")
    def template(shop_id: str, template_id: str) -> Response[str]:
        from kaeri.delivery.template_store import TemplateNotFound
        from kaeri.delivery.templates_engine import to_source

        signed, _ = shop(shop_id)
        try:
            found = template_store().get(shop_id, template_id)
        except TemplateNotFound:
            raise NotFound() from None
        return template_page(
            signed,
            shop_id,
            template_id,
            to_source(found),
            query("customer"),
            query("channel"),
            notice=query("notice"),
        )

    @app.post("/console/shops/<shop_id>/templates/<template_id>")
    def save_template(shop_id: str, template_id: str) -> Response[str]:
        from kaeri.delivery.templates_engine import TemplateCompileError, parse

        signed, fields = shop(shop_id, post=True)
        t = translator(signed.marketer.language)
        source, customer, channel = (
            fields.get("source", ""),
            fields.get("customer", ""),
            fields.get("channel", ""),
        )
        if fields.get("action") != "save":
            return template_page(signed, shop_id, template_id, source, customer, channel)
        try:
            parsed = parse(source, template_id)
            if parsed.id != template_id:
                raise TemplateCompileError(template_id, 2, f"id {parsed.id!r} must stay {template_id!r}")
            result = template_store().push(shop_id, parsed, author=f"console:{signed.marketer.username}")
        except TemplateCompileError as exc:
            return template_page(
                signed,
                shop_id,
                template_id,
                source,
                customer,
                channel,
                422,
                error=t("template.refused", error=str(exc)),
            )
        key = "template.saved" if result.changed else "template.unchanged"
        return see_other(
            console.url(
                f"/shops/{shop_id}/templates/{quote(template_id)}",
                customer=customer,
                channel=channel,
                notice=t(key, version=result.version),
            )
        )

    # -------------------------------------------------------------- report and message log

    @app.get("/console/shops/<shop_id>/report")
    def report(shop_id: str) -> Response[str]:
        from kaeri.analytics.report import f2_curves_svg

        signed, _ = shop(shop_id)
        now = clock.now()
        result = kpis(shop_id, None, now)
        stored = {s.id: s.scenario for s in scenario_store().list(shop_id)}
        funnels = []
        for sid, r in sorted(result.scenarios.items()):
            order = step_order(stored.get(sid), r.steps)
            funnels.append(
                {
                    "id": sid,
                    "result": r,
                    "steps": [(s, r.steps[s]) for s in order],
                    "warning": lift_warning(r.lift),
                }
            )
        return page(
            "report",
            signed,
            shop_id=shop_id,
            k=result,
            funnels=funnels,
            currency=currency(shop_id),
            curves_svg=f2_curves_svg(result.f2_curves) if result.f2_curves else "",
            minimum=lift_minimum(),
        )

    @app.get("/console/shops/<shop_id>/messages")
    def messages(shop_id: str) -> Response[str]:
        from kaeri.delivery.outbox import list_outbox

        signed, _ = shop(shop_id)
        rows = list_outbox(console.clients.table("messages"), shop_id, limit=100, include_skipped=True)
        return page("messages", signed, shop_id=shop_id, rows=rows)

    return app


def _schedule_warning(console: Console, shop_id: str, stored: Any, t: Any) -> str:
    """Sync a scheduled scenario's EventBridge schedule; the console's role may not manage schedules
    (they are created with operator credentials), in which case the marketer is told what to run."""
    if stored.scenario.trigger.kind == "event":
        return ""
    from botocore.exceptions import BotoCoreError, ClientError

    from kaeri.journeys.schedule import sync_schedule

    try:
        sync_schedule(console.clients, shop_id, stored)
    except (ClientError, BotoCoreError):
        return " " + t("scenario.schedule_not_synced", scenario=stored.id)
    return ""


def lift_minimum() -> int:
    from kaeri.console.pages import MIN_GROUP_FOR_LIFT

    return MIN_GROUP_FOR_LIFT


def _template_problem(problem: str, text: str | None, scenario: Any) -> Any:
    """A missing-template problem placed on the line that names the template, when there is a text."""
    from kaeri.scenarios.source import Problem

    template_id = problem.split("'")[1] if "'" in problem else ""
    path = next(
        (
            f"steps.{i}.send.template"
            for i, s in enumerate(scenario.steps)
            if hasattr(s, "send") and s.send.template == template_id
        ),
        "steps",
    )
    line = column = None
    if text and template_id:
        for number, row in enumerate(text.splitlines(), start=1):
            at = row.find(template_id)
            if at >= 0 and "template" in row:
                line, column = number, at + 1
                break
    return Problem(path, problem, line, column)
