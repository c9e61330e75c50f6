"""A peer's messages about one request arriving at once (SQLite and PostgreSQL).

The inbound path reads what a message needs before it takes the write lock (on SQLite, the
database's one write lock; see ``inbound.Prepare``) and reuses those rows only when the request has
not changed since. These tests change the request between the early reads and the writes, and
deliver messages from two threads at once: each message must still meet the state it is applied to,
a refusal must change nothing, and a retry must be applied once and confirmed identically.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from fjernlaan.catalogue.model import Holding, Record
from fjernlaan.catalogue.service import upsert_record
from fjernlaan.db.outbox import OutboxMessage
from fjernlaan.db.uow import Database, reads_before_writes
from fjernlaan.errors import NotFound
from fjernlaan.iso18626 import inbound, peers
from fjernlaan.iso18626 import model as iso
from fjernlaan.iso18626.links import PeerRole, find_link
from fjernlaan.iso18626.reader import ParsedMessage, parse
from fjernlaan.iso18626.store import InboundMessageRow
from fjernlaan.iso18626.writer import build
from fjernlaan.lending import model as lm
from fjernlaan.lending import service as lending
from fjernlaan.lending.store import EventRow
from iso18626_peers import add_foreign_library

PEER = "ZZ-RACEPEER"
LENDER = "DK-715700"
ISBN = "9788702173437"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    lending.clear_caches()
    peers.clear_peer_cache()
    yield
    peers.clear_peer_cache()


@pytest.fixture
def peer(seeded: Database) -> tuple[Database, str]:
    with seeded.unit_of_work() as session:
        add_foreign_library(session, PEER, endpoint="http://127.0.0.1:9/iso18626")
        peers.set_peer(session, PEER, account_id="race", security_code="hemmelig-kode-æøå")
        token = peers.issue_peer_token(session, PEER)
        upsert_record(
            session, Record(record_id="race-1", title="Æbler på Åen", isbns=(ISBN,)), [Holding(LENDER)]
        )
    return seeded, token


def _agency(isil: str) -> iso.AgencyId:
    return iso.AgencyId("ISIL", isil)


def _request(rid: str) -> bytes:
    message = iso.Request(
        header=iso.Header(_agency(PEER), T0, rid, supplying_agency_id=_agency("DK-800010")),
        bibliographic_info=iso.BibliographicInfo(
            title="Æbler på Åen", item_ids=(iso.BibliographicItemId("ISBN", ISBN),)
        ),
        service_info=iso.ServiceInfo(service_type=iso.ServiceType.LOAN),
    )
    return build(message, iso.Version.V2017)


def _action(rid: str, action: iso.Action, minutes: int) -> bytes:
    message = iso.RequestingAgencyMessage(
        header=iso.Header(
            _agency(PEER), T0 + timedelta(minutes=minutes), rid, supplying_agency_id=_agency("DK-800010")
        ),
        action=action,
    )
    return build(message, iso.Version.V2017)


def _post(db: Database, token: str, body: bytes) -> inbound.Reception:
    with db.unit_of_work() as session:
        return inbound.receive(session, body, bearer_token=token, now=datetime.now(UTC))


def _placed_and_shipped(db: Database, token: str, rid: str) -> int:
    """A peer's request, sent to our lender, who has shipped it: the peer may now say Received."""
    assert _post(db, token, _request(rid)).message_status is iso.MessageStatus.OK
    with db.unit_of_work() as session:
        link = find_link(session, PEER, PeerRole.REQUESTER, rid)
        assert link is not None
        loaded = lending.load(session, link.request_id, lock=True)
        lending.apply(
            session, loaded, lm.Action.SHIP, lending.Actor(lm.Role.SUPPLIER_STAFF, "staff", LENDER), T0
        )
        return link.request_id


def _state(db: Database, request_id: int) -> str:
    with db.unit_of_work() as session:
        return lending.load(session, request_id).row.state


def _events(db: Database, request_id: int) -> list[tuple[str, str | None, str]]:
    with db.unit_of_work() as session:
        rows = session.scalars(
            select(EventRow).where(EventRow.request_id == request_id).order_by(EventRow.id)
        )
        return [(e.action, e.from_state, e.to_state) for e in rows]


