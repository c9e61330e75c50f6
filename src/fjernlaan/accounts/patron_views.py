"""Pages of accounts: the patron's login with library card and PIN, and staff setting a patron's PIN."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from fjernlaan.accounts import service
from fjernlaan.accounts.model import PatronPrincipal, Principal, require_staff_of
from fjernlaan.errors import DomainError, NotAuthenticated
from fjernlaan.web.deps import (
    SESSION_COOKIE,
    ClockDep,
    OptionalPatronDep,
    SessionDep,
    get_rate_limiter,
    get_settings,
    optional_principal,
    session_serializer,
)
from fjernlaan.web.i18n import gettext
from fjernlaan.web.kit import N_ as N_
from fjernlaan.web.kit import (
    STAFF_ROLES,
    add_nav_item,
    add_template_dir,
    check_csrf,
    flash,
    render,
    request_language,
)
from fjernlaan.web.passwords import PasswordGate
from fjernlaan.web.ratelimit import TooManyRequests
from fjernlaan.web.security import client_address, is_https

router = APIRouter(include_in_schema=False)
add_template_dir("accounts", Path(__file__).parent / "templates" / "accounts")
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]

PATRON_LOGIN = "/patron/login"
PATRON_HOME = "/patron"
STAFF_PIN_PAGE = "/staff/patron-pin"

add_nav_item(N_("Patron PIN"), STAFF_PIN_PAGE, STAFF_ROLES, order=80)


def _login_page(request: Request, status: int, error: str | None, card_number: str = "") -> Response:
    return render(
        request, "accounts/patron_login.html", None, error=error, card_number=card_number, status_code=status
    )


@router.get(PATRON_LOGIN, response_class=HTMLResponse, response_model=None)
def patron_login_form(request: Request, patron: OptionalPatronDep) -> Response:
    """The patron's login: library card number and PIN."""
    if patron is not None:
        return RedirectResponse(PATRON_HOME, status_code=303)
    return _login_page(request, 200, None)


def _authenticate_patron_and_commit(session: Session, card: str, pin: str) -> PatronPrincipal:
    patron = service.authenticate_patron(session, card, pin)
    session.commit()  # a rehash after a parameter change writes
    return patron


def _too_many(request: Request, lang: str, card: str, seconds: int) -> Response:
    message = gettext("Too many login attempts. Try again in %(seconds)s seconds.", lang) % {
        "seconds": seconds
    }
    page = _login_page(request, 429, message, card)
    page.headers["Retry-After"] = str(seconds)
    return page


@router.post(PATRON_LOGIN, response_class=HTMLResponse, response_model=None)
async def patron_login(
    request: Request,
    session: SessionDep,
    card_number: Annotated[str, Form(max_length=64)] = "",
    pin: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Log a patron in: a session cookie holding the patron's id (`pid`), never a staff user's.

    A PIN is short, so guessing is limited as staff passwords are: every attempt counts against the
    address, failed ones against the card; the PIN is checked on the password threads, never the
    request thread pool.
    """
    lang = request_language(request)
    card = card_number.strip()
    if not check_csrf(request, csrf_token):
        return _login_page(request, 400, gettext("The form has expired. Please try again.", lang), card)
    settings = get_settings(request)
    limiter = get_rate_limiter(request)
    wait = limiter.hit(settings.login_rate_limit_per_address, "patron-login-address", client_address(request))
    if wait is None:
        wait = limiter.check(settings.login_rate_limit_per_username, "patron-login-card", card)
    if wait is not None:
        return _too_many(request, lang, card, wait)
    gate: PasswordGate = request.app.state.password_gate
    try:
        patron = await gate.run(_authenticate_patron_and_commit, session, card, pin.strip())
    except NotAuthenticated:
        limiter.hit(settings.login_rate_limit_per_username, "patron-login-card", card)
        return _login_page(request, 401, gettext("Wrong library card number or PIN.", lang), card)
    except TooManyRequests as busy:
        return _too_many(request, lang, card, busy.retry_after)
    response = RedirectResponse(PATRON_HOME, status_code=303)
    cookie = session_serializer(settings).dumps({"pid": patron.patron_id})
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        max_age=settings.session_max_age_seconds,
    )
    return response


def _pin_page(
    request: Request,
    principal: Principal,
    *,
    status: int = 200,
    errors: list[tuple[str, str]] | None = None,
    card_number: str = "",
    library: str = "",
) -> Response:
    return render(
        request,
        "accounts/patron_pin.html",
        principal,
        errors=errors or [],
        card_number=card_number,
        library=library,
        status_code=status,
    )


@router.get(STAFF_PIN_PAGE, response_class=HTMLResponse, response_model=None)
def patron_pin_form(request: Request, principal: OptionalPrincipal) -> Response:
    """Staff give one of their library's patrons a PIN for self-service."""
    if principal is None:
        return RedirectResponse(f"/login?next={STAFF_PIN_PAGE}", status_code=303)
    return _pin_page(request, principal)


@router.post(STAFF_PIN_PAGE, response_class=HTMLResponse, response_model=None)
def patron_pin_set(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    clock: ClockDep,
    card_number: Annotated[str, Form(max_length=64)],
    pin: Annotated[str, Form(max_length=64)],
    pin_again: Annotated[str, Form(max_length=64)],
    library: Annotated[str, Form(max_length=16)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Set the PIN; the patron must belong to the staff member's library."""
    if principal is None:
        return RedirectResponse(f"/login?next={STAFF_PIN_PAGE}", status_code=303)
    lang = request_language(request)
    card = card_number.strip()
    isil = (principal.library_isil or library).strip()
    if not check_csrf(request, csrf_token):
        errors = [("field-card_number", gettext("The form has expired. Please try again.", lang))]
        return _pin_page(request, principal, status=400, errors=errors, card_number=card, library=library)
    if pin.strip() != pin_again.strip():
        errors = [("field-pin_again", gettext("The two PINs differ.", lang))]
        return _pin_page(request, principal, status=422, errors=errors, card_number=card, library=library)
    try:
        require_staff_of(principal, isil)
        service.set_pin(session, isil, card, pin, clock.now())
    except DomainError as exc:
        field = "field-pin" if exc.field == "pin" else "field-card_number"
        message = {
            "pin": gettext("A PIN is 4 to 12 digits.", lang),
            "card_number": gettext("No patron with this card number at your library.", lang),
        }.get(exc.field or "", gettext("No patron with this card number at your library.", lang))
        return _pin_page(
            request,
            principal,
            status=exc.status,
            errors=[(field, message)],
            card_number=card,
            library=library,
        )
    session.commit()
    response = RedirectResponse(STAFF_PIN_PAGE, status_code=303)
    flash(
        response, gettext("The PIN is set. The patron can log in with card %(card)s.", lang) % {"card": card}
    )
    return response
