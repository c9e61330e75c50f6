"""A patron in Chromium: logs in with card and PIN, searches, asks for a title, sees it in "My
requests" in plain words and cancels; in English on a 375 px phone, with no serious axe violation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from browser_helpers import DEMO_PATRON, PHONE, assert_accessible, log_in_patron, screenshot

pytestmark = pytest.mark.e2e


def test_a_patron_asks_for_a_book_follows_it_and_cancels(page: Page, hub_url: str) -> None:
    page.goto(f"{hub_url}/patron/login")
    page.fill("input[name=card_number]", DEMO_PATRON[0])
    page.fill("input[name=pin]", "0000")
    with page.expect_navigation():
        page.click("form.patron-login button[type=submit]")
    assert "Forkert lånerkortnummer eller pinkode." in page.inner_text("main")

    log_in_patron(page, hub_url, *DEMO_PATRON)
    assert page.url == f"{hub_url}/patron"
    assert page.inner_text("h1") == "Mine bestillinger"
    # The demo's requests are there in plain words, never in staff states.
    table = page.inner_text("#my-requests table")
    for word in ("Under behandling", "På vej", "Klar til afhentning", "Udlånt til dig"):
        assert word in table
    assert "checked_out" not in table and "DK-" not in table

    page.click("text=Find en bog")
    page.fill("input[name=q]", "kongens fald")
    with page.expect_navigation():
        page.click("form.patron-search button[type=submit]")
    with page.expect_navigation():
        page.locator("li.fjl-hit", has_text="Kongens fald").locator("a.fjl-ask").first.click()
    assert page.inner_text("h1") == "Bestil en bog"
    assert page.input_value("select[name=pickup_isil]") == "DK-710100"
    with page.expect_navigation():
        page.click("form.patron-request button[type=submit]")
    flash = page.inner_text(".alert-success")
    number = re.search(r"Dit bestillingsnummer er (\d+)", flash)
    assert number is not None, flash
    row = page.locator("#my-requests tr", has_text=f"Bestillingsnummer {number.group(1)}")
    assert "Under behandling" in row.inner_text()
    assert "Senest relevant" in row.inner_text()
    assert_accessible(page)
    screenshot(page, "my-requests")
    with page.expect_navigation():
        row.locator("button", has_text="Afbestil").click()
    row = page.locator("#my-requests tr", has_text=f"Bestillingsnummer {number.group(1)}")
    assert "Afbestilling er sendt" in row.inner_text()


def test_my_requests_in_english_on_a_375_px_phone_is_accessible(page: Page, hub_url: str) -> None:
    page.set_viewport_size(PHONE)
    log_in_patron(page, hub_url, *DEMO_PATRON, lang="en")
    page.goto(f"{hub_url}/patron?lang=en")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("h1") == "My requests"
    assert "Ready for pickup" in page.inner_text("#my-requests")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(page)
    screenshot(page, "my-requests-phone")
    page.goto(f"{hub_url}/patron/search?q=blixen")
    assert_accessible(page)
    page.goto(f"{hub_url}/patron/login")
    assert_accessible(page)