def _after_prepare(
    monkeypatch: pytest.MonkeyPatch, kind: str, meanwhile: Callable[[ParsedMessage], None]
) -> list[Any]:
    """Run ``meanwhile`` after a ``kind`` message's early reads and before its writes (once)."""
    registered = inbound.HANDLERS[kind]
    assert registered.prepare is not None
    original = registered.prepare
    prepared: list[Any] = []

    def prepare(session: Session, parsed: ParsedMessage, isil: str, now: datetime) -> Any:
        result = original(session, parsed, isil, now)
        prepared.append(result)
        if len(prepared) == 1:
            meanwhile(parsed)
        return result

    monkeypatch.setitem(inbound.HANDLERS, kind, inbound._Registered(registered.handle, prepare))
    return prepared


# --------------------------------------------------------------------------------------------------
# A change between the early reads and the writes
# --------------------------------------------------------------------------------------------------


def test_a_message_read_before_a_concurrent_change_is_applied_to_the_new_state(
    peer: tuple[Database, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Renew is read while the loan is `shipped` (where Renew is not allowed); Received is applied in
    # between. Applied to the rows it read first, Renew would be refused; it must meet `checked_out`.
    db, token = peer
    request_id = _placed_and_shipped(db, token, "race-1")

    def received_meanwhile(_parsed: ParsedMessage) -> None:
        assert _post(db, token, _action("race-1", iso.Action.RECEIVED, 1)).applied

    prepared = _after_prepare(monkeypatch, "requestingAgencyMessage", received_meanwhile)
    reception = _post(db, token, _action("race-1", iso.Action.RENEW, 2))

    assert reception.message_status is iso.MessageStatus.OK, reception.error
    assert _state(db, request_id) == "renew_pending"
    assert [e[0] for e in _events(db, request_id)][-3:] == ["receive", "check_out", "request_renewal"]
    if db.dialect == "sqlite":  # the early read really was the stale one
        assert prepared[0].loaded is not None and prepared[0].loaded.row.state == "shipped"


def test_an_illegal_message_after_a_concurrent_change_is_refused_and_changes_nothing(
    peer: tuple[Database, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Received is read while the loan is `shipped`, where it is allowed; meanwhile our lender reports
    # the loan lost in transit. Received must now be refused with errorData, its log row must say so,
    # and the request must stay as the other change left it.
    db, token = peer
    request_id = _placed_and_shipped(db, token, "race-2")
    before = _events(db, request_id)

    def lost_meanwhile(_parsed: ParsedMessage) -> None:
        with db.unit_of_work() as session:
            loaded = lending.load(session, request_id, lock=True)
            actor = lending.Actor(lm.Role.SUPPLIER_STAFF, "staff", LENDER)
            lending.apply(session, loaded, lm.Action.REPORT_LOST, actor, T0, lm.ActionInput(reason="væk"))

    _after_prepare(monkeypatch, "requestingAgencyMessage", lost_meanwhile)
    body = _action("race-2", iso.Action.RECEIVED, 1)
    reception = _post(db, token, body)

    assert reception.message_status is iso.MessageStatus.ERROR
    assert reception.error is not None and reception.error.type is iso.ErrorType.UNRECOGNISED_DATA_VALUE
    assert _state(db, request_id) == "lost"
    assert _events(db, request_id)[: len(before)] == before
    # The lender's report (an event on each side) and nothing of the refused Received.
    assert {e[0] for e in _events(db, request_id)[len(before) :]} == {"report_lost"}
    with db.unit_of_work() as session:
        row = session.scalars(select(InboundMessageRow).order_by(InboundMessageRow.id.desc())).first()
        assert row is not None
        assert (row.outcome, row.message_status, bytes(row.confirmation)) == (
            "refused",
            "ERROR",
            reception.confirmation,
        )


def test_a_status_request_answers_with_the_state_as_of_its_writes(
    peer: tuple[Database, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read while the attempt is `received` (RequestReceived); our lender says will_supply meanwhile,
    # which queues ExpectToSupply to the peer. The answer must not go out after it saying less.
    db, token = peer
    assert _post(db, token, _request("race-3")).applied
    with db.unit_of_work() as session:
        link = find_link(session, PEER, PeerRole.REQUESTER, "race-3")
        assert link is not None

    def will_supply_meanwhile(_parsed: ParsedMessage) -> None:
        with db.unit_of_work() as session:
            loaded = lending.load(session, link.request_id, lock=True)
            actor = lending.Actor(lm.Role.SUPPLIER_STAFF, "staff", LENDER)
            lending.apply(session, loaded, lm.Action.WILL_SUPPLY, actor, T0)

    _after_prepare(monkeypatch, "requestingAgencyMessage", will_supply_meanwhile)
    assert _post(db, token, _action("race-3", iso.Action.STATUS_REQUEST, 1)).applied

    with db.unit_of_work() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "iso18626").order_by(OutboxMessage.id)
        )
        sent = [parse(str(r.payload["xml"]).encode()).message for r in rows]
    answers = [m for m in sent if isinstance(m, iso.SupplyingAgencyMessage)]
    assert [(m.message_info.reason_for_message, m.status_info.status) for m in answers] == [
        (iso.ReasonForMessage.REQUEST_RESPONSE, iso.Status.EXPECT_TO_SUPPLY),
        (iso.ReasonForMessage.STATUS_REQUEST_RESPONSE, iso.Status.EXPECT_TO_SUPPLY),
    ]


def test_an_unchanged_request_is_not_read_again_under_the_write_lock(peer: tuple[Database, str]) -> None:
    db, token = peer
    request_id = _placed_and_shipped(db, token, "race-4")
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert _post(db, token, _action("race-4", iso.Action.RECEIVED, 1)).applied
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert _state(db, request_id) == "checked_out"
    reads_of_the_request = [
        s for s in statements if s.lstrip().upper().startswith("SELECT") and "ill_requests" in s
    ]
    if db.dialect == "sqlite":
        # Once before the write lock (the rows), once under it (only its version).
        assert len(reads_of_the_request) == 2
        assert "version" in reads_of_the_request[-1]
    else:
        # PostgreSQL reads the request once, in the write transaction, with its row lock.
        assert len(reads_of_the_request) == 1 and "FOR UPDATE" in reads_of_the_request[0]


def test_reads_before_writes_gives_a_separate_session_only_outside_a_transaction(seeded: Database) -> None:
    with seeded.unit_of_work() as session:
        with reads_before_writes(session) as reads:
            assert (reads is not session) == (seeded.dialect == "sqlite")
        session.execute(select(1))
        with reads_before_writes(session) as reads:
            assert reads is session


# --------------------------------------------------------------------------------------------------
# Two threads at once
# --------------------------------------------------------------------------------------------------


def _at_once(*calls: Callable[[], inbound.Reception]) -> list[inbound.Reception]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except BaseException as exc:  # surfaced by the assertion below
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(isinstance(r, inbound.Reception) for r in results), results
    return results


def test_the_same_message_from_two_threads_is_applied_once_and_confirmed_identically(
    peer: tuple[Database, str],
) -> None:
    db, token = peer
    for n in range(5):
        rid = f"twice-{n}"
        request_id = _placed_and_shipped(db, token, rid)
        body = _action(rid, iso.Action.RECEIVED, 1)
        first, second = _at_once(
            lambda body=body: _post(db, token, body),  # type: ignore[misc]
            lambda body=body: _post(db, token, body),  # type: ignore[misc]
        )
        assert first.confirmation == second.confirmation
        assert first.message_status is iso.MessageStatus.OK
        assert sorted([first.duplicate, second.duplicate]) == [False, True]
        actions = [e[0] for e in _events(db, request_id)]
        # Applied once: `receive` on each side, one `check_out`.
        assert (actions.count("receive"), actions.count("check_out")) == (2, 1)
        assert _state(db, request_id) == "checked_out"


def test_two_messages_about_one_request_from_two_threads_apply_in_a_valid_order(
    peer: tuple[Database, str],
) -> None:
    # Received and Renew at once: Renew is legal only after Received. Whatever the order, each
    # message either applies to the state it meets or is refused changing nothing.
    db, token = peer
    for n in range(5):
        rid = f"pair-{n}"
        request_id = _placed_and_shipped(db, token, rid)
        received, renew = _at_once(
            lambda rid=rid: _post(db, token, _action(rid, iso.Action.RECEIVED, 1)),  # type: ignore[misc]
            lambda rid=rid: _post(db, token, _action(rid, iso.Action.RENEW, 2)),  # type: ignore[misc]
        )
        assert received.applied, received.error
        actions = [e[0] for e in _events(db, request_id)]
        if renew.applied:
            assert _state(db, request_id) == "renew_pending"
            assert actions[-3:] == ["receive", "check_out", "request_renewal"]
        else:
            assert renew.error is not None and renew.error.type is iso.ErrorType.UNRECOGNISED_DATA_VALUE
            assert _state(db, request_id) == "checked_out"
            assert actions[-2:] == ["receive", "check_out"]


# --------------------------------------------------------------------------------------------------
# The prepare hook itself
# --------------------------------------------------------------------------------------------------


def test_a_prepared_handler_gets_what_its_prepare_read_outside_the_write_transaction(
    peer: tuple[Database, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, token = peer
    seen: list[tuple[str, Any]] = []

    def prepare(session: Session, parsed: ParsedMessage, isil: str, now: datetime) -> str:
        seen.append(("prepare", session))
        return f"read by {isil}"

    def handle(session: Session, parsed: ParsedMessage, isil: str, now: datetime, prepared: Any) -> tuple[()]:
        seen.append(("handle", session))
        seen.append(("prepared", prepared))
        return ()

    monkeypatch.setattr(inbound, "HANDLERS", {})
    inbound.register_prepared_handler("requestingAgencyMessage", prepare, handle)
    reception = _post(db, token, _action("hook-1", iso.Action.NOTIFICATION, 1))

    assert reception.applied
    assert seen[2] == ("prepared", f"read by {PEER}")
    # SQLite: a session of its own, so the write lock is not held while it reads.
    assert (seen[0][1] is not seen[1][1]) == (db.dialect == "sqlite")
    with db.unit_of_work() as session:
        row = session.scalars(select(InboundMessageRow)).one()
        assert (row.outcome, row.message_status, bytes(row.confirmation)) == (
            "applied",
            "OK",
            reception.confirmation,
        )


def test_a_prepare_that_refuses_leaves_the_answer_to_the_handler(
    peer: tuple[Database, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, token = peer
    given: list[Any] = []

    def prepare(session: Session, parsed: ParsedMessage, isil: str, now: datetime) -> str:
        raise NotFound("no such request")

    def handle(session: Session, parsed: ParsedMessage, isil: str, now: datetime, prepared: Any) -> tuple[()]:
        given.append(prepared)
        raise NotFound("no request hook-2")

    monkeypatch.setattr(inbound, "HANDLERS", {})
    inbound.register_prepared_handler("requestingAgencyMessage", prepare, handle)
    reception = _post(db, token, _action("hook-2", iso.Action.NOTIFICATION, 1))

    assert given == [None]
    assert reception.error is not None and reception.error.value == "no request hook-2"
    with db.unit_of_work() as session:
        row = session.scalars(select(InboundMessageRow)).one()
        assert (row.outcome, row.message_status, bytes(row.confirmation)) == (
            "refused",
            "ERROR",
            reception.confirmation,
        )


def test_rows_read_early_are_reused_only_when_current_and_not_loaded_already(
    peer: tuple[Database, str],
) -> None:
    db, token = peer
    request_id = _placed_and_shipped(db, token, "reuse-1")

    def read_early() -> lending.Loaded:
        with db.unit_of_work() as session, reads_before_writes(session) as reads:
            return lending.load(reads, request_id)

    # Unchanged: the early rows join the write transaction as they are.
    early = read_early()
    with db.unit_of_work() as session:
        session.execute(select(1))  # the write transaction has begun
        assert lending.load_for_change(session, request_id, early) is early
        session.rollback()
    # Already loaded in this session: read again (the early rows cannot join it).
    early = read_early()
    with db.unit_of_work() as session:
        held = lending.load(session, request_id)  # the session's identity map holds rows weakly
        assert lending.load_for_change(session, request_id, early).row is held.row
    # Changed since: read again, and the rows show the change.
    early = read_early()
    with db.unit_of_work() as session:
        loaded = lending.load(session, request_id, lock=True)
        actor = lending.Actor(lm.Role.SUPPLIER_STAFF, "staff", LENDER)
        lending.apply(session, loaded, lm.Action.REPORT_LOST, actor, T0, lm.ActionInput(reason="væk"))
    with db.unit_of_work() as session:
        again = lending.load_for_change(session, request_id, early)
        assert again is not early and again.row.state == "lost" and early.row.state == "shipped"
