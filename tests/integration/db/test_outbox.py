"""The outbox keeps messages with the transaction that caused them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from fjernlaan.app.worker import claim_due_messages
from fjernlaan.db.outbox import OutboxMessage, backoff, enqueue
from fjernlaan.db.uow import Database

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # given to the code, never compared with the wall clock


def test_a_message_is_stored_with_its_transaction(db: Database) -> None:
    with db.unit_of_work() as session:
        enqueue(
            session,
            channel="email",
            destination="a@example.dk",
            payload={"subject": "Fjernlån klar"},
            idempotency_key="k1",
            now=NOW,
        )
    with db.unit_of_work() as session:
        stored = session.scalar(select(OutboxMessage))
        assert stored is not None
        assert stored.payload == {"subject": "Fjernlån klar"}
        assert stored.status == "pending"


def test_a_rolled_back_transaction_leaves_no_message(db: Database) -> None:
    with pytest.raises(RuntimeError), db.unit_of_work() as session:
        enqueue(
            session, channel="email", destination="a@example.dk", payload={}, idempotency_key="k2", now=NOW
        )
        raise RuntimeError("the change failed")
    with db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_the_same_idempotency_key_is_queued_once(db: Database) -> None:
    with db.unit_of_work() as session:
        first = enqueue(
            session, channel="email", destination="x", payload={}, idempotency_key="same", now=NOW
        )
        second = enqueue(
            session, channel="email", destination="x", payload={}, idempotency_key="same", now=NOW
        )
        assert first.id == second.id


def test_a_message_queued_at_a_pass_clock_is_due_in_that_pass(db: Database) -> None:
    # A timer pass run with `--now` at a clock before the wall clock (an operator replaying a day)
    # must send what it queued in the same pass.
    earlier = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    with db.unit_of_work() as session:
        queued = enqueue(
            session, channel="email", destination="x", payload={}, idempotency_key="past", now=earlier
        )
        queued_id = queued.id
    assert claim_due_messages(db, earlier, "test-worker") == [queued_id]


def test_a_message_is_dated_by_its_use_case_and_not_due_before_it(db: Database) -> None:
    with db.unit_of_work() as session:
        queued = enqueue(session, channel="email", destination="x", payload={}, idempotency_key="t", now=NOW)
        queued_id = queued.id
    with db.unit_of_work() as session:
        row = session.get(OutboxMessage, queued_id)
        assert row is not None and row.created_at == NOW and row.next_attempt_at == NOW
    assert claim_due_messages(db, NOW - timedelta(seconds=1), "test-worker") == []
    assert claim_due_messages(db, NOW, "test-worker") == [queued_id]


def test_backoff_grows_and_is_capped_at_an_hour() -> None:
    assert backoff(1).total_seconds() == 30
    assert backoff(2).total_seconds() == 60
    assert backoff(20).total_seconds() == 3600
