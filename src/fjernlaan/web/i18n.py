"""The UI's two languages, Danish (default) and English, from one gettext catalogue.

The catalogue lives in `web/locale/`: `messages.pot` (extracted with Babel from the templates and the
Python code) and `da` / `en` `LC_MESSAGES/messages.po`. The msgids are English source strings. The `.po`
files are read with Babel once, the first time a language is asked for, and compiled in memory: there is
no `.mo` build step and no compiled file that can fall behind its `.po`.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("da", "en")
DEFAULT_LANGUAGE = "da"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


def N_(message: str) -> str:  # noqa: N802 (gettext convention: pybabel extracts N_)
    """Mark a string for the catalogue (`pybabel extract` finds it) without translating it now."""
    return message


# The keys the pages used before the catalogue, mapped to their msgid, so a template or route written
# against the old `t("key")` / `translate(key, lang)` still renders while it moves to `_()`.
LEGACY_KEYS: dict[str, str] = {
    "app_name": N_("fjernlaan ILL hub"),
    "tagline": N_("Interlibrary-loan hub of the libraries' lending cooperation"),
    "login": N_("Log in"),
    "logout": N_("Log out"),
    "username": N_("Username"),
    "password": N_("Password"),
    "wrong_login": N_("Wrong username or password."),
    "csrf_failed": N_("The form has expired. Please try again."),
    "welcome": N_("Welcome"),
    "libraries": N_("Libraries"),
    "api_docs": N_("API documentation"),
    "language": N_("Language"),
    "role": N_("Role"),
    "library": N_("Library"),
    "type": N_("Type"),
    "region": N_("Region"),
    "name": N_("Name"),
    "logged_in_as": N_("Logged in as"),
    "network": N_("Networks and forums"),
    "my_bodies": N_("My bodies"),
    "all_bodies": N_("All bodies"),
    "coordinated_bodies": N_("Bodies I coordinate"),
    "upcoming_meetings": N_("Upcoming meetings"),
    "meetings": N_("Meetings"),
    "meeting": N_("Meeting"),
    "members": N_("Members"),
    "waiting_list": N_("Waiting list"),
    "minutes": N_("Minutes"),
    "minutes_one": N_("Minutes of the meeting"),
    "kind_network": N_("network"),
    "kind_forum": N_("forum"),
    "kind_working_group": N_("working group"),
    "status": N_("Status"),
    "status_active": N_("active"),
    "status_waiting": N_("waiting"),
    "status_withdrawn": N_("withdrawn"),
    "status_resigned": N_("resigned"),
    "organisation": N_("Library/organisation"),
    "email": N_("E-mail"),
    "joined": N_("Joined"),
    "applied": N_("Applied"),
    "capacity": N_("Seats"),
    "absence_limit": N_("Withdrawn after missed meetings in a row"),
    "mandate": N_("Mandate"),
    "apply": N_("Admit or put on waiting list"),
    "add_applicant": N_("New applicant"),
    "resign": N_("Resign"),
    "withdraw": N_("Withdraw"),
    "why": N_("Reason"),
    "role_in_body": N_("Role in the body"),
    "sessions": N_("Time and place"),
    "agenda": N_("Agenda"),
    "attendance": N_("Attendance"),
    "mark_present": N_("present"),
    "mark_absent": N_("absent"),
    "mark_absent_with_agreement": N_("absent with agreement"),
    "save_attendance": N_("Save attendance"),
    "close_attendance": N_("Close attendance"),
    "attendance_closed": N_("Attendance is closed."),
    "send_invitations": N_("Send invitations"),
    "write_minutes": N_("Write minutes"),
    "save": N_("Save"),
    "publish": N_("Publish and send to the members"),
    "published": N_("Published"),
    "draft": N_("Draft"),
    "decisions": N_("Decisions"),
    "add_decision": N_("Add decision"),
    "action_items": N_("Action items"),
    "add_action_item": N_("Add action item"),
    "owner": N_("Owner"),
    "due": N_("Due"),
    "working_group": N_("Working group"),
    "working_group_organisations": N_("Organisations (one per line)"),
    "tasks": N_("Tasks"),
    "calendar_feed": N_("Calendar (.ics)"),
    "my_calendar_feed": N_("My meeting calendar (.ics)"),
    "atom_feed": N_("Minutes feed (Atom)"),
    "not_a_member": N_("You are not registered as a member of any body."),
    "no_minutes": N_("No minutes yet."),
    "none": N_("None."),
    "title": N_("Title"),
    "date": N_("Date"),
    "done": N_("Done."),
    "text": N_("Text"),
}


def po_path(lang: str) -> Path:
    """The `.po` file of a language."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: str) -> Translations:
    """The compiled catalogue of a language (Danish for an unknown language)."""
    if lang not in LANGUAGES:
        lang = DEFAULT_LANGUAGE
    with po_path(lang).open("rb") as source:
        catalog = read_po(source, locale=lang, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def gettext(message: str, lang: str) -> str:
    """`message` (an English msgid) in the language; the msgid itself when it is not translated."""
    return translations(lang).gettext(message)


def ngettext(singular: str, plural: str, n: int, lang: str) -> str:
    """The singular or plural form for `n` in the language."""
    return translations(lang).ngettext(singular, plural, n)


def translate(key: str, lang: str) -> str:
    """A message by its old key (see `LEGACY_KEYS`); an unknown key is taken as a msgid."""
    return gettext(LEGACY_KEYS.get(key, key), lang)


def _accepted(header: str | None) -> list[str]:
    """The languages of an Accept-Language header, most wanted first."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            ranked.append((-quality, position, tag.split("-")[0].lower()))
    return [tag for quality, _, tag in sorted(ranked) if quality < 0]


def pick_language(
    query: str | None, cookie: str | None, accept_language: str | None = None, default: str = DEFAULT_LANGUAGE
) -> str:
    """The language asked for in `?lang=`, then the cookie, then the browser's Accept-Language, then
    the default (Danish)."""
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    for candidate in _accepted(accept_language):
        if candidate in LANGUAGES:
            return candidate
    return default
