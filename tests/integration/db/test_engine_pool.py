"""Engines keep as many connections as the requests in flight, and PostgreSQL's are not pinged
before each use: a connection the server dropped fails once, then the pool starts afresh."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from fjernlaan.db.engine import POOL_MAX_OVERFLOW, POOL_RECYCLE_SECONDS, POOL_SIZE, make_engine
from support import require_postgres


def test_a_sqlite_file_keeps_its_connections_for_the_requests_in_flight(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pool.db'}")
    connections = [engine.connect() for _ in range(POOL_SIZE)]
    for connection in connections:
        connection.execute(text("SELECT 1"))
        connection.close()
    # Every one went back to the pool rather than being closed.
    assert engine.pool.checkedin() == POOL_SIZE  # type: ignore[attr-defined]
    engine.dispose()


def test_postgresql_pools_without_a_ping_and_recycles_old_connections() -> None:
    engine = make_engine(require_postgres())
    assert engine.pool._pre_ping is False
    assert engine.pool._recycle == POOL_RECYCLE_SECONDS
    assert engine.pool.size() == POOL_SIZE  # type: ignore[attr-defined]
    assert engine.pool._max_overflow == POOL_MAX_OVERFLOW  # type: ignore[attr-defined]
    engine.dispose()


def test_a_postgresql_connection_the_server_dropped_fails_once_then_the_pool_recovers() -> None:
    url = require_postgres()
    engine = make_engine(url)
    admin = make_engine(url, null_pool=True)
    with engine.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with admin.begin() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    with pytest.raises(OperationalError), engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
    engine.dispose()
    admin.dispose()
