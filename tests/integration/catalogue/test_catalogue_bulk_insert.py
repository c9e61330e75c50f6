"""The bulk insert (driver-level statements) stores exactly what the one-record upsert stores."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import cast

import pymarc
from sqlalchemy import select

from fjernlaan.catalogue.importer import import_marc
from fjernlaan.catalogue.model import Holding, Record
from fjernlaan.catalogue.service import (
    bulk_insert_records,
    contributors,
    get_record,
    holdings_for_record,
    record_pk_by_identifier,
    upsert_record,
)
from fjernlaan.catalogue.store import HoldingRow, RecordRow, RecordSearchRow
from fjernlaan.db.uow import Database
from fjernlaan.directory.model import MaterialType


def _record(record_id: str, isbn: str) -> Record:
    # Nothing shared between the two records: they must not merge.
    return Record(
        record_id=record_id,
        source_library="DK-710100",
        title="Rødgrød med fløde",
        subtitle="en dansk spise på Ærø",
        creators=("Ågård, Søren", "Blixen, Karen"),
        subjects=("Mad -- Danmark", "Øer"),
        year=1999,
        publisher="Gyldendal",
        language="dan",
        material_type=MaterialType.BOOK,
        isbns=(isbn,),
        issns=("0107-3354",) if record_id == "b1" else (),
        oclc_numbers=(isbn[-6:],),
        marcxml='<record xmlns="http://www.loc.gov/MARC21/slim"><leader>x</leader></record>',
    )


def test_bulk_and_one_by_one_store_the_same(seeded: Database) -> None:
    holdings = (
        Holding(
            "DK-710100",
            copies=3,
            available=1,
            circulating=False,
            shelf_mark="79.1",
            acquired=date(2020, 2, 29),
        ),
        Holding("DK-775100"),
    )
    before = datetime.now(UTC) - timedelta(seconds=1)
    with seeded.unit_of_work() as session:
        (bulk_pk,) = bulk_insert_records(session, [(_record("b1", "9788702173437"), holdings)])
        single_pk = upsert_record(session, _record("s1", "9780306406157"), holdings).record_pk
    with seeded.unit_of_work() as session:
        bulk, single = get_record(session, bulk_pk), get_record(session, single_pk)
        assert bulk == _record("b1", "9788702173437") and single == _record("s1", "9780306406157")
        assert (
            holdings_for_record(session, bulk_pk) == holdings_for_record(session, single_pk) == list(holdings)
        )
        assert contributors(session, bulk_pk) == [("DK-710100", "b1")]
        assert record_pk_by_identifier(session, "isbn:9788702173437") == bulk_pk
        assert record_pk_by_identifier(session, "id:DK-710100:b1") == bulk_pk
        rows = {r.id: r for r in session.scalars(select(RecordRow))}
        for row in rows.values():
            assert row.created_at.tzinfo is not None and row.created_at >= before
        held = session.scalars(select(HoldingRow).where(HoldingRow.record_pk == bulk_pk)).all()
        assert all(h.updated_at.tzinfo is not None and h.updated_at >= before for h in held)
        bulk_search = session.get(RecordSearchRow, bulk_pk)
        single_search = session.get(RecordSearchRow, single_pk)
        assert bulk_search is not None and single_search is not None
        assert (bulk_search.title, bulk_search.creators, bulk_search.subjects) == (
            single_search.title,
            single_search.creators,
            single_search.subjects,
        )


def _marc(record_id: str, title: str) -> bytes:
    record = pymarc.Record(force_utf8=True)
    record.leader = record.leader[:9] + "a" + record.leader[10:]
    record.add_field(pymarc.Field(tag="001", data=record_id))
    record.add_field(
        pymarc.Field(
            tag="245", indicators=pymarc.Indicators("0", "0"), subfields=[pymarc.Subfield("a", title)]
        )
    )
    return cast(bytes, record.as_marc())


def test_a_record_the_database_refuses_is_skipped_and_its_batch_kept(seeded: Database) -> None:
    # PostgreSQL text cannot hold NUL: the bulk write (COPY there) is refused, and the batch is
    # replayed record by record so that only the bad record is lost. SQLite stores it.
    data = _marc("good-1", "Første bog") + _marc("bad", "Nul\x00tegn") + _marc("good-2", "Anden bog")
    report = import_marc(seeded, data, library="DK-710100")
    with seeded.unit_of_work() as session:
        ids = set(session.scalars(select(RecordRow.record_id)))
    if seeded.dialect == "postgresql":
        assert ids == {"good-1", "good-2"}
        assert [(position, "refused" in reason) for position, reason in report.skipped] == [(2, True)]
    else:
        assert ids == {"good-1", "bad", "good-2"} and report.skipped == []
