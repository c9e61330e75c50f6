"""The page kit in Chromium: staff log in and land on their page, English on request, a 375 px phone,
and no serious or critical axe-core violation on the login and landing pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from browser_helpers import DEMO_STAFF, PHONE, assert_accessible, axe_violations, log_in, screenshot

pytestmark = pytest.mark.e2e


def test_staff_land_on_the_staff_page_with_their_library(page: Page, hub_url: str) -> None:
    log_in(page, hub_url, *DEMO_STAFF)
    assert page.url == f"{hub_url}/staff"
    assert page.inner_text("h1") == "Arbejde"
    assert "DK-710100" in page.inner_text(".portal-user")
    assert page.get_attribute(".navigation-menu a[aria-current=page]", "href") == "/staff"


def test_the_login_page_has_no_serious_axe_violation_in_danish_and_english(page: Page, hub_url: str) -> None:
    page.goto(f"{hub_url}/login")
    assert page.get_attribute("html", "lang") == "da"
    assert_accessible(page)
    page.goto(f"{hub_url}/login?lang=en")
    assert page.inner_text("h1") == "Log in"
    assert_accessible(page)
    screenshot(page, "login")


def test_english_staff_page_on_a_375_px_phone_is_accessible(page: Page, hub_url: str) -> None:
    page.set_viewport_size(PHONE)
    log_in(page, hub_url, *DEMO_STAFF)
    with page.expect_navigation():
        page.click("a.lang")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("h1") == "Work"
    # Nothing wider than the phone: no sideways scrolling.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    # The menu lives in the drawer on a phone; the button opens it.
    page.click("button.js-menu-open")
    assert page.is_visible(".mobile-drawer >> text=Libraries")
    page.click("button.js-menu-close")
    assert_accessible(page)
    screenshot(page, "staff-landing-phone")


def test_the_axe_check_sees_a_serious_violation(page: Page, hub_url: str) -> None:
    # The helper must be able to fail: an image without alt text is a critical violation.
    page.goto(f"{hub_url}/login")
    page.evaluate("() => document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=/x.png>')")
    assert "image-alt" in {v["id"] for v in axe_violations(page)}
