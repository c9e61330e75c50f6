"""SRU end to end: the hub in its own process, Debian's yaz-client asking it over HTTP."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("yaz-client") is None:
        reason = "yaz-client is not installed (make system-test-deps installs Debian's yaz)"
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but " + reason, pytrace=False)
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("sru")
    port = free_port()
    env = {
        **os.environ,
        "FJERNLAAN_DATABASE_URL": f"sqlite:///{folder / 'hub.db'}",
        "FJERNLAAN_PORT": str(port),
        "FJERNLAAN_HOST": "127.0.0.1",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
    }
    cli = [sys.executable, "-m", "fjernlaan.app.cli"]
    subprocess.run([*cli, "demo", "--records", "300"], env=env, check=True, capture_output=True)
    log = (folder / "serve.log").open("w")
    server = subprocess.Popen([*cli, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        server.terminate()
        pytest.fail("the hub did not answer /health within 30 s: " + Path(log.name).read_text())
    yield f"{base}/sru"
    server.terminate()
    server.wait(timeout=10)
    log.close()


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
