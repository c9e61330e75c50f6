"""`make run`'s steps as a user runs them: migrate, seed, serve, then call the hub over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from hub_server import free_port, hub_env, run_cli, served

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("hub")
    env = hub_env(f"sqlite:///{folder / 'hub.db'}", port=free_port())
    run_cli(env, "db", "upgrade")
    run_cli(env, "demo")
    token = run_cli(env, "users", "token", "admin").strip()
    with served(env, folder / "serve.log") as base:
        yield base, {"Authorization": f"Bearer {token}"}


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
