"""Transport labels over HTTP (SQLite and PostgreSQL): the lender's label to the borrowing library through
its hub, the return label back to the lender, bundles within 8.5 cm and 2 kg, and nothing for requests
that are not the library's to ship."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from fjernlaan.lending.shipping import open_request_counts

URL = "/api/v1/requests"
REQUESTER = "DK-710100"  # Københavns Biblioteker; its transport hub is Gentofte (DK-715700)


def place_and_accept(world: Any) -> tuple[int, str]:
    """A request the first lender said it will supply: (request id, lender ISIL)."""
    body = {"record_id": world.record_id, "patron_id": world.patron_id}
    placed = world.client.post(URL, json=body, headers=world.staff_of(REQUESTER))
    assert placed.status_code == 201, placed.text
    request_id, lender = placed.json()["id"], placed.json()["current_lender_isil"]
    act(world, request_id, "will_supply", lender)
    return request_id, lender


def act(world: Any, request_id: int, action: str, isil: str) -> None:
    answer = world.client.post(f"{URL}/{request_id}/actions/{action}", json={}, headers=world.staff_of(isil))
    assert answer.status_code == 200, answer.text


def browser_of(world: Any, isil: str) -> TestClient:
    """A browser logged in as staff of the library."""
    client = TestClient(world.client.app, raise_server_exceptions=False)
    username, password = (
        ("kbh", "fjernlaan-kbh") if isil == REQUESTER else ("staff" + isil[3:], "lending-test-1")
    )
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return client


def labels(html: str) -> list[str]:
    return re.findall(r'<section class="fjl-label".*?</section>', html, re.DOTALL)


def test_the_lender_prints_a_label_to_the_borrowing_library_through_its_hub(world: Any) -> None:
    request_id, lender = place_and_accept(world)
    page = browser_of(world, lender).get("/staff/labels", params={"ids": str(request_id), "lang": "da"})
    assert page.status_code == 200
    (label,) = labels(page.text)
    assert "Gentofte Bibliotekerne" in label and "DK-715700" in label  # the destination's hub
    assert "Københavns Biblioteker" in label and REQUESTER in label  # the destination
    assert lender in label  # the sender
    assert f'aria-label="Stregkode for bestilling {request_id}"' in label  # the Code 128 barcode
    assert "<rect" in label and "style=" not in label  # drawn without inline styles (CSP)
    assert f"Fjernlån nr. {request_id}" in label
    assert "Højst 8,5 cm og 2 kg" in label  # the bundle rule, printed to tick


def test_no_label_for_a_request_the_library_is_not_shipping(world: Any) -> None:
    request_id, lender = place_and_accept(world)
    other = next(isil for isil in ("DK-714700", "DK-715100", "DK-715300") if isil != lender)
    page = browser_of(world, other).get("/staff/labels", params={"ids": f"{request_id},999999", "lang": "en"})
    assert page.status_code == 200 and labels(page.text) == []
    assert f"No labels for requests {request_id}, 999999" in page.text
    # The borrowing library ships nothing yet: the item has not reached it.
    mine = browser_of(world, REQUESTER).get("/staff/labels", params={"ids": str(request_id), "lang": "en"})
    assert labels(mine.text) == [] and f"No label for request {request_id}" in mine.text
    assert browser_of(world, REQUESTER).get("/staff/labels", params={"ids": "1,x"}).status_code == 400


def test_the_borrowing_library_prints_the_return_label_back_to_the_lender(world: Any) -> None:
    request_id, lender = place_and_accept(world)
    act(world, request_id, "ship", lender)
    for action in ("receive", "check_out", "return_by_patron"):
        act(world, request_id, action, REQUESTER)
    page = browser_of(world, REQUESTER).get("/staff/labels", params={"ids": str(request_id), "lang": "en"})
    (label,) = labels(page.text)
    assert lender in label and "Københavns Biblioteker" in label
    assert "return" in page.text  # the bundle form marks it a return
    with world.db.unit_of_work() as session:
        counts = open_request_counts(session)
    assert counts[REQUESTER] == 1 and counts[lender] == 1


def test_requests_to_one_library_go_in_one_bundle_within_the_van_limits(world: Any) -> None:
    first, lender = place_and_accept(world)
    for _attempt in range(6):  # place until a second request goes to the same first lender
        second, other_lender = place_and_accept(world)
        if other_lender == lender:
            break
    else:
        raise AssertionError(f"no second request went to {lender}")
    browser = browser_of(world, lender)
    ids = f"{first},{second}"
    params: dict[str, Any] = {"ids": ids, "bundle": [first, second], "lang": "da"}
    bundled = browser.get(
        "/staff/labels", params={**params, f"thickness-{REQUESTER}": "4,5", f"weight-{REQUESTER}": "1.2"}
    )
    assert bundled.status_code == 200
    (label,) = labels(bundled.text)
    assert label.count("<svg") == 2  # both request numbers, each scannable
    assert "Bundt med 2 bestillinger: 4,5 cm · 1,2 kg" in label

    too_thick = browser.get(
        "/staff/labels", params={**params, f"thickness-{REQUESTER}": "9", f"weight-{REQUESTER}": "1"}
    )
    assert too_thick.status_code == 422 and labels(too_thick.text) == []
    assert "Bundtet er 9 cm tykt. Bilen tager højst 8,5 cm: del det i to bundter." in too_thick.text
    assert f'id="field-thickness-{REQUESTER}-error"' in too_thick.text
    too_heavy = browser.get(
        "/staff/labels",
        params={**params, f"thickness-{REQUESTER}": "3", f"weight-{REQUESTER}": "2,5", "lang": "en"},
    )
    assert too_heavy.status_code == 422
    assert "The bundle weighs 2.5 kg. The van takes at most 2 kg" in too_heavy.text
    unmeasured = browser.get("/staff/labels", params={**params, "lang": "en"})
    assert unmeasured.status_code == 422 and "Write a number, for example 4,5." in unmeasured.text
    separate = browser.get("/staff/labels", params={"ids": ids})
    assert len(labels(separate.text)) == 2  # unbundled: one label each
