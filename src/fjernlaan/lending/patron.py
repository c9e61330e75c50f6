"""Patron self-service: a patron logged in with card and PIN asks for a title, follows their requests
in plain words, and cancels while the lifecycle allows it.

The same use cases staff use run underneath (`service.place_as`, `service.apply` with the `patron`
role): the state machine decides what a patron may do. A patron reaches only their own requests; any
other request id is "not found", so nothing tells a patron that another patron's request exists. A
lender is shown by its name only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fjernlaan.accounts.model import PatronPrincipal
from fjernlaan.directory import service as directory
from fjernlaan.directory.model import Library, normalise_isil
from fjernlaan.errors import DomainError, NotFound
from fjernlaan.lending import model as lm
from fjernlaan.lending import service
from fjernlaan.lending.patron_status import PatronView, patron_view, pickup_libraries
from fjernlaan.lending.schemas import PlacedBy, PlaceRequestIn
from fjernlaan.lending.store import RequestRow

R = lm.RequesterState
# States in which the patron's copy is at, or coming from, a lender: the lender's name is shown.
_LENDER_SHOWN = frozenset(
    {
        R.EXPECTS_TO_SUPPLY,
        R.SHIPPED,
        R.RECEIVED,
        R.DELIVERED,
        R.CHECKED_OUT,
        R.RENEW_PENDING,
        R.OVERDUE,
        R.RECALLED,
        R.RETURNED_BY_PATRON,
        R.RETURN_SHIPPED,
        R.COMPLETED,
    }
)


@dataclass(frozen=True)
class PatronRequest:
    """One request as its patron sees it: no staff state, no ISIL, nothing about anybody else."""

    id: int
    title: str
    view: PatronView
    pickup_library: str
    lender: str | None
    created_at: datetime
    can_cancel: bool


def _library_names(session: Session) -> dict[str, str]:
    return {lib.isil: lib.name for lib in service.cached_libraries(session).values()}


def _home(session: Session, patron: PatronPrincipal) -> Library:
    libraries = service.cached_libraries(session)
    return libraries.get(patron.library_isil) or directory.get_library(session, patron.library_isil)


def pickup_choices(session: Session, patron: PatronPrincipal) -> list[Library]:
    """The libraries this patron may collect at (their own first)."""
    return pickup_libraries(_home(session, patron), service.cached_libraries(session).values())


def place_for_patron(
    session: Session,
    patron: PatronPrincipal,
    *,
    record_id: int,
    pickup_isil: str | None,
    need_before: date | None,
    principles_name: str,
    now: datetime,
) -> int:
    """The patron asks for a catalogue title for themselves, at their home library, to collect at one
    of `pickup_choices`; the need-before date ends the request if nothing came by then. Returns the
    request's id."""
    allowed = {lib.isil for lib in pickup_choices(session, patron)}
    pickup = normalise_isil(pickup_isil) if pickup_isil else patron.library_isil
    if pickup not in allowed:
        raise DomainError("you cannot collect at that library", field="pickup_isil")
    data = PlaceRequestIn(
        record_id=record_id,
        patron_id=patron.patron_id,
        requester_isil=patron.library_isil,
        pickup_isil=pickup,
        need_before=need_before,
        placed_by=PlacedBy.PATRON,
    )
    return service.place_as(session, data, patron.library_isil, None, principles_name, now)


def _own(session: Session, patron: PatronPrincipal, request_id: int, *, lock: bool = False) -> service.Loaded:
    try:
        loaded = service.load(session, request_id, lock=lock)
    except NotFound:
        loaded = None
    if loaded is None or loaded.row.patron_id != patron.patron_id:
        # The same answer for another patron's request as for none at all.
        raise NotFound(f"no request {request_id}", field="request_id")
    return loaded


def _summary(row: RequestRow, names: dict[str, str], can_cancel: bool) -> PatronRequest:
    state = R(row.state)
    lender = row.current_lender_isil if state in _LENDER_SHOWN else None
    return PatronRequest(
        id=row.id,
        title=row.title,
        view=patron_view(
            state, need_before=row.need_before, pickup_due=row.pickup_due, due_date=row.due_date
        ),
        pickup_library=names.get(row.pickup_isil, row.pickup_isil),
        # A lender not in the directory has no name to show; the patron then sees none.
        lender=names.get(lender) if lender else None,
        created_at=row.created_at,
        can_cancel=can_cancel,
    )


def _can_cancel(loaded: service.Loaded) -> bool:
    return any(a.action is lm.Action.CANCEL for a in lm.allowed_for(loaded.aggregate(), lm.Role.PATRON))


def my_requests(
    session: Session, patron: PatronPrincipal, *, limit: int = 25, offset: int = 0
) -> tuple[list[PatronRequest], int]:
    """The patron's own requests, newest first, and how many there are."""
    mine = RequestRow.patron_id == patron.patron_id
    total = session.scalar(select(func.count()).select_from(RequestRow).where(mine)) or 0
    ids = list(
        session.scalars(
            select(RequestRow.id).where(mine).order_by(RequestRow.id.desc()).limit(limit).offset(offset)
        )
    )
    names = _library_names(session)
    items = []
    for request_id in ids:
        loaded = service.load(session, request_id)
        items.append(_summary(loaded.row, names, _can_cancel(loaded)))
    return items, int(total)


def my_request(session: Session, patron: PatronPrincipal, request_id: int) -> PatronRequest:
    """One of the patron's own requests; NotFound for any other."""
    loaded = _own(session, patron, request_id)
    return _summary(loaded.row, _library_names(session), _can_cancel(loaded))


def cancel_for_patron(session: Session, patron: PatronPrincipal, request_id: int, now: datetime) -> bool:
    """The patron cancels their own request; the state machine refuses (409) once it is too late
    (shipped). True when it is cancelled now, False when the lender engaged was asked to confirm."""
    loaded = _own(session, patron, request_id, lock=True)
    actor = service.Actor(lm.Role.PATRON, None, loaded.row.requester_isil)
    why = lm.ActionInput(reason="cancelled by the patron")
    outcome = service.apply(session, loaded, lm.Action.CANCEL, actor, now, why)
    return outcome.aggregate.state is R.CANCELLED
