"""The HTTP kit against a hostile caller (issue 12): CSRF on the API, the national admin's fields,
ISO 18626 endpoints that point inside, the anonymous log on /iso18626, rate limits, a login flood,
security headers and Secure cookies. Every database test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fjernlaan.accounts import service as accounts_service
from fjernlaan.app.factory import create_app
from fjernlaan.db.uow import Database
from fjernlaan.directory.store import ClosureRow, LibraryRow
from fjernlaan.iso18626.store import InboundMessageRow
from fjernlaan.settings import Settings
from patron_helpers import log_in_patron

GENTOFTE = "DK-715700"


def make_app(db: Database, **settings: Any) -> FastAPI:
    return create_app(Settings(database_url="sqlite://", secret_key="test-secret", **settings), database=db)


@pytest.fixture
def make_client(seeded: Database) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def build(base_url: str = "http://testserver", **settings: Any) -> TestClient:
        client = TestClient(make_app(seeded, **settings), base_url=base_url, raise_server_exceptions=False)
        clients.append(client.__enter__())
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "the page carries a CSRF token"
    return found.group(1)


def log_in(client: TestClient, username: str, password: str, **headers: str) -> httpx.Response:
    token = form_token(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )


def page_token(client: TestClient) -> str:
    """The token a logged-in page hands its forms and its htmx calls."""
    page = client.get("/")
    header = re.search(r"hx-headers='\{\"X-CSRF-Token\": \"([^\"]+)\"\}'", page.text)
    assert header is not None, "the page sends the token with every htmx request"
    assert header.group(1) == form_token(page.text)
    return header.group(1)


def library(db: Database, isil: str) -> LibraryRow:
    with db.unit_of_work() as session:
        row = session.get(LibraryRow, isil)
        assert row is not None
        session.expunge(row)
        return row


# --- CSRF (defect 2) -------------------------------------------------------------------------------


def test_a_bare_session_cookie_cannot_write_through_the_api(
    seeded: Database, make_client: Callable[..., TestClient]
) -> None:
    client = make_client()
    assert log_in(client, "gentofte", "fjernlaan-gentofte").status_code == 303
    # A form on another site posts with the victim's cookie: form-encoded and JSON alike are refused.
    form = client.post(
        f"/api/v1/libraries/{GENTOFTE}/closures",
        data={"starts": "2030-01-02", "ends": "2030-01-03", "reason": "forged"},
    )
    assert form.status_code == 403, form.text
    assert "CSRF" in form.json()["detail"]
    patch = client.patch(f"/api/v1/libraries/{GENTOFTE}", json={"name": "Overtaget"})
    assert patch.status_code == 403
    assert (
        client.patch(
            f"/api/v1/libraries/{GENTOFTE}", json={"name": "Overtaget"}, headers={"X-CSRF-Token": "gaet"}
        ).status_code
        == 403
    )
    with seeded.unit_of_work() as session:
        assert (
            session.scalar(select(func.count()).select_from(ClosureRow).where(ClosureRow.reason == "forged"))
            == 0
        )
    assert library(seeded, GENTOFTE).name != "Overtaget"


def test_the_pages_token_in_the_header_lets_the_cookie_write(
    seeded: Database, make_client: Callable[..., TestClient]
) -> None:
    client = make_client()
    log_in(client, "gentofte", "fjernlaan-gentofte")
    answer = client.patch(
        f"/api/v1/libraries/{GENTOFTE}",
        json={"name": "Gentofte Bibliotekerne – Ærø"},
        headers={"X-CSRF-Token": page_token(client)},
    )
    assert answer.status_code == 200, answer.text
    assert library(seeded, GENTOFTE).name == "Gentofte Bibliotekerne – Ærø"
    # Reads need no token.
    assert client.get("/api/v1/me").json()["username"] == "gentofte"


def test_a_token_made_for_another_session_is_refused(make_client: Callable[..., TestClient]) -> None:
    # An attacker logged in on their own account (or who planted a CSRF cookie from a sibling host)
    # holds a valid token for *their* session; with the victim's session cookie it is worthless.
    attacker, victim = make_client(), make_client()
    log_in(attacker, "kbh", "fjernlaan-kbh")
    log_in(victim, "gentofte", "fjernlaan-gentofte")
    forged = victim.patch(
        f"/api/v1/libraries/{GENTOFTE}", json={"name": "X"}, headers={"X-CSRF-Token": page_token(attacker)}
    )
    assert forged.status_code == 403


def test_a_bearer_token_needs_no_csrf_token(
    client: TestClient, token_for: Callable[[str], dict[str, str]]
) -> None:
    answer = client.patch(
        f"/api/v1/libraries/{GENTOFTE}", json={"name": "Gentofte"}, headers=token_for("gentofte")
    )
    assert answer.status_code == 200


# --- Fields reserved for the national admin (defect 4) --------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"region": None},
        {"region": ""},
        {"central_isil": None},
        {"central_isil": ""},
        {"transport_hub": None},
        {"type": "research"},
        {"municipality_code": 101},
        {"iso18626_endpoint": "https://peer.example/iso18626"},
        {"iso18626_endpoint": None},
        {"iso18626_version": "2017"},
        {"active": False},
    ],
    ids=lambda change: f"{next(iter(change))}={next(iter(change.values()))!r}",
)
def test_a_library_admin_can_neither_set_nor_clear_a_national_field(
    seeded: Database, client: TestClient, token_for: Callable[[str], dict[str, str]], change: dict[str, Any]
) -> None:
    before = library(seeded, GENTOFTE)
    answer = client.patch(f"/api/v1/libraries/{GENTOFTE}", json=change, headers=token_for("gentofte"))
    assert answer.status_code == 403, answer.text
    assert "national admin" in answer.json()["detail"]
    after = library(seeded, GENTOFTE)
    field = next(iter(change))
    assert getattr(after, field) == getattr(before, field)


def test_the_national_admin_sets_region_and_central_library(
    seeded: Database, client: TestClient, token_for: Callable[[str], dict[str, str]]
) -> None:
    answer = client.patch(
        f"/api/v1/libraries/{GENTOFTE}", json={"region": None, "central_isil": ""}, headers=token_for("admin")
    )
    assert answer.status_code == 200, answer.text
    assert (library(seeded, GENTOFTE).region, library(seeded, GENTOFTE).central_isil) == (None, None)


# --- ISO 18626 endpoints (defect 3) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:8000/iso18626",
        "https://127.0.0.1/iso18626",
        "https://[::1]/iso18626",
        "https://169.254.169.254/latest/meta-data",
        "https://10.1.2.3/iso18626",
        "https://[::ffff:192.168.1.1]/iso18626",
        "https://localhost/iso18626",
        "http://peer.example/iso18626",
        "https://user:secret@peer.example/iso18626",
    ],
)
def test_the_national_admin_cannot_point_a_peer_inside_or_over_http(
    seeded: Database,
    make_client: Callable[..., TestClient],
    token_for: Callable[[str], dict[str, str]],
    endpoint: str,
) -> None:
    client = make_client(iso18626_allow_local_endpoints=False)
    before = library(seeded, "SE-L").iso18626_endpoint
    answer = client.patch(
        "/api/v1/libraries/SE-L", json={"iso18626_endpoint": endpoint}, headers=token_for("admin")
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "iso18626_endpoint"
    assert library(seeded, "SE-L").iso18626_endpoint == before


def test_an_allow_listed_range_may_be_private_and_plain_http(
    seeded: Database, make_client: Callable[..., TestClient], token_for: Callable[[str], dict[str, str]]
) -> None:
    client = make_client(iso18626_allow_local_endpoints=False, iso18626_endpoint_allowlist="10.20.0.0/16")
    url = "http://10.20.3.4:8080/iso18626"
    answer = client.patch(
        "/api/v1/libraries/SE-L", json={"iso18626_endpoint": url}, headers=token_for("admin")
    )
    assert answer.status_code == 200, answer.text
    refused = client.patch(
        "/api/v1/libraries/SE-L", json={"iso18626_endpoint": "http://10.21.0.1/"}, headers=token_for("admin")
    )
    assert refused.status_code == 422
    assert library(seeded, "SE-L").iso18626_endpoint == url
    assert library(seeded, "SE-L").iso18626_endpoint_changed_at is not None


# --- /iso18626: the anonymous log and its rate limit (defect 6) -----------------------------------


def inbound_rows(db: Database) -> list[InboundMessageRow]:
    with db.unit_of_work() as session:
        rows = list(session.scalars(select(InboundMessageRow).order_by(InboundMessageRow.id)))
        session.expunge_all()
        return rows


def test_junk_from_anybody_is_logged_with_a_capped_body_and_then_not_at_all(
    seeded: Database, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(
        iso18626_unauthenticated_log_bytes=512,
        iso18626_refused_rate_limit_per_address="3/minute",
        trusted_proxies="testclient",
    )
    junk = b"<ISO18626Message>" + "ø".encode() * 200_000
    for _ in range(3):
        answer = client.post("/iso18626", content=junk, headers={"Content-Type": "application/xml"})
        assert answer.status_code == 200 and b"ERROR" in answer.content
    rows = inbound_rows(seeded)
    assert len(rows) == 3
    assert all(row.body is not None and len(row.body) <= 512 for row in rows)
    # The source has used up its refusals: it gets 429 and nothing more is read or stored.
    limited = client.post("/iso18626", content=junk, headers={"Content-Type": "application/xml"})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert len(inbound_rows(seeded)) == 3
    # Another source (behind the trusted proxy) is still heard.
    other = client.post(
        "/iso18626",
        content=junk,
        headers={"Content-Type": "application/xml", "X-Forwarded-For": "203.0.113.9"},
    )
    assert other.status_code == 200
    assert len(inbound_rows(seeded)) == 4


def test_every_message_counts_against_the_sources_limit(
    seeded: Database, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(iso18626_rate_limit_per_address="2/minute")
    codes = [
        client.post("/iso18626", content=b"<x/>", headers={"Content-Type": "text/xml"}).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]


# --- Login rate limits (defect 7) -----------------------------------------------------------------


def test_wrong_passwords_for_one_user_end_in_429_with_retry_after(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(login_rate_limit_per_username="3/minute")
    codes = [log_in(client, "admin", f"forkert-{n}").status_code for n in range(3)]
    assert codes == [401, 401, 401]
    blocked = log_in(client, "admin", "fjernlaan-admin")  # even the right password now waits
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) >= 1
    assert "For mange forsøg" in blocked.text
    # Other users are not locked out by someone guessing admin's password.
    assert log_in(client, "kbh", "fjernlaan-kbh").status_code == 303


def test_wrong_pins_for_one_library_card_end_in_429_with_retry_after(
    make_client: Callable[..., TestClient],
) -> None:
    # A PIN has as few as four digits: without a limit it falls to guessing in minutes.
    client = make_client(login_rate_limit_per_username="3/minute")
    codes = [log_in_patron(client, "1000000001", f"99{n:02d}").status_code for n in range(3)]
    assert codes == [401, 401, 401]
    blocked = log_in_patron(client, "1000000001", "1234")  # even the right PIN now waits
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) >= 1
    # Another card is not locked out by someone guessing this one.
    assert log_in_patron(client, "2000000002", "2468").status_code == 303


def test_one_address_trying_many_users_ends_in_429(make_client: Callable[..., TestClient]) -> None:
    client = make_client(login_rate_limit_per_address="4/minute", trusted_proxies="testclient")
    codes = [log_in(client, f"bruger{n}", "forkert-kode").status_code for n in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    other = log_in(client, "kbh", "fjernlaan-kbh", **{"X-Forwarded-For": "198.51.100.7"})
    assert other.status_code == 303


class BlockingHasher:
    """A password hasher that holds every check until released, and counts how many run at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.started = threading.Semaphore(0)

    def _check(self) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.started.release()
        self.release.wait()
        with self.lock:
            self.running -= 1

    def hash(self, password: str) -> str:
        self._check()
        return "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA"

    def verify(self, hashed: str, password: str) -> bool:
        self._check()
        raise accounts_service.VerificationError("wrong")

    def check_needs_rehash(self, hashed: str) -> bool:
        return False


