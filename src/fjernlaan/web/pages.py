"""The server-rendered pages: home, login/logout, and the directory list (the full UI comes later)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature
from jinja2_fragments.fastapi import Jinja2Blocks
from sqlalchemy.orm import Session

from fjernlaan.accounts.model import Actor, Principal
from fjernlaan.accounts.service import audit, authenticate, end_session, start_session
from fjernlaan.db.base import utcnow
from fjernlaan.directory import service as directory
from fjernlaan.errors import NotAuthenticated
from fjernlaan.web.deps import (
    SESSION_COOKIE,
    SessionDep,
    client_ip,
    get_settings,
    optional_principal,
    session_serializer,
)
from fjernlaan.web.i18n import pick_language, translate

TEMPLATES = Jinja2Blocks(directory=str(Path(__file__).parent / "templates"))
CSRF_COOKIE = "fjl_csrf"
LANG_COOKIE = "fjl_lang"
router = APIRouter(include_in_schema=False)
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def _csrf_token(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)


def render(request: Request, template: str, principal: Principal | None, **context: Any) -> Response:
    """Render a page in the caller's language, with a CSRF token for its forms."""
    lang = pick_language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))
    token = _csrf_token(request)
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "lang": lang,
            "t": lambda key: translate(key, lang),
            "principal": principal,
            "csrf_token": token,
            **context,
        },
    )
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict")
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, samesite="lax", max_age=365 * 24 * 3600)
    return response


def check_csrf(request: Request, submitted: str) -> bool:
    """Double-submit check: the form's token must equal the cookie's."""
    cookie = request.cookies.get(CSRF_COOKIE)
    return bool(cookie) and secrets.compare_digest(cookie or "", submitted)


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
    lang = pick_language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))
    if not check_csrf(request, csrf_token):
        page = render(
            request, "login.html", None, next_url=_safe_next(next), error=translate("csrf_failed", lang)
        )
        page.status_code = 400
        return page
    now = utcnow()
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
            error=translate("wrong_login", lang),
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
    response = RedirectResponse(_safe_next(next), status_code=303)
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
    now = utcnow()
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
