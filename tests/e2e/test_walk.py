"""The whole loan by clicking, in Chromium, on a real `fjernlaan serve`: the lender's staff answer by
scanning, print the pull slip and scan it as it ships; the borrowing library's staff scan it in, the
patron gets the ready-for-pickup e-mail at a real SMTP server, staff check it out, take it back and ship
it back; the lender checks it in, and the request is completed. On the way: a refused illegal step, a
wrong password, a wrong barcode, English pages, axe on the dashboard and a queue, and screenshots.

The request is placed through the lending service (as staff placing it for the patron would): the
patron's own request pages are another branch's, and the walk is about the staff's day.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

from browser_helpers import DEMO_STAFF, DESKTOP, assert_accessible, log_in, screenshot
from hub_server import hub_env, run_cli, served
from support import RecordingSmtpHandler, free_port

pytestmark = pytest.mark.e2e

LENDER_USER = ("walk-lender", "walk-lender-1")
HOLDERS = ("DK-714700", "DK-715100", "DK-715300", "DK-715700")


@dataclass(frozen=True)
class Hub:
    url: str
    database_url: str


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A served hub of its own (the walk changes its data), on demo data."""
    folder = tmp_path_factory.mktemp("walk-hub")
    database_url = f"sqlite:///{folder / 'hub.db'}"
    env = hub_env(database_url, port=free_port())
    run_cli(env, "demo", "--records", "0", "--no-requests")
    with served(env, folder / "serve.log") as base:
        yield Hub(base, database_url)


def _database(hub: Hub):  # type: ignore[no-untyped-def]
    from fjernlaan.db.engine import make_engine
    from fjernlaan.db.uow import Database

    return Database(make_engine(hub.database_url))


def _place_request(hub: Hub) -> tuple[int, str]:
    """A title held by four public libraries; the borrowing library (København) places a request for
    a patron with an e-mail address; a staff account at the lender asked first. Returns the request's
    id and the lender's ISIL."""
    from fjernlaan.accounts.model import Role
    from fjernlaan.accounts.service import PatronIn, add_patron, add_user, authenticate
    from fjernlaan.catalogue.model import Holding, Record
    from fjernlaan.catalogue.service import upsert_record
    from fjernlaan.clock import SYSTEM_CLOCK
    from fjernlaan.lending import service as lending
    from fjernlaan.lending.schemas import PlaceRequestIn

    db = _database(hub)
    try:
        with db.unit_of_work() as session:
            record = Record(record_id="walk-1", title="Æbler på Åen", year=1998, creators=("Ærø, Søren",))
            holdings = [Holding(isil, copies=1, available=1, shelf_mark="86.4 Ærø") for isil in HOLDERS]
            record_pk = upsert_record(session, record, holdings).record_pk
            patron = add_patron(
                session,
                PatronIn(
                    card_number="5550001",
                    name="Søren Ærø",
                    email="soren@example.dk",
                    home_library="DK-710100",
                ),
            )
            principal = authenticate(session, *DEMO_STAFF)
            data = PlaceRequestIn(record_id=record_pk, patron_id=patron.id)
            request_id = lending.place(session, data, principal, "dk-2012", SYSTEM_CLOCK.now())
            lender = lending.load(session, request_id).row.current_lender_isil
            assert lender in HOLDERS, lender
            add_user(
                session,
                username=LENDER_USER[0],
                password=LENDER_USER[1],
                role=Role.STAFF,
                library_isil=lender,
            )
        return request_id, lender
    finally:
        db.dispose()


def _state(hub: Hub, request_id: int) -> str:
    from fjernlaan.lending import service as lending

    db = _database(hub)
    try:
        with db.unit_of_work() as session:
            return lending.load(session, request_id).row.state
    finally:
        db.dispose()


def _act_as_borrower(hub: Hub, request_id: int, action: str) -> None:
    from fjernlaan.accounts.service import authenticate
    from fjernlaan.clock import SYSTEM_CLOCK
    from fjernlaan.lending import model as lm
    from fjernlaan.lending import service as lending
    from fjernlaan.lending.schemas import ActionIn

    db = _database(hub)
    try:
        with db.unit_of_work() as session:
            principal = authenticate(session, *DEMO_STAFF)
            lending.act(session, request_id, lm.Action(action), principal, ActionIn(), SYSTEM_CLOCK.now())
    finally:
        db.dispose()


def _run_outbox(hub: Hub, smtp_port: int) -> None:
    from fjernlaan.clock import SYSTEM_CLOCK
    from fjernlaan.jobs import run_once
    from fjernlaan.settings import Settings

    db = _database(hub)
    try:
        settings = Settings(
            database_url=hub.database_url,
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_sender="hub@example.dk",
        )
        run_once(db, settings, SYSTEM_CLOCK.now())
    finally:
        db.dispose()


def _open_queue(page: Page, hub: Hub, key: str) -> None:
    page.goto(f"{hub.url}/staff")
    with page.expect_navigation():
        page.click(f"#queue-link-{key}")
    assert page.url.startswith(f"{hub.url}/staff/queues/{key}")


