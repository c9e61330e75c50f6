"""The whole loan by clicking, in Chromium, on a real `fjernlaan serve`: a patron logs in with card and
PIN, finds the title and asks for it with a pickup library and a need-before date; the lender's staff
answer by scanning, print the pull slip and scan it as it ships; the borrowing library's staff scan it in, the
patron gets the ready-for-pickup e-mail at a real SMTP server, staff check it out, take it back and ship
it back; the lender checks it in, and the request is completed. On the way: a refused illegal step, a
wrong password, a wrong barcode, English pages, axe on the dashboard and a queue, and screenshots.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from browser_helpers import DEMO_STAFF, DESKTOP, assert_accessible, log_in, log_in_patron, screenshot
from hub_server import hub_env, run_cli, served
from support import RecordingSmtpHandler, free_port

pytestmark = pytest.mark.e2e

LENDER_USER = ("walk-lender", "walk-lender-1")
HOLDERS = ("DK-714700", "DK-715100", "DK-715300", "DK-715700")
PATRON = ("5550001", "2468")  # card and PIN of the walk's patron (Københavns Biblioteker, DK-710100)
PICKUP = "DK-710100"


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


def _seed(hub: Hub) -> None:
    """A title held by four public libraries, and a patron of the borrowing library (København) with
    an e-mail address and a PIN for self-service."""
    from fjernlaan.accounts.service import PatronIn, add_patron, set_pin
    from fjernlaan.catalogue.model import Holding, Record
    from fjernlaan.catalogue.service import upsert_record
    from fjernlaan.clock import SYSTEM_CLOCK

    db = _database(hub)
    try:
        with db.unit_of_work() as session:
            record = Record(record_id="walk-1", title="Æbler på Åen", year=1998, creators=("Ærø, Søren",))
            holdings = [Holding(isil, copies=1, available=1, shelf_mark="86.4 Ærø") for isil in HOLDERS]
            upsert_record(session, record, holdings)
            add_patron(
                session,
                PatronIn(
                    card_number=PATRON[0], name="Søren Ærø", email="soren@example.dk", home_library=PICKUP
                ),
            )
            set_pin(session, PICKUP, PATRON[0], PATRON[1], SYSTEM_CLOCK.now())
    finally:
        db.dispose()


def _patron_requests(page: Page, hub: Hub) -> int:
    """The patron logs in, searches, asks for the title with a pickup library and a need-before date,
    and sees it under "My requests" in plain words. Returns the request number the page told."""
    log_in_patron(page, hub.url, *PATRON)
    assert page.url == f"{hub.url}/patron"
    page.click("text=Find en bog")
    page.fill("input[name=q]", "æbler på åen")
    with page.expect_navigation():
        page.click("form.patron-search button[type=submit]")
    with page.expect_navigation():
        page.locator("li.fjl-hit", has_text="Æbler på Åen").locator("a.fjl-ask").first.click()
    assert page.inner_text("h1") == "Bestil en bog"
    page.select_option("select[name=pickup_isil]", PICKUP)
    need_before = (datetime.now(UTC).date() + timedelta(days=60)).isoformat()
    page.fill("input[name=need_before]", need_before)
    with page.expect_navigation():
        page.click("form.patron-request button[type=submit]")
    flash = page.inner_text(".alert-success")
    number = re.search(r"Dit bestillingsnummer er (\d+)", flash)
    assert number is not None, flash
    row = page.locator("#my-requests tr", has_text=f"Bestillingsnummer {number.group(1)}")
    assert "Under behandling" in row.inner_text()
    return int(number.group(1))


def _lender_and_user(hub: Hub, request_id: int) -> str:
    """The request as placed (pickup, need-before date, a lender among the holders), and a staff
    account at the lender it asked first. Returns the lender's ISIL."""
    from fjernlaan.accounts.model import Role
    from fjernlaan.accounts.service import add_user
    from fjernlaan.lending import service as lending

    db = _database(hub)
    try:
        with db.unit_of_work() as session:
            row = lending.load(session, request_id).row
            lender = row.current_lender_isil
            assert lender in HOLDERS, lender
            assert row.pickup_isil == PICKUP and row.need_before is not None
            add_user(
                session,
                username=LENDER_USER[0],
                password=LENDER_USER[1],
                role=Role.STAFF,
                library_isil=lender,
            )
        return lender
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
    from fjernlaan.app.worker import run_once
    from fjernlaan.clock import SYSTEM_CLOCK
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
    patron_context = browser.new_context(viewport=DESKTOP, locale="da-DK")
    try:
        _seed(hub)
        request_id = _patron_requests(patron_context.new_page(), hub)
        _lender_and_user(hub, request_id)
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
        patron_context.close()
        smtp.stop()
