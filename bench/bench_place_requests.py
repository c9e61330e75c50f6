"""Placing requests through the HTTP API with 20 concurrent clients (SQLite; PostgreSQL when
FJERNLAAN_BENCH_POSTGRES_URL is set): requests per second, p50 and p99.

The server runs as docs/usage.md recommends: `fjernlaan serve --workers N` with one process per CPU
core (FJERNLAAN_BENCH_WORKERS overrides N), access log off. The load: 20 keep-alive connections, each
posting the next placement when the last answer arrived, for FJERNLAAN_BENCH_SECONDS (10) after a
2 s warm-up; every answer must be a 201 with the request sent to a lender, or the run fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from bench.databases import postgres_schema
from bench.hub_process import free_port, process_tree_cpu_seconds, serve
from fjernlaan.accounts.service import PatronIn, add_patron, issue_token
from fjernlaan.app.demo import seed_demo
from fjernlaan.app.migrate import upgrade
from fjernlaan.catalogue.model import Holding, Record
from fjernlaan.catalogue.service import upsert_record
from fjernlaan.clock import SYSTEM_CLOCK
from fjernlaan.db.engine import make_engine
from fjernlaan.db.uow import Database

CLIENTS = 20
WARMUP_SECONDS = 2.0
SECONDS = float(os.environ.get("FJERNLAAN_BENCH_SECONDS", "10"))
WORKERS = int(os.environ.get("FJERNLAAN_BENCH_WORKERS", str(os.cpu_count() or 1)))
T = TypeVar("T")
HOLDERS = ("DK-714700", "DK-715100", "DK-715300", "DK-715700", "DK-800010")


def _prepare(url: str) -> tuple[str, int, int]:
    db = Database(make_engine(url))
    upgrade(db.engine)
    with db.unit_of_work() as session:
        seed_demo(session, SYSTEM_CLOCK)
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


async def _post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    """Send one placement on a keep-alive HTTP/1.1 connection; its answer's status and body.

    A raw asyncio client rather than httpx: twenty httpx clients in threads cost about 1 ms of CPU
    per request on the same two cores as the server, so the load generator took a share of what it
    measured. This writes the request bytes and reads the status line, the headers and
    `Content-Length` bytes of body (uvicorn answers a JSON body with that header).
    """
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:
        raise RuntimeError(f"answer without Content-Length: {head[:200]!r}")
    return status, await reader.readexactly(length)


async def _load(
    port: int, request: bytes, start_at: float, stop_at: float
) -> tuple[list[float], list[str], int]:
    latencies: list[float] = []
    errors: list[str] = []
    answered = 0  # every answer, warm-up included, for the CPU per request

    async def one_client() -> None:
        nonlocal answered
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while (now := time.perf_counter()) < stop_at:
                try:
                    status, body = await _post(reader, writer, request)
                except (OSError, asyncio.IncompleteReadError, ValueError, RuntimeError) as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    return
                took = time.perf_counter() - now
                answered += 1
                if now >= start_at:
                    # Every answer counts: a 201 with the request sent to its first lender.
                    latencies.append(took)
                    if status != 201 or b'"state":"sent"' not in body:
                        errors.append(f"{status} {body[:300]!r}")
        finally:
            writer.close()

    await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
    return latencies, errors, answered


def _run(label: str, url: str) -> None:
    token, record_id, patron_id = _prepare(url)
    port = free_port()
    server = serve(url, port, WORKERS)
    body = json.dumps({"record_id": record_id, "patron_id": patron_id}).encode()
    request = (
        f"POST /api/v1/requests HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    load_average = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    start_at = time.perf_counter() + WARMUP_SECONDS
    stop_at = start_at + SECONDS
    cpu_before = process_tree_cpu_seconds(server.pid)
    client_cpu_before = time.process_time()
    try:
        latencies, errors, answered = _event_loop_run(_load(port, request, start_at, stop_at))
        cpu_after = process_tree_cpu_seconds(server.pid)
    finally:
        client_cpu = time.process_time() - client_cpu_before
        server.terminate()
        server.wait(timeout=30)
    if not latencies:
        raise RuntimeError(f"{label}: no answers; errors: {errors[:3]}")
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    print(
        f"{label}: {len(ordered) / SECONDS:.0f} requests/s over {SECONDS:.0f} s with {CLIENTS} clients, "
        f"{WORKERS} server processes; "
        f"p50 {p50:.0f} ms, p99 {p99:.0f} ms; errors {len(errors)} (target ≥ 200/s, p99 < 250 ms)"
    )
    if cpu_before is not None and cpu_after is not None and answered:
        per_request = (cpu_after - cpu_before) / answered * 1000
        cores = os.cpu_count() or 1
        # Other work on the machine takes CPU from the server; the CPU each request costs does not
        # depend on it, and bounds what the server processes could do with every core to themselves.
        print(
            f"{label}: server CPU {per_request:.1f} ms per request (fjernlaan processes; the database "
            f"server's own CPU not counted), load generator {client_cpu / answered * 1000:.2f} ms → "
            f"at most {cores * 1000 / per_request:.0f} requests/s on {cores} idle cores; "
            f"load average at start {load_average:.1f}"
        )
    if errors:
        raise RuntimeError(f"{label}: {len(errors)} failed answers, the first: {errors[0]}")


def _event_loop_run(work: Coroutine[Any, Any, T]) -> T:
    # uvloop (installed with uvicorn[standard]) keeps the load generator's own CPU low.
    try:
        import uvloop
    except ImportError:
        return asyncio.run(work)
    return uvloop.run(work)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _run("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}")
    pg = os.environ.get("FJERNLAAN_BENCH_POSTGRES_URL")
    if not pg:
        print("PostgreSQL: skipped (set FJERNLAAN_BENCH_POSTGRES_URL)")
        return
    with postgres_schema(pg) as url:
        _run("PostgreSQL", url)


if __name__ == "__main__":
    main()
