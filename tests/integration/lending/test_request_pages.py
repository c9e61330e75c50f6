"""The staff pages of a request over HTTP (SQLite and PostgreSQL): who may open the request page (the
borrowing library with the patron, the lender without, anyone else 404), each action form, a refused
illegal step that changes nothing, the message thread with its unread marks, rota edits, catalogue
search with facets, and placing a request for a patron registered in the same form."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fjernlaan.catalogue.model import Holding, Record
from fjernlaan.catalogue.service import upsert_record
from fjernlaan.directory.model import MaterialType
from fjernlaan.lending import service

URL = "/api/v1/requests"
REQUESTER = "DK-710100"
PATRON = ("Søren Ærø", "1234567890", "soren@example.dk")
Login = Callable[[str, str], TestClient]


@pytest.fixture
def login(app: FastAPI) -> Login:
    """A browser of its own (cookies) logged in as the user, through the login form."""

    def log_in(username: str, password: str = "lending-test-1") -> TestClient:
        browser = TestClient(app, raise_server_exceptions=False)
        token = _csrf(browser.get("/login").text)
        answer = browser.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": token},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        return browser

    return log_in


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _kbh(login: Login) -> TestClient:
    return login("kbh", "fjernlaan-kbh")


def _lender(login: Login, isil: str) -> TestClient:
    return login("staff" + isil[3:])


def _place(world: Any) -> dict[str, Any]:
    body = {"record_id": world.record_id, "patron_id": world.patron_id}
    answer = world.client.post(URL, json=body, headers=world.staff_of(REQUESTER))
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _state(world: Any, request_id: int) -> dict[str, Any]:
    return world.client.get(f"{URL}/{request_id}", headers=world.staff_of(REQUESTER)).json()  # type: ignore[no-any-return]


def _post(browser: TestClient, path: str, page: str, **data: str) -> tuple[str, str]:
    """Post a form of the page at `page` (with its CSRF token); return where it led and that page."""
    token = _csrf(browser.get(page).text)
    answer = browser.post(path, data={"csrf_token": token, **data}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    return location, browser.get(location.split("#")[0]).text


def _flash(html: str) -> str:
    match = re.search(r'<div id="flash-messages"[^>]*>(.*?)</div>\s*\n', html, re.S)
    assert match, html[:2000]
    return re.sub(r"<[^>]+>|\s+", " ", match.group(1))


def test_the_borrowing_library_sees_record_states_patron_rota_reasons_and_timeline(
    world: Any, login: Login
) -> None:
    placed = _place(world)
    page = _kbh(login).get(f"/staff/requests/{placed['id']}", headers={"accept-language": "da"})
    assert page.status_code == 200
    html = page.text
    assert "Æbler på Åen" in html and "Ærø, Søren" in html and "1998" in html and "Bog" in html
    assert 'id="requester-state"><strong>Sendt til en långiver, venter på svar</strong>' in html
    assert "Ny anmodning, ikke besvaret endnu" in html  # the lender's side in plain words
    assert all(value in html for value in PATRON)
    for entry in placed["rota"]:
        assert entry["isil"] in html
    assert "ejer titlen (1 eksemplar)" in html and "til rådighed nu" in html  # reasons, in Danish
    assert "Oprettet" in html and "Dk-2012" not in html  # the timeline starts with the placement
    assert f'action="/staff/requests/{placed["id"]}/actions/cancel"' in html
    assert f'action="/staff/requests/{placed["id"]}/actions/ship"' not in html  # a lender's step
    english = _kbh(login).get(f"/staff/requests/{placed['id']}?lang=en").text
    assert "Sent to a lender, waiting for the answer" in english and "holds the title" in english


def test_the_lender_sees_the_request_without_any_patron_data_and_others_get_404(
    world: Any, login: Login
) -> None:
    placed = _place(world)
    first, second = placed["rota"][0]["isil"], placed["rota"][1]["isil"]
    page = _lender(login, first).get(f"/staff/requests/{placed['id']}")
    assert page.status_code == 200
    assert "Æbler på Åen" in page.text
    assert not any(value in page.text for value in PATRON)
    assert f'action="/staff/requests/{placed["id"]}/actions/will_supply"' in page.text
    # A library on the rota but not asked yet, and a library with no part in it: not found.
    assert _lender(login, second).get(f"/staff/requests/{placed['id']}").status_code == 404
    assert login("dtu", "fjernlaan-dtu").get(f"/staff/requests/{placed['id']}").status_code == 404
    assert _kbh(login).get("/staff/requests/999999").status_code == 404
    # Not logged in: to the login page.
    anonymous = world.client.get(f"/staff/requests/{placed['id']}", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_each_action_form_moves_the_request_through_the_lending_service(world: Any, login: Login) -> None:
    placed = _place(world)
    request_id = placed["id"]
    page = f"/staff/requests/{request_id}"
    first = placed["rota"][0]["isil"]
    lender, kbh = _lender(login, first), _kbh(login)
    today = world.clock.now().date()

    where, html = _post(lender, f"{page}/actions/will_supply", page)
    assert where == page and "Udført: Vi kan levere" in _flash(html)
    reply_by = (today + timedelta(days=4)).isoformat()
    _post(
        lender,
        f"{page}/actions/offer_condition",
        page,
        condition="Kun til læsesalsbrug",
        reply_by=reply_by,
        fee_dkk="25,50",
    )
    state = _state(world, request_id)
    assert state["state"] == "conditional"
    assert state["attempts"][-1]["condition"] == "Kun til læsesalsbrug"
    assert state["attempts"][-1]["reply_by"] == reply_by and state["attempts"][-1]["fee_dkk"] == 25.5
    shown = kbh.get(page).text
    assert "Kun til læsesalsbrug" in shown and reply_by in shown and "25.50 kr." in shown
    _post(kbh, f"{page}/actions/accept_condition", page)
    due = (today + timedelta(days=30)).isoformat()
    _post(lender, f"{page}/actions/ship", page, due_date=due)
    assert _state(world, request_id)["due_date"] == due
    for action in ("receive", "check_out", "return_by_patron", "ship_return"):
        _post(kbh, f"{page}/actions/{action}", page)
    _, html = _post(lender, f"{page}/actions/confirm_return", page)
    assert _state(world, request_id)["state"] == "completed"
    assert "Afsluttet" in html and "Intet for dit bibliotek at gøre" in html


def test_unfilled_needs_a_reason_and_moves_on_to_the_next_lender(world: Any, login: Login) -> None:
    placed = _place(world)
    page = f"/staff/requests/{placed['id']}"
    first, second = placed["rota"][0]["isil"], placed["rota"][1]["isil"]
    lender = _lender(login, first)
    _, html = _post(lender, f"{page}/actions/unfilled", page, reason="")
    assert "Udfyld venligst: Begrundelse. Intet blev ændret." in _flash(html)
    assert _state(world, placed["id"])["current_lender_isil"] == first
    _post(lender, f"{page}/actions/unfilled", page, reason="Ikke på hylden")
    assert _state(world, placed["id"])["current_lender_isil"] == second
    # The lender that said no may still read the request, but has nothing left to do on it.
    after = lender.get(page).text
    assert "Ikke på hylden" in after and f'action="/staff/requests/{placed["id"]}/actions/' not in after


def test_an_illegal_step_or_a_missing_csrf_token_is_refused_and_changes_nothing(
    world: Any, login: Login
) -> None:
    placed = _place(world)
    page = f"/staff/requests/{placed['id']}"
    kbh = _kbh(login)
    before = _state(world, placed["id"])
    _, html = _post(kbh, f"{page}/actions/receive", page)  # nothing has been shipped
    assert "Det trin er ikke muligt nu, så intet blev ændret." in _flash(html)
    assert "Anmodningen er: Sendt til en långiver, venter på svar." in _flash(html)
    no_token = kbh.post(f"{page}/actions/cancel", data={"csrf_token": "forged"}, follow_redirects=False)
    assert no_token.status_code == 303
    assert "Formularen er udløbet" in _flash(kbh.get(page).text)
    after = _state(world, placed["id"])
    assert (after["state"], after["updated_at"], len(after["events"])) == (
        before["state"],
        before["updated_at"],
        len(before["events"]),
    )


def test_messages_between_the_libraries_with_unread_marks_and_the_json_api(
    world: Any, login: Login, token_for: Callable[[str], dict[str, str]]
) -> None:
    placed = _place(world)
    request_id = placed["id"]
    page = f"/staff/requests/{request_id}"
    first = placed["rota"][0]["isil"]
    kbh, lender = _kbh(login), _lender(login, first)

    where, _ = _post(kbh, f"{page}/messages", page, body="Kan I sende den før jul? Hilsen Århus-kontoret")
    assert where == f"{page}#messages"
    with world.db.unit_of_work() as session:
        assert service.count_unread_messages(session, first) == 1
        assert service.unread_messages_by_request(session, first) == {request_id: 1}
        assert service.count_unread_messages(session, REQUESTER) == 0
    opened = lender.get(page).text
    assert "Kan I sende den før jul? Hilsen Århus-kontoret" in opened
    assert 'id="unread-badge">1 ny</span>' in opened
    with world.db.unit_of_work() as session:
        assert service.count_unread_messages(session, first) == 0  # opening the page read it
    assert 'id="unread-badge"' not in lender.get(page).text

    # The JSON pair: a bearer token writes; the list shows the read mark.
    answer = world.client.post(
        f"{URL}/{request_id}/messages",
        json={"body": "Ja, den sendes i morgen."},
        headers=world.staff_of(first),
    )
    assert answer.status_code == 201, answer.text
    assert (answer.json()["from_isil"], answer.json()["to_isil"]) == (first, REQUESTER)
    listed = world.client.get(f"{URL}/{request_id}/messages", headers=world.staff_of(REQUESTER)).json()
    assert [m["body"][:3] for m in listed] == ["Kan", "Ja,"]
    assert listed[0]["read_at"] is not None and listed[1]["read_at"] is None
    # With the session cookie alone, a write needs the page's CSRF token in the header.
    bare = kbh.post(f"{URL}/{request_id}/messages", json={"body": "hej"})
    assert bare.status_code == 403
    token = _csrf(kbh.get(page).text)
    with_token = kbh.post(
        f"{URL}/{request_id}/messages", json={"body": "Tak!"}, headers={"X-CSRF-Token": token}
    )
    assert with_token.status_code == 201, with_token.text
    # Libraries with no part in the request see nothing; a lender not asked cannot write.
    outsider = token_for("dtu")
    assert world.client.get(f"{URL}/{request_id}/messages", headers=outsider).status_code == 404
    second = placed["rota"][1]["isil"]
    assert (
        world.client.post(
            f"{URL}/{request_id}/messages", json={"body": "x"}, headers=world.staff_of(second)
        ).status_code
        == 404
    )
    empty = world.client.post(
        f"{URL}/{request_id}/messages", json={"body": "  "}, headers=world.staff_of(first)
    )
    assert empty.status_code == 422


def test_the_borrowing_library_reorders_and_adds_lenders_on_the_page(world: Any, login: Login) -> None:
    placed = _place(world)
    page = f"/staff/requests/{placed['id']}"
    rota = [e["isil"] for e in placed["rota"]]
    kbh = _kbh(login)
    assert f'action="{page}/rota/move"' in kbh.get(page).text
    _post(kbh, f"{page}/rota/move", page, isil=rota[2], direction="up")
    assert [e["isil"] for e in _state(world, placed["id"])["rota"]] == [rota[0], rota[2], rota[1], *rota[3:]]
    # The lender asked already keeps its place.
    _, html = _post(kbh, f"{page}/rota/move", page, isil=rota[0], direction="down")
    assert "Intet blev ændret" in _flash(html)
    _post(
        kbh, f"{page}/rota/lenders", page, isil="DK-820030", reason="Fagbibliotek med samlingen", ask_next="1"
    )
    after = _state(world, placed["id"])
    assert [e["isil"] for e in after["rota"]][:2] == [rota[0], "DK-820030"]
    assert "tilføjet af personalet: Fagbibliotek med samlingen" in kbh.get(page).text
    # A lender cannot edit the rota: no forms, and the service refuses.
    lender = _lender(login, rota[0])
    assert "/rota/move" not in lender.get(page).text
    _, html = _post(lender, f"{page}/rota/move", page, isil=rota[2], direction="up")
    assert "Intet blev ændret" in _flash(html)


def _catalogue(world: Any) -> None:
    with world.db.unit_of_work() as session:
        upsert_record(
            session,
            Record(
                record_id="r-1", title="Søfart på Østersøen", year=1987, language="dan", creators=("Å, B",)
            ),
            [Holding("DK-714700", copies=1, available=1)],
        )
        upsert_record(
            session,
            Record(record_id="r-2", title="Søfart i Norden", year=2004, language="eng"),
            [Holding("DK-800010", copies=2, available=0)],
        )
        upsert_record(
            session,
            Record(
                record_id="r-3",
                title="Søfart, musik",
                year=2009,
                language="dan",
                material_type=MaterialType.MUSIC,
            ),
            [Holding("DK-775100", copies=1, available=1)],
        )


def test_catalogue_search_with_facets_leads_to_request_for_a_patron(world: Any, login: Login) -> None:
    _catalogue(world)
    kbh = _kbh(login)
    html = kbh.get("/staff/search", params={"q": "søfart"}).text
    assert "3 titler fundet" in html
    for facet in ("material_type", "language", "decade", "region"):
        assert f'id="facet-{facet}"' in html
    assert 'Musik <span class="fjl-muted">(1)</span>' in html
    assert '2000–2009 <span class="fjl-muted">(2)</span>' in html
    assert '1980–1989 <span class="fjl-muted">(1)</span>' in html
    narrowed = kbh.get("/staff/search", params={"q": "søfart", "year_from": 2000, "year_to": 2009}).text
    assert "2 titler fundet" in narrowed and "Østersøen" not in narrowed
    danish = kbh.get("/staff/search", params={"q": "søfart", "language": "dan", "material_type": "book"}).text
    assert "1 titel fundet" in danish and "Østersøen" in danish
    regional = kbh.get("/staff/search", params={"q": "søfart", "region": "gentofte"}).text
    assert "Østersøen" in regional and "Norden" not in regional
    match = re.search(r'href="/staff/requests/new\?record=(\d+)"', danish)
    assert match
    form = kbh.get(f"/staff/requests/new?record={match.group(1)}")
    assert form.status_code == 200 and "Søfart på Østersøen" in form.text
    # Patrons and strangers: no search page.
    assert world.client.get("/staff/search", follow_redirects=False).status_code == 303


def test_a_request_is_placed_for_a_patron_registered_in_the_same_form(world: Any, login: Login) -> None:
    kbh = _kbh(login)
    page = f"/staff/requests/new?record={world.record_id}"
    token = _csrf(kbh.get(page).text)
    form = {"csrf_token": token, "record": str(world.record_id), "card_number": "5550001"}
    unknown = kbh.post("/staff/requests/new", data=form)
    assert unknown.status_code == 400 and "Opret låneren nedenfor" in unknown.text
    need_before = (world.clock.now().date() + timedelta(days=40)).isoformat()
    placed = kbh.post(
        "/staff/requests/new",
        data={
            **form,
            "new_patron": "1",
            "name": "Åse Ødegård",
            "email": "aase@example.dk",
            "need_before": need_before,
        },
        follow_redirects=False,
    )
    assert placed.status_code == 303, placed.text
    request_id = int(placed.headers["location"].rsplit("/", 1)[1])
    html = kbh.get(placed.headers["location"]).text
    assert "Anmodningen er oprettet" in _flash(html)
    assert "Åse Ødegård" in html and need_before in html
    assert "Långivere i den rækkefølge de spørges" in html and "DK-800010" in html
    assert _state(world, request_id)["patron"]["card_number"] == "5550001"
    # The same card again, as a new patron: refused; as a known patron: placed.
    again = kbh.post("/staff/requests/new", data={**form, "new_patron": "1", "name": "X"})
    assert again.status_code == 400 and "allerede oprettet" in again.text
    known = kbh.post("/staff/requests/new", data=form, follow_redirects=False)
    assert known.status_code == 303
    # A bad need-before date is shown in words on the form, nothing placed.
    past = kbh.post("/staff/requests/new", data={**form, "need_before": world.clock.now().date().isoformat()})
    assert past.status_code == 400 and "Intet blev ændret" in past.text
