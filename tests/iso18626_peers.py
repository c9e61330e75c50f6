"""Helpers and fixtures for the ISO 18626 endpoint and outbox tests: samples, a peer to post as, a
handler that accepts, and a real HTTP peer that records what it receives."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from fjernlaan.db.outbox import enqueue
from fjernlaan.db.uow import Database
from fjernlaan.directory.store import LibraryRow
from fjernlaan.iso18626 import inbound, peers
from fjernlaan.iso18626.model import ErrorData, ErrorType
from fjernlaan.iso18626.reader import ParsedMessage, parse
from fjernlaan.iso18626.writer import build_confirmation

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_PEER = "ZZ-SAMPLEPEER"


def find_reference_dir() -> Path | None:
    """The repo's sibling ``../shared/reference/iso18626``, also from a git worktree nested deeper."""
    for base in (REPO_ROOT, *REPO_ROOT.parents):
        candidate = base / ".." / "shared" / "reference" / "iso18626"
        if candidate.is_dir():
            return candidate.resolve()
    return None


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The sample messages from crosslink and mod-rs, or skip when ../shared is not there."""
    found = find_reference_dir()
    if found is None:
        pytest.skip("../shared/reference/iso18626 (official XSDs and samples) is not available")
    return found / "samples"


@pytest.fixture(scope="session")
def xsd_dir(samples_dir: Path) -> Path:
    """The folder with the official XSDs."""
    return samples_dir.parent


def add_foreign_library(session: Session, isil: str, endpoint: str | None = None) -> None:
    """A foreign library in the directory (test networks need ids the demo data does not have)."""
    session.add(
        LibraryRow(isil=isil, name=f"Testbibliotek {isil} – Ærø", type="foreign", iso18626_endpoint=endpoint)
    )
    session.flush()


@dataclass
class Peer:
    """A directory library set up as a peer, with the bearer token it presents."""

    isil: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        """The Authorization header of this peer."""
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def sample_peer(seeded: Database) -> Peer:
    """``ZZ-SAMPLEPEER``: a foreign library with peer credentials (accountId, securityCode, token)."""
    with seeded.unit_of_work() as session:
        add_foreign_library(session, SAMPLE_PEER)
        peers.set_peer(session, SAMPLE_PEER, account_id="zz-konto", security_code="hemmelig-kode-æøå")
        token = peers.issue_peer_token(session, SAMPLE_PEER)
    return Peer(SAMPLE_PEER, token)


@dataclass
class RecordingHandler:
    """A message handler that accepts everything and leaves a visible change (an outbox row)."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    fail_with: Exception | None = None
    errors: tuple[ErrorData, ...] = ()

    def __call__(
        self, session: Session, parsed: ParsedMessage, sender: str, now: datetime
    ) -> tuple[ErrorData, ...]:
        self.calls.append((parsed.kind, sender))
        enqueue(
            session,
            channel="test",
            destination=sender,
            payload={"kind": parsed.kind},
            idempotency_key=f"handled-{len(self.calls)}-{now.isoformat()}",
            now=now,
        )
        if self.fail_with is not None:
            raise self.fail_with
        return self.errors


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> RecordingHandler:
    """A recording handler registered for every inbound message kind (only for this test)."""
    recording = RecordingHandler()
    monkeypatch.setattr(inbound, "HANDLERS", {})
    for kind in inbound.INBOUND_KINDS:
        inbound.register_handler(kind, recording)
    return recording


@pytest.fixture
def no_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    """No area has registered a handler (the state before the lending integration)."""
    monkeypatch.setattr(inbound, "HANDLERS", {})


# --------------------------------------------------------------------------------------------------
# A real HTTP peer
# --------------------------------------------------------------------------------------------------


@dataclass
class Arrival:
    """One POST the peer received."""

    body: bytes
    content_type: str | None
    authorization: str | None


@dataclass
class HttpPeer:
    """A peer on loopback. ``answers`` is consumed one per request: ``"ok"``, ``"error"`` or an HTTP
    status such as 503; when empty the peer answers OK."""

    url: str
    arrivals: list[Arrival] = field(default_factory=list)
    answers: list[str | int] = field(default_factory=list)


def _peer_handler(peer: HttpPeer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            peer.arrivals.append(
                Arrival(body, self.headers.get("Content-Type"), self.headers.get("Authorization"))
            )
            answer = peer.answers.pop(0) if peer.answers else "ok"
            if isinstance(answer, int):
                self._send(answer, "text/plain", "Service Unavailable – prøv igen".encode())
                return
            now = datetime.now(UTC)
            errors = (
                (ErrorData(ErrorType.UNRECOGNISED_DATA_VALUE, "ukendt forespørgsel KBH-1"),)
                if answer == "error"
                else ()
            )
            confirmation = build_confirmation(parse(body), timestamp_received=now, errors=errors)
            self._send(200, "application/xml", confirmation)

        def _send(self, status: int, content_type: str, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def http_peer() -> Iterator[HttpPeer]:
    """A real ISO 18626 peer serving HTTP on loopback in a thread."""
    peer = HttpPeer(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _peer_handler(peer))
    peer.url = f"http://127.0.0.1:{server.server_address[1]}/iso18626"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield peer
    server.shutdown()
    server.server_close()
    thread.join()
