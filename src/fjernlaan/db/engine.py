"""Engines for SQLite (embedded default: WAL, foreign keys) and PostgreSQL (production)."""

from __future__ import annotations

import os
import threading
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
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
WRITER_WAIT_SECONDS = 30.0
# Connections kept open per process on a SQLite file (see make_engine).
SQLITE_POOL_SIZE = 32


class _WriterLock:
    """SQLite's writers, one at a time, queued here instead of in SQLite's busy handler.

    SQLite makes a blocked `BEGIN IMMEDIATE` sleep and poll (1, 2, 5 … 100 ms), so under load some
    writers wait seconds while others slip in. Here the threads of a process queue on a lock and the
    processes on an advisory `flock` of a file next to the database, so the next writer starts as
    soon as the last one ends. SQLite's own locking still applies underneath (other programs, the
    CLI); this only orders the writers that go through it. When a writer cannot get the queue within
    WRITER_WAIT_SECONDS, it goes on without it and SQLite's busy timeout decides, as before.
    """

    def __init__(self, database: str | None) -> None:
        self._threads = threading.Lock()
        self._path = f"{database}.writer-lock" if database and fcntl is not None else None
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Wait for this process's turn, then the other processes'; False when it took too long."""
        if not self._threads.acquire(timeout=WRITER_WAIT_SECONDS):
            return False
        if self._path is not None and fcntl is not None:
            try:
                if self._fd is None:
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except OSError:
                # No lock file (read-only folder…): order within the process only.
                self._path = None
        return True

    def release(self) -> None:
        """Let the next writer in."""
        if self._fd is not None and self._path is not None and fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


def read_only(engine: Engine) -> Engine:
    """The engine for units of work that only read: on SQLite they begin a plain (deferred)
    transaction and take no write lock; on PostgreSQL nothing changes."""
    reader = _readers.get(engine)
    if reader is None:
        reader = _readers[engine] = engine.execution_options(**{READ_ONLY_OPTION: True})
    return reader


_readers: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for the URL; SQLite files get their folder created, WAL mode and foreign keys on."""
    url = normalise_url(url)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        if database and database != ":memory:":
            # Enough pooled connections for the server's threads (reads run beside the writer, and
            # writers queue holding a connection): a connection beyond the pool's size is opened for
            # one unit of work and closed again, and opening one (PRAGMAs, reading the schema,
            # an empty page cache) costs more CPU than most units of work.
            kwargs.setdefault("pool_size", SQLITE_POOL_SIZE)
            kwargs.setdefault("max_overflow", SQLITE_POOL_SIZE)
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
                conn.exec_driver_sql("BEGIN")
                return
            if not conn.info.get(_HOLDS_WRITER_LOCK):
                conn.info[_HOLDS_WRITER_LOCK] = writers.acquire()
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        @event.listens_for(engine, "checkin")
        def _sqlite_checkin(_dbapi_connection: Any, record: Any) -> None:
            # The pool has rolled back or the caller committed: the transaction is over.
            if record.info.pop(_HOLDS_WRITER_LOCK, False):
                writers.release()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if kwargs.pop("null_pool", False):
        kwargs["poolclass"] = NullPool
    return create_engine(url, **kwargs)