def test_a_login_flood_does_not_starve_other_requests(
    seeded: Database, token_for: Callable[[str], dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(
        seeded, login_rate_limit_per_address="10000/minute", password_hash_threads=2, password_hash_queue=6
    )
    bearer = token_for("kbh")
    hasher = BlockingHasher()
    monkeypatch.setattr(accounts_service, "_hasher", hasher)

    async def flood() -> tuple[list[int], list[int], int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            form = await client.get("/login")
            token = form_token(form.text)
            # More logins than the request thread pool has threads (40): before the fix every one of
            # them held a pool thread while hashing, and nothing else could run.
            logins = [
                asyncio.create_task(
                    client.post(
                        "/login", data={"username": f"ukendt{n}", "password": "x" * 9, "csrf_token": token}
                    )
                )
                for n in range(60)
            ]
            # Wait until the password threads are busy (blocked in the hasher).
            await asyncio.to_thread(hasher.started.acquire)
            await asyncio.to_thread(hasher.started.acquire)
            others = [client.get("/api/v1/me", headers=bearer) for _ in range(20)]
            try:
                answered = await asyncio.wait_for(asyncio.gather(*others), timeout=120)
            finally:
                busy = hasher.running
                hasher.release.set()
            login_codes = [r.status_code for r in await asyncio.gather(*logins)]
            return [r.status_code for r in answered], login_codes, busy

    # A loop of its own in a thread of its own: a session's Playwright (sync API) may already run a
    # loop in this worker's main thread, and asyncio.run refuses to start inside it.
    with ThreadPoolExecutor(max_workers=1) as own_thread:
        other_codes, login_codes, busy_while_answering = own_thread.submit(asyncio.run, flood()).result()
    assert other_codes == [200] * 20
    assert busy_while_answering == 2  # the flood was still blocked while the others were answered
    assert hasher.most == 2  # never more password checks at once than their threads
    assert sorted(set(login_codes)) == [401, 429]
    assert login_codes.count(401) == 8  # two checking and six waiting; the rest were told to wait


# --- Security headers and Secure cookies (defect 7) -----------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/login", "/api/v1/me", "/static/fjernlaan.css", "/nowhere", "/health"]
)
def test_every_answer_carries_the_security_headers(client: TestClient, path: str) -> None:
    answer = client.get(path)
    csp = answer.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in answer.headers  # plain http


def test_the_iso18626_endpoint_answers_with_the_headers_too(client: TestClient) -> None:
    answer = client.post("/iso18626", content=b"<x/>", headers={"Content-Type": "application/xml"})
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def _session_cookie(answer: httpx.Response) -> str:
    cookies = [
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("fjl_session=")
    ]
    assert len(cookies) == 1, answer.headers
    return cookies[0]


def test_over_https_the_session_cookie_is_secure(make_client: Callable[..., TestClient]) -> None:
    client = make_client(base_url="https://testserver")
    answer = log_in(client, "admin", "fjernlaan-admin")
    assert "secure" in _session_cookie(answer).lower()
    assert client.get("/").headers["Strict-Transport-Security"].startswith("max-age=")


def test_behind_a_trusted_proxy_x_forwarded_proto_makes_it_secure(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(trusted_proxies="testclient")
    answer = log_in(client, "admin", "fjernlaan-admin", **{"X-Forwarded-Proto": "https"})
    assert "secure" in _session_cookie(answer).lower()


def test_an_untrusted_caller_cannot_claim_https_and_plain_http_is_not_secure(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()  # trusts 127.0.0.1 and ::1 only
    answer = log_in(client, "admin", "fjernlaan-admin", **{"X-Forwarded-Proto": "https"})
    assert "secure" not in _session_cookie(answer).lower()
