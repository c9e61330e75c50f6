"""SQLite writers queue on the lock file: one at a time, every write lands, busy processes get more turns."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from fjernlaan.db.engine import make_engine


def _engines(tmp_path: Path, count: int) -> list[Engine]:
    """Engines on one database file, as separate server processes would have (each its own lock)."""
    url = f"sqlite:///{tmp_path / 'writers.db'}"
    engines = [make_engine(url) for _ in range(count)]
    with engines[0].begin() as connection:
        connection.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO counter VALUES (0)"))
        connection.execute(text("CREATE TABLE turns (engine INTEGER NOT NULL)"))
    return engines


def _increment(engine: Engine, label: int) -> None:
    # Read, then write what was read plus one: a lost update shows as a short count.
    with engine.begin() as connection:
        n = connection.execute(text("SELECT n FROM counter")).scalar_one()
        connection.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
        connection.execute(text("INSERT INTO turns VALUES (:e)"), {"e": label})


def _run(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()


def test_writers_of_several_engines_and_threads_each_commit_in_turn(tmp_path: Path) -> None:
    engines = _engines(tmp_path, 2)
    errors: list[BaseException] = []

    def work(engine: Engine, label: int) -> None:
        try:
            for _ in range(25):
                _increment(engine, label)
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)

    _run([threading.Thread(target=work, args=(e, i)) for i, e in enumerate(engines) for _ in range(3)])
    assert errors == []
    with engines[0].connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar_one() == 150
    for engine in engines:
        engine.dispose()


def test_an_engine_with_more_writers_waiting_gets_more_turns(tmp_path: Path) -> None:
    # Four writers behind one engine, one behind the other: the turns follow the writers, so the
    # busier server process is not held to the quieter one's pace.
    busy, quiet = _engines(tmp_path, 2)
    stop = time.monotonic() + 1.5

    def work(engine: Engine, label: int) -> None:
        while time.monotonic() < stop:
            _increment(engine, label)

    _run(
        [threading.Thread(target=work, args=(busy, 0)) for _ in range(4)]
        + [threading.Thread(target=work, args=(quiet, 1))]
    )
    with busy.connect() as connection:
        turns = dict(connection.execute(text("SELECT engine, count(*) FROM turns GROUP BY engine")).all())
    assert turns[0] > 2.5 * turns[1], turns
    busy.dispose()
    quiet.dispose()


def test_a_thread_holding_the_lock_does_not_wait_for_itself(tmp_path: Path) -> None:
    # A second write connection in the same thread goes on without the queue, so SQLite's busy
    # timeout decides (as it would without the queue) instead of the thread waiting for itself.
    (engine,) = _engines(tmp_path, 1)
    with engine.begin() as first:
        first.execute(text("UPDATE counter SET n = 1"))
        second = engine.connect()
        second.connection.dbapi_connection.execute("PRAGMA busy_timeout=100")  # type: ignore[union-attr]
        started = time.monotonic()
        with pytest.raises(OperationalError, match="locked"):
            second.begin()
        assert time.monotonic() - started < 10
        second.close()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar_one() == 1
    engine.dispose()


def test_the_lock_is_released_when_another_thread_checks_the_connection_in(tmp_path: Path) -> None:
    (engine,) = _engines(tmp_path, 1)
    connection = engine.connect()
    connection.begin()
    connection.execute(text("UPDATE counter SET n = 5"))
    connection.commit()
    # The web layer may close a session from another thread than the one that wrote.
    closer = threading.Thread(target=connection.close)
    closer.start()
    closer.join()
    done = threading.Event()

    def write() -> None:
        _increment(engine, 0)
        done.set()

    threading.Thread(target=write, daemon=True).start()
    assert done.wait(10), "the next writer never got the lock"
    engine.dispose()
