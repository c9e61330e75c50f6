"""The staff's daily work on the queues of `lending.queues`: the dashboard's counts (one query), a
queue's page of requests, a scanned barcode's step, bulk steps, and pull slips.

Every function is scoped to one library (the caller's): a request of another library is "not in this
queue", never revealed. Steps go through `service.act`, so the state machines, the row lock, the
events and the messages are the same as through the API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Date, String, and_, func, literal, or_, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import ScalarSelect

from fjernlaan.accounts.model import Principal, Role
from fjernlaan.catalogue import service as catalogue
from fjernlaan.directory.model import Library, WorkingCalendar
from fjernlaan.errors import DomainError, PermissionDenied
from fjernlaan.lending import model as lm
from fjernlaan.lending import service
from fjernlaan.lending.model import RequesterState
from fjernlaan.lending.queues import (
    MARK_PULLED,
    QUEUE_BY_KEY,
    QUEUES,
    Deadline,
    Party,
    Queue,
    barcode_of,
    request_id_of,
)
from fjernlaan.lending.schemas import ActionIn
from fjernlaan.lending.store import MessageRow, RequestRow
from fjernlaan.web.i18n import N_

# --------------------------------------------------------------------------------------------------
# Counts from other areas, in the same query
# --------------------------------------------------------------------------------------------------

CountQuery = Callable[[str], ScalarSelect[Any]]
"""Builds a scalar subquery counting something for a library (its ISIL)."""


@dataclass(frozen=True)
class ExtraCount:
    """A "needs attention" count another area owns, computed inside the dashboard's one query."""

    key: str
    label: str  # English msgid
    query: CountQuery
    href: str | None = None


EXTRA_COUNTS: dict[str, ExtraCount] = {}

# Keys of the counts other modules add: unread messages from the other library (registered below, next
# to the message thread) and failed ISO 18626 messages (registered by the iso18626 area).
UNREAD_MESSAGES = "unread_messages"
FAILED_ISO18626 = "failed_iso18626"


def add_extra_count(key: str, label: str, query: CountQuery, href: str | None = None) -> None:
    """Let another area add a count to the dashboard's "needs attention" (registering a key again
    replaces it). `query(isil)` must be a scalar subquery: it runs inside the one count query."""
    EXTRA_COUNTS[key] = ExtraCount(key, label, query, href)


def _unread_messages_query(isil: str) -> ScalarSelect[Any]:
    # Reads the (to_isil, read_at) index of the message table.
    return (
        select(func.count())
        .select_from(MessageRow)
        .where(MessageRow.to_isil == isil, MessageRow.read_at.is_(None))
        .scalar_subquery()
    )


# The message thread lives in this area, so its count is registered here.
add_extra_count(UNREAD_MESSAGES, N_("Unread messages"), _unread_messages_query)


# --------------------------------------------------------------------------------------------------
# Which requests are in a queue
# --------------------------------------------------------------------------------------------------


def _party_column(queue: Queue) -> Any:
    return RequestRow.requester_isil if queue.party is Party.REQUESTER else RequestRow.current_lender_isil


def in_queue(queue: Queue, isil: str) -> ColumnElement[bool]:
    """The SQL condition "this request is in `queue` for library `isil`"."""
    conditions: list[ColumnElement[bool]] = [
        _party_column(queue) == isil,
        RequestRow.state.in_(sorted(s.value for s in queue.states)),
    ]
    if queue.slip_printed is True:
        conditions.append(RequestRow.pull_slip_printed_at.is_not(None))
    elif queue.slip_printed is False:
        conditions.append(RequestRow.pull_slip_printed_at.is_(None))
    return and_(*conditions)


STAFF_ROLES = frozenset(Role)


def _library_of(principal: Principal) -> str:
    # Patrons (whose sign-in another area adds) are never staff of their library's queues.
    if getattr(principal, "role", None) not in STAFF_ROLES:
        raise PermissionDenied("the work queues are for library staff")
    if principal.library_isil is None:
        raise PermissionDenied("the work queues are a library's: your account belongs to no library")
    return principal.library_isil


