"""Reading a record and its holdings back: with or without the source record, holdings in ISIL order."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from fjernlaan.catalogue.model import Holding, MaterialType, Record
from fjernlaan.catalogue.service import get_record, holdings_for_record, upsert_record
from fjernlaan.db.uow import Database
from fjernlaan.errors import NotFound


def test_a_record_reads_back_with_or_without_its_source(seeded: Database) -> None:
    record = Record(
        record_id="reads-1",
        title="Æbler på Åen",
        creators=("Ærø, Søren",),
        year=1998,
        material_type=MaterialType.BOOK,
        isbns=("9788702000000",),
        marcxml="<record><leader>00000nam a2200000 a 4500</leader></record>",
    )
    with seeded.unit_of_work() as session:
        pk = upsert_record(session, record, []).record_pk
    with seeded.unit_of_work() as session:
        full = get_record(session, pk)
        lean = get_record(session, pk, with_source=False)
    assert full.marcxml
    assert lean.marcxml == ""
    assert lean == replace(full, marcxml="")
    assert (lean.title, lean.year, lean.material_type) == ("Æbler på Åen", 1998, MaterialType.BOOK)


def test_a_missing_record_is_not_found_either_way(seeded: Database) -> None:
    with seeded.unit_of_work() as session:
        for with_source in (True, False):
            with pytest.raises(NotFound):
                get_record(session, 987654, with_source=with_source)


def test_holdings_read_back_in_isil_order_with_every_field(seeded: Database) -> None:
    held = [
        Holding(
            "DK-715100", copies=2, available=0, circulating=True, shelf_mark="99.4", acquired=date(2020, 5, 1)
        ),
        Holding("DK-710100", copies=1, available=1, circulating=False),
    ]
    with seeded.unit_of_work() as session:
        pk = upsert_record(session, Record(record_id="reads-2", title="Fjernlån"), held).record_pk
    with seeded.unit_of_work() as session:
        assert holdings_for_record(session, pk) == [held[1], held[0]]
