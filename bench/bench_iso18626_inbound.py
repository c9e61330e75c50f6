"""Inbound ISO 18626 messages per second through `service.receive` with validation and persistence
(SQLite; PostgreSQL when FJERNLAAN_BENCH_POSTGRES_URL is set), against bare lxml parse + XSD validation
of the same messages in the same run."""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

import fjernlaan.iso18626.handlers
import fjernlaan.lending.peering  # noqa: F401  (registers the outbound glue)
from fjernlaan.catalogue.model import Holding, Record
from fjernlaan.catalogue.service import upsert_record
from fjernlaan.db.engine import make_engine
from fjernlaan.db.migrate import upgrade
from fjernlaan.db.uow import Database
from fjernlaan.demo import seed_demo
from fjernlaan.directory.store import LibraryRow
from fjernlaan.iso18626 import model as iso
from fjernlaan.iso18626 import service
from fjernlaan.iso18626.codec import build, validate
from fjernlaan.lending.service import clear_caches

MESSAGES = int(os.environ.get("FJERNLAAN_BENCH_MESSAGES", "1000"))
PEER = "ZZ-BENCHPEER"
ISBN = "9788702173437"


def _messages(start: datetime) -> list[bytes]:
    """Half requests (each placed and routed), half requestingAgencyMessages on them (StatusRequest)."""
    out: list[bytes] = []
    for n in range(MESSAGES // 2):
        at = start + timedelta(milliseconds=n)
        header = iso.Header(
            iso.AgencyId("ISIL", PEER),
            at,
            f"bench-{n}",
            supplying_agency_id=iso.AgencyId("ISIL", "DK-800010"),
        )
        out.append(
            build(
                iso.Request(
                    header=header,
                    bibliographic_info=iso.BibliographicInfo(
                        title="Æbler på Åen", item_ids=(iso.BibliographicItemId("ISBN", ISBN),)
                    ),
                    service_info=iso.ServiceInfo(service_type=iso.ServiceType.LOAN),
                ),
                iso.Version.V2017,
            )
        )
        out.append(
            build(
                iso.RequestingAgencyMessage(header=header, action=iso.Action.NOTIFICATION, note="hej"),
                iso.Version.V2017,
            )
        )
    return out


def _prepare(url: str) -> tuple[Database, str]:
    db = Database(make_engine(url))
    upgrade(db.engine)
    with db.unit_of_work() as session:
        if db.dialect == "postgresql":
            session.execute(text("TRUNCATE ill_requests, iso18626_inbound, outbox RESTART IDENTITY CASCADE"))
        seed_demo(session)
        if session.get(LibraryRow, PEER) is None:
            session.add(
                LibraryRow(
                    isil=PEER, name="Benchmark peer", type="foreign", iso18626_endpoint="http://127.0.0.1:9/"
                )
            )
            session.flush()
        service.set_peer(session, PEER, account_id="bench", security_code="bench-security-code")
        token = service.issue_peer_token(session, PEER)
        upsert_record(
            session,
            Record(record_id="bench-iso", title="Æbler på Åen", isbns=(ISBN,)),
            [Holding(i) for i in ("DK-714700", "DK-715100", "DK-715700")],
        )
    clear_caches()
    return db, token


def _run(label: str, url: str) -> None:
    db, token = _prepare(url)
    bodies = _messages(datetime.now(UTC))
    started = time.perf_counter()
    for body in bodies:
        assert not validate(body, iso.Version.V2017)
    bare = len(bodies) / (time.perf_counter() - started)
    started = time.perf_counter()
    refused = 0
    for body in bodies:
        with db.unit_of_work() as session:
            reception = service.receive(session, body, bearer_token=token, now=datetime.now(UTC))
            refused += reception.message_status is iso.MessageStatus.ERROR
    full = len(bodies) / (time.perf_counter() - started)
    db.dispose()
    print(
        f"{label}: {len(bodies)} messages ({refused} refused); end to end {full:,.0f} messages/s; "
        f"bare lxml parse + XSD {bare:,.0f} messages/s; ratio {full / bare:.2f}"
    )


def main() -> None:
    """Run on SQLite (and PostgreSQL when configured) and print the figures."""
    with tempfile.TemporaryDirectory() as folder:
        _run("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}")
    pg = os.environ.get("FJERNLAAN_BENCH_POSTGRES_URL")
    if pg:
        _run("PostgreSQL", pg)


if __name__ == "__main__":
    main()
