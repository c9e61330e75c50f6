"""Test setup: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from FJERNLAAN_TEST_DATABASE_URL (the Makefile sets it from
scripts/test-postgres-url). Without it the PostgreSQL tests skip loudly, except under CI=true, where
a missing server fails the run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from fjernlaan.accounts import service as accounts_service
from fjernlaan.app.migrate import upgrade
from fjernlaan.app.tables import metadata
from fjernlaan.clock import SYSTEM_CLOCK, FixedClock
from fjernlaan.db.engine import make_engine
from fjernlaan.db.uow import Database
from fjernlaan.settings import Settings
from support import (
    BACKENDS,
    RecordingSmtpHandler,
    drop_postgres_schema,
    free_port,
    new_postgres_schema_engine,
    require_postgres,
)

# Test peers, SMTP servers and hubs listen on loopback over plain http: allow such ISO 18626 endpoints
# in every Settings the tests build and every process they start (production refuses them).
os.environ.setdefault("FJERNLAAN_ISO18626_ALLOW_LOCAL_ENDPOINTS", "true")


@pytest.fixture(autouse=True, scope="session")
def _areas_installed() -> None:
    # Every process of the hub wires its areas before it serves or works (`create_app`, the worker's
    # pass); tests that call a service directly get the same wiring (ISO 18626 handlers, the outbound
    # glue, the dashboard's counts) from the start.
    from fjernlaan.app.areas import install_areas

    install_areas()


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    # argon2id at production cost takes ~50 ms a hash; tests hash many demo users.
    original = accounts_service._hasher
    accounts_service._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    accounts_service._hasher = original


@pytest.fixture(scope="session", params=BACKENDS)
def migrated_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A database of each backend, migrated to head once per test session."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "fjernlaan.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        database = Database(engine)
        yield database
        database.dispose()
        return
    url = require_postgres()
    engine, schema = new_postgres_schema_engine(url)
    upgrade(engine)
    database = Database(engine)
    yield database
    database.dispose()
    drop_postgres_schema(url, schema)


def _empty_all_tables(database: Database) -> None:
    tables = [t for t in reversed(metadata().sorted_tables)]
    with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())


@pytest.fixture
def db(migrated_database: Database) -> Iterator[Database]:
    """An empty, migrated database (SQLite and PostgreSQL); emptied again after the test."""
    _empty_all_tables(migrated_database)
    yield migrated_database
    _empty_all_tables(migrated_database)


@pytest.fixture
def seeded(db: Database) -> Database:
    """The empty database with the demo network (libraries, policies, closures, users) seeded."""
    from fjernlaan.app.demo import seed_demo

    with db.unit_of_work() as session:
        seed_demo(session, SYSTEM_CLOCK)  # dated relative to the real (or faked) today, like `make run`
    return db


@pytest.fixture
def clock() -> FixedClock:
    """A clock that stands still at the moment the test started (move it with `set`/`advance`)."""
    return FixedClock(SYSTEM_CLOCK.now())


@pytest.fixture
def app(seeded: Database, clock: FixedClock) -> FastAPI:
    """The hub's web app on the seeded database, on the test's `clock`."""
    from fjernlaan.app.factory import create_app
    from fjernlaan.settings import Settings

    return create_app(
        Settings(database_url="sqlite://", secret_key="test-secret"), database=seeded, clock=clock
    )


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client for the app (no credentials)."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def token_for(seeded: Database) -> Callable[[str], dict[str, str]]:
    """Authorization headers for a demo user, by username."""
    from fjernlaan.accounts.service import issue_token

    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            with seeded.unit_of_work() as session:
                cache[username] = {"Authorization": f"Bearer {issue_token(session, username, 'test')}"}
        return cache[username]

    return headers


@pytest.fixture
def smtp_server() -> Iterator[tuple[RecordingSmtpHandler, Settings]]:
    """A real SMTP server (aiosmtpd) on loopback, and settings that send to it."""
    from aiosmtpd.controller import Controller

    handler = RecordingSmtpHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings = Settings(
        database_url="sqlite://", smtp_host="127.0.0.1", smtp_port=port, smtp_sender="fjernlaan@hub.example"
    )
    yield handler, settings
    controller.stop()
