"""Rota build for a title held by 300 of 1,000 libraries, against the bare holdings query it starts from."""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from fjernlaan.app.migrate import upgrade
from fjernlaan.catalogue.model import Holding, Record
from fjernlaan.catalogue.service import holdings_for_record, upsert_record
from fjernlaan.db.engine import make_engine
from fjernlaan.db.uow import Database
from fjernlaan.directory.calendar import calendar_for
from fjernlaan.directory.model import Library, LibraryType, Region
from fjernlaan.directory.store import LibraryRow
from fjernlaan.lending.principles import load_principles
from fjernlaan.lending.rota import HoldingInfo, LenderLoad, RotaRecordInfo, build_rota

ROUNDS = 200
TYPES = [LibraryType.PUBLIC] * 8 + [LibraryType.RESEARCH, LibraryType.SCHOOL]


def _libraries(n: int) -> list[Library]:
    rng = random.Random(7)
    regions = list(Region)
    libs = [
        Library(
            isil=f"DK-{700000 + i:06d}",
            name=f"Bibliotek {i}",
            type=rng.choice(TYPES),
            region=rng.choice(regions),
            transport_hub=f"hub-{i % 6}",
        )
        for i in range(n - 2)
    ]
    libs.append(Library(isil="DK-800010", name="Det Kgl. Bibliotek", type=LibraryType.NATIONAL))
    libs.append(Library(isil="DK-715700", name="Gentofte", type=LibraryType.CENTRAL, region=Region.GENTOFTE))
    return libs


def main() -> None:
    libs = _libraries(1000)
    rng = random.Random(11)
    holders = rng.sample([lib.isil for lib in libs[1:]], 300)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}"))
        upgrade(db.engine)
        with db.unit_of_work() as session:
            for lib in libs:
                session.add(
                    LibraryRow(
                        isil=lib.isil,
                        name=lib.name,
                        type=lib.type.value,
                        region=lib.region.value if lib.region else None,
                    )
                )
            session.flush()
            pk = upsert_record(
                session,
                Record(record_id="1", title="Æbler", year=1990),
                [Holding(i, copies=2, available=rng.randint(0, 2)) for i in holders],
            ).record_pk
        requester = libs[0]
        by_isil = {lib.isil: lib for lib in libs}
        calendars = {isil: calendar_for() for isil in holders}
        load = {isil: LenderLoad(rng.randint(0, 500), 1, rng.uniform(1, 9)) for isil in holders}
        principles = load_principles("dk-2012")
        query_ms: list[float] = []
        build_ms: list[float] = []
        with db.unit_of_work() as session:
            for _ in range(ROUNDS):
                started = time.perf_counter()
                holdings = holdings_for_record(session, pk)
                middle = time.perf_counter()
                infos = [HoldingInfo(h.library_isil, h.copies, h.available, h.circulating) for h in holdings]
                rota = build_rota(
                    RotaRecordInfo(publication_year=1990),
                    infos,
                    requester,
                    by_isil,
                    calendars,
                    load,
                    principles,
                    date(2026, 11, 23),
                )
                ended = time.perf_counter()
                query_ms.append((middle - started) * 1000)
                build_ms.append((ended - middle) * 1000)
        db.dispose()
    q, b = statistics.median(query_ms), statistics.median(build_ms)
    print(
        f"holders: 300 of 1,000 libraries; candidates {len(rota.candidates)}, excluded {len(rota.excluded)}"
    )
    print(f"bare holdings query: median {q:.2f} ms")
    print(f"rota build (after the query): median {b:.2f} ms  (target ≤ 5 ms)")
    print(f"rota build / holdings query: {b / q:.2f}×  (target ≤ 2×)")


if __name__ == "__main__":
    main()
