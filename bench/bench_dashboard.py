"""The staff dashboard and queue pages of a library with 10,000 open requests across its queues, served
by `fjernlaan serve` (SQLite; PostgreSQL too when FJERNLAAN_BENCH_POSTGRES_URL is set): p50 and p95 of
each page, beside the bare count query measured in the same run.

The data: København (DK-710100) borrows half of its 10,000 open requests and lends the other half,
spread over every queue of `lending.queues`; 20,000 requests of other libraries sit beside them, so
the queries must find the library's rows, not read the table. The load: one logged-in browser (the
session cookie) asking for each page in turn, FJERNLAAN_BENCH_ROUNDS (30) times after a warm-up; every
answer must be a 200 with the page's heading. The bare query is `lending.work.queue_summary` in this
process, on the same database. `--quick`: 1,000 open requests and 10 rounds.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import httpx
from sqlalchemy import Table, insert, text

from bench.databases import postgres_schema
from bench.hub_process import free_port, serve
from fjernlaan.accounts.service import authenticate
from fjernlaan.app.areas import install_areas
from fjernlaan.app.demo import seed_demo
from fjernlaan.app.migrate import upgrade
from fjernlaan.clock import SYSTEM_CLOCK
from fjernlaan.db.engine import make_engine
from fjernlaan.db.uow import Database
from fjernlaan.lending import work
from fjernlaan.lending.queues import QUEUES, Party
from fjernlaan.lending.store import RequestRow

QUICK = os.environ.get("FJERNLAAN_BENCH_QUICK") == "1"
OPEN = 1_000 if QUICK else 10_000
OTHERS = 2 * OPEN
ROUNDS = int(os.environ.get("FJERNLAAN_BENCH_ROUNDS", "10" if QUICK else "30"))
WORKERS = int(os.environ.get("FJERNLAAN_BENCH_WORKERS", str(os.cpu_count() or 1)))
LIBRARY = "DK-710100"  # the demo user `kbh`
PARTNERS = ("DK-714700", "DK-715100", "DK-715300", "DK-715700", "DK-800010", "DK-775100", "DK-746100")
PAGES = (
    ("/staff", "<h1>"),
    ("/staff/queues/to_answer", "<table"),
    ("/staff/queues/on_loan?sort=title&dir=desc&page=3", "<table"),
    ("/staff/queues/in_transit?f_title=%C3%86bler", "<table"),
)


def _rows(count: int, library: str | None, start: int) -> list[dict[str, Any]]:
    """`count` open requests spread over the queues; `library` borrows or lends each (None: others)."""
    now = SYSTEM_CLOCK.now()
    today = now.date()
    rows = []
    for n in range(count):
        queue = QUEUES[n % len(QUEUES)]
        partner = PARTNERS[n % len(PARTNERS)]
        mine = library or PARTNERS[(n + 1) % len(PARTNERS)]
        requester, lender = (mine, partner) if queue.party is Party.REQUESTER else (partner, mine)
        if library is None:
            requester, lender = PARTNERS[n % 3], PARTNERS[3 + n % 4]
        state = sorted(queue.states)[n % len(queue.states)]
        rows.append(
            {
                "version": 1,
                "state": state.value,
                "service_type": "Loan",
                "delivered_as": None,
                "requester_isil": requester,
                "pickup_isil": requester,
                "patron_id": None,
                "patron_category": "adult",
                "placed_by": "requester_staff",
                "record_pk": None,
                "title": f"Æbler på Åen, bind {start + n}",
                "citation": {},
                "needs_sourcing": False,
                "principles_version": "dk-2012",
                "position": 0,
                "current_lender_isil": lender,
                "renewals_used": 0,
                "need_before": today + timedelta(days=30 + n % 60),
                "pickup_window_days": 14,
                "answer_due": today + timedelta(days=n % 5),
                "due_date": today + timedelta(days=n % 42),
                "pickup_due": today + timedelta(days=n % 14),
                "next_reminder_on": None,
                "reminders_sent": 0,
                "next_deadline": today + timedelta(days=n % 5),
                "attention": None,
                "replacement_charge_dkk": None,
                "pull_slip_printed_at": now if (n // len(QUEUES)) % 2 else None,
                "created_at": now - timedelta(minutes=n),
                "updated_at": now - timedelta(minutes=n),
                "ended_at": None,
            }
        )
    return rows


def _prepare(url: str) -> Database:
    db = Database(make_engine(url))
    upgrade(db.engine)
    table = cast(Table, RequestRow.__table__)
    with db.unit_of_work() as session:
        seed_demo(session, SYSTEM_CLOCK)
    with db.engine.begin() as connection:
        for start in range(0, OPEN, 5_000):
            connection.execute(insert(table), _rows(min(5_000, OPEN - start), LIBRARY, start))
        for start in range(0, OTHERS, 5_000):
            connection.execute(insert(table), _rows(min(5_000, OTHERS - start), None, OPEN + start))
    # PostgreSQL's steady state: statistics gathered and the visibility map set, as autovacuum keeps
    # them on a running hub, so index-only scans are index-only (a fresh bulk load has neither).
    # SQLite is left as the hub runs it: no ANALYZE.
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE ill_requests"))
    return db


def _login(client: httpx.Client) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    answer = client.post(
        "/login", data={"username": "kbh", "password": "fjernlaan-kbh", "csrf_token": token.group(1)}
    )
    if answer.status_code != 303:
        raise RuntimeError(f"login failed: {answer.status_code}")


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def _run(label: str, url: str) -> None:
    install_areas()  # the other areas' counts join the query, as in the server
    db = _prepare(url)
    with db.unit_of_work() as session:
        principal = authenticate(session, "kbh", "fjernlaan-kbh")
        counts = work.queue_counts(session, principal)
    total = sum(counts[q.key] for q in QUEUES)
    if total != OPEN:
        raise RuntimeError(f"the queues hold {total} requests, expected {OPEN}")
    port = free_port()
    server = serve(url, port, WORKERS)
    timings: dict[str, list[float]] = {path: [] for path, _ in PAGES}
    bare: list[float] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            _login(client)
            for _warm in range(2):
                for path, _ in PAGES:
                    client.get(path)
            for _ in range(ROUNDS):
                for path, marker in PAGES:
                    started = time.perf_counter()
                    answer = client.get(path)
                    took = time.perf_counter() - started
                    if answer.status_code != 200 or marker not in answer.text:
                        raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:300]}")
                    timings[path].append(took)
                with db.unit_of_work() as session:
                    started = time.perf_counter()
                    work.queue_summary(session, principal)
                    bare.append(time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait(timeout=30)
        db.dispose()
    print(
        f"{label}: {OPEN:,} open requests of {LIBRARY} (+{OTHERS:,} of others), {ROUNDS} rounds, "
        f"{WORKERS} server processes"
    )
    print(f"  {'page':<55} {'p50 ms':>8} {'p95 ms':>8}")
    for path, values in timings.items():
        print(f"  {path:<55} {_p(values, 0.5):>8.1f} {_p(values, 0.95):>8.1f}")
    print(f"  {'bare count query (work.queue_summary)':<55} {_p(bare, 0.5):>8.1f} {_p(bare, 0.95):>8.1f}")
    worst = max(_p(v, 0.95) for v in timings.values())
    print(f"  slowest page p95: {worst:.1f} ms (target < 150 ms): {'ok' if worst < 150 else 'OVER'}")


def main() -> None:
    """Run on SQLite, and on PostgreSQL when FJERNLAAN_BENCH_POSTGRES_URL is set."""
    with tempfile.TemporaryDirectory() as folder:
        _run("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}")
    postgres = os.environ.get("FJERNLAAN_BENCH_POSTGRES_URL")
    if postgres:
        with postgres_schema(postgres) as url:
            _run("PostgreSQL", url)


if __name__ == "__main__":
    main()
