"""Tables and queries of the library directory."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, Float, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from fjernlaan.db.base import Base, UtcDateTime, utcnow
from fjernlaan.directory.model import (
    Closure,
    Iso18626Version,
    LendingPolicy,
    Library,
    LibraryType,
    MaterialType,
    Region,
    RequesterCategory,
)


class LibraryRow(Base):
    """A library in the directory."""

    __tablename__ = "libraries"

    isil: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16), index=True)
    municipality_code: Mapped[int | None] = mapped_column(Integer)
    region: Mapped[str | None] = mapped_column(String(16), index=True)
    central_isil: Mapped[str | None] = mapped_column(String(16), ForeignKey("libraries.isil"))
    transport_hub: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    iso18626_endpoint: Mapped[str | None] = mapped_column(String(500))
    iso18626_version: Mapped[str | None] = mapped_column(String(8))
    # When a change (not the first entry) last set the endpoint; NULL when it never changed. The
    # hub's outbound credentials go only to endpoints not changed since they were issued.
    iso18626_endpoint_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    policy: Mapped[PolicyRow | None] = relationship(
        back_populates="library", uselist=False, lazy="joined", cascade="all, delete-orphan"
    )


class PolicyRow(Base):
    """A library's lending policy (one per library; absent means the national defaults)."""

    __tablename__ = "lending_policies"
    __table_args__ = (
        CheckConstraint("loan_period_days > 0", name="loan_period_positive"),
        CheckConstraint("max_renewals >= 0", name="renewals_not_negative"),
    )

    library_isil: Mapped[str] = mapped_column(
        String(16), ForeignKey("libraries.isil", ondelete="CASCADE"), primary_key=True
    )
    lending_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    refused_material_types: Mapped[str] = mapped_column(Text, default="")
    min_title_age_days: Mapped[int] = mapped_column(Integer, default=0)
    loan_period_days: Mapped[int] = mapped_column(Integer, default=42)
    max_renewals: Mapped[int] = mapped_column(Integer, default=1)
    renewal_period_days: Mapped[int] = mapped_column(Integer, default=28)
    answer_deadline_working_days: Mapped[int] = mapped_column(Integer, default=3)
    accepted_requester_types: Mapped[str] = mapped_column(Text, default="")
    fee_dkk: Mapped[float] = mapped_column(Float, default=0.0)
    replacement_price_dkk: Mapped[float] = mapped_column(Float, default=350.0)
    pickup_window_days: Mapped[int] = mapped_column(Integer, default=14)

    library: Mapped[LibraryRow] = relationship(back_populates="policy")


class ClosureRow(Base):
    """A period in which a library is closed (holidays, moving, stocktaking)."""

    __tablename__ = "library_closures"
    __table_args__ = (CheckConstraint("ends >= starts", name="ends_after_starts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library_isil: Mapped[str] = mapped_column(
        String(16), ForeignKey("libraries.isil", ondelete="CASCADE"), index=True
    )
    starts: Mapped[date] = mapped_column(Date)
    ends: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")


def _split(values: str) -> list[str]:
    return [v for v in values.split(",") if v]


def policy_from_row(row: PolicyRow | None) -> LendingPolicy:
    """The domain policy of a stored row (national defaults when there is none)."""
    if row is None:
        return LendingPolicy()
    accepted = _split(row.accepted_requester_types)
    return LendingPolicy(
        lending_enabled=row.lending_enabled,
        refused_material_types=frozenset(MaterialType(v) for v in _split(row.refused_material_types)),
        min_title_age_days=row.min_title_age_days,
        loan_period_days=row.loan_period_days,
        max_renewals=row.max_renewals,
        renewal_period_days=row.renewal_period_days,
        answer_deadline_working_days=row.answer_deadline_working_days,
        accepted_requester_types=(
            frozenset(RequesterCategory(v) for v in accepted) if accepted else frozenset(RequesterCategory)
        ),
        fee_dkk=row.fee_dkk,
        replacement_price_dkk=row.replacement_price_dkk,
        pickup_window_days=row.pickup_window_days,
    )


def write_policy(row: LibraryRow, policy: LendingPolicy) -> None:
    """Store the policy on the library row (creating the policy row when missing)."""
    if row.policy is None:
        row.policy = PolicyRow(library_isil=row.isil)
    target = row.policy
    target.lending_enabled = policy.lending_enabled
    target.refused_material_types = ",".join(sorted(m.value for m in policy.refused_material_types))
    target.min_title_age_days = policy.min_title_age_days
    target.loan_period_days = policy.loan_period_days
    target.max_renewals = policy.max_renewals
    target.renewal_period_days = policy.renewal_period_days
    target.answer_deadline_working_days = policy.answer_deadline_working_days
    target.accepted_requester_types = ",".join(sorted(r.value for r in policy.accepted_requester_types))
    target.fee_dkk = policy.fee_dkk
    target.replacement_price_dkk = policy.replacement_price_dkk
    target.pickup_window_days = policy.pickup_window_days


def library_from_row(row: LibraryRow) -> Library:
    """The domain view of a stored library."""
    return Library(
        isil=row.isil,
        name=row.name,
        type=LibraryType(row.type),
        region=Region(row.region) if row.region else None,
        municipality_code=row.municipality_code,
        central_isil=row.central_isil,
        transport_hub=row.transport_hub,
        email=row.email,
        iso18626_endpoint=row.iso18626_endpoint,
        iso18626_version=Iso18626Version(row.iso18626_version) if row.iso18626_version else None,
        active=row.active,
        policy=policy_from_row(row.policy),
    )


def closures_of(session: Session, isil: str) -> list[Closure]:
    """A library's closures in date order."""
    rows = session.scalars(
        select(ClosureRow).where(ClosureRow.library_isil == isil).order_by(ClosureRow.starts, ClosureRow.id)
    )
    return [Closure(starts=r.starts, ends=r.ends, reason=r.reason) for r in rows]
