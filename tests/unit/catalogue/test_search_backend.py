"""The search backend follows the database in use; any other database is refused in plain words."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy.orm import Session

from fjernlaan.catalogue.search import PostgresBackend, SqliteFtsBackend, UnsupportedDatabase, backend_for
from fjernlaan.errors import DomainError


def _session_on(dialect: str) -> Session:
    bind = SimpleNamespace(dialect=SimpleNamespace(name=dialect))
    fake: Any = SimpleNamespace(get_bind=lambda: bind)
    return cast(Session, fake)


def test_sqlite_searches_with_fts5_and_postgresql_with_its_full_text() -> None:
    assert isinstance(backend_for(_session_on("sqlite")), SqliteFtsBackend)
    assert isinstance(backend_for(_session_on("postgresql")), PostgresBackend)


def test_another_database_is_a_domain_error_naming_the_supported_ones() -> None:
    with pytest.raises(UnsupportedDatabase) as caught:
        backend_for(_session_on("mysql"))
    error = caught.value
    assert isinstance(error, DomainError)
    assert "SQLite" in error.message and "PostgreSQL" in error.message and "mysql" in error.message
    assert error.extra == {"database": "mysql", "supported": ["sqlite", "postgresql"]}
