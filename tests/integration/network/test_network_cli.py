"""`fjernlaan network import-members` and `fjernlaan network list` against a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fjernlaan.app.cli import app
from fjernlaan.db.engine import make_engine
from fjernlaan.db.uow import Database
from fjernlaan.network import service
from fjernlaan.network.model import BodyKind
from fjernlaan.settings import get_settings

runner = CliRunner()


@pytest.fixture
def body_in_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, int]]:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("FJERNLAAN_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    assert runner.invoke(app, ["demo"]).exit_code == 0
    database = Database(make_engine(f"sqlite:///{path}"))
    with database.unit_of_work() as session:
        body = service.create_body(session, name="Importnetværk", kind=BodyKind.NETWORK, capacity=1).id
    database.dispose()
    yield path, body
    get_settings.cache_clear()


def test_import_members_skips_a_bad_row_and_keeps_danish_letters(
    body_in_file: tuple[Path, int], tmp_path: Path
) -> None:
    path, body = body_in_file
    csv_file = tmp_path / "medlemmer.csv"
    csv_file.write_text(
        "name,email,organisation,role,library_isil\n"
        "Åse Ørum,aase.oerum@laesoe.bibliotek.example,Læsø Bibliotek,fjernlånsansvarlig,\n"
        "Bo Bæk,ikke-en-adresse,Tårnby Kommunebiblioteker,,DK-718500\n"
        "Søren Ærø,soeren@koebenhavn.bibliotek.example,Københavns Biblioteker,,DK-710100\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["network", "import-members", str(body), str(csv_file)])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "skipped row 2 (line 3)" in result.stderr and "ikke-en-adresse" in result.stderr
    assert "active 1, waiting 1, skipped 1" in result.stdout
    database = Database(make_engine(f"sqlite:///{path}"))
    with database.unit_of_work() as session:
        members = service.memberships(session, body)
    database.dispose()
    assert [(x.person.name, x.person.organisation, x.status.value) for x in members] == [
        ("Åse Ørum", "Læsø Bibliotek", "active"),
        ("Søren Ærø", "Københavns Biblioteker", "waiting"),
    ]


def test_import_members_refuses_a_file_with_the_wrong_header(
    body_in_file: tuple[Path, int], tmp_path: Path
) -> None:
    _, body = body_in_file
    csv_file = tmp_path / "forkert.csv"
    csv_file.write_text("navn,mail\nÅse,aase@x.example\n", encoding="utf-8")
    result = runner.invoke(app, ["network", "import-members", str(body), str(csv_file)])
    assert result.exit_code == 1
    assert "missing name, email" in " ".join(result.stderr.split())


def test_network_list_shows_the_demo_bodies(body_in_file: tuple[Path, int]) -> None:
    result = runner.invoke(app, ["network", "list"])
    assert result.exit_code == 0
    assert "Fremtidens Fjernlån" in result.stdout and "Koordinationsforum" in result.stdout