@dataclass(frozen=True)
class QueueSummary:
    """The dashboard's figures: requests per queue (and the other areas' counts), and for queues
    with a deadline the soonest one."""

    counts: dict[str, int]
    soonest: dict[str, date | None]


_DEADLINE_COLUMNS = tuple(Deadline)
# The deadlines each side's queues show: the only dates the count query reads (the indexes
# `ix_ill_requests_requester_work` and `ix_ill_requests_lender_work` hold them).
SIDE_DEADLINES: Mapping[Party, frozenset[Deadline]] = {
    party: frozenset(q.deadline for q in QUEUES if q.party is party and q.deadline is not None)
    for party in Party
}


def _side_counts(party: Party, isil: str, states: Sequence[str]) -> Any:
    """One branch of the count query: this library's open requests on one side, grouped by state (and,
    for the lender, by pull slip printed); the (party column, state) index answers the WHERE."""
    column = RequestRow.requester_isil if party is Party.REQUESTER else RequestRow.current_lender_isil
    printed = (
        RequestRow.pull_slip_printed_at.is_not(None) if party is Party.LENDER else literal(False, Boolean)
    )
    return (
        select(
            literal(party.value, String).label("kind"),
            RequestRow.state.label("state"),
            printed.label("printed"),
            func.count().label("n"),
            *(
                (
                    func.min(getattr(RequestRow, d.value))
                    if d in SIDE_DEADLINES[party]
                    else literal(None, Date)
                ).label(d.value)
                for d in _DEADLINE_COLUMNS
            ),
        )
        .where(column == isil, RequestRow.state.in_(states))
        .group_by(RequestRow.state, printed)
    )


def queue_summary(session: Session, principal: Principal) -> QueueSummary:
    """How many requests each queue holds for the caller's library, the soonest deadline of each
    queue that has one, and the other areas' counts (`EXTRA_COUNTS`): one SELECT, whatever the
    number of requests or queues.

    The statement is a UNION ALL of small grouped branches: the library's requests as borrower by
    state, as lender by state and slip printed, and one row per other area's count. Each request
    branch reads only an index range; the rows (a few dozen at most) are sorted into the queues here,
    by the same definitions the queue pages filter with.
    """
    isil = _library_of(principal)
    branches: list[Any] = []
    for party in Party:
        states = sorted({s.value for q in QUEUES if q.party is party for s in q.states})
        branches.append(_side_counts(party, isil, states))
    for extra in EXTRA_COUNTS.values():
        branches.append(
            select(
                literal("extra:" + extra.key, String).label("kind"),
                literal(None, String).label("state"),
                literal(False, Boolean).label("printed"),
                extra.query(isil).label("n"),
                *(literal(None, Date).label(d.value) for d in _DEADLINE_COLUMNS),
            )
        )
    counts: dict[str, int] = {q.key: 0 for q in QUEUES}
    counts.update({key: 0 for key in EXTRA_COUNTS})
    soonest: dict[str, date | None] = {q.key: None for q in QUEUES if q.deadline is not None}
    for row in session.execute(union_all(*branches)):
        if row.kind.startswith("extra:"):
            counts[row.kind.removeprefix("extra:")] = int(row.n or 0)
            continue
        for queue in QUEUES:
            if queue.party.value != row.kind or RequesterState(row.state) not in queue.states:
                continue
            if queue.slip_printed is not None and bool(row.printed) is not queue.slip_printed:
                continue
            counts[queue.key] += int(row.n)
            if queue.deadline is not None:
                day = _as_date(getattr(row, queue.deadline.value))
                current = soonest[queue.key]
                if day is not None and (current is None or day < current):
                    soonest[queue.key] = day
    return QueueSummary(counts, soonest)


