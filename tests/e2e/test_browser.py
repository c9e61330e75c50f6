"""The pages in a real headless Chromium (Debian's, driven by Playwright): log in, browse, switch language."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from support import free_port

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    reason = "Debian's chromium is not installed (scripts/install-system-deps installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but " + reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def hub_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _require_chromium()
    folder = tmp_path_factory.mktemp("browser-hub")
    port = free_port()
    env = {
        **os.environ,
        "FJERNLAAN_DATABASE_URL": f"sqlite:///{folder / 'hub.db'}",
        "FJERNLAAN_PORT": str(port),
    }
    cli = [sys.executable, "-m", "fjernlaan.cli"]
    subprocess.run([*cli, "demo", "--records", "0"], env=env, check=True, capture_output=True)
    log = (folder / "serve.log").open("w")
    server = subprocess.Popen([*cli, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        server.terminate()
        pytest.fail("the hub did not start: " + Path(log.name).read_text())
    yield base
    server.terminate()
    server.wait(timeout=10)
    log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # Without these, Chromium keeps reaching for Google's hosts, which this network refuses.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


def _login(browser: Browser, hub_url: str, username: str, password: str) -> Page:
    page = browser.new_page()
    page.goto(f"{hub_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.login button[type=submit]")
    page.wait_for_load_state()
    return page


def test_staff_logs_in_and_sees_the_directory_with_danish_names(browser: Browser, hub_url: str) -> None:
    page = _login(browser, hub_url, "kbh", "fjernlaan-kbh")
    assert "Logget ind som" in page.content()
    page.click("text=Biblioteker")
    page.wait_for_selector("table.list")
    text = page.inner_text("table.list")
    assert "Københavns Biblioteker" in text
    assert "Ærø" in text


def test_a_wrong_password_shows_the_error_in_the_page(browser: Browser, hub_url: str) -> None:
    page = _login(browser, hub_url, "kbh", "forkert-kode")
    assert page.inner_text("p.error") == "Forkert brugernavn eller adgangskode."


def test_the_language_switch_turns_the_pages_english_and_stays(browser: Browser, hub_url: str) -> None:
    page = _login(browser, hub_url, "koordinator", "fjernlaan-koordinator")
    page.click("a.lang")
    page.wait_for_load_state()
    assert "Logged in as" in page.content()
    page.goto(f"{hub_url}/network")
    assert "Networks and forums" in page.content()


def test_the_coordinator_sees_the_network_with_its_members(browser: Browser, hub_url: str) -> None:
    page = _login(browser, hub_url, "koordinator", "fjernlaan-koordinator")
    page.goto(f"{hub_url}/network?lang=da")
    page.click("text=Fremtidens Fjernlån")
    page.wait_for_load_state()
    assert "Fremtidens Fjernlån" in page.inner_text("h1")
