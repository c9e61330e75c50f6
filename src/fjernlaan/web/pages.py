"""The server-rendered pages: home, login/logout, and the directory list (the full UI comes later)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2_fragments.fastapi import Jinja2Blocks
from sqlalchemy.orm import Session

from fjernlaan.accounts.model import Principal
from fjernlaan.accounts.service import authenticate
from fjernlaan.directory import service as directory
from fjernlaan.errors import NotAuthenticated
from fjernlaan.web.csrf import CSRF_COOKIE, csrf_nonce, token_is_valid
from fjernlaan.web.csrf import csrf_token as make_csrf_token
from fjernlaan.web.deps import (
    SESSION_COOKIE,
    ReadOnlySessionDep,
    SessionDep,
    get_rate_limiter,
    get_settings,
    optional_principal,
    session_serializer,
)
from fjernlaan.web.i18n import pick_language, translate
from fjernlaan.web.passwords import PasswordGate
from fjernlaan.web.ratelimit import TooManyRequests
from fjernlaan.web.security import client_address, is_https

TEMPLATES = Jinja2Blocks(directory=str(Path(__file__).parent / "templates"))
LANG_COOKIE = "fjl_lang"
router = APIRouter(include_in_schema=False)
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def render(request: Request, template: str, principal: Principal | None, **context: Any) -> Response:
    """Render a page in the caller's language, with a CSRF token for its forms."""
    lang = pick_language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))
    nonce = csrf_nonce(request)
    token = make_csrf_token(request, nonce)
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
    response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict", secure=is_https(request))
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, samesite="lax", max_age=365 * 24 * 3600)
    return response


def check_csrf(request: Request, submitted: str) -> bool:
    """Whether the form's token is the caller's (see :mod:`fjernlaan.web.csrf`)."""
    return token_is_valid(request, submitted)


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


def _login_page(
    request: Request,
    status: int,
    error: str,
    next_url: str,
    username: str = "",
    retry_after: int | None = None,
) -> Response:
    page = render(request, "login.html", None, next_url=_safe_next(next_url), error=error, username=username)
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
    lang = pick_language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))
    if not check_csrf(request, csrf_token):
        return _login_page(request, 400, translate("csrf_failed", lang), next)
    username = username.strip()
    wait = _login_limited(request, username)
    if wait is not None:
        error = translate("too_many_logins", lang).format(seconds=wait)
        return _login_page(request, 429, error, next, username, retry_after=wait)
    gate: PasswordGate = request.app.state.password_gate
    try:
        principal = await gate.run(_authenticate_and_commit, session, username, password)
    except NotAuthenticated:
        settings = get_settings(request)
        get_rate_limiter(request).hit(settings.login_rate_limit_per_username, "login-user", username.lower())
        return _login_page(request, 401, translate("wrong_login", lang), next, username)
    except TooManyRequests as busy:
        error = translate("too_many_logins", lang).format(seconds=busy.retry_after)
        return _login_page(request, 429, error, next, username, retry_after=busy.retry_after)
    settings = get_settings(request)
    response = RedirectResponse(_safe_next(next), status_code=303)
    cookie = session_serializer(settings).dumps({"uid": principal.user_id})
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
