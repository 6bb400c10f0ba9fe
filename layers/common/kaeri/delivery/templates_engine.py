"""Message templates: the file format, sandboxed compilation and rendering.

A template file is YAML front matter followed by body sections, one per locale and part:

    ---
    id: cart-abandonment-1
    channels: [email, line, sms]
    description: Cart reminder, reassurance first
    ---
    === ja subject
    {{ customer.first_name or "お客様" }}、カートに商品が残っています
    === ja html
    <p>...</p>
    === ja text
    ...
    === en subject
    ...

Parts: subject, html, text (email), line, sms. Templates run in Jinja2's immutable sandbox: HTML
parts are autoescaped, and anything that reaches for Python internals raises a SecurityError.
"""

from __future__ import annotations

import ctypes
import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, Undefined
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, Field, ValidationError

from kaeri.delivery.request import SkipReason
from kaeri.vocabulary import Channel

_T = TypeVar("_T")

Part = Literal["subject", "html", "text", "line", "sms"]
PARTS: tuple[str, ...] = ("subject", "html", "text", "line", "sms")
DEFAULTS_DIR = Path(__file__).parent / "templates"
_SECTION = re.compile(r"^===\s+([A-Za-z]{2}(?:[-_][A-Za-z]{2})?)\s+(\w+)\s*$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


class TemplateCompileError(ValueError):
    """A template that cannot be stored: names the file line and the reason."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source, self.line, self.reason = source, line, reason
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {reason}")


# Limits of one render (docs/delivery.md). A template is shop-authored code run on every send: a
# runaway loop or a megabyte of output must cost one skipped message, never the send function.
RENDER_SECONDS = 2.0  # wall time for all parts of one message
MAX_PART_CHARS = 256_000  # any part (an email's html well under SES's 10 MB with headers and text)
MAX_CHANNEL_CHARS = {"line": 5000, "sms": 1600}  # LINE text message limit; 10 concatenated SMS


class RenderError(RuntimeError):
    """A template failed for one customer; `reason` is the skip reason recorded for the message."""

    reason: SkipReason = "render_failed"


class RenderUndefined(RenderError):
    """The template used a variable the context does not have (a typo, or an unguarded optional).

    `part` ("ja.text") and `line` (1-based, within that body) say where, when Jinja's traceback tells.
    """

    reason = "render_undefined"

    def __init__(self, message: str, part: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.part, self.line = part, line


def _template_line(exc: BaseException) -> int | None:
    """The line of the template body an error was raised on (Jinja rewrites its frames to "<template>")."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


class RenderTimeout(RenderError):
    reason = "render_timeout"


class RenderTooLarge(RenderError):
    reason = "render_too_large"


class LinkRefused(RenderError):
    """track_link() was given a URL outside the shop's catalog and allowed link domains."""

    reason = "render_failed"


class _Deadline(BaseException):
    """Raised inside the rendering thread by the watchdog (BaseException: templates cannot catch it)."""


class LocaleBodies(BaseModel):
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    line: str | None = None
    sms: str | None = None


class Template(BaseModel):
    id: str
    channels: list[Channel]
    description: str | None = None
    locales: dict[str, LocaleBodies]
    version: int = 0  # 0: the packaged default; pushed versions start at 1
    # First line in the source file of each "locale.part" body (compile errors name file lines).
    lines: dict[str, int] = Field(default_factory=dict, exclude=True)

    def content_hash(self) -> str:
        data = self.model_dump_json(include={"id", "channels", "description", "locales"})
        return hashlib.sha256(data.encode()).hexdigest()

    def bodies(self, locale: str | None, fallback: str | None = None) -> tuple[str, LocaleBodies]:
        """The locale to use: the customer's, then the shop's, then English, then any."""
        for candidate in (locale, (locale or "")[:2], fallback, (fallback or "")[:2], "en", "ja"):
            if candidate and candidate in self.locales:
                return candidate, self.locales[candidate]
        first = next(iter(self.locales))
        return first, self.locales[first]


# Rendering -------------------------------------------------------------------------------------


def _yen(value: Any, currency: str = "JPY") -> str:
    if value is None or isinstance(value, Undefined):
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    if currency.upper() == "JPY":
        return f"¥{number:,.0f}"
    return f"{number:,.2f} {currency.upper()}"


def _date(value: Any, fmt: str = "%Y-%m-%d") -> str:
    if value is None or isinstance(value, Undefined):
        return ""
    if hasattr(value, "strftime"):
        return str(value.strftime(fmt))
    return str(value)[:10]


class _StrictSandbox(ImmutableSandboxedEnvironment):
    """Unsafe attribute access raises instead of rendering as empty, so an escape attempt fails loudly."""

    # `"x" * 10**9` would allocate a gigabyte before the streaming size check saw a character.
    intercepted_binops = frozenset({"*", "**"})

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_PART_CHARS
                ):
                    raise RenderTooLarge(
                        f"repeating a sequence {times:,} times passes {MAX_PART_CHARS:,} items"
                    )
        if operator == "**" and isinstance(right, int) and abs(right) > 1000:
            raise RenderTooLarge(f"exponent {right:,} is too large")
        return super().call_binop(context, operator, left, right)


