"""Schema migrations with Alembic: `fjernlaan db upgrade` and the test setup both come through here."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration bound to this engine (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to `revision`."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database schema back to `revision`."""
    command.downgrade(alembic_config(engine), revision)


def current(engine: Engine) -> str | None:
    """The revision the database is at (None when it is empty)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


# Search-index objects that migration 0005 makes per database and the models do not describe:
# SQLite's FTS5 table and its shadow tables, PostgreSQL's generated tsvector column and its index.
SEARCH_INDEX_OBJECTS = ("record_fts", "record_search_tsv", "tsv")


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's filter: leave the database-specific search index out of model comparisons."""
    if name is None:
        return True
    if type_ == "table" and name.startswith("record_fts"):
        return False
    if type_ == "index" and name == "record_search_tsv":
        return False
    return not (
        type_ == "column"
        and name == "tsv"
        and getattr(getattr(obj, "table", None), "name", "") == "record_search"
    )
