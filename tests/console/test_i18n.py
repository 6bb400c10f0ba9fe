"""Every console message has both languages, and every key a template uses exists."""

from __future__ import annotations

import re
from importlib import resources

from kaeri.console.i18n import LANGUAGES, MESSAGES, translator


def test_every_message_has_japanese_and_english():
    missing = [(key, lang) for key, texts in MESSAGES.items() for lang in LANGUAGES if not texts.get(lang)]
    assert not missing


def test_every_key_the_templates_use_is_in_the_catalog():
    used: set[str] = set()
    for template in resources.files("kaeri.console").joinpath("templates").iterdir():
        used |= set(re.findall(r't\("([a-z_]+\.[a-z_]+)"', template.read_text(encoding="utf-8")))
    assert used and not used - set(MESSAGES)


def test_unknown_languages_fall_back_to_japanese():
    assert translator("fr")("nav.report") == "レポート"
    assert translator("en")("nav.report") == "Report"
