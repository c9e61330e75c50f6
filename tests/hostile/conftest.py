"""Fixtures of the hostile tests: one seeded hub per module (seeding per test would dominate the run),
callers of every role, and a snapshot of every table's row count to prove a refusal changed nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fjernlaan.clock import SYSTEM_CLOCK, FixedClock
from fjernlaan.db.uow import Database
from fjernlaan.settings import Settings
from hostile_support import empty_all_tables as _empty


@pytest.fixture(scope="module")
def hostile_db(migrated_database: Database) -> Iterator[Database]:
    """The demo network, seeded once for the module (SQLite and PostgreSQL)."""
    from fjernlaan.app.demo import seed_demo

    _empty(migrated_database)
    with migrated_database.unit_of_work() as session:
        seed_demo(session, SYSTEM_CLOCK)  # dated relative to the real (or faked) today
    yield migrated_database
    _empty(migrated_database)


@pytest.fixture(scope="module")
def hostile_app(hostile_db: Database) -> FastAPI:
    """The hub's app on the module's database."""
    from fjernlaan.app.factory import create_app

    return create_app(
        Settings(database_url="sqlite://", secret_key="test-secret"),
        database=hostile_db,
        clock=FixedClock(SYSTEM_CLOCK.now()),
    )


@pytest.fixture(scope="module")
def hostile_client(hostile_app: FastAPI) -> Iterator[TestClient]:
    """A client that turns crashes into the 500 the hub would answer (never raises them)."""
    with TestClient(hostile_app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def auth(hostile_db: Database) -> Callable[[str], dict[str, str]]:
    """Authorization headers for a demo user, by username."""
    from fjernlaan.accounts.service import issue_token

    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            with hostile_db.unit_of_work() as session:
                cache[username] = {"Authorization": f"Bearer {issue_token(session, username, 'hostile')}"}
        return cache[username]

    return headers
