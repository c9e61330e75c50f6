"""The CLI's revocation, audit, erasure and backup commands against a real SQLite file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from fjernlaan.accounts.service import principal_for_token
from fjernlaan.app.cli import app
from fjernlaan.clock import SYSTEM_CLOCK
from fjernlaan.db.engine import make_engine
from fjernlaan.db.uow import Database
from fjernlaan.directory.store import LibraryRow
from fjernlaan.errors import NotAuthenticated
from fjernlaan.settings import get_settings

runner = CliRunner()


@pytest.fixture
def database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("FJERNLAAN_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    assert runner.invoke(app, ["demo", "--records", "0"]).exit_code == 0
    yield path
    get_settings.cache_clear()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _works(path: Path, token: str) -> bool:
    database = Database(make_engine(f"sqlite:///{path}"))
    try:
        with database.unit_of_work() as session:
            principal_for_token(session, token, SYSTEM_CLOCK.now())
        return True
    except NotAuthenticated:
        return False
    finally:
        database.dispose()


def test_tokens_are_listed_with_their_expiry_and_revoked(database_file: Path) -> None:
    code, token, _ = invoke("users", "token", "kbh", "--label", "skanner", "--days", "30")
    assert code == 0
    code, out, _ = invoke("users", "tokens", "kbh")
    assert code == 0 and "skanner" in out and "active" in out
    assert _works(database_file, token.strip())
    code, out, _ = invoke("users", "revoke", "kbh", "1")
    assert code == 0, out
    assert not _works(database_file, token.strip())
    assert "revoked" in invoke("users", "tokens", "kbh")[1]
    code, _, err = invoke("users", "revoke", "kbh")
    assert code == 1 and "token id or --all" in err


def test_a_deactivated_users_tokens_stop_working_and_the_audit_log_shows_who_did_it(
    database_file: Path,
) -> None:
    token = invoke("users", "token", "kbh")[1].strip()
    assert invoke("users", "deactivate", "kbh")[0] == 0
    assert not _works(database_file, token)
    assert invoke("users", "activate", "kbh")[0] == 0
    assert _works(database_file, token)
    code, out, _ = invoke("audit", "--json")
    assert code == 0
    entries = [json.loads(line) for line in out.splitlines()]
    assert [e["action"] for e in entries[:3]] == ["user_activated", "user_deactivated", "token_issued"]
    assert all(e["username"].startswith("cli:") and e["via"] == "cli" for e in entries[:3])


def test_privacy_erase_dry_run_reports_and_is_audited(database_file: Path) -> None:
    code, out, _ = invoke("privacy", "erase", "--dry-run", "--days", "1")
    assert code == 0, out
    assert "would erase" in out and "0 requests" in out
    code, out, _ = invoke("privacy", "erase")
    assert code == 0 and "erased" in out
    actions = [json.loads(line)["action"] for line in invoke("audit", "--json")[1].splitlines()]
    assert actions[:2] == ["privacy_erase", "privacy_erase_dry_run"]


def test_backup_and_restore_bring_the_database_back(database_file: Path, tmp_path: Path) -> None:
    file = tmp_path / "backup.db"
    assert invoke("backup", str(file))[0] == 0
    database = Database(make_engine(f"sqlite:///{database_file}"))
    with database.unit_of_work() as session:
        library = session.get(LibraryRow, "DK-710100")
        assert library is not None
        original = library.name
        library.name = "Ændret"
    database.dispose()
    code, out, _ = invoke("restore", str(file), "--yes")
    assert code == 0, out
    database = Database(make_engine(f"sqlite:///{database_file}"))
    with database.unit_of_work() as session:
        assert session.scalar(select(LibraryRow.name).where(LibraryRow.isil == "DK-710100")) == original
    database.dispose()
    code, _, err = invoke("restore", str(tmp_path / "missing.db"), "--yes")
    assert code == 1 and "no backup file" in err
