"""Helpers the tests share: the PostgreSQL server, the shared reference folder, schemas per run."""

from __future__ import annotations

import os
import uuid
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from fjernlaan.db.engine import make_engine
from hub_server import free_port as free_port  # one copy, shared with the benchmarks

REPO = Path(__file__).resolve().parents[1]


def _find_shared() -> Path:
    # The repo's sibling ../shared; a git worktree kept under <root>/wt/<name> finds it one level up.
    for base in (REPO.parent, REPO.parent.parent):
        if (base / "shared").is_dir():
            return base / "shared"
    return REPO.parent / "shared"


SHARED = _find_shared()
BACKENDS = ("sqlite", "postgresql")


def postgres_url() -> str | None:
    """The PostgreSQL server the tests may use, or None."""
    return os.environ.get("FJERNLAAN_TEST_DATABASE_URL") or None


def require_postgres() -> str:
    """The PostgreSQL URL, or skip (fail under CI) with a loud reason."""
    url = postgres_url()
    if url:
        return url
    reason = "PostgreSQL tests SKIPPED: no server (set FJERNLAAN_TEST_DATABASE_URL or install PostgreSQL)"
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but " + reason, pytrace=False)
    pytest.skip(reason)


def shared_reference(*parts: str) -> Path:
    """A path under ../shared/reference, or skip when the shared folder is not beside the repo."""
    path = SHARED.joinpath("reference", *parts)
    if not path.exists():
        pytest.skip(f"reference material not found at {path} (../shared is not beside the repository)")
    return path


def new_postgres_schema_engine(url: str) -> tuple[Engine, str]:
    """An engine whose connections work in a new, empty schema of the test server."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url, null_pool=True)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    return engine, schema


def drop_postgres_schema(url: str, schema: str) -> None:
    """Drop a schema made by `new_postgres_schema_engine`."""
    admin = make_engine(url, null_pool=True)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


class RecordingSmtpHandler:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        content = envelope.content  # type: ignore[attr-defined]
        message = BytesParser(policy=default).parsebytes(content)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"
