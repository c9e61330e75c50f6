"""Importing the reference MARC files: per-file counts, re-import changes nothing, Danish letters survive."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from fjernlaan.catalogue import importer
from fjernlaan.catalogue.importer import import_holdings, import_marc, parse_holdings_feed
from fjernlaan.catalogue.query import free_text
from fjernlaan.catalogue.search import search
from fjernlaan.catalogue.service import holdings_for_record, record_pk_by_identifier
from fjernlaan.catalogue.store import RecordRow
from fjernlaan.db.uow import Database
from support import shared_reference

# file -> (records imported, records skipped); the reader's own counts are checked in
# tests/unit/catalogue/test_marc_reference_files.py.
EXPECTED = {
    "DBCDK__dataio__test-records-74-danmarc2.iso": (74, 0),
    "DBCDK__dataio__broken-iso2709-2.iso": (2, 1),
    "DBCDK__dataio__test-records-4-error-in-record2.iso": (3, 1),
    "DBCDK__dataio__test-record-1-danmarc2.marcxchange": (1, 0),
    "edsu__pymarc__bad_records.mrc": (2, 6),
    "edsu__pymarc__marc8.dat": (1, 0),
    "edsu__pymarc__batch.xml": (2, 0),
    "marc4j__marc4j__pride-and-prejudice-with-many-errors.mrc": (298, 85),
    "traject__traject__bad_utf_byte.utf8.marc": (0, 1),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_reference_file_imports_with_its_counts(seeded: Database, name: str) -> None:
    report = import_marc(seeded, shared_reference("marc", name), library="DK-710100")
    assert (report.imported, len(report.skipped)) == EXPECTED[name]
    assert all(position >= 0 and reason for position, reason in report.skipped)


@pytest.mark.parametrize(
    "name",
    [
        "DBCDK__dataio__test-records-74-danmarc2.iso",
        "marc4j__marc4j__pride-and-prejudice-with-many-errors.mrc",
        "edsu__pymarc__batch.xml",
    ],
)
def test_parsing_in_a_worker_stores_what_parsing_here_stores(seeded: Database, name: str) -> None:
    path = shared_reference("marc", name)
    in_worker = import_marc(seeded, path, library="DK-710100", parse_in_worker=True)
    assert (in_worker.imported, len(in_worker.skipped)) == EXPECTED[name]
    # The same file parsed in this process finds every record stored exactly as it would store it.
    here = import_marc(seeded, path, library="DK-710100", parse_in_worker=False)
    assert (here.created, here.updated, here.unchanged) == (0, 0, in_worker.imported)
    assert here.skipped == in_worker.skipped


def test_an_import_that_dies_midway_keeps_its_batches_and_a_rerun_finishes_it(
    seeded: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = shared_reference("marc", "solrmarc__solrmarc__uva_001_2000.mrc")
    flush = importer._flush_batch
    batches = 0

    def dies_at_the_fourth_batch(*args: Any) -> None:
        nonlocal batches
        batches += 1
        if batches == 4:
            raise KeyboardInterrupt  # the operator's Ctrl-C, or anything else that ends the run
        flush(*args)

    monkeypatch.setattr(importer, "_flush_batch", dies_at_the_fourth_batch)
    with pytest.raises(KeyboardInterrupt):
        import_marc(seeded, path, library="DK-710100", batch_size=100, parse_in_worker=True)
    monkeypatch.setattr(importer, "_flush_batch", flush)
    with seeded.unit_of_work() as session:
        kept = session.scalar(select(func.count()).select_from(RecordRow))
    assert kept is not None and 250 < kept <= 300  # three batches of 100 (one record merges)
    rerun = import_marc(seeded, path, library="DK-710100", parse_in_worker=True)
    assert rerun.created > 0 and rerun.unchanged >= kept
    with seeded.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(RecordRow)) == kept + rerun.created
    # Nothing is stored twice. (Two records of this file merge into editions stored by the other
    # run; a later import may still count those as updated, as it does after an uninterrupted one.)
    again = import_marc(seeded, path, library="DK-710100", parse_in_worker=True)
    assert again.created == 0
    with seeded.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(RecordRow)) == kept + rerun.created


def test_reimporting_a_file_changes_nothing(seeded: Database) -> None:
    path = shared_reference("marc", "marc4j__marc4j__pride-and-prejudice-with-many-errors.mrc")
    first = import_marc(seeded, path, library="DK-710100")
    with seeded.unit_of_work() as session:
        count = session.scalar(select(func.count()).select_from(RecordRow))
    again = import_marc(seeded, path, library="DK-710100")
    assert first.created > 0
    assert (again.created, again.updated, again.unchanged) == (0, 0, first.imported)
    with seeded.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(RecordRow)) == count


def test_danish_letters_come_out_right_from_danmarc2(seeded: Database) -> None:
    import_marc(
        seeded, shared_reference("marc", "DBCDK__dataio__test-records-74-danmarc2.iso"), library="DK-710100"
    )
    with seeded.unit_of_work() as session:
        titles = " ".join(session.scalars(select(RecordRow.title)))
    assert any(letter in titles for letter in "æøå")
    assert "\ufffd" not in titles


def test_danish_letters_are_found_both_ways(seeded: Database) -> None:
    import_marc(
        seeded, shared_reference("marc", "DBCDK__dataio__test-records-74-danmarc2.iso"), library="DK-710100"
    )
    with seeded.unit_of_work() as session:
        word = next(
            w for t in session.scalars(select(RecordRow.title)) for w in t.split() if "ø" in w.lower()
        )
        spelled = word.lower().replace("ø", "oe")
        assert search(session, free_text(word)).total > 0
        assert search(session, free_text(spelled)).total == search(session, free_text(word)).total
        assert search(session, free_text(word.upper())).total == search(session, free_text(word)).total


def test_holdings_at_unknown_libraries_are_skipped_and_the_record_kept(seeded: Database) -> None:
    report = import_marc(
        seeded, shared_reference("marc", "marc4j__marc4j__summerland.mrc"), library="DK-710100"
    )
    assert report.imported == 1


def test_the_holdings_feed_sets_holdings_and_reports_bad_rows(seeded: Database) -> None:
    import_marc(
        seeded, shared_reference("marc", "DBCDK__dataio__test-records-74-danmarc2.iso"), library="DK-710100"
    )
    with seeded.unit_of_work() as session:
        row = session.scalars(select(RecordRow).order_by(RecordRow.id)).first()
        assert row is not None
        feed = (
            "isil,identifier,copies,available,circulating\n"
            f"DK-775100,{row.record_id},3,2,true\n"
            f"DK-999999,{row.record_id},1,1,true\n"
            "DK-775100,no-such-record,1,1,true\n"
            f"DK-775100,{row.record_id},two,1,true\n"
            f"DK-775100,{row.record_id},1,5,true\n"
        )
        report = import_holdings(session, parse_holdings_feed(feed, "csv"))
        assert (report.changed, [line for line, _ in report.skipped]) == (1, [3, 4, 5, 6])
    line = (
        f'{{"isil": "DK-710100", "identifier": "id:DK-710100:{row.record_id}", "copies": 4, "available": 1}}'
    )
    jsonl = line + "\nnot json\n"
    with seeded.unit_of_work() as session:
        report = import_holdings(session, parse_holdings_feed(jsonl, "jsonl"))
        assert report.changed == 1 and [line for line, _ in report.skipped] == [2]
        pk = record_pk_by_identifier(session, f"id:DK-710100:{row.record_id}")
        assert pk is not None
        held = {h.library_isil: h.copies for h in holdings_for_record(session, pk)}
        assert held["DK-710100"] == 4
