"""`fjernlaan backup` / `restore` on both databases: back up, change, restore, and the database is as
it was at the backup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from fjernlaan.accounts.service import PatronIn, add_patron
from fjernlaan.app.tables import metadata
from fjernlaan.db.backup import backup, restore
from fjernlaan.db.uow import Database
from fjernlaan.directory.store import LibraryRow
from fjernlaan.errors import DomainError


def _snapshot(db: Database) -> dict[str, list[str]]:
    tables: dict[str, list[str]] = {}
    with db.engine.connect() as connection:
        for table in metadata().sorted_tables:
            rows = connection.execute(select(table)).all()
            tables[table.name] = sorted(json.dumps([str(v) for v in row], ensure_ascii=False) for row in rows)
    return tables


def test_a_restore_brings_back_the_database_as_it_was_backed_up(seeded: Database, tmp_path: Path) -> None:
    with seeded.unit_of_work() as session:
        add_patron(session, PatronIn(card_number="42", name="Åse Ørsted", home_library="DK-710100"))
    before = _snapshot(seeded)
    file = tmp_path / "fjernlaan.backup"
    backup(seeded.engine, file)
    assert file.stat().st_size > 0

    with seeded.unit_of_work() as session:
        add_patron(session, PatronIn(card_number="43", name="Efter Backup", home_library="DK-710100"))
        library = session.get(LibraryRow, "DK-710100")
        assert library is not None
        library.name = "Ændret efter backup"
    assert _snapshot(seeded) != before

    restore(seeded.engine, file)
    assert _snapshot(seeded) == before
    # The restored database is in use again at once.
    with seeded.unit_of_work() as session:
        add_patron(session, PatronIn(card_number="44", name="Bagefter", home_library="DK-710100"))


def test_restoring_a_file_that_is_not_a_backup_fails_clearly(db: Database, tmp_path: Path) -> None:
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a backup at all")
    with pytest.raises(DomainError):
        restore(db.engine, junk)
    with pytest.raises(DomainError, match="no backup file"):
        restore(db.engine, tmp_path / "missing.backup")
