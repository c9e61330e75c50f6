"""Placing a request decides everything first, then writes it in one short transaction of INSERTs:
the request, its events, its rota and its attempt commit together, and a refused placement writes
nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, func, select

from fjernlaan.lending.store import AttemptRow, EventRow, RequestRow, RotaEntryRow

URL = "/api/v1/requests"
REQUESTER = "DK-710100"


@contextmanager
def _statements(world: Any) -> Iterator[list[str]]:
    """Every SQL statement the hub sends while the block runs, and COMMIT/ROLLBACK, in order."""
    seen: list[str] = []
    engine = world.db.engine

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(" ".join(sql.split()[:3]).upper())

    def commit(_conn: Any) -> None:
        seen.append("COMMIT")

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


def _counts(world: Any) -> tuple[int, ...]:
    with world.db.unit_of_work() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(t)) or 0
            for t in (RequestRow, EventRow, RotaEntryRow, AttemptRow)
        )


def test_placing_writes_only_inserts_after_its_reads_and_answers_from_them(world: Any) -> None:
    body = {"record_id": world.record_id, "patron_id": world.patron_id}
    world.client.post(URL, json=body, headers=world.staff_of(REQUESTER))  # warms the caches
    with _statements(world) as seen:
        response = world.client.post(URL, json=body, headers=world.staff_of(REQUESTER))
    assert response.status_code == 201, response.text
    placed = response.json()
    assert placed["state"] == "sent"
    assert [(e["action"], e["side"], e["to_state"]) for e in placed["events"]] == [
        ("place", "requester", "submitted"),
        ("validate", "requester", "validated"),
        ("start_sourcing", "requester", "sourcing"),
        ("send", "requester", "sent"),
        ("send", "supplier", "received"),
    ]
    assert len(placed["rota"]) == 5
    assert placed["attempts"][0]["isil"] == placed["current_lender_isil"]
    first_insert = next(i for i, s in enumerate(seen) if s.startswith("INSERT"))
    writes = seen[first_insert:]
    # The request, then its events, rota and attempt, and the patron's confirmation; no read and
    # no UPDATE between them (on SQLite the write lock is held only this long), then the staff
    # action's audit entry in the same transaction, then the commit before the 201.
    assert [s.split()[2] for s in writes[:-1]] == [
        "ILL_REQUESTS",
        "ILL_EVENTS",
        "ILL_ROTA_ENTRIES",
        "ILL_ATTEMPTS",
        "OUTBOX",
        "AUDIT_LOG",
    ]
    assert writes[-1] == "COMMIT"
    assert not any(s.startswith(("UPDATE", "SELECT")) for s in writes)
    # What was answered is what was stored.
    stored = world.client.get(f"{URL}/{placed['id']}", headers=world.staff_of(REQUESTER)).json()
    assert {k: v for k, v in stored.items() if k != "allowed_actions"} == {
        k: v for k, v in placed.items() if k != "allowed_actions"
    }
    assert stored["allowed_actions"] == placed["allowed_actions"]


def test_a_refused_placement_writes_nothing(world: Any) -> None:
    before = _counts(world)
    body = {"record_id": world.record_id, "patron_id": world.patron_id, "pickup_isil": "DK-999999"}
    response = world.client.post(URL, json=body, headers=world.staff_of(REQUESTER))
    assert response.status_code == 422, response.text
    assert "pickup_isil" in response.text
    body = {"record_id": world.record_id, "patron_id": world.patron_id, "need_before": "2000-01-01"}
    response = world.client.post(URL, json=body, headers=world.staff_of(REQUESTER))
    assert response.status_code == 422, response.text
    assert "need_before" in response.text
    assert _counts(world) == before
