"""Catalogue: import records/s against the raw pymarc parse; search p50/p95 of the API against the bare query.

Size: FJERNLAAN_BENCH_RECORDS (default 1,000,000; `--quick` or FJERNLAAN_BENCH_QUICK=1 uses 20,000).
The input is generated from the reference file uva_001_2000.mrc with varied record ids and ISBNs.
Runs on SQLite (a temporary file); the PostgreSQL figures need FJERNLAAN_BENCH_POSTGRES_URL.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import tempfile
import time
from contextlib import closing
from pathlib import Path

import pymarc

QUICK = os.environ.get("FJERNLAAN_BENCH_QUICK") == "1"
RECORDS = int(os.environ.get("FJERNLAAN_BENCH_RECORDS", "20000" if QUICK else "1000000"))
TERMS = ["history", "war", "music", "poetry", "love", "germany", "art", "science", "women", "church"]


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


def _pct(values: list[float], p: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * p))] * 1000


def main() -> None:
    from fastapi.testclient import TestClient

    from fjernlaan.catalogue.importer import import_marc
    from fjernlaan.catalogue.query import free_text
    from fjernlaan.catalogue.search import SqliteFtsBackend
    from fjernlaan.db.engine import make_engine
    from fjernlaan.db.migrate import upgrade
    from fjernlaan.db.uow import Database
    from fjernlaan.demo import seed_demo
    from fjernlaan.settings import Settings
    from fjernlaan.web.app import create_app

    with tempfile.TemporaryDirectory() as folder:
        marc = Path(folder) / "input.mrc"
        _generate(RECORDS, marc)
        started = time.perf_counter()
        parsed = sum(1 for _ in pymarc.MARCReader(marc.open("rb"), to_unicode=True, force_utf8=True))
        raw_rate = parsed / (time.perf_counter() - started)
        database = Database(make_engine(f"sqlite:///{folder}/bench.db"))
        upgrade(database.engine)
        with database.unit_of_work() as session:
            seed_demo(session)
        started = time.perf_counter()
        report = import_marc(database, marc, library="DK-710100")
        took = time.perf_counter() - started
        rate = report.read / took
        print(f"records: {RECORDS:,} (created {report.created:,}, skipped {len(report.skipped)})")
        print(f"raw pymarc parse: {raw_rate:,.0f} records/s")
        print(f"catalogue import: {rate:,.0f} records/s = {rate / raw_rate:.0%} of raw parse (target >= 50%)")
        print(f"1,000,000 records would take {1_000_000 / rate / 60:.1f} min (target < 10)")

        backend = SqliteFtsBackend()
        bare: list[float] = []
        api: list[float] = []
        app = create_app(Settings(database_url="sqlite://", secret_key="bench"), database=database)
        with TestClient(app) as client, closing(sqlite3.connect(f"{folder}/bench.db")) as connection:
            for _ in range(5):
                for term in TERMS:
                    expression = backend.compile(free_text(term))
                    started = time.perf_counter()
                    connection.execute(
                        "SELECT rowid FROM record_fts WHERE record_fts MATCH ? ORDER BY rank LIMIT 20",
                        (expression,),
                    ).fetchall()
                    bare.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    assert client.get("/api/v1/records", params={"q": term}).status_code == 200
                    api.append(time.perf_counter() - started)
        print(
            f"bare FTS5 query: median {statistics.median(bare) * 1000:.1f} ms, p95 {_pct(bare, 0.95):.1f} ms"
        )
        print(f"API ?q=: median {statistics.median(api) * 1000:.1f} ms, p95 {_pct(api, 0.95):.1f} ms")
        print(f"API p95 / bare p95: {_pct(api, 0.95) / _pct(bare, 0.95):.1f}x (target <= 2x; p95 < 50 ms)")
        database.dispose()


if __name__ == "__main__":
    main()
