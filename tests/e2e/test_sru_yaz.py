"""SRU end to end: the hub in its own process, Debian's yaz-client asking it over HTTP."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from hub_server import SRC, free_port, hub_env, run_cli, served

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("yaz-client") is None:
        reason = "yaz-client is not installed (make system-test-deps installs Debian's yaz)"
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but " + reason, pytrace=False)
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("sru")
    env = hub_env(f"sqlite:///{folder / 'hub.db'}", port=free_port(), PYTHONPATH=str(SRC))
    run_cli(env, "demo", "--records", "300")
    with served(env, folder / "serve.log") as base:
        yield f"{base}/sru"


def _yaz(url: str, commands: str) -> str:
    result = subprocess.run(
        ["yaz-client", url], input=commands, capture_output=True, text=True, timeout=60, check=False
    )
    return result.stdout + result.stderr


def test_yaz_client_finds_records_over_sru(hub: str) -> None:
    out = _yaz(hub, "sru get 1.2\nformat xml\nelements marcxml\nfind cql.allRecords=1\nshow 1+2\nquit\n")
    assert "Number of hits: " in out
    hits = int(out.split("Number of hits: ")[1].split()[0].rstrip(","))
    assert hits >= 300
    assert "marc:record" in out and "datafield" in out


def test_yaz_client_gets_a_diagnostic_for_bad_cql(hub: str) -> None:
    out = _yaz(hub, "sru get 1.2\nfind dc.title = (\nquit\n")
    assert "SRW diagnostic info:srw/diagnostic/1/10" in out, out
