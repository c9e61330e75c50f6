"""The unit of work: one transaction per use case; everything in it commits together or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from fjernlaan.db.engine import read_only


class Database:
    """An engine plus the session factory the services use."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session whose work commits when the block ends normally and rolls back on any error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


_READER = "fjernlaan.reads_before_writes"


def is_separate_reader(session: Session) -> bool:
    """True for a session `reads_before_writes` opened of its own: what it reads is detached once it
    ends, and may be stale by the time the writes begin."""
    return bool(session.info.get(_READER))


@contextmanager
def reads_before_writes(session: Session) -> Iterator[Session]:
    """A session for the reads a use case makes before it starts writing.

    On SQLite a writer's transaction holds the database's one write lock from its first statement
    (`BEGIN IMMEDIATE`), so reads made inside it keep every other writer waiting. When `session` has
    no transaction yet, this is a separate read-only session on the same engine (a deferred
    transaction on a WAL snapshot, no write lock) that ends before the writes begin; the objects read
    stay usable, detached. Otherwise (PostgreSQL, whose writers do not block each other, or a caller
    already inside a transaction whose own changes the reads must see) it is `session` itself.
    """
    bind = session.get_bind()
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite" or session.in_transaction():
        yield session
        return
    reader = Session(bind=read_only(bind), expire_on_commit=False, autoflush=False, info={_READER: True})
    try:
        yield reader
    finally:
        reader.close()
