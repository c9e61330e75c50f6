"""Lending's use cases: place a request, act on it, edit its rota, read it, list requests.

Each function runs inside the caller's unit of work: the state change, its event rows and the
messages it causes (e-mails through the outbox) are written in one transaction, so they commit
together or not at all. The pure rules live in `model.py`; this module loads the aggregate, asks the
model, and stores what the model returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol, cast

from sqlalchemy import Table, and_, exists, func, insert, or_, select
from sqlalchemy.orm import Session, make_transient_to_detached

from fjernlaan.accounts.model import Patron, Principal, require_staff_of
from fjernlaan.accounts.service import get_patron, patron_with_card
from fjernlaan.catalogue import service as catalogue
from fjernlaan.catalogue.model import Record
from fjernlaan.db.uow import reads_before_writes
from fjernlaan.directory import service as directory
from fjernlaan.directory.model import Library, normalise_isil
from fjernlaan.errors import Conflict, DomainError, NotFound, PermissionDenied
from fjernlaan.lending import model as lm
from fjernlaan.lending import rota as lr
from fjernlaan.lending.cache import cached_calendar as cached_calendar
from fjernlaan.lending.cache import cached_libraries as cached_libraries
from fjernlaan.lending.cache import clear_caches as clear_caches
from fjernlaan.lending.cache import lender_load as lender_load
from fjernlaan.lending.principles import Principles, Tier, load_principles
from fjernlaan.lending.schemas import (
    ActionIn,
    PlacedBy,
    PlaceRequestIn,
    RequestSummary,
)
from fjernlaan.lending.store import (
    AttemptRow,
    EventRow,
    MessageRow,
    Placed,
    RequestRow,
    RotaEntryRow,
    flush_versioned,
    insert_new_rows,
    insert_request,
    just_placed,
    take_placed,
    terms_json,
)
from fjernlaan.lending.store import Loaded as Loaded
from fjernlaan.lending.store import load as load
from fjernlaan.lending.store import load_for_change as load_for_change
from fjernlaan.notify.mail import TEMPLATES
from fjernlaan.notify.service import queue_email

R = lm.RequesterState
S = lm.SupplierState

# Requester states in which the borrowing library has something to do, and those in which the
# current lender has: the lists' "needs attention" filter reads the column these fill.
REQUESTER_ATTENTION = frozenset(
    {R.SUBMITTED, R.VALIDATED, R.SOURCING, R.END_OF_ROTA, R.CONDITIONAL, R.SHIPPED, R.OVERDUE, R.RECALLED}
)
SUPPLIER_ATTENTION = frozenset(
    {R.SENT, R.EXPECTS_TO_SUPPLY, R.CANCEL_PENDING, R.RENEW_PENDING, R.RETURN_SHIPPED}
)
# States before anything was shipped: the need-before date still matters.
_BEFORE_SHIPMENT = frozenset(
    {R.SUBMITTED, R.VALIDATED, R.SOURCING, R.SENT, R.EXPECTS_TO_SUPPLY, R.CONDITIONAL, R.END_OF_ROTA}
)
_ON_LOAN = frozenset({R.RECEIVED, R.CHECKED_OUT, R.RENEW_PENDING, R.OVERDUE, R.RECALLED})

OVERDUE_REMINDER_EVERY_DAYS = 7


# --------------------------------------------------------------------------------------------------
# Principles and the rota
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def principles_named(name: str) -> Principles:
    """A principles version by bundled name or path (cached: the files do not change while running)."""
    return load_principles(name)


def rota_for_record(
    session: Session,
    record_pk: int,
    requester: Library,
    principles: Principles,
    now: datetime,
    already_unfilled: Iterable[str] = (),
) -> lr.Rota:
    """Build the rota for a catalogue record: its holdings, the directory, calendars and load."""
    record = catalogue.get_record(session, record_pk)
    return _rota_for(session, record, record_pk, requester, principles, now, already_unfilled)


def _rota_for(
    session: Session,
    record: Record,
    record_pk: int,
    requester: Library,
    principles: Principles,
    now: datetime,
    already_unfilled: Iterable[str] = (),
) -> lr.Rota:
    holdings = catalogue.holdings_for_record(session, record_pk)
    infos = [lr.HoldingInfo(h.library_isil, h.copies, h.available, h.circulating) for h in holdings]
    libraries = cached_libraries(session)
    calendars = {h.isil: cached_calendar(session, h.isil) for h in infos if h.isil in libraries}
    return lr.build_rota(
        lr.RotaRecordInfo(material_type=record.material_type, publication_year=record.year),
        infos,
        requester,
        libraries,
        calendars,
        lender_load(session, now),
        principles,
        now.date(),
        already_unfilled,
    )


@dataclass(frozen=True)
class Actor:
    """Who acts: the lending role, and the user and library behind it (None for the worker)."""

    role: lm.Role
    username: str | None = None
    isil: str | None = None


SYSTEM = Actor(lm.Role.SYSTEM, "worker")


def store_rota(session: Session, loaded: Loaded, rota: lr.Rota, libraries: Mapping[str, Library]) -> None:
    """Replace the request's rota rows with `rota` (its lenders' terms from `libraries`)."""
    for entry in loaded.entries:
        session.delete(entry)
    _rota_rows(loaded, rota, libraries)
    session.add_all(loaded.entries)


def _rota_rows(loaded: Loaded, rota: lr.Rota, libraries: Mapping[str, Library]) -> None:
    """Replace `loaded.entries` with rows for `rota` (the session is the caller's business).

    A lender already on the rota keeps the terms it was put there with (the request was made on
    them); only a new lender takes its terms from the directory as it is now.
    """
    earlier = {e.isil: e.terms for e in loaded.rota if e.terms}
    loaded.entries = []
    for position, candidate in enumerate(rota.candidates):
        lib = libraries.get(candidate.isil)
        terms = lm.LenderTerms.from_library(lib) if lib is not None else lm.LenderTerms(candidate.isil)
        old_terms = earlier.get(candidate.isil)
        loaded.entries.append(
            RotaEntryRow(
                request_id=loaded.row.id,
                position=position,
                isil=candidate.isil,
                tier=candidate.tier.value,
                score=candidate.score,
                via_isil=candidate.via_isil,
                reasons=list(candidate.reasons),
                terms=old_terms if old_terms is not None else terms_json(terms),
            )
        )
    for exclusion in rota.excluded:
        loaded.entries.append(
            RotaEntryRow(
                request_id=loaded.row.id, position=None, isil=exclusion.isil, reasons=list(exclusion.reasons)
            )
        )


def _rota_value(loaded: Loaded, requester: Library) -> lr.Rota:
    candidates = tuple(
        lr.RotaEntry(
            e.isil, Tier(e.tier) if e.tier else Tier.SPECIAL, e.score or 0.0, tuple(e.reasons), e.via_isil
        )
        for e in loaded.rota
    )
    excluded = tuple(lr.Exclusion(e.isil, tuple(e.reasons)) for e in loaded.excluded)
    national = next((e.via_isil for e in loaded.rota if e.via_isil), None)
    return lr.Rota(requester, loaded.row.principles_version, False, candidates, excluded, national)


def _event(session: Session | None, request_id: int | None, event: lm.Event, actor: Actor) -> EventRow:
    row = EventRow(
        request_id=request_id,
        at=event.at,
        side=event.side.value,
        action=event.action.value,
        from_state=event.from_state,
        to_state=event.to_state,
        by_role=event.by_role.value,
        by_user=actor.username,
        by_isil=actor.isil,
        reason=event.reason,
        position=event.position,
        isil=event.isil,
    )
    if session is not None:
        session.add(row)
    return row


def _refresh_derived(row: RequestRow) -> None:
    """The list columns: who must act next, and the nearest deadline."""
    state = R(row.state)
    row.attention = (
        "requester" if state in REQUESTER_ATTENTION else "supplier" if state in SUPPLIER_ATTENTION else None
    )
    dates = [row.answer_due, row.pickup_due]
    if state in _BEFORE_SHIPMENT:
        dates.append(row.need_before)
    if state in _ON_LOAN:
        dates.append(row.due_date)
    present = [d for d in dates if d is not None]
    row.next_deadline = min(present) if present else None


ApplyListener = Callable[
    [Session, "Loaded", lm.Action, "Actor", lm.RequestAggregate, lm.Outcome, datetime], None
]
"""Told of every applied action: ``(session, loaded, action, actor, before, outcome, now)``, in the
same transaction, after the rows are updated (the ISO 18626 glue queues peers' messages here)."""

APPLY_LISTENERS: list[ApplyListener] = []


def on_apply(listener: ApplyListener) -> None:
    """Register a listener for applied actions (once; a second registration is ignored)."""
    if listener not in APPLY_LISTENERS:
        APPLY_LISTENERS.append(listener)


def apply(
    session: Session,
    loaded: Loaded,
    action: lm.Action,
    actor: Actor,
    now: datetime,
    data: lm.ActionInput | None = None,
    *,
    flush: bool = True,
) -> lm.Outcome:
    """Apply one action to a loaded request and store the result, its events and its messages.

    An illegal transition is a `Conflict` (409) carrying the current states and the allowed actions.
    `flush=False` leaves the writes in the session for one `flush_request` after several steps (each
    flush is a round of statements, and on SQLite they run under the one write lock).
    """
    outcome = _apply(session, loaded, action, actor, now, data)
    if flush:
        flush_versioned(session, loaded.row)
    return outcome


def flush_request(session: Session, loaded: Loaded) -> None:
    """Write what `apply(..., flush=False)` left in the session, as the last step of a use case; a
    request changed by someone else meanwhile is a `Conflict`.

    New events, rota entries and attempts go in with one executemany INSERT per table (see
    `store.insert_new_rows`), as placing does: nothing reads their ids back, and the ORM's bookkeeping for
    each cost more than the statement. They leave the session, so later changes to them in the same
    transaction would not be written: nothing may apply to `loaded` after this.
    """
    insert_new_rows(session, loaded.row.id, loaded, from_session=True)
    flush_versioned(session, loaded.row)


@dataclass(frozen=True)
class _Heard:
    """An applied step whose listeners are told later (placing: once the request has its id)."""

    action: lm.Action
    actor: Actor
    before: lm.RequestAggregate
    outcome: lm.Outcome


def _apply(
    session: Session,
    loaded: Loaded,
    action: lm.Action,
    actor: Actor,
    now: datetime,
    data: lm.ActionInput | None = None,
    *,
    staged: list[_Heard] | None = None,
) -> lm.Outcome:
    # `apply` without the flush: placing a request runs several steps and writes them at once.
    # With `staged`, the request is not in the database yet: the new attempt and event rows stay
    # out of the session (placing inserts them itself) and the listeners are told afterwards.
    aggregate = loaded.aggregate()
    try:
        outcome = lm.apply_action(aggregate, action, actor.role, at=now, data=data)
    except lm.IllegalTransition as exc:
        raise _conflict(exc, loaded.row.id) from exc
    row = loaded.row
    new = outcome.aggregate
    today = now.date()
    row.state = new.state.value
    row.delivered_as = new.delivered_as.value if new.delivered_as else None
    row.position = new.position
    terms = new.current_terms
    row.current_lender_isil = terms.isil if terms else None
    row.renewals_used = new.renewals_used
    row.due_date = new.due_date
    row.updated_at = now
    # Attempts: the model only changes the last one or appends a new one.
    for index, attempt in enumerate(new.attempts):
        if index < len(loaded.attempts):
            stored = loaded.attempts[index]
            if stored.state != attempt.state.value:
                stored.state = attempt.state.value
                if attempt.state in (S.SHIPPED, S.COPY_COMPLETED) and stored.shipped_at is None:
                    stored.shipped_at = now
                if not attempt.is_open:
                    stored.ended_at = now
                    stored.answer_due = None
            stored.condition = attempt.condition
            stored.fee_dkk = attempt.fee_dkk
            stored.reply_by = attempt.reply_by
        else:
            stored = AttemptRow(
                request_id=row.id,
                position=attempt.position,
                isil=attempt.isil,
                state=attempt.state.value,
                created_at=now,
            )
            if staged is None:
                session.add(stored)
            loaded.attempts.append(stored)
    for event in outcome.events:
        loaded.new_events.append(_event(session if staged is None else None, row.id, event, actor))
    # Notices last: a mail is rendered when it is queued, so every deadline it quotes must be set.
    for effect in sorted(outcome.effects, key=lambda e: isinstance(e, lm.NotifyPatron)):
        _carry_out(session, loaded, effect, now, today)
    if new.is_terminal:
        row.ended_at = now
        row.answer_due = row.pickup_due = row.next_reminder_on = None
    _refresh_derived(row)
    if staged is not None:
        staged.append(_Heard(action, actor, aggregate, outcome))
        return outcome
    for listener in APPLY_LISTENERS:
        listener(session, loaded, action, actor, aggregate, outcome, now)
    return outcome


def _conflict(exc: lm.IllegalTransition, request_id: int) -> Conflict:
    return Conflict(
        exc.message,
        field="action",
        extra={
            "state": exc.requester_state.value,
            "supplier_state": exc.supplier_state.value if exc.supplier_state else None,
            "allowed_actions": [
                {"action": a.action.value, "needs": list(a.needs), "path": action_path(request_id, a.action)}
                for a in exc.allowed
            ],
        },
    )


def action_path(request_id: int, action: lm.Action) -> str:
    """Where the API takes this action on this request."""
    return f"/api/v1/requests/{request_id}/actions/{action.value}"


def _carry_out(session: Session, loaded: Loaded, effect: lm.Effect, now: datetime, today: date) -> None:
    row = loaded.row
    if isinstance(effect, lm.ScheduleDeadline):
        if effect.kind is lm.DeadlineKind.ANSWER and effect.isil is not None:
            days = effect.working_days or 0
            due = (
                cached_calendar(session, effect.isil).add_working_days(today, days)
                if effect.isil in cached_libraries(session)
                else today + timedelta(days=days)
            )
            row.answer_due = due
            loaded.attempts[-1].answer_due = due
        elif effect.kind is lm.DeadlineKind.PICKUP:
            row.pickup_due = effect.on
        elif effect.kind is lm.DeadlineKind.DUE:
            row.next_reminder_on = None
    elif isinstance(effect, lm.CancelDeadline):
        if effect.kind is lm.DeadlineKind.ANSWER:
            row.answer_due = None
        elif effect.kind is lm.DeadlineKind.PICKUP:
            row.pickup_due = None
        else:
            row.next_reminder_on = None
    elif isinstance(effect, lm.MoveToNextLender):
        # A slip printed by the previous lender is not the new lender's.
        row.pull_slip_printed_at = None
    elif isinstance(effect, lm.ChargeReplacement):
        row.replacement_charge_dkk = effect.amount_dkk
    elif isinstance(effect, lm.NotifyPatron):
        if effect.kind == "overdue":
            # The borrowing library's first reminder goes out on the worker's next pass.
            row.next_reminder_on = today
        _mail_patron(session, loaded, effect.kind, now)
    # NotifyLender / NotifyRequester: each library's staff queue is the lists' "needs attention"
    # filter and the lenders' daily digest; ISO 18626 peers are the iso18626 area's business.


# Patron mails that have templates; other NotifyPatron kinds are shown at the library's desk only.
PATRON_TEMPLATES = {
    "confirmation": "patron_confirmation",
    "ready_for_pickup": "patron_ready_for_pickup",
    "unfilled": "patron_unfilled",
    "due_soon": "patron_due_soon",
    "overdue": "patron_overdue",
    "recalled": "patron_recalled",
}


def library_name(session: Session, isil: str) -> str:
    """A library's name from the cached directory (an unknown ISIL names itself)."""
    lib = cached_libraries(session).get(isil)
    return lib.name if lib is not None else isil


def _confirm_to_patron(
    session: Session, loaded: Loaded, patron: Patron, names: tuple[str, str], now: datetime
) -> None:
    """The patron's confirmation of a request placed for them, from what placing read before its
    writes (nothing is read here: on SQLite the write lock is held). Only a request that is being
    found is confirmed: one ended at placing tells the patron through its own notice."""
    row = loaded.row
    if not patron.email or R(row.state) in lm.REQUESTER_TERMINAL:
        return
    queue_email(
        session,
        to=[patron.email],
        template=PATRON_TEMPLATES["confirmation"],
        lang=patron.language,
        context={
            "patron_name": patron.name,
            "title": row.title,
            "pickup_library": names[0],
            "home_library": names[1],
            "need_before": row.need_before.isoformat() if row.need_before else "",
            "request_id": row.id,
        },
        idempotency_key=f"lending:{row.id}:patron:confirmation",
        ordering_key=f"lending:{row.id}:patron",
        now=now,
        new_key=True,
    )


def mail_patron(
    session: Session, loaded: Loaded, kind: str, now: datetime, idempotency_key: str | None = None
) -> bool:
    """Queue the patron notice `kind` (a PATRON_TEMPLATES key) for the loaded request, in the patron's
    language; a patron without an e-mail address gets none (the library's desk tells them). True
    when a mail was queued."""
    return _mail_patron(session, loaded, kind, now, idempotency_key)


def _mail_patron(
    session: Session, loaded: Loaded, kind: str, now: datetime, idempotency_key: str | None = None
) -> bool:
    template = PATRON_TEMPLATES.get(kind)
    row = loaded.row
    if template is None or row.patron_id is None or row.id is None:
        return False
    patron = get_patron(session, row.patron_id)
    if patron is None or not patron.email:
        return False
    reason = _last_reason(session, row.id) or "—"
    context = {
        "patron_name": patron.name,
        "title": row.title,
        "pickup_library": library_name(session, row.pickup_isil),
        "home_library": library_name(session, row.requester_isil),
        "pickup_by": row.pickup_due.isoformat() if row.pickup_due else "",
        "due_date": row.due_date.isoformat() if row.due_date else "",
        "need_before": row.need_before.isoformat() if row.need_before else "",
        "request_id": row.id,
        "reason": reason,
    }
    queue_email(
        session,
        to=[patron.email],
        template=template,
        lang=patron.language,
        context=context,
        idempotency_key=idempotency_key or f"lending:{row.id}:patron:{kind}:{row.version}",
        ordering_key=f"lending:{row.id}:patron",
        now=now,
    )
    return True


def _last_reason(session: Session, request_id: int) -> str | None:
    session.flush()
    return session.scalar(
        select(EventRow.reason)
        .where(EventRow.request_id == request_id, EventRow.reason.is_not(None))
        .order_by(EventRow.id.desc())
        .limit(1)
    )


def template_exists(name: str) -> bool:
    """True when both languages of a mail template exist."""
    return all((TEMPLATES / f"{name}.{lang}.txt").exists() for lang in ("da", "en"))


# --------------------------------------------------------------------------------------------------
# Who the caller is on a request
# --------------------------------------------------------------------------------------------------


def _lender_isils(loaded: Loaded) -> set[str]:
    """Every library that was asked (the foreign library and the national library mediating it)."""
    via = {e.isil: e.via_isil for e in loaded.rota}
    isils: set[str] = set()
    for attempt in loaded.attempts:
        isils.add(attempt.isil)
        if via.get(attempt.isil):
            isils.add(via[attempt.isil] or "")
    return isils


def _is_current_lender(loaded: Loaded, isil: str | None) -> bool:
    current = loaded.row.current_lender_isil
    if isil is None or current is None:
        return False
    via = next((e.via_isil for e in loaded.rota if e.isil == current), None)
    return isil in (current, via)


def viewer_role(principal: Principal, loaded: Loaded, as_role: lm.Role | None = None) -> lm.Role:
    """The lending role the principal has on this request; NotFound for libraries not involved, so a
    request's existence does not leak to them."""
    row = loaded.row
    if principal.is_national_admin:
        if as_role in (lm.Role.SUPPLIER_STAFF, lm.Role.PATRON, lm.Role.REQUESTER_STAFF):
            return as_role
        return lm.Role.REQUESTER_STAFF
    isil = principal.library_isil
    if isil is not None and isil == row.requester_isil:
        return lm.Role.PATRON if as_role is lm.Role.PATRON else lm.Role.REQUESTER_STAFF
    if isil is not None and isil in _lender_isils(loaded):
        return lm.Role.SUPPLIER_STAFF
    raise NotFound(f"no request {row.id}", field="request_id")


def _allowed(
    loaded: Loaded, role: lm.Role, principal: Principal, aggregate: lm.RequestAggregate | None = None
) -> tuple[lm.AllowedAction, ...]:
    # A lender that was asked earlier may still read the request but no longer act on it.
    if (
        role is lm.Role.SUPPLIER_STAFF
        and not principal.is_national_admin
        and not _is_current_lender(loaded, principal.library_isil)
    ):
        return ()
    return lm.allowed_for(aggregate or loaded.aggregate(), role)


# --------------------------------------------------------------------------------------------------
# Use cases
# --------------------------------------------------------------------------------------------------


def _patron_for(session: Session, data: PlaceRequestIn, requester_isil: str) -> Patron:
    if data.patron_id is not None:
        patron = get_patron(session, data.patron_id)
        if patron is None or patron.home_library_isil != requester_isil:
            raise DomainError(f"no patron {data.patron_id} at {requester_isil}", field="patron_id")
        return patron
    assert data.card_number is not None
    found = patron_with_card(session, requester_isil, data.card_number)
    if found is None:
        raise DomainError(f"no patron with card {data.card_number} at {requester_isil}", field="card_number")
    return found


@dataclass(frozen=True)
class _Placement:
    """What placing a request reads before it writes anything."""

    requester: Library
    pickup_isil: str
    patron: Patron
    patron_id: int
    patron_category: str
    principles: Principles
    need_before: date
    title: str
    citation: dict[str, Any]
    rota: lr.Rota | None


def _read_placement(
    session: Session,
    data: PlaceRequestIn,
    requester_isil: str,
    principles_name: str,
    now: datetime,
) -> _Placement:
    libraries = cached_libraries(session)
    requester = libraries.get(requester_isil) or directory.get_library(session, requester_isil)
    pickup_isil = normalise_isil(data.pickup_isil) if data.pickup_isil else requester_isil
    if pickup_isil not in libraries and not directory.library_exists(session, pickup_isil):
        raise DomainError(f"no library with ISIL {pickup_isil}", field="pickup_isil")
    patron = _patron_for(session, data, requester_isil)
    principles = principles_named(principles_name)
    today = now.date()
    need_before = data.need_before or today + timedelta(days=principles.defaults.need_before_days)
    if need_before <= today:
        raise DomainError("the need-before date must be after today", field="need_before")
    rota: lr.Rota | None = None
    if data.record_id is not None:
        record = catalogue.get_record(session, data.record_id, with_source=False)
        title = record.title
        citation: dict[str, Any] = {}
        rota = _rota_for(session, record, data.record_id, requester, principles, now)
    else:
        assert data.citation is not None
        citation = data.citation.model_dump(exclude_none=True)
        title = data.citation.title
    return _Placement(
        requester=requester,
        pickup_isil=pickup_isil,
        patron=patron,
        patron_id=patron.id,
        patron_category=data.patron_category.value if data.patron_category else patron.category,
        principles=principles,
        need_before=need_before,
        title=title,
        citation=citation,
        rota=rota,
    )


def place(
    session: Session,
    data: PlaceRequestIn,
    principal: Principal,
    principles_name: str,
    now: datetime,
) -> int:
    """Place a request for a patron: validate it, build the rota under the active principles and ask
    the first lender (or fill it locally, or leave a citation for staff to source). Returns its id.

    Everything placing needs to read (the patron, the record, its holdings, the directory, the load)
    is read first, outside the write transaction where the database allows it (see
    `reads_before_writes`): the rota is a snapshot of the catalogue and the load at placing time
    either way, and on SQLite the write lock is then held only for the writes.
    """
    requester_isil = normalise_isil(data.requester_isil or principal.library_isil or "")
    require_staff_of(principal, requester_isil)
    return place_as(session, data, requester_isil, principal.username, principles_name, now)


def place_as(
    session: Session,
    data: PlaceRequestIn,
    requester_isil: str,
    by_user: str | None,
    principles_name: str,
    now: datetime,
) -> int:
    """`place` once the caller is known to act for `requester_isil`: staff through `place`, a patron
    for themselves through `lending.patron.place_for_patron` (`by_user` None: a lender must never
    learn who the patron is from the event log). The patron gets a confirmation e-mail."""
    staged: list[_Heard] = []
    with reads_before_writes(session) as reads:
        placement = _read_placement(reads, data, requester_isil, principles_name, now)
        loaded = _staged_placement(reads, data, by_user, requester_isil, placement, now, staged)
        names = (library_name(reads, placement.pickup_isil), library_name(reads, requester_isil))
    # Everything is decided: the writes follow (on SQLite the write lock is taken here and held only
    # for these statements and the commit). The request's INSERT with its final values gives the id
    # the events, the rota and the attempt refer to; they follow with one statement per table.
    row = loaded.row
    request_id = insert_request(session, row)
    row.id = request_id
    insert_new_rows(session, request_id, loaded)
    # The row joins the session as if loaded, so what the listeners do and later changes in this
    # unit of work are ordinary (versioned) updates of it.
    make_transient_to_detached(row)
    session.add(row)
    for heard in staged:
        for listener in APPLY_LISTENERS:
            listener(session, loaded, heard.action, heard.actor, heard.before, heard.outcome, now)
    _confirm_to_patron(session, loaded, placement.patron, names, now)
    flush_versioned(session, row)
    just_placed(session)[row.id] = Placed(loaded, placement.patron)
    return row.id


def _staged_placement(
    session: Session,
    data: PlaceRequestIn,
    by_user: str | None,
    requester_isil: str,
    placement: _Placement,
    now: datetime,
    staged: list[_Heard],
) -> Loaded:
    """The new request's rows as they will be inserted: validated, and sourcing, sent to the first
    lender, filled locally or waiting for staff, with their events, rota and attempt. Nothing is
    written (`session` is only read, for the lenders' calendars); `staged` gets the steps applied."""
    requester, rota, principles = placement.requester, placement.rota, placement.principles
    placed_role = lm.Role.PATRON if data.placed_by is PlacedBy.PATRON else lm.Role.REQUESTER_STAFF
    row = RequestRow(
        version=1,
        state=R.SUBMITTED.value,
        service_type=data.service_type.value,
        delivered_as=None,
        requester_isil=requester_isil,
        pickup_isil=placement.pickup_isil,
        patron_id=placement.patron_id,
        patron_category=placement.patron_category,
        placed_by=placed_role.value,
        record_pk=data.record_id,
        title=placement.title,
        citation=placement.citation,
        needs_sourcing=data.record_id is None,
        principles_version=principles.version,
        position=None,
        current_lender_isil=None,
        renewals_used=0,
        need_before=placement.need_before,
        pickup_window_days=requester.policy.pickup_window_days,
        answer_due=None,
        due_date=None,
        pickup_due=None,
        next_reminder_on=None,
        reminders_sent=0,
        next_deadline=None,
        attention=None,
        replacement_charge_dkk=None,
        pull_slip_printed_at=None,
        created_at=now,
        updated_at=now,
        ended_at=None,
        personal_data_erased_at=None,
    )
    placed = EventRow(
        at=now,
        side=lm.Side.REQUESTER.value,
        action="place",
        from_state=None,
        to_state=R.SUBMITTED.value,
        by_role=placed_role.value,
        by_user=by_user,
        by_isil=requester_isil,
        reason=f"placed under the {principles.version} principles",
        position=None,
        isil=None,
    )
    loaded = Loaded(row, [], [], [placed])
    _apply(session, loaded, lm.Action.VALIDATE, SYSTEM, now, staged=staged)
    if rota is None:
        why = lm.ActionInput(reason="not in the catalogue: staff source it")
        _apply(session, loaded, lm.Action.START_SOURCING, SYSTEM, now, why, staged=staged)
    elif rota.filled_locally:
        why = lm.ActionInput(reason="an available copy at the requesting library")
        _apply(session, loaded, lm.Action.FILL_LOCALLY, SYSTEM, now, why, staged=staged)
    else:
        _apply(session, loaded, lm.Action.START_SOURCING, SYSTEM, now, staged=staged)
        _rota_rows(loaded, rota, cached_libraries(session))
        _apply(session, loaded, lm.Action.SEND, SYSTEM, now, staged=staged)
    return loaded


def act(
    session: Session,
    request_id: int,
    action: lm.Action,
    principal: Principal,
    body: ActionIn,
    now: datetime,
) -> None:
    """One caller's action on a request (`POST /requests/{id}/actions/{action}`)."""
    loaded = load(session, request_id, lock=True)
    role = viewer_role(principal, loaded, body.as_role)
    if (
        role is lm.Role.SUPPLIER_STAFF
        and not principal.is_national_admin
        and not _is_current_lender(loaded, principal.library_isil)
    ):
        aggregate = loaded.aggregate()
        attempt = aggregate.open_attempt
        raise _conflict(
            lm.IllegalTransition(
                action,
                role,
                aggregate.state,
                attempt.state if attempt else None,
                (),
                "your library is no longer the lender asked",
            ),
            request_id,
        )
    data = lm.ActionInput(
        reason=body.reason,
        condition=body.condition,
        fee_dkk=body.fee_dkk,
        due_date=body.due_date,
        reply_by=body.reply_by,
    )
    apply(session, loaded, action, Actor(role, principal.username, principal.library_isil), now, data)
    if action is lm.Action.SEND:
        loaded.row.needs_sourcing = False


def _editable(loaded: Loaded, principal: Principal) -> None:
    role = viewer_role(principal, loaded)
    if role is not lm.Role.REQUESTER_STAFF:
        raise PermissionDenied("only the borrowing library's staff may edit the rota")
    if R(loaded.row.state) in lm.REQUESTER_TERMINAL:
        raise Conflict(
            f"request {loaded.row.id} has ended ({loaded.row.state}); its rota is closed", field="rota"
        )


def _rota_event(session: Session, loaded: Loaded, principal: Principal, now: datetime, why: str) -> None:
    state = loaded.row.state
    session.add(
        EventRow(
            request_id=loaded.row.id,
            at=now,
            side=lm.Side.REQUESTER.value,
            action="edit_rota",
            from_state=state,
            to_state=state,
            by_role=lm.Role.REQUESTER_STAFF.value,
            by_user=principal.username,
            by_isil=principal.library_isil,
            reason=why,
            position=loaded.row.position,
        )
    )
    loaded.row.updated_at = now
    _refresh_derived(loaded.row)


def _check_and_store(session: Session, loaded: Loaded, rota: lr.Rota) -> None:
    libraries = cached_libraries(session)
    aggregate = loaded.aggregate()
    old_terms = {t.isil: t for t in aggregate.lenders}
    lenders = [
        old_terms.get(e.isil)
        or (lm.LenderTerms.from_library(libraries[e.isil]) if e.isil in libraries else lm.LenderTerms(e.isil))
        for e in rota.candidates
    ]
    lm.with_rota(aggregate, lenders)  # refuses moving or removing lenders already asked
    store_rota(session, loaded, rota, libraries)


def reorder_rota(
    session: Session, request_id: int, isils: Sequence[str], principal: Principal, now: datetime
) -> None:
    """Staff's order for the lenders not asked yet (the asked ones keep their places)."""
    loaded = load(session, request_id, lock=True)
    _editable(loaded, principal)
    requester = cached_libraries(session).get(loaded.row.requester_isil) or directory.get_library(
        session, loaded.row.requester_isil
    )
    rota = _rota_value(loaded, requester)
    asked = [e.isil for e in rota.candidates[: loaded.aggregate().next_position]]
    wanted = [normalise_isil(i) for i in isils]
    clash = [i for i in wanted if i in asked]
    if clash:
        raise DomainError(f"{', '.join(clash)} was already asked and keeps its place", field="isils")
    new = lr.reorder(rota, [*asked, *wanted])
    _check_and_store(session, loaded, new)
    _rota_event(session, loaded, principal, now, "rota reordered: " + ", ".join(wanted))
    session.flush()


def add_rota_lender(
    session: Session,
    request_id: int,
    isil: str,
    reason: str,
    position: int | None,
    principal: Principal,
    now: datetime,
) -> None:
    """Staff add a lender by hand (also one the rota builder excluded, keeping why it was)."""
    loaded = load(session, request_id, lock=True)
    _editable(loaded, principal)
    lib_isil = normalise_isil(isil)
    libraries = cached_libraries(session)
    library = libraries.get(lib_isil) or directory.get_library(session, lib_isil)
    requester = libraries.get(loaded.row.requester_isil) or directory.get_library(
        session, loaded.row.requester_isil
    )
    rota = _rota_value(loaded, requester)
    next_position = loaded.aggregate().next_position
    if position is not None and position < next_position:
        raise DomainError(f"positions before {next_position} were already asked", field="position")
    new = lr.add_lender(rota, library, reason, position=position)
    _check_and_store(session, loaded, new)
    _rota_event(session, loaded, principal, now, f"added {lib_isil}: {reason.strip()}")
    session.flush()


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestReading:
    """A request as the caller may see it (the API and the pages shape their answers from this): the
    caller's role on it, its patron (only for the borrowing library), its events and what the caller
    may do now."""

    loaded: Loaded
    role: lm.Role
    patron: Patron | None
    events: Sequence[EventRow]
    aggregate: lm.RequestAggregate
    allowed: tuple[lm.AllowedAction, ...]

    @property
    def can_edit_rota(self) -> bool:
        """True for the borrowing library's staff while the request is open."""
        state = R(self.loaded.row.state)
        return self.role is lm.Role.REQUESTER_STAFF and state not in lm.REQUESTER_TERMINAL


def read_request(
    session: Session, request_id: int, principal: Principal, as_role: lm.Role | None = None
) -> RequestReading:
    """The request as the caller may see it: a lender never gets the patron. Right after `place` in
    the same session it answers from the rows just written instead of reading them back."""
    placed = take_placed(session, request_id)
    loaded = placed.loaded if placed is not None else load(session, request_id)
    role = viewer_role(principal, loaded, as_role)
    row = loaded.row
    patron: Patron | None = None
    if role in (lm.Role.REQUESTER_STAFF, lm.Role.PATRON) and row.patron_id is not None:
        patron = placed.patron if placed is not None else get_patron(session, row.patron_id)
    aggregate = loaded.aggregate()
    events: Sequence[EventRow] = (
        loaded.new_events
        if placed is not None
        else list(
            session.scalars(select(EventRow).where(EventRow.request_id == request_id).order_by(EventRow.id))
        )
    )
    allowed = _allowed(loaded, role, principal, aggregate)
    return RequestReading(loaded, role, patron, events, aggregate, allowed)


@dataclass(frozen=True)
class ListFilter:
    """The filters of `GET /api/v1/requests`."""

    side: lm.Side | None = None
    states: tuple[lm.RequesterState, ...] = ()
    library: str | None = None
    needs_attention: bool = False
    deadline_within_days: int | None = None


def list_requests(
    session: Session, principal: Principal, filters: ListFilter, limit: int, offset: int, today: date
) -> tuple[list[RequestSummary], int]:
    """Requests of a library (the caller's; national administrators may name any or none), newest first."""
    library = normalise_isil(filters.library) if filters.library else principal.library_isil
    if library is not None and not principal.is_national_admin and library != principal.library_isil:
        raise PermissionDenied(f"only staff of {library} may list its requests")
    if library is None and not principal.is_national_admin:
        raise PermissionDenied("you belong to no library; name one with ?library=")
    conditions: list[Any] = []
    if library is not None:
        as_requester = RequestRow.requester_isil == library
        as_lender = exists().where(AttemptRow.request_id == RequestRow.id, AttemptRow.isil == library)
        if filters.side is lm.Side.REQUESTER:
            conditions.append(as_requester)
        elif filters.side is lm.Side.SUPPLIER:
            conditions.append(as_lender)
        else:
            conditions.append(or_(as_requester, as_lender))
        if filters.needs_attention:
            mine_to_do = []
            if filters.side in (None, lm.Side.REQUESTER):
                mine_to_do.append(and_(RequestRow.attention == "requester", as_requester))
            if filters.side in (None, lm.Side.SUPPLIER):
                mine_to_do.append(
                    and_(RequestRow.attention == "supplier", RequestRow.current_lender_isil == library)
                )
            conditions.append(or_(*mine_to_do))
    elif filters.needs_attention:
        conditions.append(RequestRow.attention.is_not(None))
    if filters.states:
        conditions.append(RequestRow.state.in_([s.value for s in filters.states]))
    if filters.deadline_within_days is not None:
        conditions.append(RequestRow.next_deadline <= today + timedelta(days=filters.deadline_within_days))
    total = session.scalar(select(func.count()).select_from(RequestRow).where(*conditions)) or 0
    rows = session.scalars(
        select(RequestRow).where(*conditions).order_by(RequestRow.id.desc()).limit(limit).offset(offset)
    )
    items = [
        RequestSummary(
            id=r.id,
            state=R(r.state),
            service_type=lm.ServiceType(r.service_type),
            title=r.title,
            requester_isil=r.requester_isil,
            current_lender_isil=r.current_lender_isil,
            need_before=r.need_before,
            next_deadline=r.next_deadline,
            attention=r.attention,
            principles_version=r.principles_version,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in rows
    ]
    return items, int(total)


def library_names(session: Session, isils: Iterable[str]) -> dict[str, str]:
    """Each library's name by ISIL, from the cached directory (an unknown ISIL names itself)."""
    libraries = cached_libraries(session)
    return {isil: libraries[isil].name if isil in libraries else isil for isil in isils}


# --------------------------------------------------------------------------------------------------
# Messages between the two libraries of a request
# --------------------------------------------------------------------------------------------------


def _message(row: MessageRow) -> lm.Message:
    return lm.Message(
        id=row.id,
        request_id=row.request_id,
        from_isil=row.from_isil,
        to_isil=row.to_isil,
        author=row.author,
        body=row.body,
        created_at=row.created_at,
        read_at=row.read_at,
    )


def _message_side(principal: Principal, loaded: Loaded) -> str | None:
    """The library the principal reads and writes messages for on this request: its own when it is
    the borrowing library or a lender asked; None for a national administrator from elsewhere."""
    viewer_role(principal, loaded)  # NotFound for libraries not involved
    isil = principal.library_isil
    if isil is not None and (isil == loaded.row.requester_isil or isil in _lender_isils(loaded)):
        return isil
    return None


def post_message(
    session: Session, request_id: int, principal: Principal, body: str, now: datetime
) -> lm.Message:
    """The caller's library writes to the other library of the request: the borrowing library to the
    lender asked now, that lender to the borrowing library (see `model.message_recipient`)."""
    loaded = load(session, request_id)
    sender = _message_side(principal, loaded)
    if sender is None:
        raise PermissionDenied("only staff of the borrowing library and of the lender asked now write here")
    via = next((e.via_isil for e in loaded.rota if e.isil == loaded.row.current_lender_isil), None)
    to_isil = lm.message_recipient(sender, loaded.row.requester_isil, loaded.row.current_lender_isil, via)
    row = MessageRow(
        request_id=request_id,
        from_isil=sender,
        to_isil=to_isil,
        author=principal.username,
        body=lm.message_body(body),
        created_at=now,
        read_at=None,
    )
    session.add(row)
    session.flush()
    return _message(row)


def list_messages(session: Session, request_id: int, principal: Principal) -> list[lm.Message]:
    """The request's messages the caller's library sent or received, oldest first (the borrowing
    library sees its whole thread; a lender only what passed between it and the borrowing library;
    a national administrator from elsewhere sees them all)."""
    loaded = load(session, request_id)
    side = _message_side(principal, loaded)
    query = select(MessageRow).where(MessageRow.request_id == request_id)
    if side is not None and side != loaded.row.requester_isil:
        query = query.where(or_(MessageRow.from_isil == side, MessageRow.to_isil == side))
    return [_message(r) for r in session.scalars(query.order_by(MessageRow.id))]


def mark_messages_read(session: Session, request_id: int, principal: Principal, now: datetime) -> int:
    """Mark the messages the caller's library received on this request as read; returns how many."""
    loaded = load(session, request_id)
    side = _message_side(principal, loaded)
    if side is None:
        return 0
    rows = list(
        session.scalars(
            select(MessageRow).where(
                MessageRow.request_id == request_id,
                MessageRow.to_isil == side,
                MessageRow.read_at.is_(None),
            )
        )
    )
    for row in rows:
        row.read_at = now
    session.flush()
    return len(rows)


def count_unread_messages(session: Session, library_isil: str) -> int:
    """How many messages to this library no one there has read yet (the staff dashboard's "unread
    messages" in Needs attention). One indexed count."""
    isil = normalise_isil(library_isil)
    query = select(func.count()).where(MessageRow.to_isil == isil, MessageRow.read_at.is_(None))
    return int(session.scalar(query) or 0)


def unread_messages_by_request(
    session: Session, library_isil: str, request_ids: Iterable[int] | None = None
) -> dict[int, int]:
    """Unread messages to this library per request (the queues' badges), for the given requests or
    all; requests without unread messages are left out. One grouped query."""
    query = select(MessageRow.request_id, func.count()).where(
        MessageRow.to_isil == normalise_isil(library_isil), MessageRow.read_at.is_(None)
    )
    if request_ids is not None:
        query = query.where(MessageRow.request_id.in_(list(request_ids)))
    return {int(r): int(n) for r, n in session.execute(query.group_by(MessageRow.request_id))}


# --------------------------------------------------------------------------------------------------
# Statistics and personal data (the privacy area's erasure and subject access use these)
# --------------------------------------------------------------------------------------------------


def lending_statistics(session: Session) -> lm.LendingStatistics:
    """Counts by state, borrowing library, patron category and service; attempts by lender and state;
    loans and copies supplied by each lender; turnaround (placing to end) and each lender's time to ship."""
    rows = session.execute(
        select(
            RequestRow.state,
            RequestRow.requester_isil,
            RequestRow.patron_category,
            RequestRow.service_type,
            RequestRow.created_at,
            RequestRow.ended_at,
        )
    ).all()
    by_state: dict[str, int] = {}
    by_requester: dict[str, int] = {}
    by_category: dict[str, int] = {}
    by_service: dict[str, int] = {}
    turnaround = ended = 0
    for state, requester, category, service_type, created_at, ended_at in rows:
        by_state[state] = by_state.get(state, 0) + 1
        by_requester[requester] = by_requester.get(requester, 0) + 1
        by_category[category] = by_category.get(category, 0) + 1
        by_service[service_type] = by_service.get(service_type, 0) + 1
        if ended_at is not None:
            turnaround += int((ended_at - created_at).total_seconds())
            ended += 1
    attempts: dict[tuple[str, str], int] = {}
    supplied: dict[str, int] = {}
    shipping: dict[str, int] = {}
    for isil, state, created_at, shipped_at in session.execute(
        select(AttemptRow.isil, AttemptRow.state, AttemptRow.created_at, AttemptRow.shipped_at)
    ).all():
        attempts[(isil, state)] = attempts.get((isil, state), 0) + 1
        if shipped_at is not None:
            supplied[isil] = supplied.get(isil, 0) + 1
            shipping[isil] = shipping.get(isil, 0) + int((shipped_at - created_at).total_seconds())
    return lm.LendingStatistics(
        requests=len(rows),
        by_state=by_state,
        by_requester=by_requester,
        by_patron_category=by_category,
        by_service=by_service,
        attempts_by_lender_state=attempts,
        supplied_by_lender=supplied,
        turnaround_seconds_total=turnaround,
        turnaround_ended=ended,
        shipping_seconds_by_lender=shipping,
    )


@dataclass(frozen=True, slots=True)
class EndedRequest:
    """A request whose patron data is due for erasure."""

    id: int
    patron_id: int | None


def ended_unerased(session: Session, ended_before: datetime, limit: int = 500) -> list[EndedRequest]:
    """Requests that ended before the given moment and still hold their patron's data, oldest first."""
    query = (
        select(RequestRow.id, RequestRow.patron_id)
        .where(
            RequestRow.ended_at.is_not(None),
            RequestRow.ended_at < ended_before,
            RequestRow.personal_data_erased_at.is_(None),
        )
        .order_by(RequestRow.ended_at, RequestRow.id)
        .limit(limit)
    )
    return [EndedRequest(request_id, patron_id) for request_id, patron_id in session.execute(query).all()]


def count_ended_unerased(session: Session, ended_before: datetime) -> tuple[int, set[int]]:
    """How many requests `ended_unerased` would give in all, and their patrons' ids."""
    rows = session.execute(
        select(RequestRow.patron_id).where(
            RequestRow.ended_at.is_not(None),
            RequestRow.ended_at < ended_before,
            RequestRow.personal_data_erased_at.is_(None),
        )
    ).all()
    return len(rows), {patron_id for (patron_id,) in rows if patron_id is not None}


class Scrub(Protocol):
    """Blanks personal data out of text (free text also by name parts) and JSON values."""

    def text(self, value: str | None, *, free_text: bool = False) -> str | None:
        """``value`` with personal data replaced."""

    def json(self, value: Any, key: str | None = None) -> Any:
        """A JSON value with personal data replaced."""


def anonymise(session: Session, request_ids: Sequence[int], scrub: Scrub, now: datetime) -> None:
    """Detach the requests from their patrons and scrub personal data out of their free text (citation
    notes, event reasons, conditions, messages between the libraries). States, libraries, dates and
    categories stay for statistics."""
    if not request_ids:
        return
    for row in session.scalars(select(RequestRow).where(RequestRow.id.in_(request_ids))):
        row.patron_id = None
        row.citation = scrub.json(row.citation)
        row.personal_data_erased_at = now
    for event in session.scalars(select(EventRow).where(EventRow.request_id.in_(request_ids))):
        event.reason = scrub.text(event.reason, free_text=True)
        event.by_user = scrub.text(event.by_user)
    for attempt in session.scalars(select(AttemptRow).where(AttemptRow.request_id.in_(request_ids))):
        attempt.condition = scrub.text(attempt.condition, free_text=True)
    # Staff write to each other about the patron too ("she needs it before her exam"): the same scrub.
    for message in session.scalars(select(MessageRow).where(MessageRow.request_id.in_(request_ids))):
        message.body = scrub.text(message.body, free_text=True) or ""
        message.author = scrub.text(message.author)
    session.flush()


def patrons_with_requests(
    session: Session, patron_ids: Iterable[int], *, excluding: Iterable[int] = ()
) -> set[int]:
    """Which of these patrons still have a request (other than the excluded ones) that refers to them."""
    ids = list(patron_ids)
    if not ids:
        return set()
    query = select(RequestRow.patron_id).where(RequestRow.patron_id.in_(ids))
    skip = list(excluding)
    if skip:
        query = query.where(RequestRow.id.not_in(skip))
    return {patron_id for patron_id in session.scalars(query.distinct()) if patron_id is not None}


def requests_of_patron(session: Session, patron_id: int) -> list[dict[str, Any]]:
    """Every request that refers to the patron, with its timeline: what the hub holds about them."""
    rows = session.scalars(
        select(RequestRow).where(RequestRow.patron_id == patron_id).order_by(RequestRow.id)
    ).all()
    out: list[dict[str, Any]] = []
    for row in rows:
        events = session.scalars(
            select(EventRow).where(EventRow.request_id == row.id).order_by(EventRow.id)
        ).all()
        out.append(
            {
                "id": row.id,
                "state": row.state,
                "service_type": row.service_type,
                "title": row.title,
                "citation": row.citation,
                "requester_isil": row.requester_isil,
                "pickup_isil": row.pickup_isil,
                "patron_category": row.patron_category,
                "need_before": row.need_before.isoformat() if row.need_before else None,
                "due_date": row.due_date.isoformat() if row.due_date else None,
                "pickup_due": row.pickup_due.isoformat() if row.pickup_due else None,
                "created_at": row.created_at.isoformat(),
                "ended_at": row.ended_at.isoformat() if row.ended_at else None,
                "events": [
                    {
                        "at": e.at.isoformat(),
                        "side": e.side,
                        "action": e.action,
                        "to_state": e.to_state,
                        "by_role": e.by_role,
                        "reason": e.reason,
                    }
                    for e in events
                ],
            }
        )
    return out


# A peer's request: one Core INSERT for the id (see place_for_peer).
_INSERT_PEER_REQUEST = insert(cast(Table, RequestRow.__table__)).returning(RequestRow.__table__.c.id)


def place_for_peer(
    session: Session,
    *,
    requester: Library,
    service_type: lm.ServiceType,
    record_pk: int | None,
    title: str,
    citation: dict[str, Any],
    need_before: date | None,
    principles_name: str,
    now: datetime,
    note: str | None = None,
    placed: Callable[[int], None] | None = None,
) -> Loaded:
    """Create and validate an ILL request a peer (another hub, over ISO 18626) placed for its library
    ``requester``: no patron, routed by the caller afterwards. ``placed`` is told the new request's id
    before the validation runs (and its listeners with it)."""
    principles = principles_named(principles_name)
    today = now.date()
    if need_before is None or need_before <= today:
        need_before = today + timedelta(days=principles.defaults.need_before_days)
    values: dict[str, Any] = {
        "version": 1,
        "state": lm.RequesterState.SUBMITTED.value,
        "service_type": service_type.value,
        "delivered_as": None,
        "requester_isil": requester.isil,
        "pickup_isil": requester.isil,
        "patron_id": None,
        "patron_category": "adult",
        "placed_by": lm.Role.PEER.value,
        "record_pk": record_pk,
        "title": title,
        "citation": citation,
        "needs_sourcing": record_pk is None,
        "principles_version": principles.version,
        "position": None,
        "current_lender_isil": None,
        "renewals_used": 0,
        "need_before": need_before,
        "pickup_window_days": requester.policy.pickup_window_days,
        "answer_due": None,
        "due_date": None,
        "pickup_due": None,
        "next_reminder_on": None,
        "reminders_sent": 0,
        "next_deadline": None,
        "attention": None,
        "replacement_charge_dkk": None,
        "created_at": now,
        "updated_at": now,
        "ended_at": None,
        "personal_data_erased_at": None,
    }
    # One Core INSERT for the id (the ORM's insert costs more CPU, and on SQLite it runs under the
    # write lock); every column is set, so the row joins the session as if loaded and the steps
    # that follow end in one versioned UPDATE.
    request_id = session.connection().execute(_INSERT_PEER_REQUEST, values).scalar_one()
    row = RequestRow(id=request_id, **values)
    make_transient_to_detached(row)
    session.add(row)
    if placed is not None:
        placed(row.id)
    place_event = EventRow(
        request_id=row.id,
        at=now,
        side=lm.Side.REQUESTER.value,
        action="place",
        from_state=None,
        to_state=lm.RequesterState.SUBMITTED.value,
        by_role=lm.Role.PEER.value,
        by_isil=requester.isil,
        reason=f"ISO 18626 request from {requester.isil} under the {principles.version} principles"
        + (f": {note}" if note else ""),
    )
    session.add(place_event)
    loaded = Loaded(row, [], [], [place_event])
    # Written by route's flush (or the caller's commit) with the steps that follow.
    apply(session, loaded, lm.Action.VALIDATE, SYSTEM, now, flush=False)
    return loaded
