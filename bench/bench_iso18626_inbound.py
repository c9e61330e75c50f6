"""Inbound ISO 18626 messages per second with validation and persistence: a peer's lifecycle stream
posted to `POST /iso18626` of `fjernlaan serve --workers N` and through `inbound.receive` in one
process (SQLite; PostgreSQL when FJERNLAAN_BENCH_POSTGRES_URL is set), against bare lxml parse + XSD
validation of the same messages in the same run.

The stream follows the ISO 18626 lifecycle of direction (a), a peer borrowing from the network: for
every loan the peer sends a `request` (placed, routed by the rota builder, sent to our lender), and
then, as our lender's answers allow, its requestingAgencyMessages: StatusRequest, Received (the peer's
patron has it), Renew, Notification, ShippedReturn; one loan in ten has one message delivered twice
(a peer's retry). Messages are posted in lifecycle rounds: every loan's request, then our lenders
act (will_supply, ship; not timed, they are not inbound messages), then every loan's next message,
and so on, so each message meets the state it is meant for. Ten loans go through first, untimed, so
the figures are those of a warm server.

`FJERNLAAN_BENCH_LOANS` (default 200 loans, 6.1 messages each), `FJERNLAAN_BENCH_CLIENTS` (default 8
keep-alive HTTP connections), `FJERNLAAN_BENCH_WORKERS` (server processes, default one per core),
`FJERNLAAN_BENCH_HTTP=0` (in-process only), `FJERNLAAN_BENCH_PROFILE=file` (cProfile the in-process run).

Besides messages per second it prints what bounds them on SQLite: how long the in-process run held the
write lock per message (the part two server processes cannot overlap), and over HTTP the server's CPU
per message and how many cores it kept busy (CPU seconds per wall second; the machine may be shared,
so the load average is printed with it).
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import re
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import select

from bench.databases import postgres_schema
from bench.hub_process import free_port, process_tree_cpu_seconds, serve
from fjernlaan.app.areas import install_areas
from fjernlaan.app.demo import seed_demo
from fjernlaan.app.migrate import upgrade
from fjernlaan.catalogue.model import Holding, Record
from fjernlaan.catalogue.service import upsert_record
from fjernlaan.clock import SYSTEM_CLOCK
from fjernlaan.db.engine import _WriterLock, make_engine
from fjernlaan.db.uow import Database
from fjernlaan.directory.store import LibraryRow
from fjernlaan.iso18626 import inbound, peers
from fjernlaan.iso18626 import model as iso
from fjernlaan.iso18626.schema import find_xsd_dir
from fjernlaan.iso18626.store import RequestLinkRow
from fjernlaan.iso18626.writer import build
from fjernlaan.lending import model as lm
from fjernlaan.lending import service as lending

LOANS = int(os.environ.get("FJERNLAAN_BENCH_LOANS", "200"))
CLIENTS = int(os.environ.get("FJERNLAAN_BENCH_CLIENTS", "8"))
WORKERS = int(os.environ.get("FJERNLAAN_BENCH_WORKERS", str(os.cpu_count() or 1)))
PEER = "ZZ-BENCHPEER"
HUB = "DK-800010"  # the agency the peer addresses: the national library
ISBN = "9788702173437"
LENDERS = ("DK-714700", "DK-715100", "DK-715700")
WARMUP_LOANS = 10  # lifecycles run first and not timed: a server that has been up for a while
RETRY_EVERY = 10  # one loan in ten has a message delivered twice
TARGET = 300
# FJERNLAAN_BENCH_PROFILE=file: cProfile the in-process run (timed messages only) into that file.
PROFILE = os.environ.get("FJERNLAAN_BENCH_PROFILE")
_STATUS = re.compile(rb"messageStatus>\s*(\w+)\s*<")


class _LockWatch:
    """How long the timed messages held SQLite's write lock (`db.engine._WriterLock`), in wall and
    this thread's CPU time: the part of a message that two server processes cannot overlap."""

    def __init__(self) -> None:
        self.on = False
        self.wall = self.cpu = 0.0
        self._started: tuple[float, float] | None = None

    @contextmanager
    def installed(self) -> Iterator[None]:
        acquire, release = _WriterLock.acquire, _WriterLock.release

        def timed_acquire(lock: _WriterLock, info: dict[Any, Any]) -> bool:
            got = acquire(lock, info)
            self._started = (time.perf_counter(), time.thread_time()) if self.on else None
            return got

        def timed_release(lock: _WriterLock, info: dict[Any, Any]) -> None:
            if self._started is not None:
                self.wall += time.perf_counter() - self._started[0]
                self.cpu += time.thread_time() - self._started[1]
                self._started = None
            release(lock, info)

        _WriterLock.acquire, _WriterLock.release = timed_acquire, timed_release  # type: ignore[method-assign]
        try:
            yield
        finally:
            _WriterLock.acquire, _WriterLock.release = acquire, release  # type: ignore[method-assign]


