"""Tables of the governing bodies, and the mapping between rows and the pure domain of `model.py`.

Session times are stored as naive wall-clock times in Copenhagen (the model's convention), because a
meeting at 10:00 stays at 10:00 even if the time-zone rules change.
"""

from __future__ import annotations

import types
from dataclasses import fields
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from fjernlaan.db.base import Base, UtcDateTime, utcnow
from fjernlaan.network.model import (
    ActionItem,
    AgendaItem,
    Attendance,
    Body,
    Decision,
    Meeting,
    MeetingSession,
    Membership,
    Minutes,
    Person,
    StatusChange,
    WorkingGroupTask,
)

T = TypeVar("T")


class BodyRow(Base):
    """A governing body: the network, the forum or a working group."""

    __tablename__ = "network_bodies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), index=True)
    capacity: Mapped[int | None] = mapped_column(Integer)
    absence_limit: Mapped[int | None] = mapped_column(Integer)
    meetings_per_year: Mapped[int | None] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("network_bodies.id"), index=True)
    mandate: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str | None] = mapped_column(String(254))
    newsletter: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class BodyCoordinatorRow(Base):
    """A user who coordinates a body (changes its members, meetings and minutes)."""

    __tablename__ = "network_body_coordinators"

    body_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("network_bodies.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class PersonRow(Base):
    """Someone who sits, or wants to sit, on a body."""

    __tablename__ = "network_people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    organisation: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(200), default="")
    library_isil: Mapped[str | None] = mapped_column(String(16), ForeignKey("libraries.isil"), index=True)
    # The hub user this person logs in as, when they have one (members see their own bodies).
    user_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("users.id"), unique=True)
    language: Mapped[str] = mapped_column(String(2), default="da")
    # Unguessable part of the person's calendar-feed URL.
    feed_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MembershipRow(Base):
    """A person's standing with one body."""

    __tablename__ = "network_memberships"
    __table_args__ = (UniqueConstraint("body_id", "person_id", name="network_memberships_one_per_body"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("network_bodies.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(Integer, ForeignKey("network_people.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    applied_on: Mapped[date] = mapped_column(Date)
    application_no: Mapped[int] = mapped_column(Integer)
    joined_on: Mapped[date | None] = mapped_column(Date)


class MembershipHistoryRow(Base):
    """One step of a membership's history."""

    __tablename__ = "network_membership_history"
    __table_args__ = (
        UniqueConstraint("membership_id", "seq", name="network_membership_history_step_per_membership"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("network_memberships.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[date] = mapped_column(Date)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    why: Mapped[str] = mapped_column(Text, default="")


class MeetingRow(Base):
    """A meeting of a body (its sessions, agenda, attendance and minutes hang off it)."""

    __tablename__ = "network_meetings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("network_bodies.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date, index=True)
    attendance_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    invited_revision: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MeetingSessionRow(Base):
    """One sitting of a meeting (e.g. East or West)."""

    __tablename__ = "network_meeting_sessions"
    __table_args__ = (UniqueConstraint("meeting_id", "key", name="network_meeting_sessions_key_per_meeting"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("network_meetings.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(100), default="")
    starts: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    ends: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    host_library: Mapped[str] = mapped_column(String(200), default="")
    place: Mapped[str] = mapped_column(String(200), default="")
    room: Mapped[str] = mapped_column(String(200), default="")
    host_isil: Mapped[str | None] = mapped_column(String(16))


class AgendaItemRow(Base):
    """A numbered agenda item."""

    __tablename__ = "network_agenda_items"
    __table_args__ = (
        UniqueConstraint("meeting_id", "number", name="network_agenda_items_number_per_meeting"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("network_meetings.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    presenter: Mapped[str] = mapped_column(String(200), default="")
    papers: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")


class AttendanceRow(Base):
    """A member's mark for one meeting."""

    __tablename__ = "network_attendance"

    meeting_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("network_meetings.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(Integer, ForeignKey("network_people.id"), primary_key=True)
    mark: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")


class MinutesRow(Base):
    """The minutes of one meeting."""

    __tablename__ = "network_minutes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("network_meetings.id", ondelete="CASCADE"), unique=True
    )
    body_id: Mapped[int] = mapped_column(Integer, ForeignKey("network_bodies.id"), index=True)
    text_md: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(200), default="")
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)


class DecisionRow(Base):
    """A decision in the minutes; it may set up a working group."""

    __tablename__ = "network_decisions"
    __table_args__ = (UniqueConstraint("minutes_id", "number", name="network_decisions_number_per_minutes"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    minutes_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("network_minutes.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    agenda_item: Mapped[int | None] = mapped_column(Integer)
    working_group_name: Mapped[str | None] = mapped_column(String(200))
    working_group_mandate: Mapped[str] = mapped_column(Text, default="")
    working_group_organisations: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The working group the decision set up, once it has.
    working_group_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("network_bodies.id"))


class ActionItemRow(Base):
    """An action item of the minutes."""

    __tablename__ = "network_action_items"
    __table_args__ = (
        UniqueConstraint("minutes_id", "number", name="network_action_items_number_per_minutes"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    minutes_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("network_minutes.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))
    due: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")


class WorkingGroupTaskRow(Base):
    """An item on a working group's task list."""

    __tablename__ = "network_working_group_tasks"
    __table_args__ = (
        UniqueConstraint("body_id", "number", name="network_working_group_tasks_number_per_group"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("network_bodies.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    owner_organisation: Mapped[str | None] = mapped_column(String(200))
    due: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")


# --- rows to domain ---------------------------------------------------------------------------
# One conversion each way for every type: a domain field and its column share a name; an enum is
# stored as its value and a tuple as a JSON list.


@cache
def _readers(cls: Any) -> dict[str, Any]:
    """Per field of the dataclass `cls`: how to turn a column's value into the field's type."""
    readers: dict[str, Any] = {}
    for name, hint in get_type_hints(cls).items():
        args = get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)
        enum = next((a for a in args if isinstance(a, type) and issubclass(a, Enum)), None)
        if enum is not None:
            readers[name] = lambda v, enum=enum: None if v is None else enum(v)
        elif any(get_origin(a) is tuple for a in args):
            readers[name] = lambda v: tuple(v or ())
        else:
            readers[name] = lambda v: v
    return readers


def from_row(cls: type[T], row: object, **given: Any) -> T:
    """The domain dataclass `cls` read from a row's columns of the same names; `given` supplies the
    fields that are no column of the row (children, people)."""
    readers = _readers(cls)  # type: ignore[arg-type]  # a class is hashable
    values = {
        f.name: given[f.name] if f.name in given else readers[f.name](getattr(row, f.name))
        for f in fields(cls)  # type: ignore[arg-type]  # a dataclass
    }
    return cls(**values)


def columns_of(obj: Any, row_class: type[Base], *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The domain object's fields that are columns of `row_class`, as stored (not those in `skip`)."""
    columns = row_class.__table__.columns.keys()
    out: dict[str, Any] = {}
    for f in fields(obj):
        if f.name in columns and f.name not in skip:
            value = getattr(obj, f.name)
            if isinstance(value, Enum):
                value = value.value
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
    return out


def coordinator_ids(session: Session, body_id: int) -> tuple[int, ...]:
    """The user ids of the body's coordinators."""
    rows = session.scalars(
        select(BodyCoordinatorRow.user_id)
        .where(BodyCoordinatorRow.body_id == body_id)
        .order_by(BodyCoordinatorRow.user_id)
    )
    return tuple(rows)


def body_from_row(session: Session, row: BodyRow) -> Body:
    """The domain view of a stored body."""
    return from_row(Body, row, coordinator_ids=coordinator_ids(session, row.id))


def write_body(row: BodyRow, body: Body) -> None:
    """Copy the domain body's fields onto its row (not the id, not the coordinators)."""
    for name, value in columns_of(body, BodyRow, skip=("id",)).items():
        setattr(row, name, value)


def person_from_row(row: PersonRow) -> Person:
    """The domain view of a stored person."""
    return from_row(Person, row)


def memberships_of(session: Session, body_id: int, person_id: int | None = None) -> list[Membership]:
    """Every membership of the body (or just this person's), with people and history."""
    query = (
        select(MembershipRow, PersonRow)
        .join(PersonRow, PersonRow.id == MembershipRow.person_id)
        .where(MembershipRow.body_id == body_id)
        .order_by(MembershipRow.application_no, MembershipRow.id)
    )
    if person_id is not None:
        query = query.where(MembershipRow.person_id == person_id)
    rows = session.execute(query).all()
    ids = [m.id for m, _ in rows]
    steps: dict[int, list[StatusChange]] = {i: [] for i in ids}
    if ids:
        for h in session.scalars(
            select(MembershipHistoryRow)
            .where(MembershipHistoryRow.membership_id.in_(ids))
            .order_by(MembershipHistoryRow.membership_id, MembershipHistoryRow.seq)
        ):
            steps[h.membership_id].append(from_row(StatusChange, h))
    return [from_row(Membership, m, person=person_from_row(p), history=tuple(steps[m.id])) for m, p in rows]


def save_membership(session: Session, membership: Membership) -> int:
    """Insert or update a membership and append the history steps not stored yet; returns its id."""
    row = session.get(MembershipRow, membership.id) if membership.id is not None else None
    if row is None:
        row = session.scalar(
            select(MembershipRow).where(
                MembershipRow.body_id == membership.body_id,
                MembershipRow.person_id == membership.person.id,
            )
        )
    if row is None:
        row = MembershipRow(body_id=membership.body_id, person_id=membership.person.id)
        session.add(row)
    for name, value in columns_of(membership, MembershipRow, skip=("id", "body_id")).items():
        setattr(row, name, value)
    session.flush()
    stored = len(
        session.scalars(
            select(MembershipHistoryRow.id).where(MembershipHistoryRow.membership_id == row.id)
        ).all()
    )
    for seq, step in enumerate(membership.history[stored:], start=stored + 1):
        session.add(
            MembershipHistoryRow(membership_id=row.id, seq=seq, **columns_of(step, MembershipHistoryRow))
        )
    session.flush()
    return row.id


def meeting_from_row(session: Session, row: MeetingRow) -> Meeting:
    """The domain view of a stored meeting with its sessions and agenda."""
    sessions = session.scalars(
        select(MeetingSessionRow)
        .where(MeetingSessionRow.meeting_id == row.id)
        .order_by(MeetingSessionRow.starts, MeetingSessionRow.id)
    )
    agenda = session.scalars(
        select(AgendaItemRow).where(AgendaItemRow.meeting_id == row.id).order_by(AgendaItemRow.number)
    )
    return from_row(
        Meeting,
        row,
        sessions=tuple(from_row(MeetingSession, s) for s in sessions),
        agenda=tuple(from_row(AgendaItem, a) for a in agenda),
    )


def write_sessions(session: Session, meeting_id: int, sessions: tuple[MeetingSession, ...]) -> None:
    """Store a new meeting's sessions."""
    for s in sessions:
        values = columns_of(s, MeetingSessionRow)
        values.update(starts=s.starts.replace(tzinfo=None), ends=s.ends.replace(tzinfo=None))
        session.add(MeetingSessionRow(meeting_id=meeting_id, **values))


def write_agenda_item(session: Session, meeting_id: int, item: AgendaItem) -> None:
    """Store one agenda item."""
    session.add(AgendaItemRow(meeting_id=meeting_id, **columns_of(item, AgendaItemRow)))


def attendance_for(session: Session, meeting_ids: list[int]) -> list[Attendance]:
    """Every attendance mark of these meetings."""
    if not meeting_ids:
        return []
    rows = session.scalars(
        select(AttendanceRow)
        .where(AttendanceRow.meeting_id.in_(meeting_ids))
        .order_by(AttendanceRow.meeting_id, AttendanceRow.person_id)
    )
    return [from_row(Attendance, r) for r in rows]


def save_attendance(session: Session, marks: tuple[Attendance, ...] | list[Attendance]) -> None:
    """Insert or replace attendance marks."""
    for a in marks:
        row = session.get(AttendanceRow, (a.meeting_id, a.person_id))
        if row is None:
            row = AttendanceRow(meeting_id=a.meeting_id, person_id=a.person_id)
            session.add(row)
        row.mark = a.mark.value
        row.note = a.note
    session.flush()


def minutes_from_row(session: Session, row: MinutesRow) -> Minutes:
    """The domain view of stored minutes with decisions and action items."""
    decisions = session.scalars(
        select(DecisionRow).where(DecisionRow.minutes_id == row.id).order_by(DecisionRow.number)
    )
    items = session.scalars(
        select(ActionItemRow).where(ActionItemRow.minutes_id == row.id).order_by(ActionItemRow.number)
    )
    return from_row(
        Minutes,
        row,
        decisions=tuple(from_row(Decision, d) for d in decisions),
        action_items=tuple(from_row(ActionItem, a) for a in items),
    )


def write_decision(session: Session, minutes_id: int, d: Decision) -> None:
    """Store one decision."""
    session.add(DecisionRow(minutes_id=minutes_id, **columns_of(d, DecisionRow)))


def write_action_item(session: Session, minutes_id: int, a: ActionItem) -> None:
    """Store one action item."""
    session.add(ActionItemRow(minutes_id=minutes_id, **columns_of(a, ActionItemRow)))


def tasks_of(session: Session, body_id: int) -> list[WorkingGroupTask]:
    """A working group's task list in order."""
    rows = session.scalars(
        select(WorkingGroupTaskRow)
        .where(WorkingGroupTaskRow.body_id == body_id)
        .order_by(WorkingGroupTaskRow.number)
    )
    return [from_row(WorkingGroupTask, r) for r in rows]
