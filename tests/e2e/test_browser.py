"""The pages in a real headless Chromium (Debian's, driven by Playwright): log in, browse, switch language."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from browser_helpers import log_in

pytestmark = pytest.mark.e2e


def test_staff_logs_in_and_sees_the_directory_with_danish_names(page: Page, hub_url: str) -> None:
    log_in(page, hub_url, "kbh", "fjernlaan-kbh")
    assert "Logget ind som" in page.content()
    page.click(".navigation-menu >> text=Biblioteker")
    page.wait_for_selector("table.list")
    text = page.inner_text("table.list")
    assert "Københavns Biblioteker" in text
    assert "Ærø" in text


def test_a_wrong_password_shows_the_error_in_the_page(page: Page, hub_url: str) -> None:
    log_in(page, hub_url, "kbh", "forkert-kode")
    assert page.inner_text(".fjl-login-error .alert-text") == "Forkert brugernavn eller adgangskode."


def test_the_language_switch_turns_the_pages_english_and_stays(page: Page, hub_url: str) -> None:
    log_in(page, hub_url, "koordinator", "fjernlaan-koordinator")
    with page.expect_navigation():
        page.click("a.lang")
    assert "Logged in as" in page.content()
    page.goto(f"{hub_url}/network")
    assert "Networks and forums" in page.content()


def test_the_coordinator_sees_the_network_with_its_members(page: Page, hub_url: str) -> None:
    log_in(page, hub_url, "koordinator", "fjernlaan-koordinator")
    page.goto(f"{hub_url}/network?lang=da")
    page.click("text=Fremtidens Fjernlån")
    page.wait_for_load_state()
    assert "Fremtidens Fjernlån" in page.inner_text("h1")
