"""The English catalogue is complete and its compiled .mo matches the .po in the repository
(Chinese is the source language, so a missing English string shows Chinese to English users)."""

import gettext
import re
from pathlib import Path

from django.conf import settings

PO = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"


def test_every_string_has_an_english_translation():
    blocks = PO.read_text(encoding="utf-8").split("\n\n")[1:]  # the first is the header
    fuzzy = [b for b in blocks if "#, fuzzy" in b]
    untranslated = [
        b
        for b in blocks
        if not re.search(r'"[^"\n]+"', b[b.index("msgstr") :])  # every msgstr empty
    ]
    assert not fuzzy, fuzzy[:3]
    assert not untranslated, untranslated[:3]


def test_compiled_catalogue_matches_the_source():
    with (PO.with_suffix(".mo")).open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    text = PO.read_text(encoding="utf-8")
    assert compiled.gettext("工作人员登录") == "Staff sign-in"
    entries = re.findall(r'^(?:msgctxt "(.*)"\n)?msgid "(.+)"$', text, re.M)
    stale = [
        m
        for context, m in entries
        if (compiled.pgettext(context, m) if context else compiled.gettext(m.replace('\\"', '"')))
        == m
    ]
    assert not stale, f"run `make messages`: {stale[:5]}"