def _as_date(value: Any) -> date | None:
    # A MIN() over a UNION ALL comes back as text on SQLite (the union's column has no type there).
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def queue_counts(session: Session, principal: Principal) -> dict[str, int]:
    """The counts of `queue_summary` (the same one query)."""
    return queue_summary(session, principal).counts


# --------------------------------------------------------------------------------------------------
# A queue's page
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    """One request as a queue shows it."""

    id: int
    barcode: str
    title: str
    state: lm.RequesterState
    service_type: lm.ServiceType
    partner_isil: str | None  # the other library: the lender for the borrower, the borrower for the lender
    partner_name: str | None
    deadline: date | None
    working_days_left: int | None
    need_before: date | None
    updated_at: datetime
    slip_printed_at: datetime | None


SORTS: Mapping[str, Callable[[Queue], Any]] = {
    "id": lambda q: RequestRow.id,
    "title": lambda q: RequestRow.title,
    "partner": lambda q: (
        RequestRow.current_lender_isil if q.party is Party.REQUESTER else RequestRow.requester_isil
    ),
    "deadline": lambda q: getattr(RequestRow, (q.deadline or Deadline.NEED_BEFORE).value),
    "updated": lambda q: RequestRow.updated_at,
}


@dataclass(frozen=True)
class QueueFilters:
    """A queue page's filters: words of the title, the service, the other library's ISIL."""

    title: str | None = None
    service: lm.ServiceType | None = None
    partner: str | None = None


def working_days_left(calendar: WorkingCalendar, today: date, until: date) -> int:
    """Working days from tomorrow up to and including `until` (0 on the last day, negative after)."""
    if until < today:
        return -sum(
            1 for n in range(1, (today - until).days + 1) if calendar.is_working_day(until + timedelta(n))
        )
    return sum(1 for n in range(1, (until - today).days + 1) if calendar.is_working_day(today + timedelta(n)))


def queue_page(
    session: Session,
    principal: Principal,
    queue: Queue,
    *,
    filters: QueueFilters,
    sort: str | None,
    descending: bool,
    limit: int,
    offset: int,
    today: date,
) -> tuple[list[QueueItem], int]:
    """One page of the queue for the caller's library, and how many requests match the filters."""
    isil = _library_of(principal)
    conditions: list[ColumnElement[bool]] = [in_queue(queue, isil)]
    if filters.title:
        # ILIKE folds only ASCII on SQLite: the usual spellings of Danish letters are tried as well.
        words = filters.title.strip()
        variants = dict.fromkeys((words, words.lower(), words.upper(), words.capitalize(), words.title()))
        conditions.append(
            or_(*(RequestRow.title.ilike(f"%{_escape_like(v)}%", escape="\\") for v in variants))
        )
    if filters.service is not None:
        conditions.append(
            func.coalesce(RequestRow.delivered_as, RequestRow.service_type) == filters.service.value
        )
    if filters.partner:
        partner = filters.partner.strip().upper()
        other = (
            RequestRow.current_lender_isil if queue.party is Party.REQUESTER else RequestRow.requester_isil
        )
        conditions.append(other == partner)
    total = session.scalar(select(func.count()).select_from(RequestRow).where(*conditions)) or 0
    key = sort if sort is not None and sort in SORTS else ("deadline" if queue.deadline else "id")
    column = SORTS[key](queue)
    order = [column.desc() if descending else column.asc(), RequestRow.id.asc()]
    rows = session.execute(
        select(
            RequestRow.id,
            RequestRow.title,
            RequestRow.state,
            RequestRow.service_type,
            RequestRow.delivered_as,
            RequestRow.requester_isil,
            RequestRow.current_lender_isil,
            RequestRow.answer_due,
            RequestRow.pickup_due,
            RequestRow.due_date,
            RequestRow.need_before,
            RequestRow.updated_at,
            RequestRow.pull_slip_printed_at,
        )
        .where(*conditions)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    ).all()
    libraries = service.cached_libraries(session)
    calendar = service.cached_calendar(session, isil) if queue.deadline is Deadline.ANSWER else None
    items = []
    for r in rows:
        partner = r.current_lender_isil if queue.party is Party.REQUESTER else r.requester_isil
        deadline = getattr(r, queue.deadline.value) if queue.deadline else None
        lib = libraries.get(partner) if partner else None
        items.append(
            QueueItem(
                id=r.id,
                barcode=barcode_of(r.id),
                title=r.title,
                state=lm.RequesterState(r.state),
                service_type=lm.ServiceType(r.delivered_as or r.service_type),
                partner_isil=partner,
                partner_name=lib.name if lib else None,
                deadline=deadline,
                working_days_left=(
                    working_days_left(calendar, today, deadline) if calendar and deadline else None
                ),
                need_before=r.need_before,
                updated_at=r.updated_at,
                slip_printed_at=r.pull_slip_printed_at,
            )
        )
    return items, int(total)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --------------------------------------------------------------------------------------------------
