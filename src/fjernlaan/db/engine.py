"""Engines for SQLite (embedded default: WAL, foreign keys) and PostgreSQL (production)."""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

try:
    import fcntl
except ImportError:  # Windows: writers are ordered within each process only
    fcntl = None  # type: ignore[assignment]


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs that do not name a driver."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    """True for SQLite URLs."""
    return make_url(url).get_backend_name() == "sqlite"


# Execution option for connections that only read (see `read_only`).
READ_ONLY_OPTION = "fjernlaan_read_only"
_HOLDS_WRITER_LOCK = "fjernlaan_writer_lock"
_LOCK_FD = "fjernlaan_writer_lock_fd"
_LOCK_HOLDER = "fjernlaan_writer_lock_thread"
WRITER_WAIT_SECONDS = 30.0
# Connections kept open per process on a SQLite file (see make_engine).
SQLITE_POOL_SIZE = 32


class _WriterLock:
    """SQLite's writers, one at a time, queued here instead of in SQLite's busy handler.

    SQLite makes a blocked `BEGIN IMMEDIATE` sleep and poll (1, 2, 5 … 100 ms), so under load some
    writers wait seconds while others slip in. Here every pooled connection of every process waits
    for an advisory `flock` of a file next to the database, each through its own open file, so the
    kernel hands the lock to the next waiting writer as soon as the last one ends. All waiters of
    all processes queue together: a process with more writers waiting gets more turns (a lock per
    process, then one between processes, made the processes take turns, so the clients of the
    busier one waited longer). SQLite's own locking still applies underneath (other programs, the
    CLI); this only orders the writers that go through it. A thread that already holds the lock
    through another connection does not wait for it again (it would wait for itself); without a
    lock file (`:memory:`, a read-only folder, Windows) the writers of a process queue on a
    threading lock for at most WRITER_WAIT_SECONDS, then go on and SQLite's busy timeout decides.
    """

    def __init__(self, database: str | None) -> None:
        self._threads = threading.Lock()
        self._path = f"{database}.writer-lock" if database and fcntl is not None else None
        # The threads holding the lock now (the connection's record remembers which thread took
        # it: the pool may check a connection in from another thread).
        self._holders: set[int] = set()

    def acquire(self, info: dict[Any, Any]) -> bool:
        """Wait for the turn of the connection whose pool record `info` is; False when this goes on
        without the lock (see the class)."""
        thread = threading.get_ident()
        if thread in self._holders:
            return False
        if self._path is not None and fcntl is not None:
            try:
                fd = info.get(_LOCK_FD)
                if fd is None:
                    fd = info[_LOCK_FD] = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError:
                # No lock file (read-only folder…): order within the process only.
                self._path = None
            else:
                self._holders.add(thread)
                info[_LOCK_HOLDER] = (thread, fd)
                return True
        if not self._threads.acquire(timeout=WRITER_WAIT_SECONDS):
            return False
        self._holders.add(thread)
        info[_LOCK_HOLDER] = (thread, None)
        return True

    def release(self, info: dict[Any, Any]) -> None:
        """Let the next writer in (the connection whose pool record `info` is holds the lock)."""
        thread, fd = info.pop(_LOCK_HOLDER)
        self._holders.discard(thread)
        if fd is not None and fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        else:
            self._threads.release()

    @staticmethod
    def forget(info: dict[Any, Any]) -> None:
        """Close the lock file of a connection that is closed."""
        fd = info.pop(_LOCK_FD, None)
        if fd is not None:
            os.close(fd)


def read_only(engine: Engine) -> Engine:
    """The engine for units of work that only read: on SQLite they begin a plain (deferred)
    transaction and take no write lock; on PostgreSQL nothing changes."""
    reader = _readers.get(engine)
    if reader is None:
        reader = _readers[engine] = engine.execution_options(**{READ_ONLY_OPTION: True})
    return reader


_readers: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def _begin(conn: Any, statement: str) -> None:
    # Straight to the driver: every transaction begins here, and SQLAlchemy's statement handling
    # (events, result set-up) cost more than the BEGIN. Its errors are wrapped as SQLAlchemy's
    # own, as they would be through `exec_driver_sql`.
    try:
        conn.connection.driver_connection.execute(statement)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


# Connections each server process keeps open (and at most opens): the thread pool runs up to 40
# routes at once, and a pool smaller than the requests in flight closed and reopened connections
# under load (a new PostgreSQL backend each time).
POOL_SIZE = 10
POOL_MAX_OVERFLOW = 30
# PostgreSQL connections are replaced after this long instead of being tested before every use.
POOL_RECYCLE_SECONDS = 1800


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for the URL; SQLite files get their folder created, WAL mode and foreign keys on."""
    url = normalise_url(url)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        if database and database != ":memory:":
            # More connections kept than on PostgreSQL (POOL_SIZE): a SQLite connection beyond the
            # pool's size is opened for one unit of work and closed again, and opening one (PRAGMAs,
            # reading the schema, an empty page cache) costs more CPU than most units of work.
            kwargs.setdefault("pool_size", SQLITE_POOL_SIZE)
            kwargs.setdefault("max_overflow", POOL_MAX_OVERFLOW)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Python's sqlite3 opens implicit transactions lazily; we issue BEGIN ourselves so that
            # writers take the lock up front (BEGIN IMMEDIATE) instead of failing at first write.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        writers = _WriterLock(database if database and database != ":memory:" else None)

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            if conn.get_execution_options().get(READ_ONLY_OPTION):
                # A reader needs no write lock: WAL gives it a snapshot while writers carry on.
                _begin(conn, "BEGIN")
                return
            if not conn.info.get(_HOLDS_WRITER_LOCK):
                conn.info[_HOLDS_WRITER_LOCK] = writers.acquire(conn.info)
            _begin(conn, "BEGIN IMMEDIATE")

        @event.listens_for(engine, "checkin")
        def _sqlite_checkin(_dbapi_connection: Any, record: Any) -> None:
            # The pool has rolled back or the caller committed: the transaction is over.
            if record.info.pop(_HOLDS_WRITER_LOCK, False):
                writers.release(record.info)

        @event.listens_for(engine, "close")
        def _sqlite_close(_dbapi_connection: Any, record: Any) -> None:
            if record.info.pop(_HOLDS_WRITER_LOCK, False):
                writers.release(record.info)
            writers.forget(record.info)

        return engine
    # No `pool_pre_ping`: it cost a round trip (and PostgreSQL's CPU) on every checkout. A connection
    # the server dropped (restart, failover) fails the one statement that meets it; SQLAlchemy then
    # replaces every connection of the pool, and nothing of the failed unit of work was committed.
    if kwargs.pop("null_pool", False):
        kwargs["poolclass"] = NullPool
    else:
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", POOL_MAX_OVERFLOW)
        kwargs.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
    return create_engine(url, **kwargs)
