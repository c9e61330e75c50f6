"""The app as `fjernlaan serve` runs it: the same routes, and at startup everything built so far is
moved out of the garbage collector's full collections (they stopped the process for hundreds of ms)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fjernlaan.app.factory import create_app, create_served_app


class _Node:
    other: _Node | None = None


@pytest.fixture
def _database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FJERNLAAN_DATABASE_URL", f"sqlite:///{tmp_path / 'served.db'}")
    yield
    gc.unfreeze()  # the test process goes on with other apps


@pytest.mark.usefixtures("_database_url")
def test_the_served_app_freezes_what_startup_built_and_still_answers() -> None:
    gc.unfreeze()
    app = create_served_app()
    assert gc.get_freeze_count() == 0
    with TestClient(app) as client:
        assert gc.get_freeze_count() > 0
        assert client.get("/openapi.json").status_code == 200
        # Cycles that become garbage while serving are still collected.
        cycle = _Node()
        cycle.other = _Node()
        cycle.other.other = cycle
        alive = weakref.ref(cycle)
        del cycle
        gc.collect()
        assert alive() is None


@pytest.mark.usefixtures("_database_url")
def test_an_app_built_for_tests_or_tools_freezes_nothing() -> None:
    gc.unfreeze()
    with TestClient(create_app()) as client:
        assert client.get("/openapi.json").status_code == 200
        assert gc.get_freeze_count() == 0
