"""The page kit every screen is built on: one Jinja2 environment (with gettext), `render()`, CSRF, flash
messages, the role-dependent navigation and the table query.

It imports no area: an area hands it a principal-like object (`Viewer`) and its own templates folder.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape
from jinja2_fragments.fastapi import Jinja2Blocks

from fjernlaan.clock import COPENHAGEN
from fjernlaan.web import csrf, i18n
from fjernlaan.web.i18n import N_ as N_
from fjernlaan.web.security import is_https

CSRF_COOKIE = csrf.CSRF_COOKIE
CSRF_FIELD = csrf.CSRF_FIELD
CSRF_HEADER = csrf.CSRF_HEADER
LANG_COOKIE = "fjl_lang"
FLASH_COOKIE = "fjl_flash"
TEMPLATE_DIR = Path(__file__).parent / "templates"
FlashLevel = Literal["success", "info", "warning", "error"]

# Roles as the navigation knows them (the values of accounts' `Role`, plus patrons).
STAFF = "staff"
LIBRARY_ADMIN = "library_admin"
COORDINATOR = "coordinator"
NATIONAL_ADMIN = "national_admin"
PATRON = "patron"
STAFF_ROLES = frozenset({STAFF, LIBRARY_ADMIN, COORDINATOR, NATIONAL_ADMIN})
ALL_ROLES = STAFF_ROLES | {PATRON}


class Viewer(Protocol):
    """Who looks at the page: the accounts area's `Principal`, or a patron."""

    @property
    def username(self) -> str: ...

    @property
    def library_isil(self) -> str | None: ...


def role_of(viewer: Viewer | None) -> str | None:
    """The viewer's role name (`staff`, …, `patron`); None when nobody is logged in."""
    if viewer is None:
        return None
    role = getattr(viewer, "role", PATRON)
    return str(getattr(role, "value", role))


# --- language -------------------------------------------------------------------------------------

_LANGUAGE: ContextVar[str] = ContextVar("fjernlaan_page_language", default=i18n.DEFAULT_LANGUAGE)


def request_language(request: Request) -> str:
    """The page's language: `?lang=`, then the cookie, then Accept-Language, then Danish."""
    return i18n.pick_language(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )


def _gettext(message: str) -> str:
    return i18n.gettext(message, _LANGUAGE.get())


def _ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.ngettext(singular, plural, n, _LANGUAGE.get())


@contextmanager
def language(lang: str) -> Iterator[None]:
    """Render templates in `lang` inside the block (render() does this for you)."""
    token = _LANGUAGE.set(lang)
    try:
        yield
    finally:
        _LANGUAGE.reset(token)


# --- templates ------------------------------------------------------------------------------------

_area_loaders: dict[str, FileSystemLoader] = {}
_loader = ChoiceLoader([FileSystemLoader(str(TEMPLATE_DIR)), PrefixLoader(_area_loaders)])
_environment = Environment(
    loader=_loader,
    autoescape=select_autoescape(["html", "xml"], default_for_string=True),
    extensions=["jinja2.ext.i18n"],
)
# Newstyle gettext: `_("Hello %(name)s", name=x)` escapes `x` and formats; the language is the page's.
_environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
TEMPLATES = Jinja2Blocks(env=_environment)


def local_time(moment: datetime, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A stored moment (UTC) as the wall-clock time in Copenhagen, where the desk reads it; a naive
    moment is taken as UTC (the database's convention). Templates: ``{{ event.at | local_time }}``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(COPENHAGEN).strftime(pattern)


_environment.filters["local_time"] = local_time


def add_template_dir(prefix: str, folder: Path) -> None:
    """Let an area keep its templates in its own folder: `add_template_dir("lending", here / "templates")`
    makes `lending/queue.html` load `here/templates/queue.html`."""
    _area_loaders[prefix] = FileSystemLoader(str(folder))


# --- navigation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NavItem:
    """One entry of the main menu: `label` is an English msgid (translated when shown)."""

    label: str
    href: str
    roles: frozenset[str]
    order: int = 100


_NAV: list[NavItem] = []


def add_nav_item(label: str, href: str, roles: frozenset[str] | set[str], order: int = 100) -> None:
    """Add a main-menu entry shown to the given roles (`STAFF_ROLES`, `{PATRON}`, …); entries are sorted
    by `order`, then label. Adding the same href twice replaces the first."""
    global _NAV
    item = NavItem(label, href, frozenset(roles), order)
    _NAV = sorted([i for i in _NAV if i.href != href] + [item], key=lambda i: (i.order, i.label))


def nav_items(viewer: Viewer | None) -> list[NavItem]:
    """The menu entries for the viewer's role (none for an anonymous visitor)."""
    role = role_of(viewer)
    return [item for item in _NAV if role in item.roles]


def _current_nav(path: str, items: list[NavItem]) -> str | None:
    # The longest href that prefixes the path is the current entry ("/staff/queues" → "/staff").
    best: str | None = None
    for item in items:
        matches = path == item.href or path.startswith(item.href.rstrip("/") + "/")
        if matches and (best is None or len(item.href) > len(best)):
            best = item.href
    return best


# --- CSRF -----------------------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """The caller's CSRF token: an HMAC of the session cookie (before login, of the random nonce in
    the `fjl_csrf` cookie that render() sets), see :mod:`fjernlaan.web.csrf`."""
    token: str | None = getattr(request.state, "csrf_token", None)
    if token is None:
        nonce = csrf.csrf_nonce(request)
        request.state.csrf_nonce = nonce
        token = csrf.csrf_token(request, nonce)
        request.state.csrf_token = token
    return token


def check_csrf(request: Request, submitted: str | None = None) -> bool:
    """Whether the form's `csrf_token` (or htmx's `X-CSRF-Token` header) is the caller's token."""
    return csrf.token_is_valid(request, submitted or request.headers.get(CSRF_HEADER))


