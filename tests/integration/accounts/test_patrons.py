"""A patron read back by id is the stored values, detached from the database."""

from __future__ import annotations

from fjernlaan.accounts.model import Patron
from fjernlaan.accounts.service import PatronIn, add_patron, get_patron
from fjernlaan.db.uow import Database


def test_a_patron_reads_back_by_id_with_every_field(seeded: Database) -> None:
    with seeded.unit_of_work() as session:
        row = add_patron(
            session,
            PatronIn(card_number="0101", name="Åse Ærø", email="aase@example.dk", home_library="dk-710100"),
        )
        patron_id = row.id
    with seeded.unit_of_work() as session:
        patron = get_patron(session, patron_id)
    assert patron == Patron(
        id=patron_id,
        card_number="0101",
        name="Åse Ærø",
        email="aase@example.dk",
        category=row.category,
        home_library_isil="DK-710100",
        language=row.language,
    )


def test_an_unknown_patron_is_none(seeded: Database) -> None:
    with seeded.unit_of_work() as session:
        assert get_patron(session, 987654) is None
