"""Tables of users, their login sessions and API tokens, the audit log, and patrons."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fjernlaan.db.base import Base, UtcDateTime, utcnow


class UserRow(Base):
    """A staff user, coordinator or administrator."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    library_isil: Mapped[str | None] = mapped_column(String(16), ForeignKey("libraries.isil"), index=True)
    language: Mapped[str] = mapped_column(String(2), default="da")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ApiTokenRow(Base):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Every token issued since migration 0010 expires; NULL only for tokens older than expiry, which
    # the migration dated (so in practice never NULL).
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class UserSessionRow(Base):
    """A login session of the web interface: the cookie carries a random id whose SHA-256 is stored
    here, so logging out (or deactivating the user) ends it on the server, whatever the browser keeps."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class AuditRow(Base):
    """One staff or administrator action: who, what, when, from where. Written in the transaction of
    the action itself, so an action without its entry (or an entry without its action) cannot exist."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    # No foreign key: the entry outlives the user, and failed logins name users that do not exist.
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    role: Mapped[str | None] = mapped_column(String(20))
    library_isil: Mapped[str | None] = mapped_column(String(16), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # How the action came in: "POST /api/v1/...", "cli", "worker".
    via: Mapped[str] = mapped_column(String(200), default="")


class PatronRow(Base):
    """A library user who asks for items; personal data is erased after the retention period."""

    __tablename__ = "patrons"
    __table_args__ = (UniqueConstraint("home_library_isil", "card_number", name="card_per_library"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_number: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    category: Mapped[str] = mapped_column(String(16), default="adult")
    home_library_isil: Mapped[str] = mapped_column(String(16), ForeignKey("libraries.isil"), index=True)
    language: Mapped[str] = mapped_column(String(2), default="da")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The PIN a patron logs in with (self-service), hashed with argon2id like staff passwords; None
    # until staff or the CLI set one.
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    pin_set_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
