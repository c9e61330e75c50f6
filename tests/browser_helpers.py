"""What every browser test needs: log in through the page, check accessibility with axe-core, and take
a screenshot for the docs. The fixtures (`hub_url`, `browser`, `page`) are in tests/e2e/conftest.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from support import REPO

AXE_JS = Path(__file__).parent / "e2e" / "axe" / "axe.min.js"
SCREENSHOTS = REPO / "docs" / "screenshots"
DEMO_STAFF = ("kbh", "fjernlaan-kbh")  # ILL staff of Københavns Biblioteker (DK-710100)
BLOCKING_IMPACTS = ("serious", "critical")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}  # the narrowest phone the pages must work on


def log_in(page: Page, hub_url: str, username: str, password: str, lang: str | None = None) -> Page:
    """Log in through the login form, as a user does; returns the page it lands on."""
    page.goto(f"{hub_url}/login" + (f"?lang={lang}" if lang else ""))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form.login button[type=submit]")
    return page


def axe_violations(page: Page, impacts: tuple[str, ...] = BLOCKING_IMPACTS) -> list[dict[str, Any]]:
    """The axe-core violations on the page now whose impact is one of `impacts` (WCAG 2.x A and AA
    rules and axe's best practices)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, not as a <script> tag: the hub's Content-Security-
        # Policy (script-src 'self') rightly refuses inline scripts, and the pages are tested under it.
        page.evaluate(
            "source => { (0, eval)(source); return typeof window.axe; }", AXE_JS.read_text(encoding="utf-8")
        )
    result: dict[str, Any] = page.evaluate("async () => await window.axe.run(document)")
    return [v for v in result["violations"] if v.get("impact") in impacts]


def assert_accessible(page: Page) -> None:
    """Fail with axe's own explanation when the page has a serious or critical violation."""
    violations = axe_violations(page)
    summary = [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in violations
    ]
    assert not violations, f"axe found serious/critical violations on {page.url}:\n" + json.dumps(
        summary, indent=2, ensure_ascii=False
    )


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save the page as docs/screenshots/<name>.png (README shows these) and return the path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


DEMO_PATRON = ("1000000001", "1234")  # the demo patron's card and PIN (Københavns Biblioteker)


def log_in_patron(page: Page, hub_url: str, card: str, pin: str, lang: str | None = None) -> Page:
    """Log a patron in with library card and PIN through /patron/login; returns the page it lands on."""
    page.goto(f"{hub_url}/patron/login" + (f"?lang={lang}" if lang else ""))
    page.fill("input[name=card_number]", card)
    page.fill("input[name=pin]", pin)
    with page.expect_navigation():
        page.click("form.patron-login button[type=submit]")
    return page