@dataclass
class Round:
    """One lifecycle round: the same kind of message for every loan, posted after the lender acted."""

    kind: str
    bodies: list[bytes]
    lender_acts_before: tuple[lm.Action, ...] = ()


@dataclass
class Figures:
    """Time per round (wall and CPU) of one way of delivering the stream."""

    lock_wall: float = 0.0  # SQLite's write lock held (in-process run only)
    lock_cpu: float = 0.0
    wall: dict[str, float] = field(default_factory=Counter)
    cpu: dict[str, float] = field(default_factory=Counter)
    count: dict[str, int] = field(default_factory=Counter)
    refused: int = 0


def _agency(isil: str) -> iso.AgencyId:
    return iso.AgencyId("ISIL", isil)


def _rounds(run: str, start: datetime, loans: int = LOANS) -> list[Round]:
    """The stream: per loan a request, then its requestingAgencyMessages, round by round."""
    rids = [f"{run}-{n}" for n in range(loans)]

    def header(rid: str, round_no: int, n: int) -> iso.Header:
        # A new message changes the timestamp; the retry round repeats a message exactly.
        at = start + timedelta(minutes=round_no, milliseconds=n)
        return iso.Header(_agency(PEER), at, rid, supplying_agency_id=_agency(HUB))

    def request(n: int, rid: str) -> bytes:
        message = iso.Request(
            header=header(rid, 0, n),
            bibliographic_info=iso.BibliographicInfo(
                title="Æbler på Åen", author="Bench, Peer", item_ids=(iso.BibliographicItemId("ISBN", ISBN),)
            ),
            service_info=iso.ServiceInfo(service_type=iso.ServiceType.LOAN),
            patron_info=iso.PatronInfo(surname="Hemmelig", given_name="Patron"),
        )
        return build(message, iso.Version.V2017)

    def action(round_no: int, what: iso.Action, note: str | None = None) -> Callable[[int, str], bytes]:
        def one(n: int, rid: str) -> bytes:
            message = iso.RequestingAgencyMessage(header=header(rid, round_no, n), action=what, note=note)
            return build(message, iso.Version.V2017)

        return one

    plan: list[tuple[str, Callable[[int, str], bytes], tuple[lm.Action, ...]]] = [
        ("request", request, ()),
        ("StatusRequest", action(1, iso.Action.STATUS_REQUEST), ()),
        ("Received", action(2, iso.Action.RECEIVED), (lm.Action.WILL_SUPPLY, lm.Action.SHIP)),
        ("Renew", action(3, iso.Action.RENEW, "the patron needs it a little longer"), ()),
        ("Notification", action(4, iso.Action.NOTIFICATION, "thank you"), (lm.Action.GRANT_RENEWAL,)),
        ("ShippedReturn", action(5, iso.Action.SHIPPED_RETURN), ()),
    ]
    rounds = [Round(kind, [make(n, rid) for n, rid in enumerate(rids)], acts) for kind, make, acts in plan]
    # The retry: the peer did not see our answer to its ShippedReturn and sends it again.
    shipped_return = rounds[-1].bodies
    rounds.append(Round("retry (duplicate)", shipped_return[::RETRY_EVERY]))
    return rounds


def _mix(rounds: list[Round]) -> str:
    total = sum(len(r.bodies) for r in rounds)
    return ", ".join(f"{r.kind} {len(r.bodies)} ({len(r.bodies) / total:.0%})" for r in rounds)


# --------------------------------------------------------------------------------------------------
# The database: demo network, a peer, a title three lenders hold
# --------------------------------------------------------------------------------------------------


@contextmanager
def _database(label: str) -> Iterator[str]:
    """A fresh database: a SQLite file, or a new schema in FJERNLAAN_BENCH_POSTGRES_URL."""
    if label == "SQLite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    with postgres_schema(os.environ["FJERNLAAN_BENCH_POSTGRES_URL"]) as url:
        yield url


def _prepare(url: str) -> str:
    """Migrate and seed; returns the peer's bearer token."""
    db = Database(make_engine(url))
    upgrade(db.engine)
    with db.unit_of_work() as session:
        seed_demo(session, SYSTEM_CLOCK)
        session.add(
            LibraryRow(
                isil=PEER, name="Benchmark peer", type="foreign", iso18626_endpoint="http://127.0.0.1:9/"
            )
        )
        session.flush()
        peers.set_peer(session, PEER, account_id="bench", security_code="bench-security-code")
        token = peers.issue_peer_token(session, PEER)
        upsert_record(
            session,
            Record(record_id="bench-iso", title="Æbler på Åen", isbns=(ISBN,)),
            [Holding(i) for i in LENDERS],
        )
    db.dispose()
    lending.clear_caches()
    return token


