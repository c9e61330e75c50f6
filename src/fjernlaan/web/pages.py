"""The server-rendered pages: home, login/logout, and the directory list (the full UI comes later)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature
from sqlalchemy.orm import Session

from fjernlaan.accounts.model import Actor, Principal
from fjernlaan.accounts.service import audit, authenticate, end_session, start_session
from fjernlaan.directory import service as directory
from fjernlaan.errors import NotAuthenticated
from fjernlaan.web.deps import (
    SESSION_COOKIE,
    SessionDep,
    client_ip,
    get_clock,
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
    now = get_clock(request).now()
    ip = client_ip(request)
    try:
        principal = authenticate(session, username.strip(), password)
    except NotAuthenticated:
        session.rollback()
        # Who tried is kept as typed (cut short): a failed login names no account for sure.
        audit(session, Actor(username=username.strip()[:64], ip=ip), "login_failed", now, via="POST /login")
        session.commit()
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
    settings = get_settings(request)
    session_id = start_session(
        session,
        principal,
        now,
        settings.session_max_age_seconds,
        ip=ip,
        user_agent=request.headers.get("user-agent"),
    )
    audit(session, Actor.of(principal, ip), "login", now, via="POST /login")
    session.commit()
    landing = _safe_next(next)
    if landing == "/":
        landing = PATRON_HOME if role_of(principal) == PATRON else STAFF_HOME
    response = RedirectResponse(landing, status_code=303)
    cookie = session_serializer(settings).dumps({"sid": session_id})
    response.set_cookie(
        SESSION_COOKIE, cookie, httponly=True, samesite="lax", max_age=settings.session_max_age_seconds
    )
    return response


@router.post("/logout")
def logout(
    request: Request, session: SessionDep, csrf_token: Annotated[str, Form()] = ""
) -> RedirectResponse:
    response = RedirectResponse("/", status_code=303)
    if check_csrf(request, csrf_token):
        _end_login_session(request, session)
        response.delete_cookie(SESSION_COOKIE)
    return response


def _end_login_session(request: Request, session: Session) -> None:
    # Logout ends the session on the server: a copy of the cookie kept elsewhere stops working too.
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return
    settings = get_settings(request)
    try:
        data = session_serializer(settings).loads(cookie, max_age=settings.session_max_age_seconds)
    except BadSignature:
        return
    if not isinstance(data, dict) or not isinstance(data.get("sid"), str):
        return
    now = get_clock(request).now()
    principal = end_session(session, data["sid"], now)
    if principal is not None:
        audit(session, Actor.of(principal, client_ip(request)), "logout", now, via="POST /logout")
    session.commit()


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
