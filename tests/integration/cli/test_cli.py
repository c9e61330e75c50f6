"""The `fjernlaan` command against a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fjernlaan.app.cli import app
from fjernlaan.settings import get_settings

runner = CliRunner()


@pytest.fixture
def database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("FJERNLAAN_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_demo_seeds_once_and_reuses_on_a_second_run(database_file: Path) -> None:
    code, out, _ = invoke("demo")
    assert code == 0, out
    assert "115 libraries" in out
    assert "admin" in out
    assert "requests" in out  # the demo requests in every staff queue
    assert "1000000001" in out and "patron" in out  # the demo patron (card number and PIN)
    code, out, _ = invoke("demo")
    assert code == 0
    assert "nothing new" in out


def test_users_token_prints_a_token_that_the_api_accepts(database_file: Path) -> None:
    invoke("demo")
    code, out, _ = invoke("users", "token", "admin")
    assert code == 0
    assert out.strip().startswith("fjl_")


def test_users_token_for_an_unknown_user_fails_clearly(database_file: Path) -> None:
    invoke("db", "upgrade")
    code, _, err = invoke("users", "token", "nobody")
    assert code == 1
    assert "no user 'nobody'" in err


def test_users_add_refuses_an_unknown_library(database_file: Path) -> None:
    invoke("db", "upgrade")
    code, _, err = invoke(
        "users", "add", "x1", "--role", "staff", "--library", "DK-999999", "--password", "abcdefgh1"
    )
    assert code == 1
    assert "DK-999999" in err


def test_csv_round_trip_keeps_danish_letters(database_file: Path, tmp_path: Path) -> None:
    invoke("demo")
    exported = tmp_path / "libraries.csv"
    code, _, _ = invoke("libraries", "export", "--format", "csv", "--output", str(exported))
    assert code == 0
    text = exported.read_text(encoding="utf-8")
    assert "Ærø" in text and "Læsø" in text and "Tårnby" in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 115
    # Into a fresh database: everything comes back the same.
    other = tmp_path / "other.db"
    import os

    os.environ["FJERNLAAN_DATABASE_URL"] = f"sqlite:///{other}"
    get_settings.cache_clear()
    invoke("db", "upgrade")
    code, out, _ = invoke("libraries", "import", str(exported))
    assert code == 0, out
    assert "created 115" in out and "skipped 0" in out
    again = tmp_path / "again.csv"
    invoke("libraries", "export", "--output", str(again))
    assert again.read_text(encoding="utf-8") == text


def test_reimporting_the_same_file_changes_nothing(database_file: Path, tmp_path: Path) -> None:
    invoke("demo")
    exported = tmp_path / "libraries.json"
    invoke("libraries", "export", "--format", "json", "--output", str(exported))
    code, out, _ = invoke("libraries", "import", str(exported))
    assert code == 0
    assert "created 0, updated 0, unchanged 115" in out


def test_bad_rows_are_skipped_and_reported_with_their_position(database_file: Path, tmp_path: Path) -> None:
    invoke("db", "upgrade")
    source = tmp_path / "bad.csv"
    source.write_text(
        "isil,name,type,region,central_isil\n"
        "DK-715700,Gentofte Bibliotekerne,central,gentofte,DK-715700\n"
        "DK-71570,Forkert,public,gentofte,\n"
        "DK-710100,Københavns Biblioteker,public,gentofte,DK-715700\n"
        "DK-711111,Ukendt central,public,gentofte,DK-999999\n"
        "DK-722222,Ukendt type,museum,,\n",
        encoding="utf-8",
    )
    code, out, err = invoke("libraries", "import", str(source))
    assert code == 0
    assert "created 2" in out and "skipped 3" in out
    assert "row 2 (line 3): isil" in err
    assert "row 4 (line 5): central_isil: no library with ISIL DK-999999" in err
    assert "row 5 (line 6): type" in err


def test_a_file_that_is_not_json_fails_clearly(database_file: Path, tmp_path: Path) -> None:
    invoke("db", "upgrade")
    source = tmp_path / "bad.json"
    source.write_text("{not json", encoding="utf-8")
    code, _, err = invoke("libraries", "import", str(source))
    assert code == 1
    assert "not valid JSON" in err


def test_json_export_is_utf8_with_danish_letters(database_file: Path) -> None:
    invoke("demo")
    code, out, _ = invoke("libraries", "export", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert any(row["name"].startswith("Ærø") for row in rows)


def test_principles_show_prints_the_active_version() -> None:
    code, out, _ = invoke("principles", "show")
    assert code == 0
    assert out.startswith("dk-2012")
    assert "own_region_public" in out


def test_principles_check_lists_every_problem_with_its_field(tmp_path: Path) -> None:
    source = tmp_path / "bad.toml"
    source.write_text('version = "x"\ntitle = "Prøve"\n[weights]\navailability = -1\n', encoding="utf-8")
    code, _, err = invoke("principles", "check", str(source))
    assert code == 1
    assert "missing section [tiers]" in err
    assert "weights.availability" in err


def test_principles_check_accepts_the_bundled_versions() -> None:
    for version in ("dk-2012", "dk-2023"):
        code, out, _ = invoke("principles", "check", version)
        assert code == 0, out
        assert "valid" in out


def test_peers_set_and_token(database_file: Path) -> None:
    invoke("demo")
    code, out, _ = invoke(
        "peers",
        "set",
        "SE-L",
        "--account-id",
        "lund",
        "--security-code",
        "lang-kode-1",
        "--kind",
        "reshare",
        "--unfilled-at-end",
    )
    assert code == 0, out
    assert "reshare" in out and "only at the end of the rota" in out
    code, out, _ = invoke("peers", "token", "SE-L")
    assert code == 0 and out.strip().startswith("fjlp_")


def test_peers_outbound_token_is_read_from_stdin_and_never_printed(database_file: Path) -> None:
    invoke("demo")
    result = runner.invoke(app, ["peers", "outbound-token", "SE-L"], input="lunds-token-til-os\n")
    assert result.exit_code == 0, result.stdout
    assert "stored" in result.stdout and "lunds-token-til-os" not in result.stdout
    code, out, _ = invoke("peers", "set", "SE-L")
    assert code == 0 and "our token for it set" in out


def test_peers_outbound_token_refuses_a_token_a_header_cannot_carry(database_file: Path) -> None:
    invoke("demo")
    result = runner.invoke(app, ["peers", "outbound-token", "SE-L"], input="to ord\n")
    assert result.exit_code != 0
    assert "RFC 6750" in result.stdout + result.stderr


def test_peers_outbound_token_clear_falls_back_to_the_hub_setting(database_file: Path) -> None:
    invoke("demo")
    runner.invoke(app, ["peers", "outbound-token", "SE-L"], input="lunds-token-til-os\n")
    result = runner.invoke(app, ["peers", "outbound-token", "SE-L", "--clear"])
    assert result.exit_code == 0, result.stdout
    assert "FJERNLAAN_ISO18626_OUTBOUND_TOKEN applies" in result.stdout


def test_python_dash_m_knows_every_command_including_the_last_defined() -> None:
    # `python -m fjernlaan.app.cli` runs the module as a script: commands defined below its
    # `if __name__ == "__main__"` line would be missing (peers and requests once were).
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "fjernlaan.app.cli", "peers", "set", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--security-code" in result.stdout


def test_patrons_set_pin_reads_the_pin_from_standard_input(database_file: Path) -> None:
    from fastapi.testclient import TestClient

    from fjernlaan.app.factory import create_app
    from patron_helpers import log_in_patron

    invoke("demo", "--records", "0", "--no-requests")
    result = runner.invoke(app, ["patrons", "set-pin", "1000000001"], input="97531\n")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "97531" not in result.stdout
    with TestClient(create_app()) as client:
        assert log_in_patron(client, "1000000001", "97531").status_code == 303
        assert log_in_patron(client, "1000000001", "1234").status_code == 401
    refused = runner.invoke(app, ["patrons", "set-pin", "1000000001"], input="12ab\n")
    assert refused.exit_code == 1 and "PIN is 4 to 12 digits" in refused.stderr
    unknown = runner.invoke(app, ["patrons", "set-pin", "424242"], input="1234\n")
    assert unknown.exit_code == 1 and "no patron has card 424242" in unknown.stderr
