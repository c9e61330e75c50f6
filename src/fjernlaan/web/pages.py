"""The server-rendered pages: home, login/logout, and the directory list (the full UI comes later)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2_fragments.fastapi import Jinja2Blocks

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
    try:
        principal = authenticate(session, username.strip(), password)
    except NotAuthenticated:
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
    session.commit()
    settings = get_settings(request)
    response = RedirectResponse(_safe_next(next), status_code=303)
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
