"""Administration and transport labels in Chromium: a library admin's own library on a 375 px phone,
the whole network for the national admin, a refused bundle and a printed label; no serious or critical
axe-core violation on any of them; screenshots for the docs."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page

from browser_helpers import PHONE, assert_accessible, log_in, screenshot

pytestmark = pytest.mark.e2e

LIBRARY_ADMIN = ("gentofte", "fjernlaan-gentofte")  # administers Gentofte Bibliotekerne (DK-715700)
NATIONAL_ADMIN = ("admin", "fjernlaan-admin")
LENDER_STAFF = ("kb", "fjernlaan-kb")  # Det Kgl. Bibliotek (DK-800010)


def _api_session(hub_url: str, username: str, password: str) -> tuple[httpx.Client, str]:
    """An HTTP client logged in through the form, and the CSRF token its pages carry (the API takes it
    from a cookie-authenticated caller as the X-CSRF-Token header)."""
    client = httpx.Client(base_url=hub_url, timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    client.post("/login", data={"username": username, "password": password, "csrf_token": token.group(1)})
    after = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/staff").text)
    assert after
    return client, after.group(1)


def _request_to_ship(hub_url: str) -> int:
    """A request from København that Det Kgl. Bibliotek said it will supply (through the API)."""
    kbh, kbh_token = _api_session(hub_url, "kbh", "fjernlaan-kbh")
    card = uuid.uuid4().hex[:10]
    headers = {"X-CSRF-Token": kbh_token}
    patron = {"card_number": card, "name": "Åse Øberg", "home_library": "DK-710100"}
    assert kbh.post("/api/v1/patrons", json=patron, headers=headers).status_code == 201
    citation = {"title": "Ærøs kirker", "author": "Søren Ærø"}
    placed = kbh.post("/api/v1/requests", json={"citation": citation, "card_number": card}, headers=headers)
    assert placed.status_code == 201, placed.text
    request_id = int(placed.json()["id"])
    lender = {"isil": "DK-800010", "reason": "håndskriftsamlingen"}
    assert kbh.post(f"/api/v1/requests/{request_id}/rota/lenders", json=lender, headers=headers).is_success
    assert kbh.post(f"/api/v1/requests/{request_id}/actions/send", json={}, headers=headers).is_success
    kb, kb_token = _api_session(hub_url, *LENDER_STAFF)
    answered = kb.post(
        f"/api/v1/requests/{request_id}/actions/will_supply", json={}, headers={"X-CSRF-Token": kb_token}
    )
    assert answered.is_success, answered.text
    return request_id


def test_a_library_admin_changes_the_lending_policy_on_a_phone(page: Page, hub_url: str) -> None:
    page.set_viewport_size(PHONE)
    log_in(page, hub_url, *LIBRARY_ADMIN)
    page.goto(f"{hub_url}/admin/library")
    assert "Gentofte" in page.inner_text("h1")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator("input[name=region]").count() == 0  # a national field: shown, not editable
    assert_accessible(page)
    screenshot(page, "library-admin-phone")
    page.fill("#field-loan_period_days", "0")
    with page.expect_navigation():
        page.click("text=Gem udlånspolitik")
    assert page.inner_text("#field-loan_period_days-error").endswith("Skriv et helt tal fra 1 til 365.")
    assert_accessible(page)  # the page with its errors too
    page.fill("#field-loan_period_days", "30")
    with page.expect_navigation():
        page.click("text=Gem udlånspolitik")
    assert "Udlånspolitikken er gemt." in page.inner_text("#flash-messages")
    assert page.input_value("#field-loan_period_days") == "30"
    page.goto(f"{hub_url}/admin/library/users")
    assert_accessible(page)


def test_the_national_admin_sees_the_whole_network(page: Page, hub_url: str) -> None:
    log_in(page, hub_url, *NATIONAL_ADMIN)
    page.goto(f"{hub_url}/admin/libraries?lang=en")
    assert page.inner_text("h1") == "The network"
    page.select_option("#libraries-f-type", "central")
    with page.expect_response(lambda r: "f_type=central" in r.url):
        page.click("#libraries button[type=submit]")
    page.wait_for_selector("text=(6 rows)")
    assert_accessible(page)
    screenshot(page, "network")
    page.click("text=Aalborg Bibliotekerne")
    page.wait_for_selector("input[name=transport_hub]")  # a national admin edits the national fields
    assert_accessible(page)


def test_lender_staff_print_a_transport_label(page: Page, hub_url: str) -> None:
    request_id = _request_to_ship(hub_url)
    log_in(page, hub_url, *LENDER_STAFF)
    page.goto(f"{hub_url}/staff/labels?ids={request_id}")
    label = page.locator(".fjl-label")
    assert label.count() == 1
    assert "Gentofte Bibliotekerne" in label.inner_text() and "DK-710100" in label.inner_text()
    assert page.locator(f"svg[aria-label='Stregkode for bestilling {request_id}'] rect").count() > 10
    assert_accessible(page)
    # A bundle too thick is refused with the rule in plain words, at its field.
    page.check(f"#bundle-{request_id}")
    page.fill("#field-thickness-DK-710100", "9")
    page.fill("#field-weight-DK-710100", "1")
    with page.expect_navigation():
        page.click("text=Lav labels")
    assert "Bilen tager højst 8,5 cm" in page.inner_text("#field-thickness-DK-710100-error")
    assert page.locator(".fjl-label").count() == 0
    assert_accessible(page)
    page.fill("#field-thickness-DK-710100", "3,5")
    with page.expect_navigation():
        page.click("text=Lav labels")
    assert "3,5 cm · 1 kg" in page.inner_text(".fjl-label")
    page.set_viewport_size(PHONE)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size({"width": 900, "height": 900})
    screenshot(page, "label")


def test_a_library_admin_deactivates_a_user_and_reads_the_audit_log(page: Page, hub_url: str) -> None:
    username = "e2e-" + uuid.uuid4().hex[:8]
    log_in(page, hub_url, *LIBRARY_ADMIN)
    page.goto(f"{hub_url}/admin/library/users")
    page.fill("#field-username", username)
    page.fill("#field-password", "e2e-kodeord-1")
    with page.expect_navigation():
        page.click("button:has-text('Opret bruger')")
    with page.expect_navigation():
        page.click(f"a[href$='/users/{username}']")
    assert "Ingen API-nøgler." in page.inner_text("#tokens")
    assert_accessible(page)
    with page.expect_navigation():
        page.click("text=Deaktiver bruger")
    assert "er deaktiveret" in page.inner_text("#flash-messages")
    assert "Deaktiveret" in page.inner_text("dl.fjl-facts")
    assert_accessible(page)
    with page.expect_navigation():
        page.click("text=Genaktiver bruger")
    assert "kan logge ind igen" in page.inner_text("#flash-messages")

    with page.expect_navigation():
        page.locator("a[href='/admin/audit']").first.click()
    assert page.inner_text("h1") == "Revisionslog"
    entries = page.inner_text("#audit tbody")
    assert f"user {username}" in entries and "user_deactivated" in entries and "user_activated" in entries
    assert_accessible(page)
    screenshot(page, "audit-log")
    with page.expect_navigation():
        page.locator("a[href='/account/tokens']").first.click()
    assert page.inner_text("h1") == "Mine API-nøgler"
    assert_accessible(page)
