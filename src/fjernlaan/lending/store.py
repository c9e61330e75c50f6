"""Tables of lending: requests, their rota (with reasons, and the excluded libraries with theirs), the
lenders' attempts, and the event log; and the ways the service reads and writes them: `load` and
`load_for_change` (the version check that lets a change reuse rows read before the write
transaction), `flush_versioned`, and the few-statement inserts placing uses (`insert_request`,
`insert_new_rows`), which bypass the ORM's per-object bookkeeping.

A request row carries a `version` column that SQLAlchemy checks on every update (optimistic
concurrency), and the service locks the row (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's
`BEGIN IMMEDIATE` serialises writers) so two callers answering the same attempt yield exactly one
winner and one 409.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    insert,
    select,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import InstanceState, Mapped, Session, mapped_column
from sqlalchemy.orm.exc import StaleDataError

from fjernlaan.accounts.model import Patron
from fjernlaan.db.base import Base, UtcDateTime, utcnow
from fjernlaan.errors import Conflict, NotFound
from fjernlaan.lending import model as lm


class RequestRow(Base):
    """One ILL request: the requester-side state and what the timers and lists need."""

    __tablename__ = "ill_requests"
    __table_args__ = (
        # A library's requests by state, with the columns the staff dashboard's counts and soonest
        # deadlines read, so its one query is answered from these indexes alone (lending.work).
        Index(
            "ix_ill_requests_requester_work",
            "requester_isil",
            "state",
            "pickup_due",
            "due_date",
            "need_before",
        ),
        Index(
            "ix_ill_requests_lender_work",
            "current_lender_isil",
            "state",
            "pull_slip_printed_at",
            "answer_due",
            "due_date",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    state: Mapped[str] = mapped_column(String(24), index=True)
    service_type: Mapped[str] = mapped_column(String(16))
    delivered_as: Mapped[str | None] = mapped_column(String(16))
    requester_isil: Mapped[str] = mapped_column(String(16), ForeignKey("libraries.isil"))
    pickup_isil: Mapped[str] = mapped_column(String(16), ForeignKey("libraries.isil"))
    # Personal data: set NULL when the patron row is erased after the retention period.
    patron_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("patrons.id", ondelete="SET NULL"), index=True
    )
    patron_category: Mapped[str] = mapped_column(String(16), default="adult")
    placed_by: Mapped[str] = mapped_column(String(16), default="requester_staff")
    # The catalogue's record (no foreign key: areas reach the catalogue only through its service).
    record_pk: Mapped[int | None] = mapped_column(Integer, index=True)
    title: Mapped[str] = mapped_column(Text)
    citation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    needs_sourcing: Mapped[bool] = mapped_column(Boolean, default=False)
    principles_version: Mapped[str] = mapped_column(String(64))
    position: Mapped[int | None] = mapped_column(Integer)
    current_lender_isil: Mapped[str | None] = mapped_column(String(16))
    renewals_used: Mapped[int] = mapped_column(Integer, default=0)
    need_before: Mapped[date | None] = mapped_column(Date, index=True)
    pickup_window_days: Mapped[int] = mapped_column(Integer, default=14)
    # Timers: each is the last day that is still in time; the worker acts on the day after.
    answer_due: Mapped[date | None] = mapped_column(Date, index=True)
    due_date: Mapped[date | None] = mapped_column(Date, index=True)
    pickup_due: Mapped[date | None] = mapped_column(Date, index=True)
    next_reminder_on: Mapped[date | None] = mapped_column(Date, index=True)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    next_deadline: Mapped[date | None] = mapped_column(Date, index=True)
    attention: Mapped[str | None] = mapped_column(String(16), index=True)
    replacement_charge_dkk: Mapped[float | None] = mapped_column(Float)
    # When the current lender printed the pull slip (staff queues: "to pull" until then, "to ship"
    # after); cleared whenever the request moves to another lender.
    pull_slip_printed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    # Set when the patron's data was erased (the retention period after `ended_at`): the request
    # stays for statistics, without its patron and with its free text scrubbed.
    personal_data_erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __mapper_args__ = {"version_id_col": version}


class RotaEntryRow(Base):
    """A library on a request's rota (`position` set) or excluded from it (`position` NULL), and why."""

    __tablename__ = "ill_rota_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("ill_requests.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int | None] = mapped_column(Integer)
    isil: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str | None] = mapped_column(String(32))
    score: Mapped[float | None] = mapped_column(Float)
    via_isil: Mapped[str | None] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The lender's terms when it was put on the rota (loan period, renewals, answer deadline, prices).
    terms: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AttemptRow(Base):
    """One lender asked at one rota position: the supplier-side state."""

    __tablename__ = "ill_attempts"
    __table_args__ = (Index("ix_ill_attempts_isil_state", "isil", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("ill_requests.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    isil: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(32))
    condition: Mapped[str | None] = mapped_column(Text)
    fee_dkk: Mapped[float | None] = mapped_column(Float)
    reply_by: Mapped[date | None] = mapped_column(Date)
    answer_due: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    shipped_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class EventRow(Base):
    """One state change (or rota edit): who, when, from, to, why; written with the change itself."""

    __tablename__ = "ill_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("ill_requests.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    side: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    by_role: Mapped[str] = mapped_column(String(24))
    by_user: Mapped[str | None] = mapped_column(String(64))
    by_isil: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int | None] = mapped_column(Integer)
    isil: Mapped[str | None] = mapped_column(String(16))


class MessageRow(Base):
    """A message between the two libraries of a request; `read_at` is set when the receiving library
    (`to_isil`) opens the request. The unread count per library reads the (to_isil, read_at) index."""

    __tablename__ = "ill_messages"
    __table_args__ = (Index("ix_ill_messages_to_read", "to_isil", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("ill_requests.id", ondelete="CASCADE"), index=True
    )
    from_isil: Mapped[str] = mapped_column(String(16))
    to_isil: Mapped[str] = mapped_column(String(16))
    author: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


# --------------------------------------------------------------------------------------------------
# Loading a request's rows, and the version check that lets a change reuse them
# --------------------------------------------------------------------------------------------------


@dataclass
class Loaded:
    """A request's rows, as loaded for one use case."""

    row: RequestRow
    entries: list[RotaEntryRow]
    attempts: list[AttemptRow]
    # Event rows written while this was loaded, in order (placing answers from them, see `view`).
    new_events: list[EventRow] = field(default_factory=list)

    @property
    def rota(self) -> list[RotaEntryRow]:
        """The entries on the rota, in position order."""
        return sorted((e for e in self.entries if e.position is not None), key=lambda e: e.position or 0)

    @property
    def excluded(self) -> list[RotaEntryRow]:
        """The libraries left off, in ISIL order."""
        return sorted((e for e in self.entries if e.position is None), key=lambda e: e.isil)

    def aggregate(self) -> lm.RequestAggregate:
        """The state machines' view of the rows."""
        row = self.row
        return lm.RequestAggregate(
            service_type=lm.ServiceType(row.service_type),
            state=lm.RequesterState(row.state),
            lenders=tuple(_terms(e) for e in self.rota),
            position=row.position,
            attempts=tuple(
                lm.Attempt(a.position, a.isil, lm.SupplierState(a.state), a.condition, a.fee_dkk, a.reply_by)
                for a in self.attempts
            ),
            delivered_as=lm.ServiceType(row.delivered_as) if row.delivered_as else None,
            renewals_used=row.renewals_used,
            due_date=row.due_date,
            need_before=row.need_before,
            principles_version=row.principles_version,
            pickup_window_days=row.pickup_window_days,
        )


def _terms(entry: RotaEntryRow) -> lm.LenderTerms:
    if entry.terms:
        return lm.LenderTerms(isil=entry.isil, **{k: v for k, v in entry.terms.items() if k != "isil"})
    return lm.LenderTerms(isil=entry.isil)


# The terms' fields are plain values: read them directly (`dataclasses.asdict` deep-copies each one).
_TERMS_FIELDS = tuple(f.name for f in fields(lm.LenderTerms) if f.name != "isil")


def terms_json(terms: lm.LenderTerms) -> dict[str, Any]:
    """The terms as the rota entry's JSON column holds them."""
    return {name: getattr(terms, name) for name in _TERMS_FIELDS}


_VERSION_OF = select(RequestRow.version).where(RequestRow.id == bindparam("id"))


def load(session: Session, request_id: int, *, lock: bool = False) -> Loaded:
    """The request's rows; `lock` takes the row lock (`FOR UPDATE` on PostgreSQL) for a change."""
    session.info.get(PLACED_KEY, {}).pop(request_id, None)
    row = session.get(RequestRow, request_id, with_for_update=lock or None, populate_existing=lock)
    if row is None:
        raise NotFound(f"no request {request_id}", field="request_id")
    entries = list(session.scalars(select(RotaEntryRow).where(RotaEntryRow.request_id == request_id)))
    attempts = list(
        session.scalars(
            select(AttemptRow)
            .where(AttemptRow.request_id == request_id)
            .order_by(AttemptRow.position, AttemptRow.id)
        )
    )
    return Loaded(row, entries, attempts)


def load_for_change(
    session: Session, request_id: int, read_before: Loaded | None, *, lock: bool = True
) -> Loaded:
    """The request's rows for a change, reusing `read_before` when it is still current.

    `read_before` was loaded outside the write transaction (`reads_before_writes`), so that on
    SQLite the write lock is not held while reading. It is reused when the request's `version` is
    still the one it was read at: every change to a request, its attempts or its rota goes through
    an update of the request row, which raises the version, and the version is read here inside
    the write transaction, which on SQLite already holds the one write lock, so nothing can change
    between this check and the commit (the versioned UPDATE would refuse a stale row anyway).
    Otherwise, and without `read_before`, the rows are loaded again (`lock`: with the row lock).
    """
    if read_before is not None and read_before.row.id == request_id and not read_before.new_events:
        rows = [read_before.row, *read_before.entries, *read_before.attempts]
        current = session.execute(_VERSION_OF, {"id": request_id}).scalar_one_or_none()
        if current == read_before.row.version and all(_can_join(session, r) for r in rows):
            session.add_all(rows)
            return read_before
    return load(session, request_id, lock=lock)


def _can_join(session: Session, obj: object) -> bool:
    """True for a row read in a session of its own (detached) that this session has not loaded."""
    state: InstanceState[Any] = sa_inspect(obj)
    return state.detached and state.key is not None and state.key not in session.identity_map


def flush_versioned(session: Session, row: RequestRow) -> None:
    """Flush the session; a request row changed by someone else meanwhile (its version moved on) is a
    `Conflict`."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(
            f"request {row.id} was changed by someone else at the same time; load it and try again",
            field="request_id",
        ) from exc


# --------------------------------------------------------------------------------------------------
# Inserting a new request's rows in a few statements
# --------------------------------------------------------------------------------------------------

_REQUESTS = cast(Table, RequestRow.__table__)
_REQUEST_COLUMNS = tuple(c.key for c in _REQUESTS.columns if not c.primary_key)
_INSERT_REQUEST = insert(_REQUESTS).returning(_REQUESTS.c.id)
_CHILD_TABLES = tuple(cast(Table, m.__table__) for m in (EventRow, RotaEntryRow, AttemptRow))
# Each child table's columns but the id and the request's id, and its INSERT, built once.
_CHILD_COLUMNS = {
    t: tuple(c.key for c in t.columns if not c.primary_key and c.key != "request_id") for t in _CHILD_TABLES
}
_CHILD_INSERTS = {t: insert(t) for t in _CHILD_TABLES}


def insert_request(session: Session, row: RequestRow) -> int:
    """Insert a new request row with its final values in one statement (outside the ORM's unit of
    work, see `insert_new_rows`); returns its id."""
    values = {name: getattr(row, name) for name in _REQUEST_COLUMNS}
    request_id: int = session.connection().execute(_INSERT_REQUEST, values).scalar_one()
    return request_id


def insert_new_rows(session: Session, request_id: int, loaded: Loaded, *, from_session: bool = False) -> None:
    """Insert a request's new events, rota entries and attempts with one executemany INSERT per table.

    The ORM's unit of work would insert them too, but its bookkeeping per object (identity map,
    primary keys read back, history) cost more than the placement's own work; nothing reads these
    rows' ids. Placing stages them outside the session; with ``from_session`` (steps applied with
    ``flush=False``) the ones the session holds as pending leave it first, and rows already written
    are skipped. Either way they stay usable as plain values (reading right after placing answers from
    them). Every column but the id is set by the code that made the row (column defaults apply only in
    the ORM's flush).
    """
    by_table: list[tuple[Table, Sequence[EventRow | RotaEntryRow | AttemptRow]]] = [
        (_CHILD_TABLES[0], loaded.new_events),
        (_CHILD_TABLES[1], loaded.entries),
        (_CHILD_TABLES[2], loaded.attempts),
    ]
    connection = session.connection()
    for table, rows in by_table:
        if from_session:
            rows = [obj for obj in rows if cast(InstanceState[Any], sa_inspect(obj)).pending]
            for obj in rows:
                session.expunge(obj)
        if not rows:
            continue
        columns = _CHILD_COLUMNS[table]
        values_list = []
        for obj in rows:
            obj.request_id = request_id
            values = {name: getattr(obj, name) for name in columns}
            values["request_id"] = request_id
            values_list.append(values)
        # An executemany of one cached statement (psycopg pipelines it); a multi-row VALUES
        # statement would be compiled anew for every placement.
        connection.execute(_CHILD_INSERTS[table], values_list)


# Reading a request right after `place` in the same session answers from the rows just written instead of
# reading them back; any other load of that request forgets them first.
PLACED_KEY = "fjernlaan.lending.placed"


@dataclass(frozen=True)
class Placed:
    """A request just placed in this session, as placing wrote it."""

    loaded: Loaded
    patron: Patron  # as read when placing (the patron may have been read in another session)


def just_placed(session: Session) -> dict[int, Placed]:
    """The requests placed in this session so far, by id (placing adds to it)."""
    placed: dict[int, Placed] = session.info.setdefault(PLACED_KEY, {})
    return placed


def take_placed(session: Session, request_id: int) -> Placed | None:
    """The request as just placed in this session, while it is still as written (once: it is forgotten)."""
    placed: Placed | None = session.info.get(PLACED_KEY, {}).pop(request_id, None)
    if placed is None:
        return None
    loaded = placed.loaded
    # Only while the request is still in the database as written: not after a rollback (which
    # drops the new row from the session), not expired, not changed since. Its events, rota and
    # attempt were inserted in the same transaction, outside the session (`insert_new_rows`).
    state = sa_inspect(loaded.row)
    if not state.persistent or state.expired_attributes or loaded.row in session.dirty:
        return None
    return placed
