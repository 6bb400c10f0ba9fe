"""Template file format, compile errors with line numbers, sandboxing and autoescape."""

from __future__ import annotations

import pytest

from kaeri.delivery.templates_engine import (
    RenderError,
    TemplateCompileError,
    default_templates,
    parse,
    render,
)

GOOD = """---
id: t-1
channels: [email, line]
---
=== en subject
Hi {{ customer.first_name }}
=== en html
<p>{{ customer.first_name }}</p>
=== en text
Hi {{ customer.first_name }}
=== en line
Hi {{ customer.first_name }}
"""


def test_html_is_autoescaped_text_is_not():
    template = parse(GOOD)
    out = render(template, "email", {"customer": {"first_name": "<b>Ann</b>"}})
    assert out.html == "<p>&lt;b&gt;Ann&lt;/b&gt;</p>"
    assert out.text == "Hi <b>Ann</b>"


def test_compile_error_names_the_file_line():
    broken = GOOD.replace("<p>{{ customer.first_name }}</p>", "<p>\n{% for x in %}</p>")
    with pytest.raises(TemplateCompileError) as info:
        parse(broken, "shop/t-1.j2")
    assert info.value.line == 9  # the '{% for x in %}' line of the file
    assert "shop/t-1.j2:9" in str(info.value)


def test_missing_body_for_a_channel_is_refused():
    with pytest.raises(TemplateCompileError, match="line body"):
        parse(GOOD.replace("=== en line\nHi {{ customer.first_name }}\n", ""))


@pytest.mark.parametrize(
    "expression",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ customer.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
    ],
)
def test_sandbox_escapes_fail_at_render(expression):
    template = parse(GOOD.replace("Hi {{ customer.first_name }}\n=== en html", f"{expression}\n=== en html"))
    with pytest.raises(RenderError):
        render(template, "email", {"customer": {"first_name": "A"}})


def test_defaults_cover_both_locales_and_compile():
    templates = default_templates()
    assert "cart-abandonment-1" in templates
    for template in templates.values():
        assert {"ja", "en"} <= set(template.locales), template.id