def _lenders_act(db: Database, run: str, actions: tuple[lm.Action, ...], now: datetime) -> None:
    """Our lenders' own steps between the peer's messages (staff at the library asked; not timed)."""
    if not actions:
        return
    with db.unit_of_work() as session:
        ids = list(
            session.scalars(
                select(RequestLinkRow.request_id).where(
                    RequestLinkRow.peer_isil == PEER,
                    RequestLinkRow.requesting_agency_request_id.like(f"{run}-%"),
                )
            )
        )
    for request_id in ids:
        with db.unit_of_work() as session:
            loaded = lending.load(session, request_id, lock=True)
            actor = lending.Actor(lm.Role.SUPPLIER_STAFF, "bench", loaded.row.current_lender_isil)
            for action in actions:
                lending.apply(session, loaded, action, actor, now)


# --------------------------------------------------------------------------------------------------
# Three ways through the same messages
# --------------------------------------------------------------------------------------------------


def _bare(rounds: list[Round]) -> float:
    """CPU seconds per message of lxml's parse + XSD validation alone (the baseline)."""
    schema = etree.XMLSchema(etree.parse(str(find_xsd_dir() / iso.Version.V2017.schema_file)))
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    bodies = [b for r in rounds for b in r.bodies]
    started = time.process_time()
    for body in bodies:
        assert schema.validate(etree.fromstring(body, parser)), schema.error_log
    return (time.process_time() - started) / len(bodies)


def _in_process(url: str, token: str, rounds: list[Round], run: str) -> Figures:
    """One process calling `inbound.receive`, one unit of work per message."""
    db = Database(make_engine(url))
    figures = Figures()
    now = datetime.now(UTC)
    for r in _rounds(f"{run}w", now, WARMUP_LOANS):  # a warm process: caches filled, statements compiled
        _lenders_act(db, f"{run}w", r.lender_acts_before, now)
        for body in r.bodies:
            with db.unit_of_work() as session:
                inbound.receive(session, body, bearer_token=token, now=now, content_type="application/xml")
    profile = cProfile.Profile() if PROFILE else None
    watch = _LockWatch()
    with watch.installed():
        for r in rounds:
            _lenders_act(db, run, r.lender_acts_before, now)
            _receive_round(db, token, r, figures, watch, profile)
    figures.lock_wall, figures.lock_cpu = watch.wall, watch.cpu
    db.dispose()
    if profile is not None:
        profile.dump_stats(PROFILE)
        print(f"  profile of inbound.receive written to {PROFILE}")
    return figures


def _receive_round(
    db: Database, token: str, r: Round, figures: Figures, watch: _LockWatch, profile: cProfile.Profile | None
) -> None:
    """One round's messages through `inbound.receive`, timed (the lenders' steps before it are not)."""
    wall, cpu = time.perf_counter(), time.process_time()
    watch.on = True
    if profile is not None:
        profile.enable()
    try:
        for body in r.bodies:
            with db.unit_of_work() as session:
                reception = inbound.receive(
                    session, body, bearer_token=token, now=datetime.now(UTC), content_type="application/xml"
                )
                if reception.message_status is iso.MessageStatus.ERROR:
                    figures.refused += 1
                    if figures.refused == 1:
                        print(f"  first refusal ({r.kind}): {reception.error}")
    finally:
        watch.on = False
        if profile is not None:
            profile.disable()
    figures.wall[r.kind] += time.perf_counter() - wall
    figures.cpu[r.kind] += time.process_time() - cpu
    figures.count[r.kind] += len(r.bodies)