# Scanning and bulk steps
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepResult:
    """What a scan or one row of a bulk action did: `done`, `refused` (with the reason) or
    `not_in_queue` (nothing was changed)."""

    barcode: str
    request_id: int | None
    outcome: str
    step: str | None = None
    reason: str | None = None
    title: str | None = None

    @property
    def done(self) -> bool:
        """True when the step was taken."""
        return self.outcome == "done"


def step(
    session: Session, principal: Principal, queue: Queue, request_id: int | None, now: datetime, barcode: str
) -> StepResult:
    """Take the queue's step on one request, if it is in this queue for the caller's library; the
    caller commits (done) or rolls back (anything else)."""
    isil = _library_of(principal)
    if request_id is None:
        return StepResult(barcode, None, "not_in_queue")
    found = session.execute(
        select(RequestRow.service_type, RequestRow.delivered_as, RequestRow.title).where(
            RequestRow.id == request_id, in_queue(queue, isil)
        )
    ).one_or_none()
    if found is None:
        return StepResult(barcode, request_id, "not_in_queue")
    service_type = lm.ServiceType(found.delivered_as or found.service_type)
    what = queue.step_for(service_type)
    if what is None:
        return StepResult(barcode, request_id, "found", None, None, found.title)
    try:
        if what == MARK_PULLED:
            _mark_printed(session, [request_id], now)
        else:
            service.act(session, request_id, lm.Action(what), principal, _as_party(principal, queue), now)
    except DomainError as exc:
        return StepResult(barcode, request_id, "refused", str(what), exc.message, found.title)
    return StepResult(barcode, request_id, "done", str(what), None, found.title)


def _as_party(principal: Principal, queue: Queue) -> ActionIn:
    # A national administrator is no side of a request by default: their library's queue says which.
    if not principal.is_national_admin:
        return ActionIn()
    role = lm.Role.REQUESTER_STAFF if queue.party is Party.REQUESTER else lm.Role.SUPPLIER_STAFF
    return ActionIn(as_role=role)


def scan(session: Session, principal: Principal, queue: Queue, barcode: str, now: datetime) -> StepResult:
    """A scanned (or typed) barcode in a queue's scan box: the queue's step, committed when done."""
    result = step(session, principal, queue, request_id_of(barcode), now, barcode.strip()[:40])
    if result.done:
        session.commit()
    else:
        session.rollback()
    return result


def bulk(
    session: Session, principal: Principal, queue: Queue, request_ids: Sequence[int], now: datetime
) -> list[StepResult]:
    """The queue's step on each selected request, each in its own transaction, so one refusal does not
    undo the others; a result per request, in the order given."""
    results = []
    for request_id in dict.fromkeys(request_ids):
        result = step(session, principal, queue, request_id, now, barcode_of(request_id))
        if result.done:
            session.commit()
        else:
            session.rollback()
        results.append(result)
    return results


