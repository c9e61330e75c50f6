"""Backup and restore of the whole database: SQLite's online backup API, pg_dump/pg_restore for
PostgreSQL. A backup is taken while the hub runs; a restore replaces everything, so the hub's server
and worker processes are stopped first (docs/usage.md)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine, text

from fjernlaan.errors import DomainError


def backup(engine: Engine, path: Path) -> None:
    """Write a consistent copy of the database to ``path`` while it is in use (replaced if it exists)."""
    if engine.dialect.name == "sqlite":
        _sqlite_copy(_sqlite_path(engine), path)
    elif engine.dialect.name == "postgresql":
        schema = _schema(engine)
        args = ["pg_dump", "--format=custom", "--no-owner", f"--file={path}"]
        if schema != "public":
            args.append(f"--schema={schema}")
        _run([*args, _libpq_url(engine)], engine)
    else:
        raise DomainError(f"no backup for {engine.dialect.name} databases")


def restore(engine: Engine, path: Path) -> None:
    """Replace the database's contents with the backup at ``path``."""
    if not path.is_file():
        raise DomainError(f"no backup file {path}", field="file")
    engine.dispose()  # no pooled connection may hold a lock on what is replaced
    if engine.dialect.name == "sqlite":
        _check_sqlite_backup(path)
        _sqlite_copy(path, Path(_sqlite_path(engine)))
    elif engine.dialect.name == "postgresql":
        args = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction"]
        _run([*args, f"--dbname={_libpq_url(engine)}", str(path)], engine)
    else:
        raise DomainError(f"no restore for {engine.dialect.name} databases")


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise DomainError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    # SQLite's online backup copies page by page under a read transaction of the source, so writers
    # may go on; the target ends up as a consistent snapshot, in one transaction of its own.
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _check_sqlite_backup(path: Path) -> None:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            connection.execute("SELECT count(*) FROM alembic_version").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise DomainError(f"{path} is not a fjernlaan SQLite backup: {exc}", field="file") from exc


def _schema(engine: Engine) -> str:
    with engine.connect() as connection:
        return str(connection.execute(text("SELECT current_schema()")).scalar_one())


def _libpq_url(engine: Engine) -> str:
    # libpq's URI: no SQLAlchemy driver name, and no password on the command line (see _run).
    url = engine.url.set(drivername="postgresql", password=None)
    schema = _schema(engine)
    if schema != "public":
        url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def _run(args: list[str], engine: Engine) -> None:
    tool = args[0]
    if shutil.which(tool) is None:
        raise DomainError(f"{tool} is not installed (the PostgreSQL client tools are needed)")
    env = dict(os.environ)
    if engine.url.password:
        env["PGPASSWORD"] = str(engine.url.password)
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DomainError(f"{tool} failed: {result.stderr.strip()[-2000:]}")
