"""Staff pages of lending: the request page (record, both sides' states, rota with reasons, timeline,
messages between the two libraries, the actions allowed now) and "request for a patron".

Every form posts to a page route here with the CSRF token; the routes call the lending service (the
same use cases as the API) and come back to the request page with a message in plain words. A lender
sees no patron data: the service's `view` leaves the patron out for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from fjernlaan.accounts.model import Principal
from fjernlaan.accounts.service import PatronIn, add_patron, find_patron
from fjernlaan.catalogue import service as catalogue
from fjernlaan.catalogue.model import Record
from fjernlaan.catalogue.words import MATERIAL_WORDS
from fjernlaan.errors import Conflict, DomainError, NotFound
from fjernlaan.lending import model as lm
from fjernlaan.lending import service, shaping
from fjernlaan.lending.principles import Tier
from fjernlaan.lending.schemas import ActionIn, PlaceRequestIn, RequestOut
from fjernlaan.web import kit
from fjernlaan.web.deps import ClockDep, OptionalPrincipal, SessionDep, get_clock, get_db, get_settings
from fjernlaan.web.i18n import N_, gettext

router = APIRouter(include_in_schema=False)
kit.add_template_dir("lending", Path(__file__).parent / "templates" / "lending")

REQUEST_PAGE = "/staff/requests/{id}"
NEW_REQUEST_PAGE = "/staff/requests/new"
FormText = Annotated[str, Form()]

R = lm.RequesterState
S = lm.SupplierState

# Each side's states in plain words (DESIGN.md §4 names them; staff read these).
REQUESTER_WORDS: dict[lm.RequesterState, str] = {
    R.SUBMITTED: N_("Placed, not checked yet"),
    R.VALIDATED: N_("Checked, about to find a lender"),
    R.FILLED_LOCALLY: N_("Available at the borrowing library itself"),
    R.SOURCING: N_("Waiting for staff to find a lender"),
    R.SENT: N_("Sent to a lender, waiting for the answer"),
    R.EXPECTS_TO_SUPPLY: N_("The lender will supply it"),
    R.CONDITIONAL: N_("The lender offers it on a condition"),
    R.SHIPPED: N_("On its way to the borrowing library"),
    R.RECEIVED: N_("Arrived, waiting for the patron"),
    R.CHECKED_OUT: N_("On loan to the patron"),
    R.RETURNED_BY_PATRON: N_("Returned by the patron, to be sent back"),
    R.RETURN_SHIPPED: N_("On its way back to the lender"),
    R.COMPLETED: N_("Completed"),
    R.DELIVERED: N_("Copy delivered"),
    R.CANCEL_PENDING: N_("Cancellation asked, waiting for the lender"),
    R.CANCELLED: N_("Cancelled"),
    R.UNFILLED: N_("Could not be supplied"),
    R.END_OF_ROTA: N_("No lender left to ask"),
    R.OVERDUE: N_("Overdue"),
    R.RECALLED: N_("Recalled by the lender"),
    R.RENEW_PENDING: N_("Renewal asked, waiting for the lender"),
    R.LOST: N_("Lost"),
}
SUPPLIER_WORDS: dict[lm.SupplierState, str] = {
    S.RECEIVED: N_("New request, not answered yet"),
    S.WILL_SUPPLY: N_("Will supply"),
    S.AWAITING_SHIPMENT: N_("Ready, waiting to be shipped"),
    S.SHIPPED: N_("Shipped"),
    S.AWAITING_RETURN: N_("Lent out, waiting for its return"),
    S.RETURNED: N_("Sent back, waiting to be checked in"),
    S.COMPLETED: N_("Returned and checked in"),
    S.UNFILLED: N_("Cannot supply"),
    S.CONDITIONAL: N_("Condition offered, waiting for the answer"),
    S.CANCELLED: N_("Cancelled"),
    S.OVERDUE: N_("Overdue"),
    S.RECALLED: N_("Recalled"),
    S.COPY_COMPLETED: N_("Copy delivered"),
    S.COMPLETED_WITHOUT_RETURN: N_("Closed without return (lost)"),
}
ACTION_WORDS: dict[lm.Action, str] = {
    lm.Action.VALIDATE: N_("Check the request"),
    lm.Action.REJECT: N_("Reject the request"),
    lm.Action.FILL_LOCALLY: N_("Fill from our own shelves"),
    lm.Action.START_SOURCING: N_("Start finding a lender"),
    lm.Action.SEND: N_("Send to the next lender"),
    lm.Action.WILL_SUPPLY: N_("We will supply it"),
    lm.Action.READY_TO_SHIP: N_("Ready to ship"),
    lm.Action.UNFILLED: N_("We cannot supply it"),
    lm.Action.NO_ANSWER: N_("No answer in time"),
    lm.Action.OFFER_CONDITION: N_("Offer it on a condition"),
    lm.Action.ACCEPT_CONDITION: N_("Accept the condition"),
    lm.Action.DECLINE_CONDITION: N_("Decline the condition"),
    lm.Action.SHIP: N_("Ship the loan"),
    lm.Action.DELIVER_COPY: N_("Deliver the copy"),
    lm.Action.RECEIVE: N_("Mark it received"),
    lm.Action.COMPLETE: N_("Complete"),
    lm.Action.CHECK_OUT: N_("Lend to the patron"),
    lm.Action.RETURN_BY_PATRON: N_("Returned by the patron"),
    lm.Action.SHIP_RETURN: N_("Send it back"),
    lm.Action.CONFIRM_RETURN: N_("Returned: check it in"),
    lm.Action.REQUEST_RENEWAL: N_("Ask for a renewal"),
    lm.Action.GRANT_RENEWAL: N_("Grant the renewal"),
    lm.Action.REFUSE_RENEWAL: N_("Refuse the renewal"),
    lm.Action.MARK_OVERDUE: N_("Mark overdue"),
    lm.Action.RECALL: N_("Recall the loan"),
    lm.Action.REPORT_LOST: N_("Report lost"),
    lm.Action.CANCEL: N_("Cancel the request"),
    lm.Action.CONFIRM_CANCEL: N_("Confirm the cancellation"),
    lm.Action.REFUSE_CANCEL: N_("Refuse the cancellation"),
    lm.Action.NEED_BEFORE_PASSED: N_("Need-before date passed"),
    lm.Action.GIVE_UP: N_("Give up: could not be supplied"),
}
# Timeline rows that are no transition of the tables.
OTHER_EVENT_WORDS = {"place": N_("Placed"), "edit_rota": N_("List of lenders changed")}
TIER_WORDS: dict[str, str] = {
    Tier.OWN_REGION_PUBLIC: N_("Public library, own region"),
    Tier.OTHER_REGION_PUBLIC: N_("Public library, other region"),
    Tier.OWN_CENTRAL: N_("Own central library"),
    Tier.OTHER_CENTRAL: N_("Other central library"),
    Tier.NATIONAL: N_("National library"),
    Tier.RESEARCH: N_("Research library"),
    Tier.SCHOOL: N_("School library"),
    Tier.SPECIAL: N_("Special library"),
    Tier.ABROAD: N_("Abroad"),
}
ROLE_WORDS = {
    "requester_staff": N_("Borrowing library"),
    "supplier_staff": N_("Lender"),
    "patron": N_("Patron"),
    "system": N_("The hub"),
    "peer": N_("The other library's system"),
}
FIELD_WORDS = {
    "reason": N_("Reason"),
    "condition": N_("Condition"),
    "reply_by": N_("Reply by"),
    "fee_dkk": N_("Fee (kr.)"),
    "due_date": N_("Due date"),
    "body": N_("Message"),
    "isil": N_("Library (ISIL)"),
    "isils": N_("Library (ISIL)"),
    "position": N_("Position"),
    "need_before": N_("Needed before"),
    "pickup_isil": N_("Pickup library (ISIL)"),
    "card_number": N_("Card number"),
}
# The rota builder's reasons (lending/model.py build_rota, add_lender, reorder) as patterns, so a
# Danish page shows them in Danish; a reason no pattern knows is shown as written.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), msgid)
    for pattern, msgid in (
        (r"^holds the title \(1 copy\)$", N_("holds the title (1 copy)")),
        (r"^holds the title \((?P<n>\d+) copies\)$", N_("holds the title (%(n)s copies)")),
        (r"^available now$", N_("available now")),
        (r"^no copy available now$", N_("no copy available now")),
        (r"^same region$", N_("same region")),
        (r"^same transport hub$", N_("same transport hub")),
        (r"^fair share: no load history$", N_("fair share: no load history")),
        (r"^fair share: (?P<n>[\d.]+) of expected load$", N_("fair share: %(n)s of its expected load")),
        (r"^turnaround: no history$", N_("turnaround: no history")),
        (r"^median turnaround (?P<n>[\d.]+) days$", N_("median turnaround %(n)s days")),
        (r"^moved by staff$", N_("moved by staff")),
        (r"^added by staff: (?P<n>.*)$", N_("added by staff: %(n)s")),
        (r"^despite: (?P<n>.*)$", N_("despite: %(n)s")),
        (
            r"^abroad, through the national library (?P<n>\S+)$",
            N_("abroad, through the national library %(n)s"),
        ),
        (r"^inactive in the directory$", N_("inactive in the directory")),
        (r"^lending switched off$", N_("lending switched off")),
        (r"^closed until (?P<n>\S+)$", N_("closed until %(n)s")),
        (r"^lending off for (?P<n>.+)$", N_("does not lend %(n)s")),
        (r"^does not lend to (?P<n>\w+) libraries$", N_("does not lend to %(n)s libraries")),
        (r"^title younger than (?P<n>\d+) days$", N_("the title is younger than %(n)s days")),
        (r"^non-circulating$", N_("no copy that lends")),
        (r"^already said unfilled for this request$", N_("already said no to this request")),
        (
            r"^the requesting library itself: no available circulating copy$",
            N_("the borrowing library itself: no copy on the shelf that lends"),
        ),
        (r"^not in the directory$", N_("not in the directory")),
        # The timeline's notes the hub writes itself (lending/service.py and model.py).
        (r"^placed under the (?P<n>\S+) principles$", N_("placed under the %(n)s principles")),
        (
            r"^an available copy at the requesting library$",
            N_("a copy on the shelf at the borrowing library"),
        ),
        (r"^not in the catalogue: staff source it$", N_("not in the catalogue: staff find a lender")),
        (r"^no answer within the deadline$", N_("no answer within the deadline")),
        (r"^the patron's need-before date passed$", N_("the patron's need-before date passed")),
        (r"^condition declined$", N_("condition declined")),
        (r"^rota reordered: (?P<n>.*)$", N_("lenders reordered: %(n)s")),
        (r"^added (?P<isil>\S+): (?P<n>.*)$", N_("added %(isil)s: %(n)s")),
    )
)
# Common answers a lender gives when it cannot supply (offered in the form, any text is accepted).
UNFILLED_REASONS = (
    N_("Not on the shelf"),
    N_("On loan"),
    N_("Not for loan (reference copy)"),
    N_("Damaged"),
    N_("Not held"),
    N_("Policy: not lent to other libraries"),
)


def reason_words(reason: str, lang: str) -> str:
    """A rota reason in the page's language ("; "-joined reasons each on their own)."""
    if reason.startswith("despite: "):
        inner = "; ".join(reason_words(part, lang) for part in reason[len("despite: ") :].split("; "))
        return gettext("despite: %(n)s", lang) % {"n": inner}
    for pattern, msgid in _REASONS:
        match = pattern.match(reason)
        if match:
            values = match.groupdict()
            text = gettext(msgid, lang)
            return text % values if values else text
    return reason


