"""Erasure of patrons' data (issue 12, defect 1): the retention period after a request ends, nothing of
its patron is left in any table, payload or log, and the statistics are the same as before; until then
the patron's home library can show the patron everything the hub holds about them."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from fjernlaan.accounts.service import PatronIn, add_patron
from fjernlaan.app.tables import metadata
from fjernlaan.app.worker import run_once
from fjernlaan.db.outbox import enqueue
from fjernlaan.db.uow import Database
from fjernlaan.iso18626.store import InboundMessageRow, RequestLinkRow
from fjernlaan.lending.store import RequestRow
from fjernlaan.privacy.service import erase
from fjernlaan.settings import Settings
from fjernlaan.stats.service import lending_statistics
from support import RecordingSmtpHandler

URL = "/api/v1/requests"
REQUESTER = "DK-710100"
SOREN = ("Søren Ærø", "1234567890", "soren@example.dk")  # the world fixture's patron
AASE = ("Åse Øhlenschläger", "7777000011", "aase@example.dk")


def _post(world: Any, path: str, isil: str, body: dict[str, Any]) -> dict[str, Any]:
    response = world.client.post(path, json=body, headers=world.staff_of(isil))
    assert response.status_code in (200, 201), response.text
    return response.json()  # type: ignore[no-any-return]


def _act(world: Any, request_id: int, action: str, isil: str, **body: Any) -> dict[str, Any]:
    return _post(world, f"{URL}/{request_id}/actions/{action}", isil, body)


def _history(world: Any, settings: Settings) -> dict[str, int]:
    """Søren: a completed loan (with the ready-for-pickup mail) and a cancelled citation whose notes
    and reason name him; a peer's message about the loan carrying his name. Åse: an open request."""
    with world.db.unit_of_work() as session:
        aase = add_patron(
            session, PatronIn(name=AASE[0], card_number=AASE[1], email=AASE[2], home_library=REQUESTER)
        ).id
    loan = _post(world, URL, REQUESTER, {"record_id": world.record_id, "patron_id": world.patron_id})
    lender = loan["current_lender_isil"]
    # Staff name the patron in a message between the libraries: erasure scrubs it too.
    _post(world, f"{URL}/{loan['id']}/messages", REQUESTER, {"body": f"{SOREN[0]} skal bruge den"})
    for action, isil in [
        ("ship", lender),
        ("receive", REQUESTER),
        ("check_out", REQUESTER),
        ("return_by_patron", REQUESTER),
        ("ship_return", REQUESTER),
        ("confirm_return", lender),
    ]:
        _act(world, loan["id"], action, isil)
    citation = {"title": "Håndskrift fra Ærø", "notes": f"Til {SOREN[0]}, kort {SOREN[1]}; ring til Søren"}
    cancelled = _post(world, URL, REQUESTER, {"citation": citation, "card_number": SOREN[1]})
    _act(world, cancelled["id"], "cancel", REQUESTER, reason=f"{SOREN[0]} ({SOREN[2]}) fortrød")
    open_one = _post(world, URL, REQUESTER, {"record_id": world.record_id, "patron_id": aase})
    run_once(world.db, settings, world.clock.now())  # the mails go out
    now = world.clock.now()
    with world.db.unit_of_work() as session:
        session.add(
            RequestLinkRow(
                request_id=loan["id"],
                peer_isil="DK-820030",
                peer_role="requester",
                requesting_agency_request_id="peer-req-1",
                our_agency_isil="DK-800010",
            )
        )
        session.add(
            InboundMessageRow(
                sender="DK-820030",
                kind="request",
                requesting_agency_request_id="peer-req-1",
                dedupe_key="erasure-test-1",
                body=f"<patronInfo><surname>{SOREN[0]}</surname></patronInfo>".encode(),
                outcome="applied",
                received_at=now,
                last_received_at=now,
            )
        )
        # Junk from nobody, long before the retention period: no request will ever erase it.
        session.add(
            InboundMessageRow(
                sender=None,
                body=f"<x>{SOREN[2]}</x>".encode(),
                outcome="refused",
                received_at=now - timedelta(days=30),
                last_received_at=now - timedelta(days=30),
            )
        )
        enqueue(
            session,
            channel="iso18626",
            destination="https://peer.example/iso18626",
            payload={"kind": "requestingAgencyMessage", "to": "DK-820030", "xml": f"<note>{SOREN[0]}</note>"},
            idempotency_key=f"lending:{loan['id']}:iso18626:test",
            now=now,
        )
    return {"loan": loan["id"], "cancelled": cancelled["id"], "open": open_one["id"], "aase": aase}


def _all_text(db: Database) -> list[tuple[str, str]]:
    """Every value of every table, as text: (table, value)."""
    found: list[tuple[str, str]] = []
    with db.engine.connect() as connection:
        for table in metadata().sorted_tables:
            for row in connection.execute(select(table)).all():
                for value in row:
                    if isinstance(value, bytes):
                        found.append((table.name, value.decode("utf-8", "replace")))
                    elif isinstance(value, dict | list):
                        found.append((table.name, json.dumps(value, ensure_ascii=False)))
                    elif isinstance(value, str):
                        found.append((table.name, value))
    return found


