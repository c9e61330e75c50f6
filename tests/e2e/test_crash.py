"""A SIGKILL mid-load (issue 12): `fjernlaan serve` and `fjernlaan worker` are killed while clients
place requests and give them up (each give-up queues an e-mail to the patron). After a restart: every
write the server acknowledged is there, the outbox delivers every e-mail to a real SMTP server (at
most the one message the killed worker had in flight goes twice), and every request is in a state with
a next step. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from fjernlaan.db.engine import make_engine
from fjernlaan.db.outbox import OutboxMessage
from hub_server import run_cli, start, wait_healthy
from support import BACKENDS, RecordingSmtpHandler, drop_postgres_schema, free_port, require_postgres

pytestmark = pytest.mark.e2e
CLIENTS = 3
KILL_AFTER = 12  # acknowledged give-ups before the kill (the load goes on while it happens)
# Where a request may be after the load: each has a next step (or is finished and its patron told).
NEXT_STEP = {"sourcing": "send", "end_of_rota": "give_up", "unfilled": None}


@dataclass
class Load:
    """What the server acknowledged (2xx) while it lived."""

    placed: dict[int, str] = field(default_factory=dict)  # request id → title
    given_up: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    url = require_postgres()
    schema = f"crash_{os.getpid()}_{free_port()}"
    admin = make_engine(url, null_pool=True)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    admin.dispose()
    separator = "&" if "?" in url else "?"
    yield f"{url}{separator}options=-csearch_path%3D{schema}"
    drop_postgres_schema(url, schema)


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    # A session of its own, so the kill reaches every process it starts.
    return start(env, log, *args, new_session=True)


def _kill(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def _wait_healthy(base: str, log: Path) -> None:
    wait_healthy(base, log, seconds=90)


def _client(base: str, headers: dict[str, str], load: Load, number: int) -> None:
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        for n in range(10_000):
            if load.stop.is_set():
                return
            title = f"Æbler og æg [{number}-{n}]"
            try:
                placed = http.post(
                    "/api/v1/requests", json={"citation": {"title": title}, "card_number": "CRASH-1"}
                )
                if placed.status_code != 201:
                    return
                request_id = int(placed.json()["id"])
                with load.lock:
                    load.placed[request_id] = title
                if http.post(f"/api/v1/requests/{request_id}/actions/send", json={}).status_code != 200:
                    return
                gave_up = http.post(
                    f"/api/v1/requests/{request_id}/actions/give_up", json={"reason": "Ingen långivere"}
                )
                if gave_up.status_code != 200:
                    return
                with load.lock:
                    load.given_up.add(request_id)
            except httpx.HTTPError:  # the server died under us: what it acknowledged is recorded
                return


def test_a_sigkill_mid_load_loses_no_acknowledged_write_and_no_mail(
    database_url: str, tmp_path: Path
) -> None:
    from aiosmtpd.controller import Controller

    smtp = RecordingSmtpHandler()
    smtp_port = free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "FJERNLAAN_DATABASE_URL": database_url,
        "FJERNLAAN_PORT": str(port),
        "FJERNLAAN_HOST": "127.0.0.1",
        "FJERNLAAN_SMTP_HOST": "127.0.0.1",
        "FJERNLAAN_SMTP_PORT": str(smtp_port),
        "FJERNLAAN_SECRET_KEY": "crash-test-secret",
    }
    log = tmp_path / "processes.log"
    server: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    try:
        run_cli(env, "db", "upgrade")
        # No demo requests: the load's requests are the only ones, each in a state the test knows.
        run_cli(env, "demo", "--records", "0", "--no-requests")
        token = run_cli(env, "users", "token", "kbh").strip()
        headers = {"Authorization": f"Bearer {token}"}
        server = _start(["serve"], env, log)
        _wait_healthy(base, log)
        patron = {
            "card_number": "CRASH-1",
            "name": "Søren Ærø",
            "email": "soren@example.dk",
            "category": "adult",
            "home_library": "DK-710100",
        }
        assert httpx.post(f"{base}/api/v1/patrons", json=patron, headers=headers).status_code == 201
        worker = _start(["worker", "--interval", "0.2"], env, log)

        load = Load()
        clients = [threading.Thread(target=_client, args=(base, headers, load, n)) for n in range(CLIENTS)]
        for thread in clients:
            thread.start()
        for _ in range(3000):
            with load.lock:
                if len(load.given_up) >= KILL_AFTER:
                    break
            time.sleep(0.05)
        _kill(server)  # mid-load: the clients are still posting
        _kill(worker)
        load.stop.set()
        for thread in clients:
            thread.join(timeout=60)
        assert len(load.given_up) >= KILL_AFTER, log.read_text(errors="replace")[-2000:]

        # Restart; the worker drains the outbox. A killed worker's claim lasts its lease, so the passes
        # run at the moment every claim and backoff has passed (read from the outbox itself).
        server = _start(["serve"], env, log)
        _wait_healthy(base, log)
        engine = make_engine(database_url)
        try:
            for _ in range(6):
                with engine.connect() as connection:
                    pending = connection.execute(
                        select(
                            func.count(),
                            func.max(OutboxMessage.next_attempt_at),
                            func.max(OutboxMessage.claimed_until),
                        ).where(OutboxMessage.status == "pending")
                    ).one()
                if pending[0] == 0:
                    break
                moments = [m for m in pending[1:] if m is not None]
                when = (max(moments) + timedelta(seconds=1)).isoformat()
                run_cli(env, "worker", "--once", "--now", when)
            with engine.connect() as connection:
                statuses = dict(
                    connection.execute(
                        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                    ).all()
                )
        finally:
            engine.dispose()
        assert statuses.get("pending", 0) == 0 and statuses.get("failed", 0) == 0, statuses

        # Every acknowledged write is there; every request has a next step or is finished.
        states: dict[int, str] = {}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            for request_id in sorted(load.placed):
                answer = http.get(f"/api/v1/requests/{request_id}")
                assert answer.status_code == 200, (request_id, answer.text)
                states[request_id] = answer.json()["state"]
                assert answer.json()["title"] == load.placed[request_id]  # æøå intact
            listed = http.get("/api/v1/requests", params={"limit": 1000}).json()
        for request_id in load.given_up:
            assert states[request_id] == "unfilled"
        assert all(state in NEXT_STEP for state in states.values()), states
        unfilled = {rid for rid, state in states.items() if state == "unfilled"}
        for item in listed["items"]:  # requests placed but not acknowledged are whole too
            assert item["state"] in NEXT_STEP, item

        # One unfilled notice per unfilled request and one confirmation per acknowledged request
        # reached the SMTP server; at most the one message in flight when the worker died went twice
        # (SMTP has no way to take back a message it accepted).
        def subjects(prefix: str) -> list[str]:
            return [str(m["Subject"]) for m in smtp.messages if str(m["Subject"]).startswith(prefix)]

        unfilled_notices = subjects("Vi kunne ikke skaffe: ")
        confirmations = subjects("Vi har modtaget din bestilling: ")
        sent_per_request = {
            rid: sum(1 for subject in unfilled_notices if subject.endswith(load.placed.get(rid, f"#{rid}")))
            for rid in unfilled
        }
        confirmed_per_request = {
            rid: sum(1 for subject in confirmations if subject.endswith(title))
            for rid, title in load.placed.items()
        }
        assert all(count >= 1 for count in sent_per_request.values()), sent_per_request
        assert all(count >= 1 for count in confirmed_per_request.values()), confirmed_per_request
        twice = sum(sent_per_request.values()) - len(unfilled)
        twice += sum(confirmed_per_request.values()) - len(load.placed)
        assert twice <= 1, (sent_per_request, confirmed_per_request)
    finally:
        for process in (server, worker):
            if process is not None and process.poll() is None:
                _kill(process)
        controller.stop()
