"""The patron's e-mail notices, delivered by the worker through the outbox to a real SMTP server
(aiosmtpd): confirmation, ready for pickup with the last pickup day, due soon (once per due date),
overdue, recalled, unfilled; in the patron's language, Danish letters intact; none without an address."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fjernlaan.accounts.service import PatronIn, add_patron
from fjernlaan.app.worker import run_once
from fjernlaan.settings import Settings
from support import RecordingSmtpHandler

URL = "/api/v1/requests"
REQUESTER = "DK-710100"
PATRON_MAIL = "soren@example.dk"


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


def _place(world: Any, **body: Any) -> int:
    body = {"record_id": world.record_id, "patron_id": world.patron_id, **body}
    response = world.client.post(URL, json=body, headers=world.staff_of(REQUESTER))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _act(world: Any, request_id: int, action: str, isil: str, **body: Any) -> dict[str, Any]:
    response = world.client.post(
        f"{URL}/{request_id}/actions/{action}", json=body, headers=world.staff_of(isil)
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _lender(world: Any, request_id: int) -> str:
    data = world.client.get(f"{URL}/{request_id}", headers=world.staff_of(REQUESTER)).json()
    return str(data["current_lender_isil"])


def _to(handler: RecordingSmtpHandler, address: str) -> list[tuple[str, str]]:
    return [(str(m["Subject"]), m.get_content()) for m in handler.messages if m["To"] == address]


def test_a_loan_tells_its_patron_every_step_in_danish(
    world: Any, smtp_server: tuple[RecordingSmtpHandler, Settings]
) -> None:
    handler, settings = smtp_server
    now = world.clock.now()
    request_id = _place(world)
    run_once(world.db, settings, now)
    [(subject, body)] = _to(handler, PATRON_MAIL)
    assert subject == "Vi har modtaget din bestilling: Æbler på Åen"
    assert "Kære Søren Ærø" in body and f"Bestillingsnummer: {request_id}" in body

    lender = _lender(world, request_id)
    due = date.fromisoformat(_act(world, request_id, "ship", lender)["due_date"])
    received = _act(world, request_id, "receive", REQUESTER)
    run_once(world.db, settings, now)
    subject, body = _to(handler, PATRON_MAIL)[-1]
    assert subject == "Dit fjernlån er klar til afhentning: Æbler på Åen"
    assert f"Afhentes senest: {received['pickup_due']}" in body and received["pickup_due"]
    assert lender not in body  # the lender is never named to the patron by its ISIL

    _act(world, request_id, "check_out", REQUESTER)
    run_once(world.db, settings, _noon(due - timedelta(days=5)))
    assert len(_to(handler, PATRON_MAIL)) == 2  # not yet due soon
    run_once(world.db, settings, _noon(due - timedelta(days=2)))
    run_once(world.db, settings, _noon(due - timedelta(days=1)))
    soon = [s for s, _ in _to(handler, PATRON_MAIL) if s.startswith("Snart afleveringsdag")]
    assert soon == ["Snart afleveringsdag: Æbler på Åen"]  # once per due date

    _act(world, request_id, "recall", lender, reason="Skal bruges på læsesalen")
    run_once(world.db, settings, _noon(due - timedelta(days=1)))
    subject, body = _to(handler, PATRON_MAIL)[-1]
    assert subject == "Materialet er kaldt tilbage: Æbler på Åen"
    assert "Årsag: Skal bruges på læsesalen" in body


def test_an_english_patron_gets_english_and_one_without_an_address_gets_none(
    world: Any, smtp_server: tuple[RecordingSmtpHandler, Settings]
) -> None:
    handler, settings = smtp_server
    with world.db.unit_of_work() as session:
        english = add_patron(
            session,
            PatronIn(
                card_number="55",
                name="Åge Brønd",
                email="aage@example.org",
                home_library=REQUESTER,
                language="en",
            ),
        ).id
        silent = add_patron(
            session, PatronIn(card_number="56", name="Uden Adresse", home_library=REQUESTER)
        ).id
    _place(world, patron_id=english)
    quiet = _place(world, patron_id=silent)
    lender = _lender(world, quiet)
    _act(world, quiet, "ship", lender)
    _act(world, quiet, "receive", REQUESTER)
    run_once(world.db, settings, world.clock.now())
    [(subject, body)] = _to(handler, "aage@example.org")
    assert subject == "We have received your request: Æbler på Åen"
    assert "Dear Åge Brønd" in body
    patron_mail = [m for m in handler.messages if "Uden Adresse" in m.get_content()]
    assert patron_mail == []
