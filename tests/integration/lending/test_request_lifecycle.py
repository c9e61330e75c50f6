"""A request walks from placement to completion through the API, with the worker's timers advancing
the clock; mails arrive at a real SMTP server."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi.testclient import TestClient

from fjernlaan.app.worker import run_once
from fjernlaan.settings import Settings
from support import RecordingSmtpHandler

URL = "/api/v1/requests"
REQUESTER = "DK-710100"


def _headers(world: Any, isil: str) -> dict[str, str]:
    return world.staff_of(isil)  # type: ignore[no-any-return]


def place(world: Any, **extra: Any) -> dict[str, Any]:
    body = {"record_id": world.record_id, "patron_id": world.patron_id, **extra}
    response = world.client.post(URL, json=body, headers=_headers(world, REQUESTER))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def act(world: Any, request_id: int, action: str, isil: str, **body: Any) -> dict[str, Any]:
    response = world.client.post(
        f"{URL}/{request_id}/actions/{action}", json=body, headers=_headers(world, isil)
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


def subjects(handler: RecordingSmtpHandler) -> list[str]:
    return [str(m["Subject"]) for m in handler.messages]


def test_a_request_walks_from_no_answer_through_unfilled_to_a_completed_renewed_loan(
    world: Any, mail: tuple[RecordingSmtpHandler, Settings]
) -> None:
    handler, settings = mail
    placed = place(world)
    request_id = placed["id"]
    rota = [entry["isil"] for entry in placed["rota"]]
    assert len(rota) == 5
    assert placed["state"] == "sent"
    assert placed["principles_version"] == "dk-2012"
    assert placed["current_lender_isil"] == rota[0]
    assert all(entry["reasons"] for entry in placed["rota"])

    # The first lender does not answer within its 3 working days.
    report = run_once(world.db, settings, noon(world.clock.now().date() + timedelta(days=10)))
    assert report.timers["lending.1_no_answer"] == 1
    after_timeout = world.client.get(f"{URL}/{request_id}", headers=_headers(world, REQUESTER)).json()
    assert after_timeout["state"] == "sent"
    assert after_timeout["current_lender_isil"] == rota[1]
    assert after_timeout["attempts"][0]["state"] == "unfilled"

    # The second says it cannot supply; the third ships.
    act(world, request_id, "unfilled", rota[1], reason="udlånt")
    act(world, request_id, "will_supply", rota[2])
    shipped = act(world, request_id, "ship", rota[2])
    assert shipped["state"] == "shipped"
    assert shipped["due_date"] is not None

    received = act(world, request_id, "receive", REQUESTER)
    assert received["state"] == "received"
    act(world, request_id, "check_out", REQUESTER)
    act(world, request_id, "request_renewal", REQUESTER)
    renewed = act(world, request_id, "grant_renewal", rota[2])
    assert renewed["renewals_used"] == 1
    assert date.fromisoformat(renewed["due_date"]) > date.fromisoformat(shipped["due_date"])
    act(world, request_id, "return_by_patron", REQUESTER)
    act(world, request_id, "ship_return", REQUESTER)
    done = act(world, request_id, "confirm_return", rota[2])
    assert done["state"] == "completed"
    assert done["ended_at"] is not None

    steps = [(e["action"], e["side"], e["to_state"]) for e in done["events"]]
    requester_steps = [a for a, side, _ in steps if side == "requester"]
    assert requester_steps == [
        "place",
        "validate",
        "start_sourcing",
        "send",
        "no_answer",
        "unfilled",
        "will_supply",
        "ship",
        "receive",
        "check_out",
        "request_renewal",
        "grant_renewal",
        "return_by_patron",
        "ship_return",
        "confirm_return",
    ]
    assert ("no_answer", "supplier", "unfilled") in steps
    assert ("confirm_return", "supplier", "completed") in steps
    no_answer = next(e for e in done["events"] if e["action"] == "no_answer" and e["side"] == "supplier")
    assert no_answer["reason"] == "no answer within the deadline"
    assert no_answer["by_role"] == "system"

    run_once(world.db, settings, world.clock.now())
    assert any("klar til afhentning" in s and "Æbler på Åen" in s for s in subjects(handler))


def test_the_ready_for_pickup_mail_reaches_the_patron_in_danish(
    world: Any, mail: tuple[RecordingSmtpHandler, Settings]
) -> None:
    handler, settings = mail
    request_id = place(world)["id"]
    lender = place_lender(world, request_id)
    act(world, request_id, "ship", lender)
    act(world, request_id, "receive", REQUESTER)
    run_once(world.db, settings, world.clock.now())
    pickup = [m for m in handler.messages if "klar til afhentning" in str(m["Subject"])]
    assert len(pickup) == 1
    assert pickup[0]["To"] == "soren@example.dk"
    body = pickup[0].get_content()
    assert "Kære Søren Ærø" in body
    assert "Københavns Biblioteker" in body


def test_the_ready_for_pickup_mail_states_the_pickup_deadline(
    world: Any, mail: tuple[RecordingSmtpHandler, Settings]
) -> None:
    # The notice was once queued before the deadline was set: "Afhentes senest:" and no date.
    handler, settings = mail
    request_id = place(world)["id"]
    lender = place_lender(world, request_id)
    act(world, request_id, "ship", lender)
    received = act(world, request_id, "receive", REQUESTER)
    assert received["pickup_due"]
    run_once(world.db, settings, world.clock.now())
    [pickup] = [m for m in handler.messages if "klar til afhentning" in str(m["Subject"])]
    lines = [line.strip() for line in pickup.get_content().splitlines()]
    assert f"Afhentes senest: {received['pickup_due']}" in lines


def place_lender(world: Any, request_id: int) -> str:
    data = world.client.get(f"{URL}/{request_id}", headers=_headers(world, REQUESTER)).json()
    return str(data["current_lender_isil"])


def test_a_lender_sees_the_request_but_never_the_patron(world: Any) -> None:
    request_id = place(world)["id"]
    lender = place_lender(world, request_id)
    response = world.client.get(f"{URL}/{request_id}", headers=_headers(world, lender))
    assert response.status_code == 200
    seen = response.json()
    assert seen["patron"] is None
    assert seen["viewer_role"] == "supplier_staff"
    assert "Søren" not in response.text
    assert "1234567890" not in response.text
    assert "soren@example.dk" not in response.text
    own = world.client.get(f"{URL}/{request_id}", headers=_headers(world, REQUESTER)).json()
    assert own["patron"]["name"] == "Søren Ærø"


def test_a_library_not_involved_cannot_see_the_request(world: Any) -> None:
    request_id = place(world)["id"]
    response = world.client.get(f"{URL}/{request_id}", headers=world.headers("dtu"))
    assert response.status_code == 404


def test_allowed_actions_list_what_the_caller_may_do_with_the_fields_needed(world: Any) -> None:
    request_id = place(world)["id"]
    lender = place_lender(world, request_id)
    seen = world.client.get(f"{URL}/{request_id}", headers=_headers(world, lender)).json()
    allowed = {a["action"]: a["needs"] for a in seen["allowed_actions"]}
    assert allowed["unfilled"] == ["reason"]
    assert allowed["will_supply"] == []
    assert "receive" not in allowed


def test_an_illegal_action_is_409_with_the_state_and_the_allowed_actions(world: Any) -> None:
    request_id = place(world)["id"]
    response = world.client.post(
        f"{URL}/{request_id}/actions/receive", json={}, headers=_headers(world, REQUESTER)
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["state"] == "sent"
    assert problem["supplier_state"] == "received"
    assert [a["action"] for a in problem["allowed_actions"]] == ["cancel"]


def test_a_lender_asked_earlier_can_no_longer_answer(
    world: Any, mail: tuple[RecordingSmtpHandler, Settings]
) -> None:
    _, settings = mail
    request_id = place(world)["id"]
    first = place_lender(world, request_id)
    run_once(world.db, settings, noon(world.clock.now().date() + timedelta(days=10)))
    response = world.client.post(
        f"{URL}/{request_id}/actions/will_supply", json={}, headers=_headers(world, first)
    )
    assert response.status_code == 409
    assert response.json()["allowed_actions"] == []


def test_an_action_without_a_field_it_needs_is_422_naming_the_field(world: Any) -> None:
    request_id = place(world)["id"]
    lender = place_lender(world, request_id)
    response = world.client.post(
        f"{URL}/{request_id}/actions/unfilled", json={}, headers=_headers(world, lender)
    )
    assert response.status_code == 422
    assert response.json()["field"] == "reason"


def test_placing_without_record_or_citation_is_422(world: Any) -> None:
    response = world.client.post(URL, json={"patron_id": world.patron_id}, headers=_headers(world, REQUESTER))
    assert response.status_code == 422
    assert "record_id or citation" in response.json()["detail"]


def test_a_citation_waits_for_staff_to_source_it_then_goes_to_the_lender_they_add(world: Any) -> None:
    body = {"citation": {"title": "Håndskrift fra Ærø", "author": "Ukendt"}, "card_number": "1234567890"}
    response = world.client.post(URL, json=body, headers=_headers(world, REQUESTER))
    assert response.status_code == 201, response.text
    placed = response.json()
    assert placed["state"] == "sourcing"
    assert placed["needs_sourcing"] is True
    request_id = placed["id"]
    added = world.client.post(
        f"{URL}/{request_id}/rota/lenders",
        json={"isil": "DK-800010", "reason": "håndskriftsamlingen"},
        headers=_headers(world, REQUESTER),
    ).json()
    assert [e["isil"] for e in added["rota"]] == ["DK-800010"]
    assert added["rota"][0]["reasons"] == ["added by staff: håndskriftsamlingen"]
    sent = act(world, request_id, "send", REQUESTER)
    assert sent["state"] == "sent"
    assert sent["current_lender_isil"] == "DK-800010"
    assert sent["needs_sourcing"] is False
    assert any(e["action"] == "edit_rota" for e in sent["events"])


def test_staff_reorder_the_lenders_not_yet_asked(world: Any) -> None:
    placed = place(world)
    request_id = placed["id"]
    rota = [e["isil"] for e in placed["rota"]]
    response = world.client.post(
        f"{URL}/{request_id}/rota/order",
        json={"isils": [rota[4], rota[3]]},
        headers=_headers(world, REQUESTER),
    )
    assert response.status_code == 200, response.text
    assert [e["isil"] for e in response.json()["rota"]] == [rota[0], rota[4], rota[3], rota[1], rota[2]]
    moved = world.client.post(
        f"{URL}/{request_id}/rota/order", json={"isils": [rota[0]]}, headers=_headers(world, REQUESTER)
    )
    assert moved.status_code == 422


def test_a_lender_may_not_edit_the_rota(world: Any) -> None:
    request_id = place(world)["id"]
    lender = place_lender(world, request_id)
    response = world.client.post(
        f"{URL}/{request_id}/rota/lenders",
        json={"isil": "DK-820030", "reason": "x"},
        headers=_headers(world, lender),
    )
    assert response.status_code == 403


def test_lists_filter_by_side_state_attention_and_deadline(world: Any) -> None:
    first = place(world)["id"]
    lender = place_lender(world, first)
    second = world.client.post(
        URL,
        json={"citation": {"title": "Noget andet"}, "patron_id": world.patron_id},
        headers=_headers(world, REQUESTER),
    ).json()["id"]

    def ids(client: TestClient, isil: str, **params: Any) -> list[int]:
        response = client.get(URL, params=params, headers=_headers(world, isil))
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids(world.client, REQUESTER, side="requester") == [second, first]
    assert ids(world.client, REQUESTER, side="supplier") == []
    assert ids(world.client, lender, side="supplier") == [first]
    assert ids(world.client, REQUESTER, state="sourcing") == [second]
    assert ids(world.client, REQUESTER, needs_attention="true") == [second]
    assert ids(world.client, lender, needs_attention="true") == [first]
    assert ids(world.client, REQUESTER, deadline_within=5) == [first]
    assert ids(world.client, REQUESTER, deadline_within=5, side="requester", state="sent") == [first]
    other = world.client.get(URL, params={"library": lender}, headers=_headers(world, REQUESTER))
    assert other.status_code == 403


def test_when_the_need_before_date_passes_the_request_ends_unfilled_and_the_patron_is_told(
    world: Any, mail: tuple[RecordingSmtpHandler, Settings]
) -> None:
    handler, settings = mail
    need_before = world.clock.now().date() + timedelta(days=5)
    request_id = place(world, need_before=need_before.isoformat())["id"]
    run_once(world.db, settings, noon(need_before))
    assert (
        world.client.get(f"{URL}/{request_id}", headers=_headers(world, REQUESTER)).json()["state"] == "sent"
    )
    report = run_once(world.db, settings, noon(need_before + timedelta(days=1)))
    assert report.timers["lending.2_need_before"] == 1
    ended = world.client.get(f"{URL}/{request_id}", headers=_headers(world, REQUESTER)).json()
    assert ended["state"] == "unfilled"
    assert ended["attempts"][-1]["state"] == "cancelled"
    unfilled = [
        m
        for m in handler.messages
        if str(m["Subject"]).startswith("Vi kunne ikke skaffe") and m["To"] == "soren@example.dk"
    ]
    assert len(unfilled) == 1
    assert "need-before" in unfilled[0].get_content()


def test_a_loan_past_its_due_date_is_overdue_and_the_borrowing_library_is_reminded(
    world: Any, mail: tuple[RecordingSmtpHandler, Settings]
) -> None:
    handler, settings = mail
    request_id = place(world)["id"]
    lender = place_lender(world, request_id)
    due = date.fromisoformat(act(world, request_id, "ship", lender)["due_date"])
    act(world, request_id, "receive", REQUESTER)
    act(world, request_id, "check_out", REQUESTER)
    run_once(world.db, settings, noon(due))
    assert (
        world.client.get(f"{URL}/{request_id}", headers=_headers(world, REQUESTER)).json()["state"]
        == "checked_out"
    )
    report = run_once(world.db, settings, noon(due + timedelta(days=1)))
    assert report.timers["lending.3_overdue"] == 1
    assert report.timers["lending.4_overdue_reminders"] == 1
    overdue = world.client.get(f"{URL}/{request_id}", headers=_headers(world, REQUESTER)).json()
    assert overdue["state"] == "overdue"
    to_patron = [
        m for m in handler.messages if m["To"] == "soren@example.dk" and "aflevere" in str(m["Subject"])
    ]
    assert len(to_patron) == 1
    reminders = [m for m in handler.messages if m["To"] == "fjernlaan@koebenhavn.bibliotek.example"]
    assert len(reminders) == 1
    assert f"#{request_id}" in str(reminders[0]["Subject"])
    # The next reminder waits a week; the same pass again sends nothing new.
    again = run_once(world.db, settings, noon(due + timedelta(days=2)))
    assert again.timers["lending.4_overdue_reminders"] == 0
    week_later = run_once(world.db, settings, noon(due + timedelta(days=8)))
    assert week_later.timers["lending.4_overdue_reminders"] == 1


def test_an_item_not_collected_within_the_pickup_window_goes_back_to_the_lender(
    world: Any, mail: tuple[RecordingSmtpHandler, Settings]
) -> None:
    _, settings = mail
    request_id = place(world)["id"]
    lender = place_lender(world, request_id)
    act(world, request_id, "ship", lender)
    pickup_due = date.fromisoformat(act(world, request_id, "receive", REQUESTER)["pickup_due"])
    report = run_once(world.db, settings, noon(pickup_due + timedelta(days=1)))
    assert report.timers["lending.5_pickup_window"] == 1
    returned = world.client.get(f"{URL}/{request_id}", headers=_headers(world, REQUESTER)).json()
    assert returned["state"] == "return_shipped"
    last = returned["events"][-1]
    assert last["reason"] == "not collected by the patron within the pickup window"
    assert last["by_user"] == "worker"


def test_each_lender_gets_one_daily_digest_of_requests_waiting_for_its_answer(
    world: Any, mail: tuple[RecordingSmtpHandler, Settings]
) -> None:
    handler, settings = mail
    first = place(world)["id"]
    second = place(world)["id"]
    lender = place_lender(world, first)
    report = run_once(world.db, settings, noon(world.clock.now().date()))
    assert report.timers["lending.6_lender_digest"] == 1
    again = run_once(world.db, settings, noon(world.clock.now().date()))
    assert again.timers["lending.6_lender_digest"] == 0
    digests = [m for m in handler.messages if "venter på jeres svar" in str(m["Subject"])]
    assert len(digests) == 1
    body = digests[0].get_content()
    assert f"#{first}" in body and f"#{second}" in body
    assert lender  # the digest goes to the lender both requests wait for


def test_a_reordered_rota_keeps_the_terms_its_lenders_were_put_there_with(world: Any) -> None:
    from sqlalchemy import select

    from fjernlaan.directory.store import LibraryRow, PolicyRow
    from fjernlaan.lending import service as lending_service
    from fjernlaan.lending.store import RotaEntryRow

    placed = place(world)
    request_id = placed["id"]
    rota = [e["isil"] for e in placed["rota"]]

    def loan_periods() -> dict[str, int]:
        with world.db.unit_of_work() as session:
            rows = session.scalars(select(RotaEntryRow).where(RotaEntryRow.request_id == request_id))
            return {row.isil: row.terms["loan_period_days"] for row in rows if row.terms}

    before = loan_periods()
    # The lender changes its policy after the request was made; the request keeps the old terms.
    with world.db.unit_of_work() as session:
        library = session.get(LibraryRow, rota[3])
        assert library is not None
        if library.policy is None:
            library.policy = PolicyRow(library_isil=rota[3])
        library.policy.loan_period_days = before[rota[3]] + 7
    lending_service.clear_caches()
    response = world.client.post(
        f"{URL}/{request_id}/rota/order", json={"isils": [rota[3]]}, headers=_headers(world, REQUESTER)
    )
    assert response.status_code == 200, response.text
    assert loan_periods() == before
