"""The outbox: messages to other systems, written in the same transaction as the change that causes
them and sent later by the worker, so a crash loses nothing and a retry sends nothing twice."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from fjernlaan.db.base import Base, UtcDateTime, utcnow
from fjernlaan.errors import Conflict, NotFound


class OutboxMessage(Base):
    """One message to send: an e-mail, an ISO 18626 message to a peer, ..."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), index=True)  # "email", "iso18626", ...
    destination: Mapped[str] = mapped_column(String(500))
    # Messages with the same ordering key leave in id order (e.g. all messages of one ILL request).
    ordering_key: Mapped[str | None] = mapped_column(String(200), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)


OUTBOX_STATUSES = ("pending", "sent", "failed")
MAX_ATTEMPTS = 8


def enqueue(
    session: Session,
    *,
    channel: str,
    destination: str,
    payload: dict[str, Any],
    idempotency_key: str,
    now: datetime,
    ordering_key: str | None = None,
    new_key: bool = False,
) -> OutboxMessage:
    """Add a message to the outbox inside the caller's transaction; the same key is queued once.

    `new_key` skips looking the key up, for a key that cannot have been used (it names a row this
    transaction just inserted): a write path that must not read while it holds the write lock.

    `now` is the moment of the change that queues it (a timer pass run with `--now` passes its own), so
    the message is due in that same pass and dated by the use case's clock, not the wall clock.
    """
    if not new_key:
        existing = session.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key)
        )
        if existing is not None:
            return existing
    # Round-trip through JSON now so a payload that cannot be stored fails the transaction, not the worker.
    message = OutboxMessage(
        channel=channel,
        destination=destination,
        payload=json.loads(json.dumps(payload, ensure_ascii=False)),
        idempotency_key=idempotency_key,
        ordering_key=ordering_key,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(message)
    session.flush()
    return message


def backoff(attempts: int) -> timedelta:
    """Delay before the next try: 30 s, 1 min, 2 min, ... capped at one hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


ERASED = "[slettet]"


def erase_messages(
    session: Session, key_prefixes: list[str], scrub: Callable[[str], str], now: datetime
) -> int:
    """Erase the contents of every message whose idempotency key starts with one of the prefixes
    (all messages of an ILL request share ``lending:<id>:``): the payload is replaced by a stub saying
    when, an e-mail's recipients are blanked, and ``scrub`` cleans the error text. A message not yet
    sent is not sent any more: it is marked failed. Returns how many messages were erased."""
    if not key_prefixes:
        return 0
    rows = session.scalars(
        select(OutboxMessage).where(or_(*(OutboxMessage.idempotency_key.startswith(p) for p in key_prefixes)))
    ).all()
    erased = 0
    for row in rows:
        if isinstance(row.payload, dict) and row.payload.get("erased_at"):
            continue
        stub: dict[str, Any] = {"erased_at": now.isoformat()}
        for keep in ("kind", "to", "version"):  # ISO 18626 routing facts: no personal data
            if isinstance(row.payload, dict) and keep in row.payload and row.channel != "email":
                stub[keep] = row.payload[keep]
        row.payload = stub
        if row.channel == "email":
            row.destination = ERASED
        if row.last_error:
            row.last_error = scrub(row.last_error)
        if row.status == "pending":
            row.status = "failed"
            row.last_error = "erased with the patron's data before it was sent"
        erased += 1
    session.flush()
    return erased


def messages_with_prefix(
    session: Session, key_prefixes: list[str], channel: str | None = None
) -> list[OutboxMessage]:
    """The messages whose idempotency key starts with one of the prefixes, oldest first."""
    if not key_prefixes:
        return []
    query = select(OutboxMessage).where(
        or_(*(OutboxMessage.idempotency_key.startswith(p) for p in key_prefixes))
    )
    if channel is not None:
        query = query.where(OutboxMessage.channel == channel)
    return list(session.scalars(query.order_by(OutboxMessage.id)))


def retry_message(session: Session, message_id: int, now: datetime) -> OutboxMessage:
    """An operator's retry: a failed or waiting message is due again now."""
    row = session.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound(f"no outbox message {message_id}", field="message_id")
    if row.status == "sent":
        raise Conflict(f"outbox message {message_id} was already sent at {row.sent_at}")
    row.status = "pending"
    row.next_attempt_at = now
    row.claimed_by = None
    row.claimed_until = None
    if row.attempts >= MAX_ATTEMPTS:
        row.attempts = MAX_ATTEMPTS - 1
    return row
