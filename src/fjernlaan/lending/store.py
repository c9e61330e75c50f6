"""Tables of lending: requests, their rota (with reasons, and the excluded libraries with theirs), the
lenders' attempts, and the event log.

A request row carries a `version` column that SQLAlchemy checks on every update (optimistic
concurrency), and the service locks the row (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's
`BEGIN IMMEDIATE` serialises writers) so two callers answering the same attempt yield exactly one
winner and one 409.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from fjernlaan.db.base import Base, UtcDateTime, utcnow


class RequestRow(Base):
    """One ILL request: the requester-side state and what the timers and lists need."""

    __tablename__ = "ill_requests"
    __table_args__ = (
        Index("ix_ill_requests_requester_state", "requester_isil", "state"),
        Index("ix_ill_requests_lender_state", "current_lender_isil", "state"),
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
