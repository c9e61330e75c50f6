"""Placing requests through the HTTP API with 20 concurrent clients (SQLite; PostgreSQL when
FJERNLAAN_BENCH_POSTGRES_URL is set): requests per second, p50 and p99.

The server runs as docs/usage.md recommends: `fjernlaan serve --workers N` with one process per CPU
core (FJERNLAAN_BENCH_WORKERS overrides N), access log off.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import text

from fjernlaan.accounts.service import PatronIn, add_patron, issue_token
from fjernlaan.catalogue.model import Holding, Record
from fjernlaan.catalogue.service import upsert_record
from fjernlaan.db.engine import make_engine
from fjernlaan.db.migrate import upgrade
from fjernlaan.db.uow import Database
from fjernlaan.demo import seed_demo

CLIENTS = 20
WARMUP_SECONDS = 2.0
SECONDS = float(os.environ.get("FJERNLAAN_BENCH_SECONDS", "10"))
WORKERS = int(os.environ.get("FJERNLAAN_BENCH_WORKERS", str(os.cpu_count() or 1)))
HOLDERS = ("DK-714700", "DK-715100", "DK-715300", "DK-715700", "DK-800010")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prepare(url: str) -> tuple[str, int, int]:
    db = Database(make_engine(url))
    upgrade(db.engine)
    with db.unit_of_work() as session:
        seed_demo(session)
        pk = upsert_record(
            session, Record(record_id="bench-1", title="Æbler på Åen"), [Holding(i) for i in HOLDERS]
        ).record_pk
        patron = add_patron(
            session, PatronIn(card_number="bench-1", name="Søren Ærø", home_library="DK-710100")
        )
        token = issue_token(session, "kbh", "bench")
        ids = (pk, patron.id)
    db.dispose()
    return token, ids[0], ids[1]


def _serve(url: str, port: int) -> subprocess.Popen[bytes]:
    # `fjernlaan serve` from this checkout's sources (the installed entry point may be another copy).
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "FJERNLAAN_DATABASE_URL": url, "PYTHONPATH": src}
    command = [
        *(sys.executable, "-m", "fjernlaan.cli", "serve", "--port", str(port)),
        *("--workers", str(WORKERS), "--no-access-log"),
    ]
    log = open(Path(tempfile.gettempdir()) / f"fjernlaan-bench-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.terminate()
    raise RuntimeError("fjernlaan serve did not come up")


def _process_tree_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process and its children (Linux /proc; None elsewhere)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        total = 0.0
        for each in [pid, *map(int, children)]:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total
    except (OSError, ValueError, AttributeError):
        return None


def _run(label: str, url: str) -> None:
    token, record_id, patron_id = _prepare(url)
    port = _port()
    server = _serve(url, port)
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    start_at = time.perf_counter() + WARMUP_SECONDS
    stop_at = start_at + SECONDS
    body = {"record_id": record_id, "patron_id": patron_id}
    answered = [0]  # every answer, warm-up included, for the CPU per request

    def client() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as http:
            while (now := time.perf_counter()) < stop_at:
                response = http.post("/api/v1/requests", json=body)
                took = time.perf_counter() - now
                with lock:
                    answered[0] += 1
                if now >= start_at:
                    with lock:
                        latencies.append(took)
                        if response.status_code != 201:
                            errors.append(response.status_code)
                            if len(errors) == 1:
                                print(f"first error: {response.status_code} {response.text[:300]}")

    load_average = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cpu_before = _process_tree_cpu_seconds(server.pid)
    try:
        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cpu_after = _process_tree_cpu_seconds(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    print(
        f"{label}: {len(ordered) / SECONDS:.0f} requests/s over {SECONDS:.0f} s with {CLIENTS} clients, "
        f"{WORKERS} server processes; "
        f"p50 {p50:.0f} ms, p99 {p99:.0f} ms; errors {len(errors)} (target ≥ 200/s, p99 < 250 ms)"
    )
    if cpu_before is not None and cpu_after is not None and answered[0]:
        per_request = (cpu_after - cpu_before) / answered[0] * 1000
        cores = os.cpu_count() or 1
        # Other work on the machine takes CPU from the server; the CPU each request costs does not
        # depend on it, and bounds what the server processes could do with every core to themselves.
        print(
            f"{label}: server CPU {per_request:.1f} ms per request (fjernlaan processes; the database "
            f"server's own CPU not counted) → at most {cores * 1000 / per_request:.0f} requests/s on "
            f"{cores} idle cores; load average at start {load_average:.1f}"
        )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _run("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}")
    pg = os.environ.get("FJERNLAAN_BENCH_POSTGRES_URL")
    if not pg:
        print("PostgreSQL: skipped (set FJERNLAAN_BENCH_POSTGRES_URL)")
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(pg, null_pool=True)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in pg else "?"
    try:
        _run("PostgreSQL", f"{pg}{separator}options={quote(f'-csearch_path={schema}')}")
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