def _holding(db: Database, person: tuple[str, str, str]) -> list[str]:
    needles = [p.lower() for p in person]
    return sorted({table for table, text in _all_text(db) if any(n in text.lower() for n in needles)})


def test_after_the_retention_period_nothing_of_the_patron_is_left_and_statistics_are_unchanged(
    world: Any, mail: tuple[RecordingSmtpHandler, Settings], caplog: pytest.LogCaptureFixture
) -> None:
    handler, settings = mail
    ids = _history(world, settings)
    assert any(SOREN[0] in m.get_content() for m in handler.messages)
    # Before: he is in the patrons, requests, events, outbox and the inbound log.
    assert {"patrons", "ill_requests", "ill_events", "outbox", "iso18626_inbound"} <= set(
        _holding(world.db, SOREN)
    )
    with world.db.unit_of_work() as session:
        before = lending_statistics(session)

    # The worker's job with the retention period at 1 day, two days on.
    one_day = settings.model_copy(update={"patron_data_retention_days": 1})
    caplog.set_level(logging.INFO)
    report = run_once(world.db, one_day, world.clock.now() + timedelta(days=2))
    assert report.timers["privacy.erase"] == 2

    assert _holding(world.db, SOREN) == []
    assert not any(p.lower() in caplog.text.lower() for p in SOREN)
    with world.db.unit_of_work() as session:
        assert lending_statistics(session) == before
        loan = session.get(RequestRow, ids["loan"])
        assert loan is not None and loan.patron_id is None and loan.state == "completed"
        assert loan.patron_category == "adult" and loan.personal_data_erased_at is not None
        # Åse's request is open: her data stays.
        still_open = session.get(RequestRow, ids["open"])
        assert still_open is not None and still_open.patron_id == ids["aase"]
    assert "patrons" in _holding(world.db, AASE)
    # A second pass finds nothing more to do.
    assert run_once(world.db, one_day, world.clock.now() + timedelta(days=2)).timers["privacy.erase"] == 0


def test_nothing_is_erased_before_the_retention_period_is_over(
    world: Any, mail: tuple[RecordingSmtpHandler, Settings]
) -> None:
    _, settings = mail
    _history(world, settings)
    with world.db.unit_of_work() as session:
        report = erase(session, world.clock.now() + timedelta(days=89), 90)
    assert (report.requests, report.patrons) == (0, 0)
    assert "patrons" in _holding(world.db, SOREN)


def test_a_dry_run_counts_and_changes_nothing(
    world: Any, mail: tuple[RecordingSmtpHandler, Settings]
) -> None:
    _, settings = mail
    _history(world, settings)
    before = [v for v in _all_text(world.db) if v[0] != "audit_log"]
    with world.db.unit_of_work() as session:
        report = erase(session, world.clock.now() + timedelta(days=2), 1, dry_run=True)
    assert (report.requests, report.patrons, report.dry_run) == (2, 1, True)
    assert report.outbox_messages >= 2 and report.inbound_bodies == 2
    assert [v for v in _all_text(world.db) if v[0] != "audit_log"] == before
    with world.db.unit_of_work() as session:
        real = erase(session, world.clock.now() + timedelta(days=2), 1)
    assert (real.requests, real.patrons, real.outbox_messages, real.inbound_bodies) == (
        report.requests,
        report.patrons,
        report.outbox_messages,
        report.inbound_bodies,
    )


def test_the_home_library_shows_and_downloads_what_the_hub_holds_about_a_patron(
    world: Any, mail: tuple[RecordingSmtpHandler, Settings]
) -> None:
    _, settings = mail
    ids = _history(world, settings)
    path = f"/api/v1/patrons/{REQUESTER}/{SOREN[1]}/data"
    answer = world.client.get(path, headers=world.staff_of(REQUESTER))
    assert answer.status_code == 200
    data = answer.json()
    assert data["patron"]["name"] == SOREN[0] and data["patron"]["email"] == SOREN[2]
    assert [r["id"] for r in data["requests"]] == [ids["loan"], ids["cancelled"]]
    assert [e["action"] for e in data["requests"][0]["events"]][:2] == ["place", "validate"]
    assert any("klar til afhentning" in (m["subject"] or "") for m in data["emails"])
    download = world.client.get(path, params={"download": "true"}, headers=world.staff_of(REQUESTER))
    assert (
        download.headers["content-disposition"]
        == f'attachment; filename="patron-{REQUESTER}-{SOREN[1]}.json"'
    )
    assert json.loads(download.content) == data
    # A lender never sees it; after erasure there is nothing left to show.
    assert world.client.get(path, headers=world.staff_of("DK-714700")).status_code == 403
    with world.db.unit_of_work() as session:
        erase(session, world.clock.now() + timedelta(days=2), 1)
    assert world.client.get(path, headers=world.staff_of(REQUESTER)).status_code == 404