def _scan(page: Page, barcode: str) -> str:
    """Type the barcode into the scan box and press Enter; the result line appears without a reload
    and the box is empty and focused for the next scan."""
    before = page.locator("#scan-results li").count()
    page.fill("#scan-barcode", barcode)
    page.press("#scan-barcode", "Enter")
    # Playwright's own waits: a string predicate would be eval'd in the page, which the CSP refuses.
    expect(page.locator("#scan-results li")).to_have_count(before + 1)
    expect(page.locator("#scan-barcode")).to_have_value("")
    assert page.evaluate("document.activeElement.id") == "scan-barcode"
    return page.locator("#scan-results li").first.inner_text()


def test_the_whole_loan_by_clicking(browser: Browser, hub: Hub) -> None:
    from aiosmtpd.controller import Controller

    handler = RecordingSmtpHandler()
    smtp_port = free_port()
    smtp = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    lender_context = browser.new_context(viewport=DESKTOP, locale="da-DK")
    borrower_context = browser.new_context(viewport=DESKTOP, locale="da-DK")
    try:
        request_id, _lender = _place_request(hub)
        barcode = f"FJL-{request_id}"
        lending, borrowing = lender_context.new_page(), borrower_context.new_page()

        # A wrong password is refused; the right one lands on the dashboard.
        log_in(lending, hub.url, LENDER_USER[0], "not-the-password")
        assert "/login" in lending.url and lending.is_visible("text=Forkert brugernavn eller adgangskode")
        log_in(lending, hub.url, *LENDER_USER)
        assert lending.url == f"{hub.url}/staff"
        assert lending.inner_text("#queue-link-to_answer .fjl-queue-count") == "1"

        # The lender answers by scanning; a wrong barcode says so and changes nothing.
        _open_queue(lending, hub, "to_answer")
        assert_accessible(lending)
        screenshot(lending, "staff-queue")
        assert "ikke i køen" in _scan(lending, "FJL-999999")
        assert _state(hub, request_id) == "sent"
        assert "kan levere" in _scan(lending, barcode)

        # Pull slip: select the request, print; the slip has the barcode, shelf mark and destination.
        _open_queue(lending, hub, "to_pull")
        lending.check(f"#select-{request_id}")
        with lending.expect_navigation():
            lending.click("#print-slips")
        assert lending.locator(f'svg[aria-label="{barcode}"]').count() == 1
        assert "86.4 Ærø" in lending.inner_text(
            ".fjl-slip"
        ) and "Københavns Biblioteker" in lending.inner_text(".fjl-slip")
        screenshot(lending, "pull-slip")
        lending.emulate_media(media="print")
        assert not lending.is_visible("header.header")  # the print stylesheet shows only the slips
        lending.emulate_media(media="screen")

        # Printed, it waits in "to ship"; scanning the slip ships it.
        _open_queue(lending, hub, "to_ship")
        assert "sendt" in _scan(lending, barcode)
        assert _state(hub, request_id) == "shipped"

        # The borrowing library scans it in; the patron is told by e-mail.
        log_in(borrowing, hub.url, *DEMO_STAFF)
        assert borrowing.inner_text("#queue-link-in_transit .fjl-queue-count") == "1"
        assert_accessible(borrowing)
        screenshot(borrowing, "staff-dashboard")
        _open_queue(borrowing, hub, "in_transit")
        assert "modtaget" in _scan(borrowing, barcode)
        _run_outbox(hub, smtp_port)
        # The patron also had the confirmation when the request was placed; this is the pickup notice.
        mails = [
            m
            for m in handler.messages
            if "soren@example.dk" in str(m["To"]) and "klar til afhentning" in str(m["Subject"])
        ]
        assert len(mails) == 1, [str(m["Subject"]) for m in handler.messages]
        assert "Æbler på Åen" in str(mails[0]["Subject"])

        # Checked out; a renewal asked; "returned" is refused while the renewal is pending.
        _open_queue(borrowing, hub, "awaiting_pickup")
        assert "udlånt" in _scan(borrowing, barcode)
        _act_as_borrower(hub, request_id, "request_renewal")
        _open_queue(borrowing, hub, "on_loan")
        refused = _scan(borrowing, barcode)
        assert "afvist, intet blev ændret" in refused and "return_by_patron is not allowed" in refused
        assert _state(hub, request_id) == "renew_pending"

        # The lender grants the renewal from its "needs attention" queue.
        _open_queue(lending, hub, "renewal_asked")
        assert "fornyet" in _scan(lending, barcode)

        # Back from the patron, shipped back, checked in by the lender: completed.
        _open_queue(borrowing, hub, "on_loan")
        assert "afleveret af låneren" in _scan(borrowing, barcode)
        _open_queue(borrowing, hub, "returns_to_ship")
        assert "sendt retur" in _scan(borrowing, barcode)
        _open_queue(lending, hub, "returns_to_receive")
        assert "tjekket ind" in _scan(lending, barcode)
        assert _state(hub, request_id) == "completed"

        # English pages on request.
        borrowing.goto(f"{hub.url}/staff?lang=en")
        assert borrowing.inner_text("h1") == "Work"
        assert "In transit to us" in borrowing.inner_text("main")
        borrowing.goto(f"{hub.url}/staff/queues/on_loan")
        assert borrowing.inner_text("h1") == "On loan"
        assert_accessible(borrowing)
    finally:
        lender_context.close()
        borrower_context.close()
        smtp.stop()
