"""Patron self-service in tests (imported by name: pytest puts this folder on sys.path).

`log_in_patron(client, card, pin)` logs a TestClient in as a patron through `/patron/login`, as a
browser does (the form's CSRF token, then the card and PIN); the client then holds a patron session.
`csrf_from(client, path)` reads the CSRF token of the form on a page, for posting to page routes.
The demo patrons (`fjernlaan.app.demo.DEMO_PATRONS`) are seeded with the `seeded` fixture: the first is
card 1000000001, PIN 1234, at DK-710100.
"""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(client: TestClient, path: str) -> str:
    """The CSRF token of the form on the page at `path` (the page also sets the matching cookie)."""
    page = client.get(path)
    found = _CSRF.search(page.text)
    assert found is not None, f"no form with a CSRF token on {path}: {page.status_code}"
    return found.group(1)


def log_in_patron(client: TestClient, card: str, pin: str) -> httpx.Response:
    """Log in with a library card and PIN; the answer is the login's (303 to /patron when right)."""
    token = csrf_from(client, "/patron/login")
    return client.post(
        "/patron/login",
        data={"card_number": card, "pin": pin, "csrf_token": token},
        follow_redirects=False,
    )
