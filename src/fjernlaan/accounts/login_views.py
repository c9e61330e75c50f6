"""The home page and logging in and out with a username and password (the staff's way in; patrons log
in with card and PIN in `patron_views`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from fjernlaan.accounts.model import Actor, Principal
from fjernlaan.accounts.service import audit, authenticate, end_session, start_session
from fjernlaan.db.uow import Database
from fjernlaan.errors import NotAuthenticated
from fjernlaan.web.deps import (
    SESSION_COOKIE,
    OptionalPrincipal,
    ReadOnlySessionDep,
    SessionDep,
    client_ip,
    get_clock,
    get_db,
    get_rate_limiter,
    get_settings,
    session_serializer,
)
from fjernlaan.web.i18n import gettext
from fjernlaan.web.kit import N_ as N_
from fjernlaan.web.kit import (
    PATRON,
    STAFF_ROLES,
    add_nav_item,
    check_csrf,
    render,
    request_language,
    role_of,
)
from fjernlaan.web.passwords import PasswordGate
from fjernlaan.web.ratelimit import TooManyRequests
from fjernlaan.web.security import client_address, is_https

router = APIRouter(include_in_schema=False)
STAFF_HOME = "/staff"  # where a login lands: the staff's work page
PATRON_HOME = "/patron"

add_nav_item(N_("Work"), STAFF_HOME, STAFF_ROLES, order=10)


def _safe_next(value: str) -> str:
    # Only same-site paths: never redirect to another host after login.
    parsed = urlparse(value)
    if parsed.scheme or parsed.netloc or not value.startswith("/"):
        return "/"
    return value


@router.get("/", response_class=HTMLResponse)
def home(request: Request, principal: OptionalPrincipal) -> Response:
    return render(request, "accounts/index.html", principal)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, principal: OptionalPrincipal, next: str = "/") -> Response:
    return render(
        request, "accounts/login.html", principal, next_url=_safe_next(next), error=None, username=""
    )


def _login_page(
    request: Request,
    status: int,
    error: str,
    next_url: str,
    username: str = "",
    retry_after: int | None = None,
) -> Response:
    page = render(
        request, "accounts/login.html", None, next_url=_safe_next(next_url), error=error, username=username
    )
    page.status_code = status
    if retry_after is not None:
        page.headers["Retry-After"] = str(retry_after)
    return page


def _login_limited(request: Request, username: str) -> int | None:
    """Seconds to wait when this address or this username has tried too often, else None.

    Every attempt counts against the address; only failed ones against the username (counted in
    :func:`login`), so nobody can lock a user out faster than by guessing their password.
    """
    settings = get_settings(request)
    limiter = get_rate_limiter(request)
    wait = limiter.hit(settings.login_rate_limit_per_address, "login-address", client_address(request))
    if wait is None:
        wait = limiter.check(settings.login_rate_limit_per_username, "login-user", username.lower())
    return wait


def _authenticate_and_commit(session: Session, username: str, password: str) -> Principal:
    principal = authenticate(session, username, password)
    session.commit()
    return principal


def _record_failed_login(db: Database, username: str, ip: str | None, now: datetime) -> None:
    with db.unit_of_work() as session:
        # Who tried is kept as typed (cut short): a failed login names no account for sure.
        audit(session, Actor(username=username[:64], ip=ip), "login_failed", now, via="POST /login")


def _open_session(
    db: Database, principal: Principal, now: datetime, max_age: int, ip: str | None, user_agent: str | None
) -> str:
    with db.unit_of_work() as session:
        session_id = start_session(session, principal, now, max_age, ip=ip, user_agent=user_agent)
        audit(session, Actor.of(principal, ip), "login", now, via="POST /login")
        return session_id


def _too_many(lang: str, seconds: int) -> str:
    return gettext("Too many login attempts. Try again in %(seconds)s seconds.", lang) % {"seconds": seconds}


@router.post("/login", response_class=HTMLResponse, response_model=None)
async def login(
    request: Request,
    session: ReadOnlySessionDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password on the password threads (:mod:`fjernlaan.web.passwords`), never the request
    thread pool, after the rate limits per address and per username.

    The session only reads (a rehash after a parameter change writes): on SQLite a login must not
    hold the write lock while argon2 runs, or every writer would queue behind a login flood.
    """
    lang = request_language(request)
    if not check_csrf(request, csrf_token):
        return _login_page(request, 400, gettext("The form has expired. Please try again.", lang), next)
    username = username.strip()
    wait = _login_limited(request, username)
    if wait is not None:
        return _login_page(request, 429, _too_many(lang, wait), next, username, retry_after=wait)
    now = get_clock(request).now()
    ip = client_ip(request)
    db = get_db(request)
    gate: PasswordGate = request.app.state.password_gate
    try:
        principal = await gate.run(_authenticate_and_commit, session, username, password)
    except NotAuthenticated:
        settings = get_settings(request)
        get_rate_limiter(request).hit(settings.login_rate_limit_per_username, "login-user", username.lower())
        await run_in_threadpool(_record_failed_login, db, username, ip, now)
        return _login_page(request, 401, gettext("Wrong username or password.", lang), next, username)
    except TooManyRequests as busy:
        return _login_page(
            request, 429, _too_many(lang, busy.retry_after), next, username, retry_after=busy.retry_after
        )
    settings = get_settings(request)
    # The writes go in a unit of work of their own: the login's session only read (see above).
    session_id = await run_in_threadpool(
        _open_session,
        db,
        principal,
        now,
        settings.session_max_age_seconds,
        ip,
        request.headers.get("user-agent"),
    )
    landing = _safe_next(next)
    if landing == "/":
        landing = PATRON_HOME if role_of(principal) == PATRON else STAFF_HOME
    response = RedirectResponse(landing, status_code=303)
    cookie = session_serializer(settings).dumps({"sid": session_id})
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        max_age=settings.session_max_age_seconds,
        secure=is_https(request),
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