@dataclass(frozen=True)
class ActionForm:
    """One action the viewer may take now, with the inputs its form shows."""

    action: str
    label: str
    inputs: tuple[str, ...]
    required: frozenset[str]
    danger: bool


# Inputs an action's form shows beyond what the tables require: the optional ones the use case reads.
_EXTRA_INPUTS: dict[lm.Action, tuple[str, ...]] = {
    lm.Action.OFFER_CONDITION: ("reply_by", "fee_dkk"),
    lm.Action.SHIP: ("due_date",),
    lm.Action.GRANT_RENEWAL: ("due_date",),
}
# A condition needs a day to answer by on the page (the API leaves it optional for peers' messages).
_PAGE_REQUIRED: dict[lm.Action, tuple[str, ...]] = {lm.Action.OFFER_CONDITION: ("reply_by",)}
_DANGER = frozenset(
    {
        lm.Action.REJECT,
        lm.Action.UNFILLED,
        lm.Action.CANCEL,
        lm.Action.REPORT_LOST,
        lm.Action.GIVE_UP,
        lm.Action.DECLINE_CONDITION,
        lm.Action.REFUSE_RENEWAL,
        lm.Action.REFUSE_CANCEL,
        lm.Action.RECALL,
    }
)


def action_forms(view: RequestOut) -> list[ActionForm]:
    """The forms for the actions the viewer may take now (the domain's allowed actions)."""
    forms = []
    for allowed in view.allowed_actions:
        action = allowed.action
        needs = tuple(allowed.needs)
        inputs = needs + tuple(i for i in _EXTRA_INPUTS.get(action, ()) if i not in needs)
        required = frozenset(needs) | frozenset(_PAGE_REQUIRED.get(action, ()))
        forms.append(ActionForm(action.value, ACTION_WORDS[action], inputs, required, action in _DANGER))
    return forms


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _is_staff(principal: Principal | None) -> bool:
    return kit.role_of(principal) in kit.STAFF_ROLES


