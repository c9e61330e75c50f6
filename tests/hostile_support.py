"""Helpers of the hostile tests (tests/hostile/): row counts and emptying a database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from fjernlaan.app.tables import metadata
from fjernlaan.clock import SYSTEM_CLOCK, today
from fjernlaan.db.uow import Database


def days_ahead(days: int) -> str:
    """An ISO date `days` after today (real or faked), for data the code compares with the time."""
    return (today(SYSTEM_CLOCK) + timedelta(days=days)).isoformat()


def row_counts(database: Database) -> dict[str, int]:
    """How many rows every table holds (a refused request must leave these as they were)."""
    with database.engine.connect() as connection:
        return {
            table.name: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in metadata().sorted_tables
        }


def empty_all_tables(database: Database) -> None:
    """Delete every row of every table (PostgreSQL: TRUNCATE, restarting the ids)."""
    tables = list(reversed(metadata().sorted_tables))
    with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())
