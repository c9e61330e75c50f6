"""Catalogue: import records/s against the raw pymarc parse; search p50/p95 of the API against the bare query.

Size: FJERNLAAN_BENCH_RECORDS (default 1,000,000; `python -m bench catalogue --quick` or
FJERNLAAN_BENCH_QUICK=1 uses 20,000). The input is generated from the reference file
uva_001_2000.mrc with varied record ids. Runs on SQLite (a temporary file), then on PostgreSQL when
FJERNLAAN_BENCH_POSTGRES_URL is set (a schema of its own, dropped afterwards), with
FJERNLAAN_BENCH_POSTGRES_RECORDS records (default: the same number).

Every figure is printed with the load average, as wall-clock time and as this process's CPU time:
the machine is shared, and CPU seconds move less with the neighbours' load. On PostgreSQL the
server's CPU is not in the process figure.

Search compares `GET /api/v1/records?q=` (in-process, through the whole web stack) with two bare
queries on the driver's own connection: the full-text statements the API itself ran for that term,
replayed (the API's overhead: records, holdings, JSON), and the classic ranked query over every match
(`ORDER BY rank LIMIT 20` in FTS5, `ORDER BY ts_rank` in PostgreSQL), which the API no longer runs
for very common words (see `catalogue.search.RANK_AT_MOST`).
"""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymarc

QUICK = os.environ.get("FJERNLAAN_BENCH_QUICK") == "1"
RECORDS = int(os.environ.get("FJERNLAAN_BENCH_RECORDS", "20000" if QUICK else "1000000"))
PG_RECORDS = int(os.environ.get("FJERNLAAN_BENCH_POSTGRES_RECORDS", str(RECORDS)))
# A PostgreSQL-only run (the SQLite import of a million records takes a quarter of an hour).
SQLITE = os.environ.get("FJERNLAAN_BENCH_SQLITE", "1") != "0"
TERMS = ["history", "war", "music", "poetry", "love", "germany", "art", "science", "women", "church"]
ROUNDS = 5

FULL_RANK = {
    "sqlite": "SELECT rowid FROM record_fts WHERE record_fts MATCH ? ORDER BY rank, rowid LIMIT 20",
    "postgresql": (
        "SELECT record_pk FROM record_search WHERE tsv @@ to_tsquery('simple', %(q)s) "
        "ORDER BY ts_rank(tsv, to_tsquery('simple', %(q)s)) DESC, record_pk LIMIT 20"
    ),
}


def _reference() -> Path:
    root = Path(__file__).resolve().parents[1]
    for base in (root.parent, root.parent.parent):
        candidate = base / "shared" / "reference" / "marc" / "solrmarc__solrmarc__uva_001_2000.mrc"
        if candidate.exists():
            return candidate
    raise FileNotFoundError("../shared/reference/marc is needed for the catalogue benchmark")


def _generate(count: int, target: Path) -> None:
    source = [r for r in pymarc.MARCReader(_reference().open("rb"), to_unicode=True, force_utf8=True) if r]
    with target.open("wb") as out:
        for n in range(count):
            record = source[n % len(source)]
            record.remove_fields("001", "010", "020", "022", "035")
            record.add_ordered_field(pymarc.Field(tag="001", data=f"b{n:09d}"))
            record.leader = record.leader[:9] + "a" + record.leader[10:]
            out.write(record.as_marc())


def _cpu() -> float:
    # Finished child processes count too: the import parses in a worker process (reaped before
    # import_marc returns), and its CPU belongs to the import's figure.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def _timed(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), _cpu()
    result = work()
    return result, time.perf_counter() - wall, _cpu() - cpu


def _pct(values: list[float], p: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * p))] * 1000


def _summary(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.1f} ms, p95 {_pct(values, 0.95):.1f} ms"


class _Raw:
    """The raw parse: pymarc's own reader over the same file, the baseline of the import."""

    def __init__(self, marc: Path) -> None:
        def parse() -> int:
            with marc.open("rb") as stream:
                return sum(1 for _ in pymarc.MARCReader(stream, to_unicode=True, force_utf8=True))

        count, self.wall, self.cpu = _timed(parse)
        self.count = count
        self.rate, self.cpu_rate = count / self.wall, count / self.cpu
        print(f"raw pymarc parse: {self.rate:,.0f} records/s ({self.cpu_rate:,.0f}/CPU s; {_load()})")