def _login(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(str(request.url.path))}", status_code=303)


def _staff(principal: Principal | None, request_id: int | None = None) -> Principal:
    # Patrons and anonymous callers reach none of these pages: a request's existence is not told.
    if principal is None or not _is_staff(principal):
        raise NotFound(f"no request {request_id}" if request_id else "no such page", field="request_id")
    return principal


def _page_of(request_id: int) -> str:
    return REQUEST_PAGE.format(id=request_id)


def _back(request: Request, request_id: int, text: str, level: kit.FlashLevel = "success") -> Response:
    response = RedirectResponse(_page_of(request_id), status_code=303)
    kit.flash(response, text, level)
    return response


def _expired(request: Request, request_id: int) -> Response:
    lang = kit.request_language(request)
    return _back(request, request_id, gettext("The form has expired. Please try again.", lang), "error")


def _problem_words(exc: DomainError, lang: str) -> str:
    """A refused step in plain words; nothing was changed."""
    if isinstance(exc, Conflict) and exc.field == "action":
        state = str(exc.extra.get("state"))
        words = gettext(REQUESTER_WORDS[R(state)], lang) if state in _REQUESTER_VALUES else ""
        text = gettext("That step is not possible now, so nothing was changed.", lang)
        if words:
            text += " " + gettext("The request is: %(state)s.", lang) % {"state": words}
        return text
    if exc.field in FIELD_WORDS:
        field = gettext(FIELD_WORDS[exc.field], lang)
        if "needs" in exc.message or "first" in exc.message:
            return gettext("Please fill in: %(field)s. Nothing was changed.", lang) % {"field": field}
        # The domain's detail is English; the page says which field in the page's language.
        return gettext("Please check: %(field)s. Nothing was changed.", lang) % {"field": field}
    return gettext("Nothing was changed: %(problem)s", lang) % {"problem": exc.message}


