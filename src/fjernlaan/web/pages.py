"""The server-rendered pages: home, login/logout, and the directory list (the full UI comes later)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fjernlaan.accounts.model import Principal
from fjernlaan.accounts.service import authenticate
from fjernlaan.directory import service as directory
from fjernlaan.errors import NotAuthenticated
from fjernlaan.web.deps import (
    SESSION_COOKIE,
    SessionDep,
    get_settings,
    optional_principal,
    session_serializer,
)
from fjernlaan.web.i18n import gettext
from fjernlaan.web.kit import (
    LANG_COOKIE,
    PATRON,
    STAFF_ROLES,
    Column,
    Table,
    TableQuery,
    add_nav_item,
    check_csrf,
    nav_items,
    render,
    request_language,
    role_of,
)
from fjernlaan.web.kit import N_ as N_

__all__ = ["LANG_COOKIE", "OptionalPrincipal", "check_csrf", "render", "router"]

router = APIRouter(include_in_schema=False)
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
STAFF_HOME = "/staff"
PATRON_HOME = "/patron"

add_nav_item(N_("Work"), STAFF_HOME, STAFF_ROLES, order=10)
add_nav_item(N_("Libraries"), "/libraries", STAFF_ROLES, order=60)
add_nav_item(N_("Networks and forums"), "/network", STAFF_ROLES, order=70)

_PAGE_COLUMNS = [Column("label", N_("Page")), Column("href", N_("Address"))]


def _safe_next(value: str) -> str:
    # Only same-site paths: never redirect to another host after login.
    parsed = urlparse(value)
    if parsed.scheme or parsed.netloc or not value.startswith("/"):
        return "/"
    return value


@router.get("/", response_class=HTMLResponse)
def home(request: Request, principal: OptionalPrincipal) -> Response:
    return render(request, "index.html", principal)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, principal: OptionalPrincipal, next: str = "/") -> Response:
    return render(request, "login.html", principal, next_url=_safe_next(next), error=None, username="")


@router.post("/login", response_class=HTMLResponse, response_model=None)
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    lang = request_language(request)
    if not check_csrf(request, csrf_token):
        page = render(
            request,
            "login.html",
            None,
            next_url=_safe_next(next),
            error=gettext("The form has expired. Please try again.", lang),
        )
        page.status_code = 400
        return page
    try:
        principal = authenticate(session, username.strip(), password)
    except NotAuthenticated:
        page = render(
            request,
            "login.html",
            None,
            next_url=_safe_next(next),
            error=gettext("Wrong username or password.", lang),
            username=username,
        )
        page.status_code = 401
        return page
    session.commit()
    settings = get_settings(request)
    landing = _safe_next(next)
    if landing == "/":
        landing = PATRON_HOME if role_of(principal) == PATRON else STAFF_HOME
    response = RedirectResponse(landing, status_code=303)
    cookie = session_serializer(settings).dumps({"uid": principal.user_id})
    response.set_cookie(
        SESSION_COOKIE, cookie, httponly=True, samesite="lax", max_age=settings.session_max_age_seconds
    )
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> RedirectResponse:
    response = RedirectResponse("/", status_code=303)
    if check_csrf(request, csrf_token):
        response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/libraries", response_class=HTMLResponse, response_model=None)
def libraries_page(request: Request, session: SessionDep, principal: OptionalPrincipal) -> Response:
    if principal is None:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    items, total = directory.list_libraries(session, limit=1000)
    return render(request, "libraries.html", principal, libraries=items, total=total)


def _kit_demo(request: Request, principal: Principal) -> Table:
    items = nav_items(principal)
    query = TableQuery.from_request(request, _PAGE_COLUMNS, default_sort="label", per_page=10)
    key = query.sort or "label"
    rows = sorted(items, key=lambda item: str(getattr(item, key)), reverse=query.descending)
    return Table(_PAGE_COLUMNS, rows[query.offset : query.offset + query.limit], len(rows), query, "pages")


@router.get(STAFF_HOME, response_class=HTMLResponse, response_model=None)
def staff_home(request: Request, principal: OptionalPrincipal) -> Response:
    """Where staff land after logging in (the dashboard grows here)."""
    if principal is None:
        return RedirectResponse(f"/login?next={STAFF_HOME}", status_code=303)
    return render(request, "staff.html", principal, table=_kit_demo(request, principal))
