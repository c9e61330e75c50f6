"""The one gettext catalogue: every string the templates and code mark exists in Danish and English, and
the language is picked from ?lang=, the cookie, Accept-Language, then Danish."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from fjernlaan.web import i18n

SRC = Path(i18n.__file__).resolve().parents[1]
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def _used_msgids() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(SRC), METHODS, OPTIONS, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _catalogue(lang: str) -> dict[str, object]:
    with i18n.po_path(lang).open("rb") as source:
        return {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in read_po(source) if m.id}


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_msgid_the_templates_and_code_use_is_translated(lang: str) -> None:
    used = _used_msgids()
    assert "Log in" in used and "Choose language" in used  # the extraction sees templates and macros
    catalogue = _catalogue(lang)
    missing = sorted(m for m in used if not catalogue.get(m))
    assert not missing, f"not in {lang}.po (run the commands in docs/i18n.md): {missing}"


def test_every_old_t_key_in_a_template_has_a_msgid() -> None:
    keys = set()
    for template in SRC.rglob("templates/**/*.html"):
        keys.update(re.findall(r"""\bt\(["']([a-z_]+)["']\)""", template.read_text()))
    assert keys and keys <= set(i18n.LEGACY_KEYS), sorted(keys - set(i18n.LEGACY_KEYS))


def test_danish_is_the_default_and_survives_with_its_letters() -> None:
    assert i18n.gettext("Log in", "da") == "Log ind"
    assert i18n.gettext("Log in", "en") == "Log in"
    assert i18n.translate("absence_limit", "da") == "Udmeldes efter fravær fra møder i træk"
    assert i18n.gettext("Log in", "xx") == "Log ind"
    assert i18n.ngettext("%(num)d row", "%(num)d rows", 2, "da") == "%(num)d rækker"


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "expected"),
    [
        ("en", "da", "da", "en"),
        (None, "en", "da", "en"),
        ("fr", None, "en-GB,en;q=0.9", "en"),
        (None, None, "fr-FR, en;q=0.5, da;q=0.8", "da"),
        (None, None, "fr-FR", "da"),
        (None, None, None, "da"),
        (None, None, "en;q=0", "da"),
    ],
)
def test_the_language_comes_from_query_then_cookie_then_browser_then_danish(
    query: str | None, cookie: str | None, accept: str | None, expected: str
) -> None:
    assert i18n.pick_language(query, cookie, accept) == expected