def _optional_date(value: str, field: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise DomainError(f"{value!r} is not a date (YYYY-MM-DD)", field=field) from exc


def _optional_fee(value: str) -> float | None:
    value = value.strip().replace(",", ".")
    if not value:
        return None
    try:
        fee = float(value)
    except ValueError as exc:
        raise DomainError(f"{value!r} is not an amount", field="fee_dkk") from exc
    if not 0 <= fee <= 100_000:
        raise DomainError("a fee is between 0 and 100,000 kr.", field="fee_dkk")
    return fee


def _next_position(view: RequestOut) -> int:
    return 0 if view.position is None else view.position + 1


# --------------------------------------------------------------------------------------------------
# Request for a patron (declared before the request page: "new" is no request id)
# --------------------------------------------------------------------------------------------------


def _record_or_none(session: Any, record_pk: int | None) -> Record | None:
    if record_pk is None:
        return None
    try:
        return catalogue.get_record(session, record_pk, with_source=False)
    except NotFound:
        return None


def _new_request_page(
    request: Request,
    session: Any,
    principal: Principal,
    record_pk: int | None,
    *,
    values: dict[str, str] | None = None,
    errors: list[tuple[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    record = _record_or_none(session, record_pk)
    if record is None or record_pk is None:
        raise NotFound(f"no record {record_pk}", field="record")
    holdings = catalogue.holdings_for_record(session, record_pk)
    isil = principal.library_isil or ""
    names = service.library_names(session, [isil, *(h.library_isil for h in holdings)])
    return kit.render(
        request,
        "lending/new_request.html",
        principal,
        status_code=status_code,
        record=record,
        record_pk=record_pk,
        holdings=holdings,
        names=names,
        home=isil,
        values=values or {},
        errors=errors or [],
        material_words=MATERIAL_WORDS,
    )


@router.get(NEW_REQUEST_PAGE, response_class=HTMLResponse, response_model=None)
def new_request_form(request: Request, session: SessionDep, principal: OptionalPrincipal) -> Response:
    """The form to request a record for a patron: find the patron by card, or register one here."""
    if principal is None:
        return _login(request)
    principal = _staff(principal)
    raw = request.query_params.get("record", "")
    record_pk = int(raw) if raw.isdigit() and len(raw) < 10 else None
    return _new_request_page(request, session, principal, record_pk)


@router.post(NEW_REQUEST_PAGE, response_model=None)
def place_for_patron(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    clock: ClockDep,
    record: Annotated[int, Form(ge=1, lt=10**9)],
    csrf_token: FormText = "",
    card_number: FormText = "",
    new_patron: FormText = "",
    name: FormText = "",
    email: FormText = "",
    category: FormText = "adult",
    language: FormText = "da",
    pickup_isil: FormText = "",
    need_before: FormText = "",
) -> Response:
    """Place the request through the lending service (registering the patron first when asked) and
    land on the new request's page with its rota."""
    if principal is None:
        return _login(request)
    principal = _staff(principal)
    lang = kit.request_language(request)
    values = {
        "card_number": card_number,
        "new_patron": new_patron,
        "name": name,
        "email": email,
        "category": category,
        "language": language,
        "pickup_isil": pickup_isil,
        "need_before": need_before,
    }

    def again(field: str, message: str) -> Response:
        return _new_request_page(
            request, session, principal, record, values=values, errors=[(field, message)], status_code=400
        )

    if not kit.check_csrf(request, csrf_token):
        return again("field-card_number", gettext("The form has expired. Please try again.", lang))
    home = principal.library_isil
    if home is None:
        return again(
            "field-card_number", gettext("You belong to no library, so you cannot place requests.", lang)
        )
    card = card_number.strip()
    if not card:
        return again(
            "field-card_number",
            gettext("Please fill in: %(field)s.", lang) % {"field": gettext("Card number", lang)},
        )
    try:
        wanted = _optional_date(need_before, "need_before")
        if new_patron:
            if find_patron(session, home, card) is not None:
                return again(
                    "field-card_number", gettext("A patron with this card is already registered.", lang)
                )
            try:
                data = PatronIn(
                    card_number=card,
                    name=name,
                    email=email.strip() or None,
                    category=category,  # type: ignore[arg-type]
                    home_library=home,
                    language=language,
                )
            except ValidationError as exc:
                field = str(exc.errors()[0]["loc"][0])
                label = {"name": N_("Name"), "email": N_("E-mail"), "category": N_("Patron category")}.get(
                    field, N_("Card number")
                )
                return again(
                    f"field-{field}",
                    gettext("Please check: %(field)s.", lang) % {"field": gettext(label, lang)},
                )
            add_patron(session, data)
        elif find_patron(session, home, card) is None:
            return again(
                "field-card_number",
                gettext("No patron with this card at your library. Register the patron below.", lang),
            )
        placing = PlaceRequestIn(
            record_id=record,
            card_number=card,
            pickup_isil=pickup_isil.strip() or None,
            need_before=wanted,
        )
        request_id = service.place(
            session, placing, principal, get_settings(request).active_principles, clock.now()
        )
    except DomainError as exc:
        session.rollback()
        field = {"need_before": "field-need_before", "pickup_isil": "field-pickup_isil"}.get(
            exc.field or "", "field-card_number"
        )
        return again(field, _problem_words(exc, lang))
    session.commit()
    return _back(request, request_id, gettext("The request is placed.", lang))


# --------------------------------------------------------------------------------------------------
# The request page
# --------------------------------------------------------------------------------------------------


RequestId = Annotated[int, PathParam(ge=1, lt=2**31)]


@router.get("/staff/requests/{request_id}", response_class=HTMLResponse, response_model=None)
def request_page(
    request: Request,
    request_id: RequestId,
    session: SessionDep,
    principal: OptionalPrincipal,
    clock: ClockDep,
) -> Response:
    """The request as this library's staff may see it; opening it marks the messages to them read."""
    if principal is None:
        return _login(request)
    principal = _staff(principal, request_id)
    view = shaping.view(session, request_id, principal)
    lang = kit.request_language(request)
    messages = service.list_messages(session, request_id, principal)
    mine = principal.library_isil
    unread = {m.id for m in messages if m.unread and m.to_isil == mine}
    if unread:
        # The page's own session only reads (a GET); the read marks go in a short one of their own.
        with get_db(request).unit_of_work() as writer:
            service.mark_messages_read(writer, request_id, principal, clock.now())
    record = _record_or_none(session, view.record_id)
    isils = {view.requester_isil, view.pickup_isil, *(m.from_isil for m in messages)}
    isils |= {e.isil for e in view.rota} | {e.isil for e in view.excluded} | {m.to_isil for m in messages}
    isils |= {e.via_isil for e in view.rota if e.via_isil}
    names = service.library_names(session, isils)
    next_position = _next_position(view)
    current = (
        view.attempts[-1] if view.attempts and view.attempts[-1].isil == view.current_lender_isil else None
    )
    can_write = mine is not None and (
        (mine == view.requester_isil and view.current_lender_isil is not None)
        or (
            view.current_lender_isil is not None
            and mine
            in {
                view.current_lender_isil,
                *(e.via_isil for e in view.rota if e.isil == view.current_lender_isil),
            }
        )
    )
    return kit.render(
        request,
        "lending/request.html",
        principal,
        view=view,
        record=record,
        names=names,
        requester_words=gettext(REQUESTER_WORDS[view.state], lang),
        supplier_words=gettext(SUPPLIER_WORDS[current.state], lang) if current else None,
        current_attempt=current,
        supplier_words_of=lambda state: gettext(SUPPLIER_WORDS[S(state)], lang),
        state_words=_state_words(lang),
        event_words=lambda action: _event_words(action, lang),
        role_words=lambda role: gettext(ROLE_WORDS[role], lang) if role in ROLE_WORDS else str(role),
        tier_words=lambda tier: gettext(TIER_WORDS[tier], lang) if tier in TIER_WORDS else (tier or ""),
        material_words=MATERIAL_WORDS,
        reason_words=lambda reason: reason_words(reason, lang),
        forms=action_forms(view),
        field_words=FIELD_WORDS,
        unfilled_reasons=UNFILLED_REASONS,
        next_position=next_position,
        messages=messages,
        unread=unread,
        can_write=can_write,
        mine=mine,
        today=clock.now().date(),
    )


_ACTIONS = frozenset(a.value for a in lm.Action)


def _event_words(action: str, lang: str) -> str:
    if action in _ACTIONS:
        return gettext(ACTION_WORDS[lm.Action(action)], lang)
    return gettext(OTHER_EVENT_WORDS[action], lang) if action in OTHER_EVENT_WORDS else action


def _state_words(lang: str) -> Any:
    def words(state: str | None) -> str:
        if state is None:
            return ""
        if state in _REQUESTER_VALUES:
            return gettext(REQUESTER_WORDS[R(state)], lang)
        if state in _SUPPLIER_VALUES:
            return gettext(SUPPLIER_WORDS[S(state)], lang)
        return state

    return words


_REQUESTER_VALUES = frozenset(s.value for s in R)
_SUPPLIER_VALUES = frozenset(s.value for s in S)


# Every form on the request page posts one step: the same login, staff, CSRF and refusal handling,
# then the step's own work through the lending service. A step is its work, the words that say it is
# done, and the part of the page to come back to.
Work = Callable[[Session, Principal, datetime], object]


@dataclass(frozen=True)
class Step:
    """One posted step on the request page."""

    work: Work
    done: str  # a msgid, formatted with `done_values` (msgids, too)
    anchor: str = ""
    done_values: tuple[tuple[str, str], ...] = ()
    #: A NotFound of something other than the request (a lender added by hand) is a refusal to show.
    not_found_refuses: bool = False


def _run_step(
    request: Request,
    request_id: int,
    session: Session,
    principal: Principal | None,
    csrf_token: str,
    step: Callable[[], Step],
) -> Response:
    """Run a step: refused steps come back in plain words and change nothing; an unknown request is
    the 404 page. `step` builds the step after the checks (reading the form may refuse, too)."""
    if principal is None:
        return _login(request)
    staff = _staff(principal, request_id)
    if not kit.check_csrf(request, csrf_token):
        return _expired(request, request_id)
    lang = kit.request_language(request)
    chosen: Step | None = None
    try:
        chosen = step()
        chosen.work(session, staff, get_clock(request).now())
    except NotFound as exc:
        if chosen is None or not chosen.not_found_refuses or exc.field == "request_id":
            raise
        session.rollback()
        return _back(request, request_id, _problem_words(exc, lang), "error")
    except DomainError as exc:
        session.rollback()
        return _back(request, request_id, _problem_words(exc, lang), "error")
    session.commit()
    values = {k: gettext(v, lang) for k, v in chosen.done_values}
    response = _back(request, request_id, gettext(chosen.done, lang) % values)
    if chosen.anchor:
        response.headers["location"] += chosen.anchor
    return response


@router.post("/staff/requests/{request_id}/actions/{action}", response_model=None)
def take_action(
    request: Request,
    request_id: RequestId,
    action: lm.Action,
    session: SessionDep,
    principal: OptionalPrincipal,
    csrf_token: FormText = "",
    reason: FormText = "",
    condition: FormText = "",
    reply_by: FormText = "",
    fee_dkk: FormText = "",
    due_date: FormText = "",
) -> Response:
    """One step through the lending service; an illegal step is refused in plain words, nothing changes."""

    def step() -> Step:
        values = {"reply_by": reply_by}
        for needed in _PAGE_REQUIRED.get(action, ()):
            if not values[needed].strip():
                raise DomainError(f"{action.value} needs {needed}", field=needed)
        body = ActionIn(
            reason=reason.strip()[:2000] or None,
            condition=condition.strip()[:2000] or None,
            reply_by=_optional_date(reply_by, "reply_by"),
            fee_dkk=_optional_fee(fee_dkk),
            due_date=_optional_date(due_date, "due_date"),
        )
        return Step(
            lambda s, who, now: service.act(s, request_id, action, who, body, now),
            N_("Done: %(action)s."),
            done_values=(("action", ACTION_WORDS[action]),),
        )

    return _run_step(request, request_id, session, principal, csrf_token, step)


@router.post("/staff/requests/{request_id}/messages", response_model=None)
def write_message(
    request: Request,
    request_id: RequestId,
    session: SessionDep,
    principal: OptionalPrincipal,
    csrf_token: FormText = "",
    body: FormText = "",
) -> Response:
    """Write to the other library of the request."""

    def step() -> Step:
        return Step(
            lambda s, who, now: service.post_message(s, request_id, who, body, now),
            N_("The message is sent."),
            "#messages",
        )

    return _run_step(request, request_id, session, principal, csrf_token, step)


def _move(request_id: int, isil: str, direction: str) -> Work:
    def work(session: Session, principal: Principal, now: datetime) -> None:
        view = shaping.view(session, request_id, principal)
        waiting = [e.isil for e in view.rota if e.position >= _next_position(view)]
        if isil not in waiting:
            raise DomainError(f"{isil} is not waiting on the list", field="isil")
        at = waiting.index(isil)
        to = at - 1 if direction == "up" else at + 1
        if not 0 <= to < len(waiting):
            raise DomainError(f"{isil} cannot move further", field="isil")
        waiting[at], waiting[to] = waiting[to], waiting[at]
        service.reorder_rota(session, request_id, waiting, principal, now)

    return work


@router.post("/staff/requests/{request_id}/rota/move", response_model=None)
def move_lender(
    request: Request,
    request_id: RequestId,
    session: SessionDep,
    principal: OptionalPrincipal,
    csrf_token: FormText = "",
    isil: FormText = "",
    direction: FormText = "up",
) -> Response:
    """Move a lender not asked yet one place up or down (the service's rota reorder)."""

    def step() -> Step:
        return Step(_move(request_id, isil, direction), N_("The list of lenders is changed."), "#rota")

    return _run_step(request, request_id, session, principal, csrf_token, step)


def _add(request_id: int, isil: str, reason: str, ask_next: bool) -> Work:
    def work(session: Session, principal: Principal, now: datetime) -> None:
        position = _next_position(shaping.view(session, request_id, principal)) if ask_next else None
        service.add_rota_lender(session, request_id, isil, reason, position, principal, now)

    return work


@router.post("/staff/requests/{request_id}/rota/lenders", response_model=None)
def add_lender(
    request: Request,
    request_id: RequestId,
    session: SessionDep,
    principal: OptionalPrincipal,
    csrf_token: FormText = "",
    isil: FormText = "",
    reason: FormText = "",
    ask_next: FormText = "",
) -> Response:
    """Add a lender by hand (the service's rota edit), at the end or as the next one to ask."""

    def step() -> Step:
        if not isil.strip():
            raise DomainError("add_lender needs isil", field="isil")
        if not reason.strip():
            raise DomainError("add_lender needs reason", field="reason")
        work = _add(request_id, isil.strip()[:16], reason.strip()[:500], bool(ask_next))
        return Step(work, N_("The list of lenders is changed."), "#rota", not_found_refuses=True)

    return _run_step(request, request_id, session, principal, csrf_token, step)
