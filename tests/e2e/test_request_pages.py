"""The request pages in Chromium: staff search the catalogue, narrow it by a facet, request a title for
a patron they register in the same form, and land on the request's page with its rota; the lender
writes to them, says it will supply and ships; the borrowing library sees the unread message and the
new state. Each page has no serious or critical axe violation, at desktop width and at 375 px, and
the test run writes docs/screenshots/search.png and request.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page

from browser_helpers import DEMO_STAFF, DESKTOP, PHONE, assert_accessible, log_in, screenshot
from fjernlaan.catalogue.model import Holding, Record
from fjernlaan.catalogue.service import upsert_record
from fjernlaan.db.engine import make_engine
from fjernlaan.db.uow import Database

pytestmark = pytest.mark.e2e
LENDER = ("gentofte", "fjernlaan-gentofte")  # Gentofte (DK-715700), København's central library


@pytest.fixture(scope="module")
def titles(hub_url: str, hub_database_url: str) -> None:
    """Three titles in the demo hub's catalogue (the demo starts with none): the one requested is
    held by Gentofte and Det Kgl. Bibliotek."""
    database = Database(make_engine(hub_database_url))
    with database.unit_of_work() as session:
        upsert_record(
            session,
            Record(
                record_id="e2e-1",
                title="Øresundsfærgernes historie",
                creators=("Ærøe, Åge",),
                year=1996,
                language="dan",
                isbns=("9788711111113",),
            ),
            [Holding("DK-715700", copies=1, available=1), Holding("DK-800010", copies=2, available=1)],
        )
        upsert_record(
            session,
            Record(
                record_id="e2e-2", title="Øresundsfærgernes historie i billeder", year=2011, language="dan"
            ),
            [Holding("DK-800010")],
        )
        upsert_record(
            session,
            Record(record_id="e2e-3", title="Ferries of the Øresund", year=2015, language="eng"),
            [Holding("DK-820030")],
        )
    database.dispose()


def _no_sideways_scrolling(page: Page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]


def test_search_request_for_a_new_patron_and_work_the_request_from_both_sides(
    page: Page, browser: Browser, hub_url: str, titles: None
) -> None:
    log_in(page, hub_url, *DEMO_STAFF)
    page.click(".navigation-menu a[href='/staff/search']")
    page.fill("#search-q", "øresundsfærgernes")
    with page.expect_navigation():
        page.click("form[role=search] button[type=submit]")
    assert "2 titler fundet" in page.inner_text("#h-hits")
    with page.expect_navigation():
        page.click("#facet-decade a:has-text('1990–1999')")
    assert "1 titel fundet" in page.inner_text("#h-hits")
    assert_accessible(page)
    screenshot(page, "search")

    with page.expect_navigation():
        page.click("text=Bestil til en låner")
    page.fill("#field-card_number", "2024990011")
    page.check("#field-new_patron")
    page.fill("#field-name", "Åse Ødegård")
    page.fill("#field-email", "aase@example.dk")
    assert_accessible(page)
    with page.expect_navigation():
        page.click("text=Opret bestillingen")
    assert re.search(r"/staff/requests/\d+$", page.url)
    request_url = page.url
    assert "Anmodningen er oprettet" in page.inner_text("#flash-messages")
    assert "Åse Ødegård" in page.inner_text("#patron")
    rota = page.inner_text("#rota")
    assert rota.index("DK-715700") < rota.index("DK-800010")
    assert "Sendt til en långiver, venter på svar" in page.inner_text("#requester-state")

    # The lender: no patron, a message, will supply, then ship.
    lender = browser.new_context(viewport=DESKTOP, locale="da-DK").new_page()
    log_in(lender, hub_url, *LENDER)
    lender.goto(request_url)
    assert "Åse Ødegård" not in lender.content() and "2024990011" not in lender.content()
    lender.fill("#field-body", "Vi sender den med kørselsordningen på torsdag.")
    with lender.expect_navigation():
        lender.click("text=Send beskeden")
    with lender.expect_navigation():
        lender.click("#actions button:has-text('Vi kan levere')")
    assert "Udført: Vi kan levere" in lender.inner_text("#flash-messages")
    lender.click("#action-ship summary")
    with lender.expect_navigation():
        lender.click("#action-ship button[type=submit]")
    assert "Afsendt" in lender.inner_text("#supplier-state")
    lender.context.close()

    # The borrowing library: the unread message, the new state, and the page on a phone.
    page.set_viewport_size(PHONE)
    page.goto(request_url)
    assert page.inner_text("#unread-badge") == "1 ny"
    assert "kørselsordningen på torsdag" in page.inner_text("#messages")
    assert "På vej til det hjemtagende bibliotek" in page.inner_text("#requester-state")
    _no_sideways_scrolling(page)
    assert_accessible(page)
    page.set_viewport_size(DESKTOP)
    page.goto(request_url)
    assert page.locator("#unread-badge").count() == 0  # opened once: read
    assert_accessible(page)
    screenshot(page, "request")


def test_a_refused_step_is_told_in_plain_words(page: Page, hub_url: str, titles: None) -> None:
    log_in(page, hub_url, *DEMO_STAFF)
    page.goto(f"{hub_url}/staff/search?q=ferries&lang=en")
    with page.expect_navigation():
        page.click("text=Request for a patron")
    page.fill("#field-card_number", "2024990012")
    page.check("#field-new_patron")
    page.fill("#field-name", "Bjørn Kærgård")
    with page.expect_navigation():
        page.click("text=Place the request")
    request_url = page.url
    # A second tab cancels; the first still shows the cancel button and tries again.
    other = page.context.new_page()
    other.goto(request_url)
    with other.expect_navigation():
        other.click("#actions button:has-text('Cancel the request')")
    with page.expect_navigation():
        page.click("#actions button:has-text('Cancel the request')")
    flash = page.inner_text("#flash-messages")
    assert "That step is not possible now, so nothing was changed." in flash
    assert "Cancel" in page.inner_text("#requester-state")
    assert_accessible(page)