def _run(label: str, url: str, marc: Path, raw: _Raw) -> None:
    from fastapi.testclient import TestClient

    from fjernlaan.app.demo import seed_demo
    from fjernlaan.app.factory import create_app
    from fjernlaan.app.migrate import upgrade
    from fjernlaan.catalogue.importer import import_marc
    from fjernlaan.clock import SYSTEM_CLOCK
    from fjernlaan.db.engine import make_engine
    from fjernlaan.db.uow import Database
    from fjernlaan.settings import Settings

    database = Database(make_engine(url))
    upgrade(database.engine)
    with database.unit_of_work() as session:
        seed_demo(session, SYSTEM_CLOCK)
    worker_before = _children_cpu()
    report, wall, cpu = _timed(lambda: import_marc(database, marc, library="DK-710100"))
    worker = _children_cpu() - worker_before
    rate, cpu_rate = report.read / wall, report.read / cpu
    print(f"{label}: {report.read:,} records (created {report.created:,}, skipped {len(report.skipped)})")
    print(
        f"{label}: catalogue import {rate:,.0f} records/s = {rate / raw.rate:.0%} of raw parse "
        f"(target >= 50%); CPU {cpu_rate:,.0f}/s = {cpu_rate / raw.cpu_rate:.0%} of raw; {_load()}"
    )
    print(
        f"{label}: import CPU per record {cpu / report.read * 1e6:,.0f} us = importer "
        f"{(cpu - worker) / report.read * 1e6:,.0f} + parse worker {worker / report.read * 1e6:,.0f} "
        f"(raw parse {raw.cpu / raw.count * 1e6:,.0f} us)"
    )
    print(f"{label}: 1,000,000 records would take {1_000_000 / rate / 60:.1f} min (target < 10)")

    app = create_app(Settings(database_url="sqlite://", secret_key="bench"), database=database)
    api: list[float] = []
    api_cpu: list[float] = []
    replayed: list[float] = []
    full: list[float] = []
    raw_connection = database.engine.raw_connection()
    try:
        with TestClient(app) as client:
            for round_ in range(ROUNDS + 1):
                for term in TERMS:
                    figures = _search_once(database, client, raw_connection, term)
                    if round_:  # the first round warms the caches
                        for values, value in zip((api, api_cpu, replayed, full), figures, strict=True):
                            values.append(value)
        raw_connection.rollback()
    finally:
        raw_connection.close()
    print(f"{label}: bare full-text statements of the API, replayed: {_summary(replayed)}")
    print(f"{label}: bare query ranking every match: {_summary(full)}")
    print(f"{label}: API ?q=: {_summary(api)} (CPU {_summary(api_cpu)}); {_load()}")
    print(
        f"{label}: API p95 / bare p95: {_pct(api, 0.95) / _pct(replayed, 0.95):.1f}x the same statements, "
        f"{_pct(api, 0.95) / _pct(full, 0.95):.1f}x ranking every match "
        f"(target <= 2x; p95 < 50 ms on SQLite)"
    )
    database.dispose()


def _search_once(database: Any, client: Any, raw_connection: Any, term: str) -> tuple[float, ...]:
    """(API wall, API CPU, bare replay of the API's full-text statements, bare full ranking) seconds."""
    from sqlalchemy import event

    # The full-text statements the API runs, caught on their way to the driver, to replay bare.
    caught: list[tuple[str, Any]] = []

    def catch(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "record_fts" in statement or "tsv @@" in statement:
            caught.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", catch)
    try:
        answer, took, took_cpu = _timed(lambda: client.get("/api/v1/records", params={"q": term}))
    finally:
        event.remove(database.engine, "before_cursor_execute", catch)
    assert answer.status_code == 200, answer.text

    def replay() -> None:
        cursor = raw_connection.cursor()
        for statement, parameters in caught:
            cursor.execute(statement, parameters)
            cursor.fetchall()
        cursor.close()

    def ranked_over_all() -> None:
        sqlite = database.dialect == "sqlite"
        cursor = raw_connection.cursor()
        cursor.execute(FULL_RANK[database.dialect], (f'"{term}"',) if sqlite else {"q": term})
        cursor.fetchall()
        cursor.close()

    _, bare, _ = _timed(replay)
    _, everything, _ = _timed(ranked_over_all)
    return took, took_cpu, bare, everything


def _postgres(url: str, marc: Path, raw: _Raw) -> None:
    from bench.databases import postgres_schema

    with postgres_schema(url) as schema_url:
        _run("PostgreSQL", schema_url, marc, raw)


def main() -> None:
    """Generate the input, measure the raw parse, then import and search on each database."""
    with tempfile.TemporaryDirectory() as folder:
        marc = Path(folder) / "input.mrc"
        _generate(RECORDS, marc)
        print(f"records: {RECORDS:,}")
        raw = _Raw(marc)
        if SQLITE:
            _run("SQLite", f"sqlite:///{folder}/bench.db", marc, raw)
        else:
            print("SQLite: skipped (FJERNLAAN_BENCH_SQLITE=0)")
        pg = os.environ.get("FJERNLAAN_BENCH_POSTGRES_URL")
        if not pg:
            print("PostgreSQL: skipped (set FJERNLAAN_BENCH_POSTGRES_URL)")
            return
        if PG_RECORDS != RECORDS:
            marc = Path(folder) / "input-postgresql.mrc"
            _generate(PG_RECORDS, marc)
            print(f"PostgreSQL records: {PG_RECORDS:,}")
            raw = _Raw(marc)
        _postgres(pg, marc, raw)


if __name__ == "__main__":
    main()
