"""Staff's request state changes are in the audit log: who, which request and action, from where."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from fjernlaan.accounts.store import AuditRow

URL = "/api/v1/requests"
REQUESTER = "DK-710100"


def test_placing_and_each_staff_action_on_a_request_are_audited(world: Any) -> None:
    placed = world.client.post(
        URL,
        json={"record_id": world.record_id, "patron_id": world.patron_id},
        headers=world.staff_of(REQUESTER),
    ).json()
    lender = placed["current_lender_isil"]
    shipped = world.client.post(f"{URL}/{placed['id']}/actions/ship", json={}, headers=world.staff_of(lender))
    assert shipped.status_code == 200
    # Not allowed now: 409, and no entry (it commits with the action or not at all).
    refused = world.client.post(f"{URL}/{placed['id']}/actions/ship", json={}, headers=world.staff_of(lender))
    assert refused.status_code == 409
    with world.db.unit_of_work() as session:
        rows = session.scalars(select(AuditRow).order_by(AuditRow.id)).all()
        entries = [(r.action, r.username, r.library_isil, r.ip, r.target, r.via) for r in rows]
    assert entries == [
        ("place_request", "kbh", REQUESTER, "testclient", None, f"POST {URL}"),
        (
            "take_action",
            "staff" + lender[3:],
            lender,
            "testclient",
            f"request_id={placed['id']} action=ship",
            f"POST {URL}/{placed['id']}/actions/ship",
        ),
    ]
