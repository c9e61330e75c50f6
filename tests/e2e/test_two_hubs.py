"""Two hubs talking ISO 18626 over real HTTP: a Danish hub borrows from a "foreign" hub.

Each hub is its own `fjernlaan serve` process with its own database and its own `fjernlaan worker`
(the outbox sender). The operators set them up as each other's peer with the CLI and the REST API,
exactly as documented in docs/iso18626.md ("Two hubs by hand"):

* the Danish hub (`dk`) has the demo network; the foreign hub is the foreign library DE-1 in its
  directory, with DE-1's endpoint, credentials and a bearer token DE-1 presents;
* the foreign hub (`de`) is a second fjernlaan (its directory is the demo's too: the directory only
  takes Danish ISILs for its own libraries); it knows the Danish national library DK-800010, which
  mediates every loan from abroad, as its peer; its lender is DTU Bibliotek (DK-820030).

Every step is one staff action through the REST API on the hub that owns it; the other hub learns of
it only from the ISO 18626 message its worker delivers. After each step the test polls (with a
deadline, never a sleep as synchronisation) until both hubs show the new states and both outboxes have
sent everything, then checks states, timelines and outboxes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from hub_server import cli, start, stop
from support import drop_postgres_schema, free_port, new_postgres_schema_engine, require_postgres

# One xdist worker sets the two hubs up once for all scenarios (`--dist loadgroup` in the Makefile).
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("two_hubs")]

T = TypeVar("T")

DK_NATIONAL = "DK-800010"  # Det Kgl. Bibliotek: mediates every loan from abroad
COPENHAGEN = "DK-710100"  # the borrowing library (demo user `kbh`)
DTU = "DK-820030"  # the foreign hub's lender (demo user `dtu` there)
FOREIGN = "DE-1"  # the foreign hub as the Danish hub's directory knows it
NEXT_ABROAD = "SE-KB"  # a second foreign library (no ISO 18626): the next lender after an Unfilled

LOAN_ISBN = "9788702173017"
COPY_ISBN = "9788702173024"
UNFILLED_ISBN = "9788702173031"

DEADLINE_SECONDS = 30.0
SRC = Path(__file__).resolve().parents[2] / "src"


def _marcxml(records: list[tuple[str, str, str]]) -> str:
    """A MARCXML collection of books: (record id, ISBN, title)."""
    body = "".join(
        f"""
  <record>
    <leader>00000nam a2200000 a 4500</leader>
    <controlfield tag="001">{record_id}</controlfield>
    <datafield tag="020" ind1=" " ind2=" "><subfield code="a">{isbn}</subfield></datafield>
    <datafield tag="100" ind1="1" ind2=" "><subfield code="a">Ærø, Åse</subfield></datafield>
    <datafield tag="245" ind1="1" ind2="0"><subfield code="a">{title}</subfield></datafield>
    <datafield tag="264" ind1=" " ind2="1">
      <subfield code="b">Verlag Übersee</subfield><subfield code="c">2019</subfield>
    </datafield>
  </record>"""
        for record_id, isbn, title in records
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="http://www.loc.gov/MARC21/slim">{body}\n</collection>\n'


BOOKS = [
    ("loan-1", LOAN_ISBN, "Fjernlån over grænsen"),
    ("copy-1", COPY_ISBN, "Kopien fra udlandet"),
    ("unfilled-1", UNFILLED_ISBN, "Bogen ingen kunne låne ud"),
]


# --------------------------------------------------------------------------------------------------
# A hub: its processes, its CLI and its REST API
# --------------------------------------------------------------------------------------------------


@dataclass
class Hub:
    """One fjernlaan: a database, a server process, a worker process, and API clients per user."""

    name: str
    folder: Path
    env: dict[str, str]
    port: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        """The hub's address on loopback."""
        return f"http://127.0.0.1:{self.port}"

    def serve(self) -> None:
        """Start `fjernlaan serve` on the hub's port."""
        self.start("serve", "--port", str(self.port), "--host", "127.0.0.1", "--no-access-log")

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run `fjernlaan ARGS` against this hub's database; its standard output."""
        result = subprocess.run(
            cli(*args),
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"{self.name}: fjernlaan {' '.join(args)}: {result.stderr}"
        return result.stdout

    def start(self, *args: str, env: dict[str, str] | None = None) -> None:
        """Start a long-running `fjernlaan ARGS` (its output goes to a log file in the hub's folder)."""
        log = self.folder / f"{args[0]}.log"
        self.logs.append(log)
        log.write_bytes(b"")
        self.processes.append(start({**self.env, **(env or {})}, log, *args))

    def stop(self) -> None:
        """Stop every process this hub started (terminate, then kill what does not stop)."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            stop(process)

    def log_tails(self) -> str:
        """The end of every process log, for a failure message."""
        parts = []
        for log in self.logs:
            text = log.read_text(errors="replace") if log.exists() else ""
            parts.append(f"--- {self.name} {log.name} ---\n{text[-3000:]}")
        return "\n".join(parts)

    def api(self, user: str) -> httpx.Client:
        """An HTTP client acting as a user of this hub (bearer token from `fjernlaan users token`)."""
        return httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {self.tokens[user]}"}, timeout=30
        )

    def get(self, path: str, **params: Any) -> Any:
        """GET as the national admin; the JSON answer."""
        with self.api("admin") as client:
            response = client.get(path, params=params)
        assert response.status_code == 200, f"{self.name} GET {path}: {response.text}"
        return response.json()

    def request(self, request_id: int) -> dict[str, Any]:
        """An ILL request as the national admin sees it (both sides, timeline)."""
        found: dict[str, Any] = self.get(f"/api/v1/requests/{request_id}")
        return found

    def outbox(self) -> list[dict[str, Any]]:
        """Every ISO 18626 message in the outbox, oldest first."""
        items: list[dict[str, Any]] = self.get("/api/v1/outbox", channel="iso18626", limit=1000)["items"]
        return sorted(items, key=lambda m: m["id"])

    def act(self, user: str, request_id: int, action: str, **body: Any) -> dict[str, Any]:
        """A staff action on a request through the REST API."""
        with self.api(user) as client:
            response = client.post(f"/api/v1/requests/{request_id}/actions/{action}", json=body or None)
        assert response.status_code == 200, f"{self.name} {action} on {request_id}: {response.text}"
        answer: dict[str, Any] = response.json()
        return answer


def _wait(
    hubs: tuple[Hub, ...], what: str, probe: Callable[[], T | None], seconds: float = DEADLINE_SECONDS
) -> T:
    """Poll `probe` until it returns something other than None (or fail after the deadline, showing
    the hubs' logs)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.1)
    tails = "\n".join(h.log_tails() for h in hubs)
    pytest.fail(f"waited {seconds:.0f} s for {what}\n{tails}")


def _in_parallel(*jobs: Callable[[], None]) -> None:
    """Run the hubs' setups at the same time (seeding and importing are the slow part); re-raise."""
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:  # handed to the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _wait_until_up(hubs: tuple[Hub, ...]) -> None:
    def all_healthy() -> bool | None:
        for hub in hubs:
            try:
                if httpx.get(f"{hub.base}/health", timeout=1).status_code != 200:
                    return None
            except httpx.HTTPError:
                return None
        return True

    # Starting a server imports the whole app: give a loaded machine longer than one step.
    _wait(hubs, "both hubs to answer /health", all_healthy, seconds=2 * DEADLINE_SECONDS)


@dataclass
class Network:
    """The two hubs, set up as each other's peers, with the catalogue ids of the test's books."""

    dk: Hub
    de: Hub
    dk_records: dict[str, int]
    card: str = "1234567890"

    @property
    def hubs(self) -> tuple[Hub, Hub]:
        """Both hubs."""
        return self.dk, self.de


def _record_ids(hub: Hub) -> dict[str, int]:
    ids: dict[str, int] = {}
    for _, isbn, _ in BOOKS:
        hits = hub.get("/api/v1/records", isbn=isbn)["items"]
        assert len(hits) == 1, f"{hub.name}: ISBN {isbn}: {hits}"
        ids[isbn] = int(hits[0]["id"])
    return ids


def _set_up_danish_hub(dk: Hub, de: Hub) -> None:
    """The demo network; the foreign hub as the foreign library DE-1 with its endpoint; the books."""
    foreign = dk.folder / "udland.json"
    foreign.write_text(
        json.dumps(
            [
                {
                    "isil": FOREIGN,
                    "name": "Staatsbibliothek zu Berlin (fjernlaan-hub)",
                    "type": "foreign",
                    "iso18626_endpoint": f"{de.base}/iso18626",
                    "iso18626_version": "2017",
                },
                {"isil": NEXT_ABROAD, "name": "Kungliga biblioteket", "type": "foreign"},
            ]
        ),
        encoding="utf-8",
    )
    dk.cli("libraries", "import", str(foreign))
    books = dk.folder / "bøger.xml"
    books.write_text(_marcxml(BOOKS), encoding="utf-8")
    dk.cli("catalogue", "import", str(books), "--library", FOREIGN)
    feed = dk.folder / "se-kb.csv"
    feed.write_text(
        f"isil,identifier,copies,available,circulating\n{NEXT_ABROAD},isbn:{UNFILLED_ISBN},1,1,true\n",
        encoding="utf-8",
    )
    dk.cli("holdings", "import", str(feed))
    dk.serve()


def _set_up_foreign_hub(de: Hub, seed_it: bool) -> None:
    """A second fjernlaan whose lender DTU holds the books; the Danish national library is a peer."""
    if seed_it:  # on PostgreSQL: its own demo network in a fresh schema
        de.cli("demo", "--records", "0")
        for user in ("admin", "dtu"):
            de.tokens[user] = de.cli("users", "token", user, "--label", "two-hub test").strip()
    books = de.folder / "bücher.xml"
    books.write_text(_marcxml(BOOKS), encoding="utf-8")
    de.cli("catalogue", "import", str(books), "--library", DTU)
    de.cli("peers", "set", DK_NATIONAL, "--account-id", "dk-kb", "--security-code", "hemmelig-kode-æøå")
    de.serve()


def _hub(tmp_path_factory: pytest.TempPathFactory, name: str, database_url: str | None = None) -> Hub:
    folder = tmp_path_factory.mktemp(f"hub-{name}")
    env = {
        **os.environ,
        "FJERNLAAN_DATABASE_URL": database_url or f"sqlite:///{folder / 'hub.db'}",
        "PYTHONPATH": str(SRC),
    }
    env.pop("FJERNLAAN_ISO18626_OUTBOUND_TOKEN", None)
    return Hub(name, folder, env, port=free_port())


def _copy_sqlite(source: Hub, target: Hub) -> None:
    for suffix in ("", "-wal"):  # a WAL left behind belongs to the copy too
        if (source.folder / f"hub.db{suffix}").exists():
            shutil.copyfile(source.folder / f"hub.db{suffix}", target.folder / f"hub.db{suffix}")
    target.tokens.update(source.tokens)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def network(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """Two hubs on loopback, each the other's ISO 18626 peer, with workers sending their outboxes.

    The Danish hub runs on SQLite; the foreign hub on SQLite, then on PostgreSQL (a fresh schema).
    """
    on_postgres = request.param == "postgresql"
    pg_url = require_postgres() if on_postgres else None
    schema = None
    de_url = None
    if pg_url is not None:
        engine, schema = new_postgres_schema_engine(pg_url)
        engine.dispose()
        de_url = f"{pg_url}{'&' if '?' in pg_url else '?'}options=-csearch_path%3D{schema}"
    seed, dk, de = (
        _hub(tmp_path_factory, "seed"),
        _hub(tmp_path_factory, "dk"),
        _hub(tmp_path_factory, "de", de_url),
    )
    # The hubs start from the demo network: seeded once and copied, which halves the setup (the
    # users' API tokens are therefore the same on SQLite hubs; nothing in the test relies on that).
    seed.cli("demo", "--records", "0")
    for user in ("admin", "kbh") if on_postgres else ("admin", "kbh", "dtu"):
        seed.tokens[user] = seed.cli("users", "token", user, "--label", "two-hub test").strip()
    _copy_sqlite(seed, dk)
    if not on_postgres:
        _copy_sqlite(seed, de)
    both = (dk, de)
    try:
        _in_parallel(lambda: _set_up_danish_hub(dk, de), lambda: _set_up_foreign_hub(de, on_postgres))
        _wait_until_up(both)

        # The Danish hub's national admin makes DE-1 a peer and gives it a token (REST API).
        with dk.api("admin") as admin:
            peer = admin.put(
                f"/api/v1/libraries/{FOREIGN}/iso18626-peer",
                json={"account_id": "de-1", "security_code": "sikker-kode-fra-berlin"},
            )
            assert peer.status_code == 200, peer.text
            assert peer.json()["endpoint"] == f"{de.base}/iso18626"
            issued = admin.post(f"/api/v1/libraries/{FOREIGN}/iso18626-peer/token")
            assert issued.status_code == 201, issued.text
            token_for_de = issued.json()["token"]
        # The foreign hub's admin gives the Danish national library its endpoint (REST) and a token (CLI).
        with de.api("admin") as admin:
            patched = admin.patch(
                f"/api/v1/libraries/{DK_NATIONAL}", json={"iso18626_endpoint": f"{dk.base}/iso18626"}
            )
            assert patched.status_code == 200, patched.text
        token_for_dk = de.cli("peers", "token", DK_NATIONAL).strip()

        # Each hub stores the token the other issued for it, per peer: the Danish one through the API,
        # the foreign one through the CLI. The workers present them; no hub-wide token is set.
        with dk.api("admin") as admin:
            stored = admin.put(
                f"/api/v1/libraries/{FOREIGN}/iso18626-peer", json={"outbound_token": token_for_dk}
            )
            assert stored.json()["has_outbound_token"] is True, stored.text
        de.cli("peers", "outbound-token", DK_NATIONAL, stdin=f"{token_for_de}\n")
        dk.start("worker", "--interval", "0.5")
        de.start("worker", "--interval", "0.5")

        with dk.api("kbh") as kbh:
            patron = kbh.post(
                "/api/v1/patrons",
                json={"card_number": "1234567890", "name": "Åse Ærø", "home_library": COPENHAGEN},
            )
            assert patron.status_code == 201, patron.text
        yield Network(dk, de, _record_ids(dk))
    finally:
        for hub in both:
            hub.stop()
        if pg_url is not None and schema is not None:
            drop_postgres_schema(pg_url, schema)


# --------------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------------


def _settled(network: Network, sent: dict[str, int]) -> Callable[[], bool | None]:
    """True once each hub's outbox has sent (at least) the given number of ISO 18626 messages and has
    none waiting; a failed message fails the test at once."""

    def probe() -> bool | None:
        for hub in network.hubs:
            messages = hub.outbox()
            failed = [m for m in messages if m["status"] == "failed"]
            assert not failed, f"{hub.name}: failed outbox messages {failed}"
            if any(m["status"] == "pending" for m in messages):
                return None
            if sum(m["status"] == "sent" for m in messages) < sent[hub.name]:
                return None
        return True

    return probe


def _outbox_summaries(hub: Hub, after: int = 0) -> list[str]:
    return [m["summary"] for m in hub.outbox()[after:]]


def _foreign_request_of(network: Network, dk_id: int, position: int = 0) -> int:
    """The foreign hub's request for our attempt (its requester: the Danish national library)."""

    def probe() -> int | None:
        items = network.de.get("/api/v1/requests", library=DK_NATIONAL, side="requester")["items"]
        for item in items:
            found = network.de.request(item["id"])
            place = found["events"][0]
            if place["action"] == "place" and f"their id {dk_id}-{position}" in (place["reason"] or ""):
                return int(item["id"])
        return None

    return _wait(network.hubs, f"the foreign hub to have our request {dk_id}-{position}", probe)


def _until(network: Network, what: str, check: Callable[[], bool]) -> None:
    _wait(network.hubs, what, lambda: True if check() else None)


def _actions(request: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The timeline as (side, action, role)."""
    return [(e["side"], e["action"], e["by_role"]) for e in request["events"]]


def _place(network: Network, isbn: str, service_type: str = "Loan") -> dict[str, Any]:
    with network.dk.api("kbh") as kbh:
        response = kbh.post(
            "/api/v1/requests",
            json={
                "record_id": network.dk_records[isbn],
                "card_number": network.card,
                "service_type": service_type,
            },
        )
    assert response.status_code == 201, response.text
    placed: dict[str, Any] = response.json()
    return placed


# --------------------------------------------------------------------------------------------------
# The scenarios
# --------------------------------------------------------------------------------------------------


def test_a_loan_from_abroad_from_request_to_completed(network: Network) -> None:
    dk, de = network.dk, network.de
    sent = {"dk": len(dk.outbox()), "de": len(de.outbox())}

    # Copenhagen asks; the rota goes abroad through the national library, and the request leaves.
    placed = _place(network, LOAN_ISBN)
    d = placed["id"]
    assert placed["state"] == "sent"
    assert placed["current_lender_isil"] == FOREIGN
    assert placed["rota"][0]["via_isil"] == DK_NATIONAL
    f = _foreign_request_of(network, d)
    sent["dk"] += 1
    _wait(network.hubs, "the request to be sent", _settled(network, sent))
    assert _outbox_summaries(dk, sent["dk"] - 1) == [f"request {d}-0 to {FOREIGN}"]
    theirs = de.request(f)
    assert (theirs["state"], theirs["requester_isil"], theirs["patron"]) == ("sent", DK_NATIONAL, None)
    assert theirs["current_lender_isil"] == DTU and theirs["current_attempt_state"] == "received"
    assert theirs["title"] == "Fjernlån over grænsen"

    # Will supply (the foreign lender) → ExpectToSupply → our attempt.
    de.act("dtu", f, "will_supply")
    sent["de"] += 1
    _until(network, "will supply to arrive", lambda: dk.request(d)["current_attempt_state"] == "will_supply")
    _wait(network.hubs, "will supply to be sent", _settled(network, sent))
    ours = dk.request(d)
    assert ours["state"] == "expects_to_supply"
    assert ("supplier", "will_supply", "peer") in _actions(ours)

    # Shipped (Loaned) with the foreign lender's due date.
    shipped = de.act("dtu", f, "ship")
    sent["de"] += 1
    _until(network, "Loaned to arrive", lambda: dk.request(d)["state"] == "shipped")
    _wait(network.hubs, "Loaned to be sent", _settled(network, sent))
    ours = dk.request(d)
    assert ours["current_attempt_state"] == "shipped"
    assert ours["due_date"] == shipped["due_date"]

    # Received here → Received there (the peer's patron has it: checked out on the foreign hub).
    network.dk.act("kbh", d, "receive")
    sent["dk"] += 1
    _until(network, "Received to arrive", lambda: de.request(f)["state"] == "checked_out")
    _wait(network.hubs, "Received to be sent", _settled(network, sent))
    assert dk.request(d)["state"] == "received"
    network.dk.act("kbh", d, "check_out")

    # Renew: asked here, granted there.
    network.dk.act("kbh", d, "request_renewal")
    sent["dk"] += 1
    _until(network, "Renew to arrive", lambda: de.request(f)["state"] == "renew_pending")
    _wait(network.hubs, "Renew to be sent", _settled(network, sent))
    granted = de.act("dtu", f, "grant_renewal")
    sent["de"] += 1
    _until(network, "the renewal to be granted here", lambda: dk.request(d)["renewals_used"] == 1)
    _wait(network.hubs, "RenewResponse to be sent", _settled(network, sent))
    ours, theirs = dk.request(d), de.request(f)
    assert ours["state"] == theirs["state"] == "checked_out"
    assert ours["due_date"] == theirs["due_date"] == granted["due_date"] != shipped["due_date"]

    # Returned by the patron and shipped back → ShippedReturn.
    network.dk.act("kbh", d, "return_by_patron")
    network.dk.act("kbh", d, "ship_return")
    sent["dk"] += 1
    _until(network, "ShippedReturn to arrive", lambda: de.request(f)["state"] == "return_shipped")
    _wait(network.hubs, "ShippedReturn to be sent", _settled(network, sent))
    assert dk.request(d)["state"] == "return_shipped"

    # The foreign lender has it back → LoanCompleted → completed on both hubs.
    de.act("dtu", f, "confirm_return")
    sent["de"] += 1
    _until(network, "LoanCompleted to arrive", lambda: dk.request(d)["state"] == "completed")
    _wait(network.hubs, "LoanCompleted to be sent", _settled(network, sent))
    ours, theirs = dk.request(d), de.request(f)
    assert ours["attempts"][-1]["state"] == theirs["attempts"][-1]["state"] == "completed"
    assert theirs["state"] == "completed"
    # What the foreign hub did arrived here as the peer's actions (a renewal is a requester-side step).
    by_peer = [a[1] for a in _actions(ours) if a[2] == "peer"]
    assert list(dict.fromkeys(by_peer)) == ["will_supply", "ship", "grant_renewal", "confirm_return"]
    assert _outbox_summaries(dk, len(dk.outbox()) - 3) == [
        f"requestingAgencyMessage Received {d}-0 to {FOREIGN}",
        f"requestingAgencyMessage Renew {d}-0 to {FOREIGN}",
        f"requestingAgencyMessage ShippedReturn {d}-0 to {FOREIGN}",
    ]
    assert _outbox_summaries(de, len(de.outbox()) - 4) == [
        f"supplyingAgencyMessage {status} {d}-0 to {DK_NATIONAL}"
        for status in ("ExpectToSupply", "Loaned", "Loaned", "LoanCompleted")
    ]


def test_a_copy_from_abroad_is_delivered(network: Network) -> None:
    dk, de = network.dk, network.de
    sent = {"dk": len(dk.outbox()) + 1, "de": len(de.outbox())}

    placed = _place(network, COPY_ISBN, "Copy")
    d = placed["id"]
    f = _foreign_request_of(network, d)
    _wait(network.hubs, "the copy request to be sent", _settled(network, sent))
    theirs = de.request(f)
    assert (theirs["service_type"], theirs["current_lender_isil"]) == ("Copy", DTU)

    # The foreign lender sends the copy → CopyCompleted → on its way here.
    de.act("dtu", f, "deliver_copy")
    sent["de"] += 1
    _until(network, "CopyCompleted to arrive", lambda: dk.request(d)["state"] == "shipped")
    _wait(network.hubs, "CopyCompleted to be sent", _settled(network, sent))
    ours, theirs = dk.request(d), de.request(f)
    assert ours["attempts"][-1]["state"] == theirs["attempts"][-1]["state"] == "copy_completed"
    assert ("supplier", "deliver_copy", "peer") in _actions(ours)

    # Copenhagen has the copy: delivered here; the foreign hub hears Received, which ends its request.
    dk.act("kbh", d, "receive")
    sent["dk"] += 1
    _until(network, "Received to arrive", lambda: de.request(f)["state"] == "completed")
    _wait(network.hubs, "Received to be sent", _settled(network, sent))
    ours = dk.request(d)
    assert (ours["state"], ours["delivered_as"]) == ("delivered", "Copy")
    assert _outbox_summaries(de, len(de.outbox()) - 1) == [
        f"supplyingAgencyMessage CopyCompleted {d}-0 to {DK_NATIONAL}"
    ]
    assert _outbox_summaries(dk, len(dk.outbox()) - 2) == [
        f"request {d}-0 to {FOREIGN}",
        f"requestingAgencyMessage Received {d}-0 to {FOREIGN}",
    ]


def test_unfilled_abroad_moves_on_to_the_next_lender(network: Network) -> None:
    dk, de = network.dk, network.de
    sent = {"dk": len(dk.outbox()) + 1, "de": len(de.outbox())}

    placed = _place(network, UNFILLED_ISBN)
    d = placed["id"]
    assert [(e["isil"], e["via_isil"]) for e in placed["rota"]] == [
        (FOREIGN, DK_NATIONAL),
        (NEXT_ABROAD, DK_NATIONAL),
    ]
    f = _foreign_request_of(network, d)
    _wait(network.hubs, "the request to be sent", _settled(network, sent))

    # The foreign hub's only lender cannot: its rota ends, and we hear Unfilled.
    de.act("dtu", f, "unfilled", reason="Bogen er bortkommet")
    sent["de"] += 1
    _until(network, "Unfilled to arrive", lambda: dk.request(d)["current_lender_isil"] == NEXT_ABROAD)
    _wait(network.hubs, "Unfilled to be sent", _settled(network, sent))
    ours, theirs = dk.request(d), de.request(f)
    assert theirs["state"] == "end_of_rota"
    assert ours["state"] == "sent"
    assert [(a["isil"], a["state"]) for a in ours["attempts"]] == [
        (FOREIGN, "unfilled"),
        (NEXT_ABROAD, "received"),
    ]
    unfilled = next(e for e in ours["events"] if e["action"] == "unfilled")
    assert unfilled["by_role"] == "peer"
    assert f"Unfilled at {FOREIGN}" in unfilled["reason"]
    assert _outbox_summaries(de, len(de.outbox()) - 1) == [
        f"supplyingAgencyMessage Unfilled {d}-0 to {DK_NATIONAL}"
    ]
    # SE-KB speaks no ISO 18626: nothing more left the Danish hub.
    assert _outbox_summaries(dk, len(dk.outbox()) - 1) == [f"request {d}-0 to {FOREIGN}"]
