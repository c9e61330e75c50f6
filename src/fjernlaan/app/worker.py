"""The worker: runs the areas' timers and jobs and sends the outbox, one pass at a time.

Safe to run in several processes at once: outbox rows are claimed with a lease (and `FOR UPDATE SKIP
LOCKED` on PostgreSQL), and timers claim the rows they change the same way inside their own areas.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased

from fjernlaan.app.areas import AREAS, install_areas
from fjernlaan.area import Job, Sender, Timer
from fjernlaan.clock import SYSTEM_CLOCK, Clock
from fjernlaan.db.outbox import MAX_ATTEMPTS, OutboxMessage, backoff
from fjernlaan.db.uow import Database
from fjernlaan.notify.smtp import send_email
from fjernlaan.settings import Settings

log = logging.getLogger("fjernlaan.worker")


LEASE = timedelta(minutes=5)


def _send_email(settings: Settings, payload: dict[str, Any], destination: str, db: Database) -> None:
    send_email(settings, payload)


#: Outbox channel → sender: e-mail (the notify kit) and every area's channels.
SENDERS: dict[str, Sender] = {"email": _send_email} | {
    channel: sender for area in AREAS for channel, sender in area.senders.items()
}
#: Every area's timers, then its jobs; each runs in the order of its name.
TIMERS: dict[str, Timer] = {name: timer for area in AREAS for name, timer in area.timers.items()}
JOBS: dict[str, Job] = {name: job for area in AREAS for name, job in area.jobs.items()}


@dataclass
class PassReport:
    """What one worker pass did."""

    timers: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    retried: int = 0
    failed: int = 0


def worker_id() -> str:
    """This process, for the claim columns."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_due_messages(db: Database, now: datetime, owner: str, batch: int = 50) -> list[int]:
    """Claim up to `batch` due messages; within an ordering key only the oldest unsent one is due."""
    earlier = aliased(OutboxMessage)
    blocked = exists().where(
        and_(
            earlier.ordering_key == OutboxMessage.ordering_key,
            earlier.id < OutboxMessage.id,
            earlier.status != "sent",
        )
    )
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
            or_(OutboxMessage.ordering_key.is_(None), ~blocked),
        )
        .order_by(OutboxMessage.id)
        .limit(batch)
    )
    with db.unit_of_work() as session:
        if db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True, of=OutboxMessage)
        rows = list(session.scalars(query))
        for row in rows:
            row.claimed_by = owner
            row.claimed_until = now + LEASE
        return [row.id for row in rows]


def deliver(db: Database, settings: Settings, message_id: int, now: datetime, owner: str) -> str:
    """Send one claimed message and record the outcome: `sent`, `retry` or `failed`."""
    with db.unit_of_work() as session:
        row = session.get(OutboxMessage, message_id)
        if row is None or row.claimed_by != owner or row.status != "pending":
            return "skipped"
        channel, destination, payload = row.channel, row.destination, dict(row.payload)
    sender = SENDERS.get(channel)
    error: str | None = None
    if sender is None:
        error = f"no sender for channel {channel!r}"
    else:
        try:
            sender(settings, payload, destination, db)
        except Exception as exc:  # whatever the peer or server did, the message stays queued
            error = f"{type(exc).__name__}: {exc}"[:2000]
    with db.unit_of_work() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        row.claimed_by = None
        row.claimed_until = None
        row.attempts += 1
        if error is None:
            row.status = "sent"
            row.sent_at = now
            row.last_error = None
            return "sent"
        row.last_error = error
        if channel == "email":
            # An e-mail's recipients are personal data: neither the log nor the stored error names them.
            for address in destination.split(", "):
                error = error.replace(address, "<recipient>") if address else error
            row.last_error = error
            log.warning("outbox message %s (email) failed: %s", message_id, error)
        else:
            log.warning("outbox message %s (%s to %s) failed: %s", message_id, channel, destination, error)
        if row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
            return "failed"
        row.next_attempt_at = now + backoff(row.attempts)
        return "retry"


def send_outbox(db: Database, settings: Settings, now: datetime, report: PassReport) -> None:
    """Deliver every message due at `now` (the batch repeats until nothing is due)."""
    owner = worker_id()
    while True:
        claimed = claim_due_messages(db, now, owner)
        if not claimed:
            return
        for message_id in claimed:
            outcome = deliver(db, settings, message_id, now, owner)
            if outcome == "sent":
                report.sent += 1
            elif outcome == "retry":
                report.retried += 1
            elif outcome == "failed":
                report.failed += 1


def run_once(db: Database, settings: Settings, now: datetime) -> PassReport:
    """One pass: every timer, then the outbox, at the moment `now` (the worker's clock gives it)."""
    install_areas()
    report = PassReport()
    for name, timer in sorted(TIMERS.items()):
        with db.unit_of_work() as session:
            report.timers[name] = timer(session, now)
    for name, job in sorted(JOBS.items()):
        with db.unit_of_work() as session:
            report.timers[name] = job(session, now, settings)
    send_outbox(db, settings, now, report)
    return report


def run_forever(
    db: Database, settings: Settings, interval_seconds: float = 15.0, clock: Clock = SYSTEM_CLOCK
) -> None:
    """Pass after pass until interrupted, each at `clock`'s now."""
    while True:
        started = time.monotonic()  # only to pace the passes; the passes' time comes from `clock`
        try:
            report = run_once(db, settings, clock.now())
            if report.sent or report.retried or report.failed or any(report.timers.values()):
                log.info("worker pass: %s", report)
        except Exception:  # a failed pass is logged and the next one tries again
            log.exception("worker pass failed")
        time.sleep(max(0.5, interval_seconds - (time.monotonic() - started)))
