"""Migrations build the whole schema from empty, on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from fjernlaan.app.migrate import current, downgrade, include_object, upgrade
from fjernlaan.app.tables import metadata
from fjernlaan.db.engine import make_engine
from support import BACKENDS, drop_postgres_schema, new_postgres_schema_engine, require_postgres


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    url = require_postgres()
    engine, schema = new_postgres_schema_engine(url)
    yield engine
    engine.dispose()
    drop_postgres_schema(url, schema)


def test_upgrade_from_empty_creates_every_table(empty_engine: Engine) -> None:
    assert current(empty_engine) is None
    upgrade(empty_engine)
    tables = set(inspect(empty_engine).get_table_names())
    assert {t.name for t in metadata().sorted_tables} <= tables
    assert current(empty_engine) is not None


def test_migrated_schema_matches_the_models(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": False, "include_object": include_object}
        )
        differences = compare_metadata(context, metadata())
    assert differences == []


def test_downgrade_to_base_and_up_again(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    downgrade(empty_engine, "base")
    assert not set(inspect(empty_engine).get_table_names()) - {"alembic_version"}
    upgrade(empty_engine)
    assert "libraries" in inspect(empty_engine).get_table_names()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()
