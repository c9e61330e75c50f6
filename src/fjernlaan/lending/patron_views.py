"""The patron's pages: "My requests", catalogue search, asking for a title, cancelling.

Every route needs a patron session (card and PIN, `/patron/login`); a staff session or none is sent
to the patron login. Requests of other patrons answer 404 (`lending.patron`).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fjernlaan.accounts.model import PatronPrincipal
from fjernlaan.catalogue import service as catalogue
from fjernlaan.catalogue.query import free_text
from fjernlaan.catalogue.search import search
from fjernlaan.errors import Conflict, DomainError, NotFound
from fjernlaan.lending import patron as selfservice
from fjernlaan.lending.service import principles_named
from fjernlaan.web.deps import ClockDep, OptionalPatronDep, SessionDep, get_clock, get_settings
from fjernlaan.web.i18n import gettext
from fjernlaan.web.kit import N_ as N_
from fjernlaan.web.kit import (
    PATRON,
    Column,
    Table,
    TableQuery,
    add_nav_item,
    add_template_dir,
    check_csrf,
    flash,
    render,
    request_language,
)

router = APIRouter(include_in_schema=False)
add_template_dir("patron", Path(__file__).parent / "templates" / "patron")

HOME = "/patron"
SEARCH = "/patron/search"
LOGIN = "/patron/login"
add_nav_item(N_("My requests"), HOME, {PATRON}, order=10)
add_nav_item(N_("Find a book"), SEARCH, {PATRON}, order=20)

_COLUMNS = [
    Column("title", N_("Title"), sortable=False),
    Column("status", N_("Status"), sortable=False),
    Column("date", N_("Date"), sortable=False),
    Column("pickup", N_("Pick up at"), sortable=False),
    Column("actions", N_("Actions"), sortable=False),
]


def _login_first(request: Request) -> Response:
    return RedirectResponse(LOGIN, status_code=303)


@router.get(HOME, response_class=HTMLResponse, response_model=None)
def my_requests(request: Request, session: SessionDep, patron: OptionalPatronDep) -> Response:
    """The patron's requests in plain words, newest first, with cancel where it is still allowed."""
    if patron is None:
        return _login_first(request)
    query = TableQuery.from_request(request, _COLUMNS, per_page=25)
    items, total = selfservice.my_requests(session, patron, limit=query.limit, offset=query.offset)
    table = Table(_COLUMNS, items, total, query, id="my-requests")
    return render(request, "patron/my_requests.html", patron, table=table)


@router.get(SEARCH, response_class=HTMLResponse, response_model=None)
def search_page(
    request: Request,
    session: SessionDep,
    patron: OptionalPatronDep,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> Response:
    """Search the union catalogue by title, author, ISBN, …; each hit can be asked for."""
    if patron is None:
        return _login_first(request)
    per_page = 20
    result = None
    if q.strip():
        result = search(
            session, free_text(q), limit=per_page, offset=(page - 1) * per_page, with_source=False
        )
    return render(request, "patron/search.html", patron, q=q, result=result, page=page, per_page=per_page)


def _form(
    request: Request,
    session: SessionDep,
    patron: PatronPrincipal,
    record_id: int,
    *,
    status: int = 200,
    errors: list[tuple[str, str]] | None = None,
    pickup: str | None = None,
    need_before: str = "",
) -> Response:
    record = catalogue.get_record(session, record_id, with_source=False)
    today = get_clock(request).now().date()
    principles = get_settings(request).active_principles
    choices = selfservice.pickup_choices(session, patron)
    return render(
        request,
        "patron/request_form.html",
        patron,
        record=record,
        record_id=record_id,
        choices=[(lib.isil, lib.name) for lib in choices],
        pickup=pickup or patron.library_isil,
        need_before=need_before,
        default_need_before=default_need_before(today, principles),
        min_date=(today + timedelta(days=1)).isoformat(),
        errors=errors or [],
        status_code=status,
    )


@router.get("/patron/ask/{record_id}", response_class=HTMLResponse, response_model=None)
def request_form(
    request: Request, session: SessionDep, patron: OptionalPatronDep, record_id: int
) -> Response:
    """Ask for one title: where to collect it and by when it is needed."""
    if patron is None:
        return _login_first(request)
    return _form(request, session, patron, record_id)


@router.post("/patron/ask/{record_id}", response_class=HTMLResponse, response_model=None)
def place_request(
    request: Request,
    session: SessionDep,
    patron: OptionalPatronDep,
    clock: ClockDep,
    record_id: int,
    pickup_isil: Annotated[str, Form(max_length=16)] = "",
    need_before: Annotated[str, Form(max_length=10)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Place the patron's request through the lending service (the use case staff use)."""
    if patron is None:
        return _login_first(request)
    lang = request_language(request)
    if not check_csrf(request, csrf_token):
        errors = [("field-need_before", gettext("The form has expired. Please try again.", lang))]
        return _form(request, session, patron, record_id, status=400, errors=errors, pickup=pickup_isil)
    wanted: date | None = None
    if need_before.strip():
        try:
            wanted = date.fromisoformat(need_before.strip())
        except ValueError:
            errors = [("field-need_before", gettext("Give the date as YYYY-MM-DD.", lang))]
            return _form(
                request,
                session,
                patron,
                record_id,
                status=422,
                errors=errors,
                pickup=pickup_isil,
                need_before=need_before,
            )
    principles = get_settings(request).active_principles
    try:
        request_id = selfservice.place_for_patron(
            session,
            patron,
            record_id=record_id,
            pickup_isil=pickup_isil or None,
            need_before=wanted,
            principles_name=principles,
            now=clock.now(),
        )
    except NotFound:
        raise  # an unknown record: the error page
    except DomainError as exc:
        field, message = {
            "need_before": ("field-need_before", gettext("The date must be after today.", lang)),
            "pickup_isil": ("field-pickup_isil", gettext("You cannot collect at that library.", lang)),
        }.get(exc.field or "", ("field-need_before", gettext("The request could not be placed.", lang)))
        return _form(
            request,
            session,
            patron,
            record_id,
            status=422,
            errors=[(field, message)],
            pickup=pickup_isil,
            need_before=need_before,
        )
    session.commit()
    response = RedirectResponse(HOME, status_code=303)
    flash(response, gettext("Thank you. Your request number is %(id)d.", lang) % {"id": request_id})
    return response


@router.post("/patron/requests/{request_id}/cancel", response_class=HTMLResponse, response_model=None)
def cancel(
    request: Request,
    session: SessionDep,
    patron: OptionalPatronDep,
    clock: ClockDep,
    request_id: int,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Cancel one of the patron's own requests while the lifecycle allows it."""
    if patron is None:
        return _login_first(request)
    lang = request_language(request)
    response = RedirectResponse(HOME, status_code=303)
    if not check_csrf(request, csrf_token):
        flash(response, gettext("The form has expired. Please try again.", lang), "error")
        return response
    try:
        done = selfservice.cancel_for_patron(session, patron, request_id, clock.now())
    except Conflict:
        flash(response, gettext("It is too late to cancel this request.", lang), "error")
        return response
    session.commit()
    if done:
        flash(response, gettext("The request is cancelled.", lang))
    else:
        flash(
            response,
            gettext(
                "We have asked the lending library to stop; the request is cancelled once it confirms.", lang
            ),
        )
    return response


def default_need_before(today: date, principles_name: str) -> date:
    """The need-before date a request gets when the patron gives none (the principles' default)."""
    return today + timedelta(days=principles_named(principles_name).defaults.need_before_days)