def _make_env(autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = _StrictSandbox(
        autoescape=autoescape, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["money"] = _yen
    env.filters["date"] = _date
    return env


_HTML_ENV = _make_env(True)
_TEXT_ENV = _make_env(False)
_COMPILED: dict[tuple[bool, str], Any] = {}


def _compiled(source: str, html: bool) -> Any:
    key = (html, source)
    tpl = _COMPILED.get(key)
    if tpl is None:
        if len(_COMPILED) > 2048:
            _COMPILED.clear()
        tpl = (_HTML_ENV if html else _TEXT_ENV).from_string(source)
        _COMPILED[key] = tpl
    return tpl


@dataclass
class Rendered:
    locale: str
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    line: str | None = None
    sms: str | None = None


def render(
    template: Template,
    channel: Channel,
    context: dict[str, Any],
    locale: str | None = None,
    shop_locale: str | None = None,
    *,
    seconds: float = RENDER_SECONDS,
    max_chars: int = MAX_PART_CHARS,
) -> Rendered:
    """Render the parts one channel needs within the limits. Raises RenderError, never anything else."""
    try:
        return _with_deadline(
            seconds, lambda: _render(template, channel, context, locale, shop_locale, max_chars)
        )
    except _Deadline:
        raise RenderTimeout(f"{template.id}: rendering took longer than {seconds:g} s") from None


def _render(
    template: Template,
    channel: Channel,
    context: dict[str, Any],
    locale: str | None,
    shop_locale: str | None,
    max_chars: int,
) -> Rendered:
    chosen, bodies = template.bodies(locale, shop_locale)
    parts: Iterable[str] = {"email": ("subject", "html", "text"), "line": ("line",), "sms": ("sms",)}[channel]
    limit = min(max_chars, MAX_CHANNEL_CHARS.get(channel, max_chars))
    out = Rendered(locale=chosen)
    for part in parts:
        source = getattr(bodies, part)
        if source is None:
            if part == "html":
                continue
            if channel == "email" and part == "text" and bodies.html:
                continue
            raise RenderError(f"template {template.id} has no {chosen} {part} body for {channel}")
        where = f"{template.id} {chosen}.{part}"
        try:
            value = _bounded(_compiled(source, html=part == "html").generate(context), limit, where)
        except RenderError:
            raise
        except UndefinedError as exc:
            line = _template_line(exc)
            text = source.splitlines()[line - 1].strip() if line and line <= len(source.splitlines()) else ""
            shown = f" in `{text}`" if text else ""
            raise RenderUndefined(
                f"{where}: undefined: {exc}{shown}", part=f"{chosen}.{part}", line=line
            ) from exc
        except TemplateError as exc:
            raise RenderError(f"{where}: {type(exc).__name__}: {exc}") from exc
        except Exception as exc:  # a template can raise anything its expressions raise
            raise RenderError(f"{where}: {type(exc).__name__}: {exc}") from exc
        if part == "subject":
            value = " ".join(value.split())
        setattr(out, part, value.strip() if part != "html" else value)
    if channel == "email" and not (out.html or out.text):
        raise RenderError(f"template {template.id} has no email body")
    return out


def _bounded(chunks: Iterable[str], limit: int, where: str) -> str:
    """Join the output as it streams, stopping as soon as it passes the limit."""
    out: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise RenderTooLarge(f"{where}: output passed {limit:,} characters")
        out.append(chunk)
    return "".join(out)


class _Watchdog:
    """One thread for every render's deadline: past it, _Deadline is raised in the rendering thread.

    Jinja has no time limit of its own and a loop without output never yields, so the only way to
    stop it from outside is an asynchronous exception into the thread that renders. One shared
    thread (instead of a timer per render) keeps the cost of a render to two lock round trips.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._jobs: dict[int, tuple[float, int]] = {}  # job -> (deadline, thread id)
        self._next = 0
        self._waiting_until = float("inf")
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float) -> int:
        deadline = time.monotonic() + seconds
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="kaeri-render-watchdog", daemon=True)
                self._thread.start()
            self._next += 1
            self._jobs[self._next] = (deadline, threading.get_ident())
            if deadline < self._waiting_until:
                self._cond.notify()
            return self._next

    def disarm(self, job: int) -> None:
        with self._cond:
            self._jobs.pop(job, None)

    def _run(self) -> None:
        with self._cond:
            while True:
                if not self._jobs:
                    self._waiting_until = float("inf")
                    self._cond.wait()
                    continue
                job, (deadline, thread_id) = min(self._jobs.items(), key=lambda j: j[1][0])
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._waiting_until = deadline
                    self._cond.wait(delay)
                    continue
                del self._jobs[job]
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(thread_id), ctypes.py_object(_Deadline)
                )


_WATCHDOG = _Watchdog()


def _with_deadline(seconds: float, fn: Callable[[], _T]) -> _T:
    """Run fn in this thread; past the deadline the watchdog raises _Deadline inside it."""
    job = _WATCHDOG.arm(seconds)
    try:
        return fn()
    finally:
        _WATCHDOG.disarm(job)


# File format -----------------------------------------------------------------------------------


def _front_matter(lines: list[str], source: str) -> tuple[dict[str, Any], int]:
    """The YAML between the opening '---' lines, and the index of the closing one."""
    if not lines or lines[0].strip() != "---":
        raise TemplateCompileError(source, 1, "a template starts with YAML front matter between '---' lines")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise TemplateCompileError(source, 1, "front matter is not closed with '---'") from None
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise TemplateCompileError(source, (mark.line + 2) if mark else 2, f"front matter: {exc}") from exc
    if not isinstance(meta, dict):
        raise TemplateCompileError(source, 2, "front matter must be a mapping")
    if isinstance(meta.get("channels"), str):
        meta["channels"] = [meta["channels"]]
    return meta, end


def _sections(
    lines: list[str], end: int, source: str
) -> tuple[dict[str, dict[str, list[str]]], dict[str, int]]:
    """The '=== <locale> <part>' sections after the front matter, and the line each body starts on."""
    sections: dict[str, dict[str, list[str]]] = {}
    starts: dict[str, int] = {}
    current: list[str] | None = None
    for number, line in enumerate(lines[end + 1 :], start=end + 2):
        match = _SECTION.match(line)
        if match:
            locale, part = match.group(1).replace("_", "-"), match.group(2)
            if part not in PARTS:
                raise TemplateCompileError(
                    source, number, f"unknown part {part!r}; use one of {', '.join(PARTS)}"
                )
            current = sections.setdefault(locale, {}).setdefault(part, [])
            if current:
                raise TemplateCompileError(source, number, f"{locale} {part} appears twice")
            starts[f"{locale}.{part}"] = number + 1
            continue
        if current is None:
            if line.strip():
                raise TemplateCompileError(
                    source, number, "text before the first '=== <locale> <part>' section"
                )
            continue
        current.append(line)
    return sections, starts


def parse(text: str, source: str = "<template>") -> Template:
    """Parse and compile a template file; raises TemplateCompileError naming the file line."""
    lines = text.splitlines()
    meta, end = _front_matter(lines, source)
    sections, starts = _sections(lines, end, source)
    if not sections:
        raise TemplateCompileError(source, end + 2, "no body sections ('=== ja subject', '=== ja html', ...)")
    try:
        template = Template(
            id=meta.get("id", ""),
            channels=meta.get("channels") or [],
            description=meta.get("description"),
            locales={
                loc: LocaleBodies(**{p: "\n".join(b).strip("\n") for p, b in parts.items()})
                for loc, parts in sections.items()
            },
            lines=starts,
        )
    except ValidationError as exc:
        raise TemplateCompileError(
            source, 2, f"front matter: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}"
        ) from exc
    if not _ID.match(template.id):
        raise TemplateCompileError(
            source, 2, f"id {template.id!r} must be lower-case letters, digits and dashes"
        )
    if not template.channels:
        raise TemplateCompileError(source, 2, "channels must name at least one of email, line, sms")
    compile_check(template, source)
    return template


def compile_check(template: Template, source: str = "<template>") -> None:
    """Compile every body; a syntax error is reported with its line in the file."""
    for locale, bodies in template.locales.items():
        for part in PARTS:
            body = getattr(bodies, part)
            if body is None:
                continue
            env = _HTML_ENV if part == "html" else _TEXT_ENV
            try:
                env.compile(body)  # compiling (not just parsing) also refuses unknown filters and tests
            except TemplateSyntaxError as exc:
                base = template.lines.get(f"{locale}.{part}")
                line = (base + (exc.lineno or 1) - 1) if base else exc.lineno
                raise TemplateCompileError(source, line, f"{locale} {part}: {exc.message}") from exc
        for channel in template.channels:
            needed = {"email": ("subject",), "line": ("line",), "sms": ("sms",)}[channel]
            for part in needed:
                if getattr(bodies, part) is None:
                    raise TemplateCompileError(
                        source, None, f"locale {locale} lacks a {part} body for {channel}"
                    )
            if channel == "email" and not (bodies.html or bodies.text):
                raise TemplateCompileError(
                    source, None, f"locale {locale} lacks an html or text body for email"
                )


def load_file(path: Path) -> Template:
    return parse(path.read_text(encoding="utf-8"), str(path))


def template_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*.j2") if p.is_file())
    return [path]


_DEFAULTS: dict[str, Template] | None = None


def default_templates() -> dict[str, Template]:
    """The packaged templates for the built-in scenarios (version 0)."""
    global _DEFAULTS
    if _DEFAULTS is None:
        _DEFAULTS = {t.id: t for t in (load_file(p) for p in template_files(DEFAULTS_DIR))}
    return _DEFAULTS


def to_source(template: Template) -> str:
    """A template as the file `parse` reads (front matter, then one '=== locale part' section per body)."""
    meta: dict[str, Any] = {"id": template.id, "channels": list(template.channels)}
    if template.description:
        meta["description"] = template.description
    out = [
        "---",
        yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, default_flow_style=None).strip(),
        "---",
    ]
    for locale, bodies in template.locales.items():
        for part in PARTS:
            body = getattr(bodies, part)
            if body is not None:
                out.append(f"=== {locale} {part}")
                out.append(body)
    return "\n".join(out) + "\n"
