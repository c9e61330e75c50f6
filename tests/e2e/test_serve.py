"""`make run`'s steps as a user runs them: migrate, seed, serve, then call the hub over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("hub")
    port = _free_port()
    env = {
        **os.environ,
        "FJERNLAAN_DATABASE_URL": f"sqlite:///{folder / 'hub.db'}",
        "FJERNLAAN_PORT": str(port),
        "FJERNLAAN_HOST": "127.0.0.1",
    }
    cli = [sys.executable, "-m", "fjernlaan.app.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "demo"], env=env, check=True, capture_output=True)
    token = subprocess.run(
        [*cli, "users", "token", "admin"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
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
    yield base, {"Authorization": f"Bearer {token}"}
    server.terminate()
    server.wait(timeout=10)
    log.close()


def test_health_answers_over_http(hub: tuple[str, dict[str, str]]) -> None:
    base, _ = hub
    body = httpx.get(f"{base}/health").json()
    assert body == {"status": "ok", "database": "sqlite", "version": body["version"]}


def test_the_directory_lists_copenhagen_as_public_in_its_region(hub: tuple[str, dict[str, str]]) -> None:
    base, headers = hub
    body = httpx.get(f"{base}/api/v1/libraries", params={"limit": 1000}, headers=headers).json()
    assert body["total"] >= 110
    copenhagen = next(lib for lib in body["items"] if lib["isil"] == "DK-710100")
    assert (copenhagen["type"], copenhagen["region"]) == ("public", "gentofte")


def test_the_login_page_is_danish_by_default(hub: tuple[str, dict[str, str]]) -> None:
    base, _ = hub
    page = httpx.get(f"{base}/login")
    assert page.status_code == 200
    assert 'lang="da"' in page.text and "Log ind" in page.text
