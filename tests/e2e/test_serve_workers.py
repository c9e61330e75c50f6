"""`fjernlaan serve --workers 2`: one process per worker, each listening on its own SO_REUSEPORT
socket, so connections made all at once are shared between them; a port in use is refused at once,
and stopping the command stops every process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub_server import cli, free_port, hub_env, run_cli, start, stop, wait_healthy

pytestmark = pytest.mark.e2e
CLIENTS = 40
LINUX = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SO_REUSEPORT balancing and /proc are Linux's"
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    env = hub_env(f"sqlite:///{tmp_path / 'hub.db'}")
    run_cli(env, "db", "upgrade")
    log = tmp_path / "serve.log"
    server = start(env, log, "serve", "--port", str(port), "--workers", "2", "--no-access-log")
    # Both processes must be serving before the test counts their sockets and connections.
    wait_healthy(f"http://127.0.0.1:{port}", log, processes=2, stop=server)
    yield server, port
    stop(server, timeout=30)


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
        cli("serve", "--port", str(port), "--workers", "2"),
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