# --- flash messages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flash:
    """A message shown once on the next page (a DKFDS alert)."""

    level: FlashLevel
    text: str


def flash(response: Response, text: str, level: FlashLevel = "success") -> None:
    """Show `text` (already translated) on the next page the browser renders (post/redirect/get)."""
    data = base64.urlsafe_b64encode(json.dumps([[level, text]]).encode()).decode()
    response.set_cookie(FLASH_COOKIE, data, httponly=True, samesite="lax")


def _take_flashes(request: Request) -> list[Flash]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        items = json.loads(base64.urlsafe_b64decode(raw.encode()))
        return [
            Flash(level, str(text))
            for level, text in items
            if level in ("success", "info", "warning", "error")
        ]
    except (ValueError, TypeError):
        return []


# --- tables ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A table column: `label` is an English msgid; `filter` is None, "text" or "select" (`choices` are
    (value, label msgid) pairs)."""

    key: str
    label: str
    sortable: bool = True
    filter: Literal["text", "select"] | None = None
    choices: tuple[tuple[str, str], ...] = ()
    numeric: bool = False


@dataclass(frozen=True)
class TableQuery:
    """Sorting, filters and paging of one table, read from the query string
    (`?sort=key&dir=desc&page=2&per_page=25&f_<key>=value`); only known columns are accepted."""

    sort: str | None = None
    descending: bool = False
    page: int = 1
    per_page: int = 25
    filters: Mapping[str, str] = field(default_factory=dict)

    @property
    def offset(self) -> int:
        """Rows to skip for this page."""
        return (self.page - 1) * self.per_page

    @property
    def limit(self) -> int:
        """Rows on a page."""
        return self.per_page

    @classmethod
    def from_request(
        cls,
        request: Request,
        columns: list[Column],
        *,
        default_sort: str | None = None,
        default_descending: bool = False,
        per_page: int = 25,
        max_per_page: int = 100,
    ) -> TableQuery:
        """The table's state from the request; anything unknown or malformed falls back to the default."""
        params = request.query_params
        sortable = {c.key for c in columns if c.sortable}
        sort = params.get("sort")
        if sort not in sortable:
            sort, descending = default_sort, default_descending
        else:
            descending = params.get("dir") == "desc"
        filters = {}
        for column in columns:
            value = (params.get(f"f_{column.key}") or "").strip()
            if column.filter and value:
                if column.filter == "select" and value not in {v for v, _ in column.choices}:
                    continue
                filters[column.key] = value
        return cls(
            sort=sort,
            descending=descending,
            page=max(_int(params.get("page"), 1), 1),
            per_page=min(max(_int(params.get("per_page"), per_page), 1), max_per_page),
            filters=filters,
        )


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


@dataclass(frozen=True)
class Table:
    """What the `data_table` macro draws: the columns, this page's rows, the total and the query."""

    columns: list[Column]
    rows: list[Any]
    total: int
    query: TableQuery
    id: str = "table"

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max((self.total + self.query.per_page - 1) // self.query.per_page, 1)


def url_with(request: Request, **changes: str | int | None) -> str:
    """The current path and query with some parameters changed (None removes one)."""
    params: dict[str, str] = dict(request.query_params)
    params.pop("lang", None)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


# --- render ---------------------------------------------------------------------------------------


def is_htmx(request: Request) -> bool:
    """True when htmx sent the request (it then wants a fragment, not a page)."""
    return request.headers.get("HX-Request") == "true"


def render(
    request: Request,
    template: str,
    principal: Viewer | None = None,
    *,
    block_name: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """Render `template` in the page's language with everything the base layout needs.

    `block_name` renders one `{% block %}` of the template only (jinja2-fragments), for htmx partials.
    The template sees `lang`, `principal`, `role`, `nav`, `current_nav`, `csrf_token`, `flashes`,
    `request`, `url_with`, `_`/`gettext`/`ngettext` and, for old templates, `t("key")`.
    """
    lang = request_language(request)
    token = csrf_token(request)
    items = nav_items(principal)
    flashes = _take_flashes(request)
    page_context: dict[str, Any] = {
        "lang": lang,
        "languages": i18n.LANGUAGES,
        "t": lambda key: i18n.translate(key, lang),
        "principal": principal,
        "role": role_of(principal),
        "nav": items,
        "current_nav": _current_nav(request.url.path, items),
        "csrf_token": token,
        "csrf_header": CSRF_HEADER,
        "flashes": flashes,
        "url_with": lambda **changes: url_with(request, **changes),
        **context,
    }
    with language(lang):
        response = TEMPLATES.TemplateResponse(
            request, template, page_context, status_code=status_code, block_name=block_name
        )
    response.headers["Content-Language"] = lang
    # The page differs by these; a shared cache must not hand one user's language to another.
    response.headers["Vary"] = "Cookie, Accept-Language, HX-Request"
    response.set_cookie(
        CSRF_COOKIE, request.state.csrf_nonce, httponly=True, samesite="strict", secure=is_https(request)
    )
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, samesite="lax", max_age=365 * 24 * 3600)
    if flashes:
        response.delete_cookie(FLASH_COOKIE)
    return response
