"""`fjernlaan serve --workers 2`: one process per worker, each listening on its own SO_REUSEPORT
socket, so connections made all at once are shared between them; a port in use is refused at once,
and stopping the command stops every process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e
CLIENTS = 40
LINUX = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SO_REUSEPORT balancing and /proc are Linux's"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = _free_port()
    env = {**os.environ, "FJERNLAAN_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}"}
    cli = [sys.executable, "-m", "fjernlaan.app.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--workers", "2", "--no-access-log"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            healthy = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            healthy = False
        # Both processes must be serving before the test counts their sockets and connections.
        if healthy and (tmp_path / "serve.log").read_text().count("Application startup complete") == 2:
            time.sleep(0.2)
            break
        time.sleep(0.2)
    else:
        server.terminate()
        pytest.fail("the hub did not answer /health within 60 s: " + (tmp_path / "serve.log").read_text())
    yield server, port
    server.terminate()
    server.wait(timeout=30)
    log.close()


def _established(port: int) -> set[int]:
    """Socket inodes of the server's side of established connections on the port (Linux)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01":
            inodes.add(int(fields[9]))
    return inodes


def _connections_of(pid: int, inodes: set[int]) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and int(target[8:-1]) in inodes:
            count += 1
    return count


def _server_processes(server: subprocess.Popen[bytes]) -> list[int]:
    return [int(pid) for pid in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]


def _listening_sockets(port: int) -> int:
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(
        1 for line in lines if int(line.split()[1].split(":")[1], 16) == port and line.split()[3] == "0A"
    )


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SO_REUSEPORT balancing and /proc are Linux's"
)
def test_each_server_process_listens_on_a_socket_of_its_own(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    server, port = served
    assert len(_server_processes(server)) == 2
    assert _listening_sockets(port) == 2


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SO_REUSEPORT balancing and /proc are Linux's"
)
def test_connections_made_at_once_are_shared_between_the_processes(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    server, port = served
    children = _server_processes(server)
    clients = [socket.socket() for _ in range(CLIENTS)]
    try:
        for client in clients:
            client.setblocking(False)
            client.connect_ex(("127.0.0.1", port))
        request = f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
        for client in clients:
            client.setblocking(True)
            client.settimeout(30)
            client.sendall(request)
        for client in clients:
            assert client.recv(65536).startswith(b"HTTP/1.1 200")
        inodes = _established(port)
        shares = sorted(_connections_of(pid, inodes) for pid in children)
        assert sum(shares) == CLIENTS
        # The kernel picks a process by a hash of each connection: all 40 on one would be 1 in 2**39.
        assert shares[0] >= 1, shares
    finally:
        for client in clients:
            client.close()


@LINUX
def test_a_second_hub_on_the_same_port_is_refused_at_once(
    served: tuple[subprocess.Popen[bytes], int], tmp_path: Path
) -> None:
    _, port = served
    env = {**os.environ, "FJERNLAAN_DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"}
    second = subprocess.run(
        [sys.executable, "-m", "fjernlaan.app.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert second.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in second.stderr


@LINUX
def test_stopping_the_command_stops_every_server_process(served: tuple[subprocess.Popen[bytes], int]) -> None:
    server, port = served
    children = _server_processes(server)
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=30) == 0
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert _listening_sockets(port) == 0
