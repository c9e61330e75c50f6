"""Two processes answer the same attempt at once on PostgreSQL: exactly one wins, the other gets 409."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest
from sqlalchemy import text

from fjernlaan.accounts.model import Principal, Role
from fjernlaan.db.base import utcnow
from fjernlaan.db.engine import make_engine
from fjernlaan.db.uow import Database
from fjernlaan.errors import DomainError
from fjernlaan.lending import service
from fjernlaan.lending.model import Action
from fjernlaan.lending.schemas import ActionIn
from support import require_postgres


def _answer(
    url: str, schema: str, request_id: int, lender: str, action: str, barrier: Any, results: Any
) -> None:
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"}, null_pool=True)
    database = Database(engine)
    principal = Principal(user_id=0, username="staff-" + action, role=Role.STAFF, library_isil=lender)
    barrier.wait()
    try:
        with database.unit_of_work() as session:
            service.act(session, request_id, Action(action), principal, ActionIn(reason="udlånt"), utcnow())
        results.put((action, 200, ""))
    except DomainError as exc:
        results.put((action, exc.status, exc.message))
    finally:
        engine.dispose()


def test_two_processes_answering_the_same_attempt_yield_one_winner_and_one_409(world: Any) -> None:
    if world.db.dialect != "postgresql":
        pytest.skip("the race is about PostgreSQL row locks; SQLite serialises writers outright")
    url = require_postgres()
    with world.db.engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    placed = world.client.post(
        "/api/v1/requests",
        json={"record_id": world.record_id, "patron_id": world.patron_id},
        headers=world.staff_of("DK-710100"),
    ).json()
    request_id, lender = placed["id"], placed["current_lender_isil"]

    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2)
    results = context.Queue()
    processes = [
        context.Process(target=_answer, args=(url, schema, request_id, lender, action, barrier, results))
        for action in ("ship", "unfilled")
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)

    statuses = sorted(status for _, status, _ in outcomes)
    assert statuses == [200, 409], outcomes
    winner = next(action for action, status, _ in outcomes if status == 200)
    final = world.client.get(f"/api/v1/requests/{request_id}", headers=world.staff_of("DK-710100")).json()
    answers = [
        e for e in final["events"] if e["side"] == "supplier" and e["position"] == 0 and e["from_state"]
    ]
    assert [e["action"] for e in answers] == [winner]
