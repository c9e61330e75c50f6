"""E-mail leaves only through the outbox and reaches a real SMTP server; a dead server delays, never loses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from fjernlaan.app.worker import run_once
from fjernlaan.db.outbox import MAX_ATTEMPTS, OutboxMessage, retry_message
from fjernlaan.db.uow import Database
from fjernlaan.notify.mail import Attachment
from fjernlaan.notify.service import queue_email
from fjernlaan.settings import Settings
from support import RecordingSmtpHandler, free_port

# The moment mails are queued and the worker runs: the code is given it and never reads the wall clock.
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
CONTEXT = {
    "patron_name": "Søren Ærø",
    "title": "Æbler på Åen",
    "pickup_library": "Tårnby Bibliotek",
    "pickup_by": "2026-12-14",
}


def _queue(db: Database, key: str = "pickup-1", **kwargs: object) -> None:
    with db.unit_of_work() as session:
        queue_email(
            session,
            to=["soren@example.dk"],
            template="patron_ready_for_pickup",
            lang="da",
            context=CONTEXT,
            idempotency_key=key,
            **{"now": NOW, **kwargs},
        )  # type: ignore[arg-type]


def test_a_queued_mail_arrives_with_danish_letters_intact(
    db: Database, smtp_server: tuple[RecordingSmtpHandler, Settings]
) -> None:
    handler, settings = smtp_server
    _queue(db)
    report = run_once(db, settings, NOW)
    assert report.sent == 1
    [message] = handler.messages
    assert message["Subject"] == "Dit fjernlån er klar til afhentning: Æbler på Åen"
    assert message["To"] == "soren@example.dk"
    assert "Kære Søren Ærø" in message.get_body().get_content()


def test_nothing_is_sent_before_the_worker_runs(
    db: Database, smtp_server: tuple[RecordingSmtpHandler, Settings]
) -> None:
    handler, _ = smtp_server
    _queue(db)
    assert handler.messages == []


def test_an_unreachable_smtp_server_delays_the_mail_and_loses_none(
    db: Database, smtp_server: tuple[RecordingSmtpHandler, Settings]
) -> None:
    handler, settings = smtp_server
    _queue(db)
    dead = settings.model_copy(update={"smtp_port": free_port()})
    now = NOW
    report = run_once(db, dead, now)
    assert report.retried == 1
    with db.unit_of_work() as session:
        row = session.scalar(select(OutboxMessage))
        assert row is not None and row.status == "pending" and row.last_error
        assert row.next_attempt_at > now
    # Not due yet: nothing happens even with a live server.
    assert run_once(db, settings, now).sent == 0
    assert run_once(db, settings, now + timedelta(minutes=2)).sent == 1
    assert len(handler.messages) == 1


def test_a_message_sent_once_is_not_sent_again(
    db: Database, smtp_server: tuple[RecordingSmtpHandler, Settings]
) -> None:
    handler, settings = smtp_server
    _queue(db)
    run_once(db, settings, NOW)
    run_once(db, settings, NOW + timedelta(hours=1))
    assert len(handler.messages) == 1


def test_after_the_last_attempt_the_message_fails_and_an_operator_can_retry(
    db: Database, smtp_server: tuple[RecordingSmtpHandler, Settings]
) -> None:
    handler, settings = smtp_server
    _queue(db)
    dead = settings.model_copy(update={"smtp_port": free_port()})
    now = NOW
    for attempt in range(MAX_ATTEMPTS):
        run_once(db, dead, now + timedelta(hours=2 * attempt))
    with db.unit_of_work() as session:
        row = session.scalar(select(OutboxMessage))
        assert row is not None and row.status == "failed"
        retry_message(session, row.id, now)
    run_once(db, settings, now + timedelta(days=1))
    assert len(handler.messages) == 1


def test_messages_with_one_ordering_key_leave_in_order(
    db: Database, smtp_server: tuple[RecordingSmtpHandler, Settings]
) -> None:
    handler, settings = smtp_server
    _queue(db, key="first", ordering_key="request-7")
    _queue(db, key="second", ordering_key="request-7")
    dead = settings.model_copy(update={"smtp_port": free_port()})
    now = NOW
    report = run_once(db, dead, now)
    # The second waits behind the first instead of overtaking it.
    assert report.retried == 1
    run_once(db, settings, now + timedelta(minutes=5))
    assert len(handler.messages) == 2


def test_an_ics_attachment_arrives_as_text_calendar(
    db: Database, smtp_server: tuple[RecordingSmtpHandler, Settings]
) -> None:
    handler, settings = smtp_server
    ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nEND:VCALENDAR\r\n"
    _queue(db, attachments=(Attachment("invitation.ics", "text/calendar", ics),))
    run_once(db, settings, NOW)
    [message] = handler.messages
    [part] = list(message.iter_attachments())
    assert part.get_content_type() == "text/calendar"
    assert part.get_filename() == "invitation.ics"