# --------------------------------------------------------------------------------------------------
# Pull slips
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PullSlip:
    """What a pull slip shows: the request's barcode, the item, where it is on our shelves, and where
    it goes (the borrowing library and its transport hub in the van scheme)."""

    request_id: int
    barcode: str
    title: str
    author: str | None
    shelf_marks: tuple[str, ...]
    borrower_isil: str
    borrower_name: str
    hub_isil: str | None
    hub_name: str | None
    pickup_name: str
    need_before: date | None
    service_type: lm.ServiceType


def _mark_printed(session: Session, request_ids: Iterable[int], now: datetime) -> None:
    # A versioned update through the ORM, so a request changed meanwhile is a conflict, not lost.
    for request_id in request_ids:
        row = session.get(RequestRow, request_id, with_for_update=True)
        if row is not None and row.pull_slip_printed_at is None:
            row.pull_slip_printed_at = now
            row.updated_at = now
    session.flush()


def pull_slips(
    session: Session,
    principal: Principal,
    request_ids: Sequence[int],
    now: datetime,
    *,
    mark_printed: bool,
) -> list[PullSlip]:
    """Pull slips for the selected requests the caller's library is to supply (to pull or to ship;
    others are left out). With `mark_printed` those still to pull are marked printed, which moves them
    to "to ship"; the caller commits."""
    isil = _library_of(principal)
    to_pull, to_ship = QUEUE_BY_KEY["to_pull"], QUEUE_BY_KEY["to_ship"]
    ids = list(dict.fromkeys(request_ids))
    if not ids:
        return []
    rows = session.execute(
        select(RequestRow)
        .where(RequestRow.id.in_(ids), or_(in_queue(to_pull, isil), in_queue(to_ship, isil)))
        .order_by(RequestRow.id)
    ).scalars()
    rows_list = list(rows)
    libraries = service.cached_libraries(session)
    slips = []
    for row in rows_list:
        slips.append(_slip(session, row, isil, libraries))
    if mark_printed:
        _mark_printed(session, [r.id for r in rows_list if r.pull_slip_printed_at is None], now)
    return slips


def _slip(session: Session, row: RequestRow, isil: str, libraries: Mapping[str, Library]) -> PullSlip:
    shelf_marks: tuple[str, ...] = ()
    author = (row.citation or {}).get("author")
    if row.record_pk is not None:
        try:
            record = catalogue.get_record(session, row.record_pk, with_source=False)
            author = author or (record.creators[0] if record.creators else None)
        except DomainError:
            record = None
        shelf_marks = tuple(
            h.shelf_mark
            for h in catalogue.holdings_for_record(session, row.record_pk)
            if h.library_isil == isil and h.shelf_mark
        )
    borrower = libraries.get(row.requester_isil)
    hub_isil = borrower.transport_hub if borrower else None
    hub = libraries.get(hub_isil) if hub_isil else None
    pickup = libraries.get(row.pickup_isil)
    return PullSlip(
        request_id=row.id,
        barcode=barcode_of(row.id),
        title=row.title,
        author=author,
        shelf_marks=shelf_marks,
        borrower_isil=row.requester_isil,
        borrower_name=borrower.name if borrower else row.requester_isil,
        hub_isil=hub_isil,
        hub_name=hub.name if hub else None,
        pickup_name=pickup.name if pickup else row.pickup_isil,
        need_before=row.need_before,
        service_type=lm.ServiceType(row.delivered_as or row.service_type),
    )


__all__ = [
    "EXTRA_COUNTS",
    "FAILED_ISO18626",
    "UNREAD_MESSAGES",
    "ExtraCount",
    "PullSlip",
    "QueueFilters",
    "QueueItem",
    "QueueSummary",
    "StepResult",
    "add_extra_count",
    "bulk",
    "in_queue",
    "pull_slips",
    "queue_counts",
    "queue_page",
    "queue_summary",
    "scan",
    "step",
    "working_days_left",
]
