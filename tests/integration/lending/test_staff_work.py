"""The staff's work pages over HTTP (SQLite and PostgreSQL): the dashboard's counts come from one query
whatever the number of requests, a loan walks through every queue by scanning its barcode, a wrong
barcode changes nothing, bulk actions answer per row, pull slips carry the barcode and mark the
requests printed, and each library sees only its own work."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from fjernlaan.accounts.model import Principal, Role
from fjernlaan.catalogue.model import Holding
from fjernlaan.catalogue.service import set_holding
from fjernlaan.db.outbox import OutboxMessage
from fjernlaan.iso18626.store import RequestLinkRow
from fjernlaan.lending import work
from fjernlaan.lending.model import Action, ServiceType
from fjernlaan.lending.queues import QUEUE_BY_KEY, QUEUES, request_id_of

URL = "/api/v1/requests"
REQUESTER = "DK-710100"
PASSWORDS = {"kbh": "fjernlaan-kbh"}


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def browser_of(world: Any, isil: str) -> TestClient:
    """A logged-in browser (cookies) of a staff member at the library."""
    client = TestClient(world.client.app, raise_server_exceptions=False)
    username = "kbh" if isil == REQUESTER else "staff" + isil[3:]
    token = _csrf(client.get("/login").text)
    answer = client.post(
        "/login",
        data={
            "username": username,
            "password": PASSWORDS.get(username, "lending-test-1"),
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def place(world: Any) -> dict[str, Any]:
    body = {"record_id": world.record_id, "patron_id": world.patron_id}
    answer = world.client.post(URL, json=body, headers=world.staff_of(REQUESTER))
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def state_of(world: Any, request_id: int) -> str:
    return str(world.client.get(f"{URL}/{request_id}", headers=world.staff_of(REQUESTER)).json()["state"])


def scan(browser: TestClient, queue: str, barcode: str) -> str:
    token = _csrf(browser.get(f"/staff/queues/{queue}").text)
    answer = browser.post(
        f"/staff/queues/{queue}/scan",
        data={"barcode": barcode, "csrf_token": token},
        headers={"HX-Request": "true", "accept-language": "en"},
    )
    assert answer.status_code == 200, answer.text
    assert "<html" not in answer.text  # htmx gets the result line only
    return answer.text


def counts(browser: TestClient) -> dict[str, int]:
    page = browser.get("/staff").text
    found = re.findall(
        r'href="/staff/queues/(\w+)" id="queue-link-\w+">\s*<span class="fjl-queue-count" data-count="(\d+)"',
        page,
    )
    return {key: int(n) for key, n in found}


@contextmanager
def statements(world: Any) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    engine = world.db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_dashboard_counts_come_from_one_query_whatever_the_number_of_requests(world: Any) -> None:
    first = place(world)
    lender = first["current_lender_isil"]
    browser = browser_of(world, lender)
    browser.get("/staff")  # warm caches (directory, templates)
    with statements(world) as with_one:
        page = browser.get("/staff")
    assert page.status_code == 200
    assert counts(browser)["to_answer"] == 1
    for _ in range(6):
        place(world)
    with statements(world) as with_seven:
        browser.get("/staff")
    assert counts(browser)["to_answer"] == 7
    assert len(with_seven) == len(with_one), (with_one, with_seven)
    # The counts themselves: one SELECT over the requests, with the other areas' counts inside it.
    principal = Principal(0, "x", Role.STAFF, lender)
    with world.db.unit_of_work() as session, statements(world) as direct:
        summary = work.queue_summary(session, principal)
    assert len(direct) == 1, direct
    assert set(summary.counts) == {q.key for q in QUEUES} | set(work.EXTRA_COUNTS)
    assert work.FAILED_ISO18626 in summary.counts
    assert summary.counts["to_answer"] == 7 and summary.soonest["to_answer"] is not None
    assert 'id="soonest-to_answer"' in page.text  # the soonest answer deadline, working days left
    assert 'id="extra-failed_iso18626"' in page.text


def test_a_loan_walks_through_every_queue_by_scanning_its_barcode(world: Any) -> None:
    placed = place(world)
    rid, lender = placed["id"], placed["current_lender_isil"]
    with world.db.unit_of_work() as session:
        set_holding(session, world.record_id, Holding(lender, copies=1, available=1, shelf_mark="86.4 Ærø"))
    barcode = f"FJL-{rid}"
    lending, borrowing = browser_of(world, lender), browser_of(world, REQUESTER)

    queue = lending.get("/staff/queues/to_answer", headers={"accept-language": "en"}).text
    assert f'href="/staff/requests/{rid}"' in queue and "Æbler på Åen" in queue
    assert "working day" in queue  # the answer deadline with the working days left
    assert "will supply" in scan(lending, "to_answer", barcode)
    assert counts(lending)["to_pull"] == 1

    token = _csrf(lending.get("/staff/queues/to_pull").text)
    slips = lending.post(
        "/staff/queues/to_pull/bulk", data={"id": [str(rid)], "do": "slips", "csrf_token": token}
    )
    assert slips.status_code == 200
    assert "<svg" in slips.text and f'aria-label="{barcode}"' in slips.text
    assert "86.4 Ærø" in slips.text and "Københavns Biblioteker" in slips.text
    assert "DK-" in slips.text.split("fjl-slip-facts")[1]  # the transport hub's ISIL
    after_print = counts(lending)
    assert (after_print["to_pull"], after_print["to_ship"]) == (0, 1)
    again = lending.get("/staff/slips", params={"id": rid})
    assert f'aria-label="{barcode}"' in again.text  # printed again without marking anything

    assert "shipped" in scan(lending, "to_ship", barcode)
    assert state_of(world, rid) == "shipped"
    assert "received" in scan(borrowing, "in_transit", barcode.lower())
    assert "checked out" in scan(borrowing, "awaiting_pickup", barcode)
    assert "returned by the patron" in scan(borrowing, "on_loan", str(rid))
    assert "return shipped" in scan(borrowing, "returns_to_ship", barcode)
    assert counts(lending)["returns_to_receive"] == 1
    assert "checked in" in scan(lending, "returns_to_receive", barcode)
    assert state_of(world, rid) == "completed"
    assert sum(counts(lending).values()) == 0 and sum(counts(borrowing).values()) == 0


def test_a_barcode_not_in_the_queue_says_so_and_changes_nothing(world: Any) -> None:
    placed = place(world)
    rid, lender = placed["id"], placed["current_lender_isil"]
    lending, borrowing = browser_of(world, lender), browser_of(world, REQUESTER)
    for browser, queue, code in (
        (lending, "to_ship", f"FJL-{rid}"),  # ours, but not in this queue yet
        (borrowing, "in_transit", f"FJL-{rid}"),
        (lending, "to_answer", f"FJL-{rid + 1000}"),  # no such request
        (lending, "to_answer", "ISBN 978-87"),  # not a request barcode
    ):
        assert "Nothing was changed" in scan(browser, queue, code)
    other = browser_of(world, next(i for i in ("DK-714700", "DK-715100") if i != lender))
    assert "Nothing was changed" in scan(other, "to_answer", f"FJL-{rid}")  # another lender's
    assert f'href="/staff/requests/{rid}"' not in other.get("/staff/queues/to_answer").text
    assert state_of(world, rid) == "sent"
    # Without htmx, the answer is the queue page with the result as a message.
    token = _csrf(lending.get("/staff/queues/to_ship").text)
    page = lending.post(
        "/staff/queues/to_ship/scan",
        data={"barcode": f"FJL-{rid}", "csrf_token": token},
        headers={"accept-language": "en"},
    )
    assert page.status_code == 200 and "Nothing was changed" in page.text
    # No CSRF token, no step.
    refused = lending.post(
        "/staff/queues/to_answer/scan", data={"barcode": f"FJL-{rid}"}, follow_redirects=False
    )
    assert refused.status_code == 303
    assert state_of(world, rid) == "sent"


def test_bulk_actions_report_per_row_what_happened(world: Any) -> None:
    first, second, third = place(world), place(world), place(world)
    lenders = {r["current_lender_isil"] for r in (first, second, third)}
    assert len(lenders) == 1  # the same rota: the same first lender
    lending, borrowing = browser_of(world, first["current_lender_isil"]), browser_of(world, REQUESTER)
    token = _csrf(lending.get("/staff/queues/to_answer").text)
    ids = [str(first["id"]), str(second["id"]), "999999"]
    page = lending.post(
        "/staff/queues/to_answer/bulk",
        data={"id": ids, "do": "step", "csrf_token": token},
        headers={"accept-language": "en"},
    )
    assert page.status_code == 200
    rows = re.findall(r'<tr class="fjl-scan-(\w+)">', page.text)
    assert rows == ["done", "done", "not_in_queue"]
    assert "2 of 3 done" in page.text
    assert counts(lending)["to_answer"] == 1 and counts(lending)["to_pull"] == 2

    # A step the state machine refuses is reported with its reason, and changes nothing.
    rid = third["id"]
    for action in ("ship",):
        world.client.post(
            f"{URL}/{rid}/actions/{action}", json={}, headers=world.staff_of(third["current_lender_isil"])
        )
    for action in ("receive", "check_out", "request_renewal"):
        answer = world.client.post(
            f"{URL}/{rid}/actions/{action}", json={}, headers=world.staff_of(REQUESTER)
        )
        assert answer.status_code == 200, answer.text
    token = _csrf(borrowing.get("/staff/queues/on_loan").text)
    page = borrowing.post(
        "/staff/queues/on_loan/bulk",
        data={"id": [str(rid)], "do": "step", "csrf_token": token},
        headers={"accept-language": "en"},
    )
    assert re.findall(r'<tr class="fjl-scan-(\w+)">', page.text) == ["refused"]
    assert "return_by_patron is not allowed" in page.text
    assert state_of(world, rid) == "renew_pending"
    assert counts(lending)["renewal_asked"] == 1


def test_queue_pages_sort_filter_and_page(world: Any) -> None:
    placed = [place(world) for _ in range(3)]
    lending = browser_of(world, placed[0]["current_lender_isil"])
    page = lending.get("/staff/queues/to_answer", params={"sort": "id", "dir": "desc", "per_page": 2})
    ids = [int(i) for i in re.findall(r'<a href="/staff/requests/(\d+)">', page.text)]
    assert ids == sorted((p["id"] for p in placed), reverse=True)[:2]
    assert 'aria-current="page">1</a>' in page.text  # paged
    assert "Æbler" not in lending.get("/staff/queues/to_answer", params={"f_title": "zzz"}).text
    assert "Æbler" in lending.get("/staff/queues/to_answer", params={"f_title": "æbler"}).text
    assert lending.get("/staff/queues/nope").status_code == 404
    assert (
        TestClient(world.client.app).get("/staff/queues/to_answer", follow_redirects=False).status_code == 303
    )


def test_failed_iso18626_messages_are_counted_for_the_library_that_sent_them(world: Any) -> None:
    placed = place(world)
    with world.db.unit_of_work() as session:
        session.add(
            RequestLinkRow(
                request_id=placed["id"],
                peer_isil="DK-820010",
                peer_role="supplier",
                requesting_agency_request_id=f"{placed['id']}-0",
                our_agency_isil=REQUESTER,
                created_at=world.clock.now(),
            )
        )
        session.add(
            OutboxMessage(
                channel="iso18626",
                destination="https://peer.example/iso18626",
                ordering_key=f"lending:{placed['id']}:iso18626",
                idempotency_key="failed-1",
                payload={"kind": "Request"},
                status="failed",
                attempts=8,
                next_attempt_at=world.clock.now(),
                created_at=world.clock.now(),
            )
        )
    borrowing = browser_of(world, REQUESTER)
    page = borrowing.get("/staff").text
    failed = r'id="extra-failed_iso18626">\s*<span class="fjl-queue-plain">\s*<span class="fjl-queue-count"'
    assert re.search(failed + r' data-count="1"', page)
    lending = browser_of(world, placed["current_lender_isil"])
    assert 'id="extra-failed_iso18626">' in lending.get("/staff").text
    assert 'data-count="1"' not in lending.get("/staff").text.split('id="extra-failed_iso18626"')[1][:200]


def test_barcodes_are_the_request_number_with_a_prefix() -> None:
    assert request_id_of("FJL-42") == 42
    assert request_id_of(" fjl42 ") == 42
    assert request_id_of("42") == 42
    assert request_id_of("FJL-0") is None
    assert request_id_of("ISBN 978") is None
    assert QUEUE_BY_KEY["to_ship"].step_for(ServiceType.COPY) is Action.DELIVER_COPY
    assert QUEUE_BY_KEY["to_ship"].step_for(ServiceType.LOAN) is Action.SHIP
