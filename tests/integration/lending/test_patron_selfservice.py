"""Patron self-service over HTTP: staff set a PIN, the patron logs in with card and PIN, searches, asks
for a title, follows it in plain words and cancels; nothing of another patron is reachable."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from fjernlaan.accounts.service import PatronIn, add_patron, set_pin
from fjernlaan.lending.store import RequestRow
from patron_helpers import csrf_from, log_in_patron

CARD, PIN = "1234567890", "4711"
OTHER_CARD, OTHER_PIN = "2000000002", "2468"  # the demo patron at Gentofte


def _pin(world: Any, pin: str = PIN, isil: str = "DK-710100", card: str = CARD) -> int:
    response = world.client.put(
        f"/api/v1/patrons/{isil}/{card}/pin", json={"pin": pin}, headers=world.staff_of("DK-710100")
    )
    return int(response.status_code)


def _patron_client(world: Any, card: str = CARD, pin: str = PIN) -> TestClient:
    client = TestClient(world.client.app, raise_server_exceptions=False)
    assert log_in_patron(client, card, pin).status_code == 303
    return client


def _ask(client: TestClient, record_id: int, **form: str) -> Any:
    token = csrf_from(client, f"/patron/ask/{record_id}")
    return client.post(f"/patron/ask/{record_id}", data={"csrf_token": token, **form}, follow_redirects=False)


def _request_ids(world: Any) -> list[int]:
    with world.db.unit_of_work() as session:
        return [row.id for row in session.query(RequestRow).order_by(RequestRow.id)]


def test_staff_set_a_pin_and_the_patron_logs_in_with_card_and_pin(world: Any) -> None:
    assert _pin(world) == 204
    client = TestClient(world.client.app, raise_server_exceptions=False)
    wrong = log_in_patron(client, CARD, "0000")
    assert wrong.status_code == 401
    assert "Forkert lånerkortnummer eller pinkode." in wrong.text
    right = log_in_patron(client, CARD, PIN)
    assert right.status_code == 303 and right.headers["location"] == "/patron"
    page = client.get("/patron")
    assert page.status_code == 200
    assert "Mine bestillinger" in page.text and "Søren Ærø" in page.text


def test_a_pin_is_digits_and_only_the_home_library_sets_it(world: Any) -> None:
    assert _pin(world, pin="abcd") == 422
    assert _pin(world, pin="12") == 422
    other = world.client.put(
        f"/api/v1/patrons/DK-710100/{CARD}/pin", json={"pin": PIN}, headers=world.staff_of("DK-715700")
    )
    assert other.status_code == 403
    # A patron without a PIN cannot log in at all.
    client = TestClient(world.client.app, raise_server_exceptions=False)
    assert log_in_patron(client, CARD, "").status_code == 401


def test_staff_set_a_pin_on_the_staff_page(world: Any) -> None:
    staff = TestClient(world.client.app, raise_server_exceptions=False)
    token = csrf_from(staff, "/login")
    staff.post("/login", data={"username": "kbh", "password": "fjernlaan-kbh", "csrf_token": token})
    token = csrf_from(staff, "/staff/patron-pin")
    differ = staff.post(
        "/staff/patron-pin",
        data={"card_number": CARD, "pin": "1111", "pin_again": "2222", "csrf_token": token},
    )
    assert differ.status_code == 422 and "De to pinkoder er forskellige." in differ.text
    unknown = staff.post(
        "/staff/patron-pin",
        data={"card_number": "999", "pin": "1111", "pin_again": "1111", "csrf_token": token},
    )
    assert unknown.status_code == 404
    done = staff.post(
        "/staff/patron-pin",
        data={"card_number": CARD, "pin": "8642", "pin_again": "8642", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert log_in_patron(TestClient(world.client.app), CARD, "8642").status_code == 303


def test_a_patron_session_is_not_a_staff_session(world: Any) -> None:
    _pin(world)
    client = _patron_client(world)
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/requests").status_code == 401
    staff_page = client.get("/staff", follow_redirects=False)
    assert staff_page.status_code == 303 and staff_page.headers["location"].startswith("/login")


def test_the_patron_searches_asks_follows_it_in_plain_words_and_cancels(world: Any) -> None:
    _pin(world)
    client = _patron_client(world)
    found = client.get("/patron/search", params={"q": "æbler åen"})
    assert found.status_code == 200 and "Æbler på Åen" in found.text
    assert f'href="/patron/ask/{world.record_id}"' in found.text
    form = client.get(f"/patron/ask/{world.record_id}")
    assert 'value="DK-710100" selected' in form.text  # the home library is the default pickup
    need_before = (world.clock.now().date() + timedelta(days=20)).isoformat()
    placed = _ask(client, world.record_id, pickup_isil="DK-714700", need_before=need_before)
    assert placed.status_code == 303, placed.text
    [request_id] = _request_ids(world)
    with world.db.unit_of_work() as session:
        row = session.get(RequestRow, request_id)
        assert row is not None
        assert (row.pickup_isil, row.placed_by, row.need_before.isoformat()) == (
            "DK-714700",
            "patron",
            need_before,
        )
    mine = client.get("/patron")
    assert "Under behandling" in mine.text  # sent to a lender: "being processed", not "sent"
    assert f'Senest relevant: <time datetime="{need_before}">' in mine.text
    assert "Frederiksberg Bibliotek" in mine.text  # the pickup library by name
    table = re.search(r"<table.*?</table>", mine.text, flags=re.S)
    assert table is not None
    assert "DK-" not in table.group(0)  # libraries by name only
    assert ">sent<" not in table.group(0) and "expects" not in table.group(0)  # no staff state
    english = client.get("/patron", params={"lang": "en"})
    assert "Being processed" in english.text and "Needed by" in english.text
    token = csrf_from(client, "/patron")
    cancelled = client.post(
        f"/patron/requests/{request_id}/cancel", data={"csrf_token": token}, follow_redirects=False
    )
    assert cancelled.status_code == 303
    after = client.get("/patron", params={"lang": "da"})
    # A lender was asked: the cancel waits for its confirmation; the patron is told so.
    assert "Afbestilling er sendt" in after.text
    assert f"/patron/requests/{request_id}/cancel" not in after.text  # no second cancel offered
    again = client.post(
        f"/patron/requests/{request_id}/cancel", data={"csrf_token": token}, follow_redirects=False
    )
    assert again.status_code == 303
    assert "Det er for sent at afbestille" in client.get("/patron").text


def test_a_pickup_library_outside_the_region_is_refused(world: Any) -> None:
    _pin(world)
    client = _patron_client(world)
    refused = _ask(client, world.record_id, pickup_isil="DK-775100")  # Aarhus
    assert refused.status_code == 422
    assert "Du kan ikke hente på det bibliotek." in refused.text
    past = _ask(client, world.record_id, need_before=world.clock.now().date().isoformat())
    assert past.status_code == 422 and "Datoen skal ligge efter i dag." in past.text
    assert _request_ids(world) == []


def test_patron_a_cannot_see_or_cancel_patron_bs_request(world: Any) -> None:
    _pin(world)
    a = _patron_client(world)
    assert _ask(a, world.record_id).status_code == 303
    [request_id] = _request_ids(world)
    b = _patron_client(world, OTHER_CARD, OTHER_PIN)
    assert "Æbler på Åen" not in b.get("/patron").text
    token = csrf_from(b, "/patron")
    refused = b.post(f"/patron/requests/{request_id}/cancel", data={"csrf_token": token})
    assert refused.status_code == 404
    assert "Æbler" not in refused.text
    with world.db.unit_of_work() as session:
        row = session.get(RequestRow, request_id)
        assert row is not None and row.state == "sent"


def test_pages_need_a_patron_session_and_a_csrf_token(world: Any) -> None:
    anonymous = TestClient(world.client.app, raise_server_exceptions=False)
    for path in ("/patron", "/patron/search", f"/patron/ask/{world.record_id}"):
        answer = anonymous.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/patron/login"
    _pin(world)
    client = _patron_client(world)
    client.get("/patron")
    forged = client.post(f"/patron/ask/{world.record_id}", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert _request_ids(world) == []


def test_the_same_card_number_at_two_libraries_is_told_apart_by_the_pin(world: Any) -> None:
    card = OTHER_CARD
    with world.db.unit_of_work() as session:
        add_patron(session, PatronIn(card_number=card, name="Anden Ålborg", home_library="DK-714700"))
        set_pin(session, "DK-714700", card, "9999", world.clock.now())
    client = _patron_client(world, card, "9999")
    assert "Anden Ålborg" in client.get("/patron").text
    other = _patron_client(world, card, OTHER_PIN)
    assert "Søren Ærbø" in other.get("/patron").text


def test_a_patron_downloads_their_own_data_and_nobody_elses(world: Any) -> None:
    _pin(world)
    a = _patron_client(world)
    assert _ask(a, world.record_id).status_code == 303
    [request_id] = _request_ids(world)
    assert 'href="/patron/data"' in a.get("/patron").text
    mine = a.get("/patron/data")
    assert mine.status_code == 200
    assert mine.headers["content-type"].startswith("application/json")
    assert mine.headers["content-disposition"].startswith("attachment")
    assert mine.headers["cache-control"] == "no-store"
    data = mine.json()
    assert data["patron"]["card_number"] == CARD and data["patron"]["home_library"] == "DK-710100"
    assert [r["id"] for r in data["requests"]] == [request_id]
    # The same export staff of the home library get through the API.
    staff = world.client.get(f"/api/v1/patrons/DK-710100/{CARD}/data", headers=world.staff_of("DK-710100"))
    assert staff.json() == data
    # Patron B gets B's data: no card number is taken from the caller, so A's is out of reach.
    b = _patron_client(world, OTHER_CARD, OTHER_PIN)
    theirs = b.get("/patron/data", params={"card_number": CARD, "isil": "DK-710100"})
    assert theirs.json()["patron"]["card_number"] == OTHER_CARD
    assert CARD not in theirs.text and "Æbler" not in theirs.text
    assert b.get(f"/patron/data/DK-710100/{CARD}").status_code == 404
    # No patron session (anonymous, or staff): the patron login.
    anonymous = TestClient(world.client.app, raise_server_exceptions=False)
    answer = anonymous.get("/patron/data", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/patron/login"
    staff_browser = TestClient(world.client.app, raise_server_exceptions=False)
    token = csrf_from(staff_browser, "/login")
    staff_browser.post("/login", data={"username": "kbh", "password": "fjernlaan-kbh", "csrf_token": token})
    answer = staff_browser.get("/patron/data", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/patron/login"