async def _post_all(port: int, token: str, bodies: list[bytes]) -> int:
    """POST every body over CLIENTS keep-alive connections (raw HTTP/1.1: the client must be cheap,
    it shares the cores with the server); returns how many were answered ERROR."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    head = (
        "POST /iso18626 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: "
    ).encode()
    refused = 0

    async def client() -> None:
        nonlocal refused
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while not queue.empty():
                body = queue.get_nowait()
                writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
                await writer.drain()
                headers = await reader.readuntil(b"\r\n\r\n")
                status = headers.split(b" ", 2)[1]
                length = int(re.search(rb"(?i)content-length:\s*(\d+)", headers)[1])  # type: ignore[index]
                answer = await reader.readexactly(length)
                found = _STATUS.search(answer)
                if status != b"200" or found is None or found[1] != b"OK":
                    refused += 1
                    if refused == 1:
                        print(f"  first refusal: HTTP {status.decode()} {answer[:600]!r}")
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return refused


def _over_http(url: str, token: str, rounds: list[Round], run: str) -> tuple[Figures, float | None]:
    """The stream posted to a real server; returns the figures and the server CPU per message."""
    port = free_port()
    server = serve(url, port, WORKERS)
    db = Database(make_engine(url))
    figures = Figures()
    server_cpu = 0.0
    known = True
    now = datetime.now(UTC)
    try:
        for r in _rounds(f"{run}w", now, WARMUP_LOANS):  # warm server processes, not timed
            _lenders_act(db, f"{run}w", r.lender_acts_before, now)
            asyncio.run(_post_all(port, token, r.bodies))
        for r in rounds:
            _lenders_act(db, run, r.lender_acts_before, now)
            before = process_tree_cpu_seconds(server.pid)
            wall, cpu = time.perf_counter(), time.process_time()
            figures.refused += asyncio.run(_post_all(port, token, r.bodies))
            figures.wall[r.kind] += time.perf_counter() - wall
            figures.cpu[r.kind] += time.process_time() - cpu
            figures.count[r.kind] += len(r.bodies)
            after = process_tree_cpu_seconds(server.pid)
            if before is None or after is None:
                known = False
            else:
                server_cpu += after - before
    finally:
        server.terminate()
        server.wait(timeout=30)
        db.dispose()
    total = sum(figures.count.values())
    return figures, (server_cpu / total if known and total else None)


def _report(label: str, how: str, figures: Figures, bare_per_message: float) -> None:
    total = sum(figures.count.values())
    wall = sum(figures.wall.values())
    cpu = sum(figures.cpu.values())
    per_type = ", ".join(
        f"{kind} {figures.count[kind] / figures.wall[kind]:,.0f}/s "
        f"({figures.cpu[kind] / figures.count[kind] * 1000:.1f} ms CPU)"
        for kind in figures.count
    )
    rate = total / wall
    print(
        f"{label} {how}: {rate:,.0f} messages/s overall ({total} messages, {figures.refused} refused; "
        f"{rate * bare_per_message:.4f} of bare lxml+XSD; target ≥ {TARGET}/s)"
    )
    print(f"  per type, wall rate (this process's CPU per message): {per_type}")
    print(f"  this process's CPU {cpu / total * 1000:.2f} ms per message overall")


def _run(label: str) -> None:
    run = uuid.uuid4().hex[:6]
    rounds = _rounds(run, datetime.now(UTC))
    bare = _bare(rounds)
    print(f"{label}: {LOANS} loans; mix: {_mix(rounds)}")
    print(f"{label} bare lxml parse + XSD: {1 / bare:,.0f} messages/s ({bare * 1e6:.0f} µs CPU per message)")
    with _database(label) as url:
        token = _prepare(url)
        load = os.getloadavg()[0]
        figures = _in_process(url, token, rounds, run)
        _report(label, f"inbound.receive in one process (load average {load:.1f})", figures, bare)
        if figures.lock_wall:
            total = sum(figures.count.values())
            # The wall time stretches when the machine is busy (the holder waits for a core); the
            # CPU time is what the lock would cost on idle cores.
            print(
                f"  SQLite's write lock held {figures.lock_wall / total * 1000:.2f} ms per message "
                f"({figures.lock_cpu / total * 1000:.2f} ms of it CPU): the part server processes take "
                f"turns on; however many cores, at most {total / figures.lock_wall:,.0f} messages/s at "
                f"this load, {total / figures.lock_cpu:,.0f}/s on idle cores"
            )
    if os.environ.get("FJERNLAAN_BENCH_HTTP", "1") == "0":
        return
    with _database(label) as url:
        token = _prepare(url)
        load = os.getloadavg()[0]
        figures, server_cpu = _over_http(url, token, rounds, run)
        _report(
            label,
            f"POST /iso18626, {WORKERS} server processes, {CLIENTS} clients (load average {load:.1f})",
            figures,
            bare,
        )
        if server_cpu is not None:
            cores = os.cpu_count() or 1
            total = sum(figures.count.values())
            # CPU seconds per wall second: how much of the machine the server kept busy (on SQLite,
            # about one core while its writers take turns on the write lock).
            busy = server_cpu * total / sum(figures.wall.values())
            print(
                f"  server CPU {server_cpu * 1000:.2f} ms per message (fjernlaan processes; the database "
                f"server's own CPU not counted) → at most {cores / server_cpu:,.0f} messages/s on {cores} "
                f"idle cores; the server used {busy:.2f} cores (CPU s per wall s, load average "
                f"{os.getloadavg()[0]:.1f} at the end)"
            )


def main() -> None:
    """Run on SQLite (and PostgreSQL when configured) and print the figures."""
    install_areas()  # the handlers and the outbound glue, as in the server
    _run("SQLite")
    if os.environ.get("FJERNLAAN_BENCH_POSTGRES_URL"):
        _run("PostgreSQL")
    else:
        print("PostgreSQL: skipped (set FJERNLAAN_BENCH_POSTGRES_URL)")


if __name__ == "__main__":
    main()
