"""Messages to peers leave only through the outbox: built for the peer's version, valid against its
XSD, with the peer's quirks, delivered over HTTP by the worker, retried with backoff, in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from fjernlaan.app.worker import run_once
from fjernlaan.db.outbox import OutboxMessage
from fjernlaan.db.uow import Database
from fjernlaan.directory.store import LibraryRow
from fjernlaan.iso18626 import outbound, peers
from fjernlaan.iso18626.model import (
    MessageInfo,
    ReasonForMessage,
    RequestingAgencyMessage,
    Status,
    StatusInfo,
    SupplyingAgencyMessage,
    Version,
)
from fjernlaan.iso18626.quirks import Peer, PeerProfile, ReShareMarker, ReShareNote, should_send_unfilled
from fjernlaan.iso18626.reader import parse
from fjernlaan.iso18626.schema import validate
from fjernlaan.settings import Settings
from iso18626_examples import T0, full_requesting_agency_message, minimal_request
from iso18626_peers import HttpPeer

# The moment of these tests: messages are queued and the worker runs at it, so nothing here reads the
# wall clock (a constant is fine because the code is given it; it is never compared with real time).
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SETTINGS = Settings(database_url="sqlite://", iso18626_outbound_token="hub-token-1")


def point_at(db: Database, isil: str, url: str) -> None:
    with db.unit_of_work() as session:
        row = session.get(LibraryRow, isil)
        assert row is not None
        row.iso18626_endpoint = url


def queue(
    db: Database, isil: str, message: object, key: str, ordering_key: str = "req-1", **kw: object
) -> int | None:
    with db.unit_of_work() as session:
        row = outbound.queue_message(
            session,
            to_isil=isil,
            message=message,
            ordering_key=ordering_key,
            idempotency_key=key,
            **{"now": NOW, **kw},  # type: ignore[arg-type]
        )
        return row.id if row else None


def outbox(db: Database, message_id: int) -> OutboxMessage:
    with db.unit_of_work() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        return row


def unfilled(version: Version) -> SupplyingAgencyMessage:
    request = minimal_request(version)
    return SupplyingAgencyMessage(
        header=replace(request.header, multiple_item_request_id=None),
        message_info=MessageInfo(ReasonForMessage.STATUS_CHANGE, note="Ikke på hylden"),
        status_info=StatusInfo(Status.UNFILLED, last_change=T0),
    )


def test_a_queued_message_is_an_iso18626_outbox_row_for_the_peers_endpoint(seeded: Database) -> None:
    message_id = queue(seeded, "SE-L", minimal_request(Version.V2021), "k1")
    assert message_id is not None
    row = outbox(seeded, message_id)
    assert (row.channel, row.destination, row.status) == (
        "iso18626",
        "http://127.0.0.1:8001/iso18626",
        "pending",
    )
    assert row.payload["summary"] == "request KBH-1 to SE-L"


def test_what_we_queue_validates_against_the_peers_version(seeded: Database, xsd_dir: Path) -> None:
    for isil, version in (("SE-L", Version.V2021), ("NO-0030100", Version.V2017)):
        message_id = queue(seeded, isil, minimal_request(version), f"v-{isil}")
        assert message_id is not None
        xml = str(outbox(seeded, message_id).payload["xml"]).encode()
        assert parse(xml).version is version
        assert validate(xml, version, xsd_dir=xsd_dir) == []


def test_the_worker_delivers_to_the_peer_over_http(seeded: Database, http_peer: HttpPeer) -> None:
    point_at(seeded, "SE-L", http_peer.url)
    message_id = queue(seeded, "SE-L", minimal_request(Version.V2021), "k1")
    assert message_id is not None
    report = run_once(seeded, SETTINGS, NOW)
    assert report.sent == 1
    [arrival] = http_peer.arrivals
    assert arrival.content_type == "application/xml"
    assert arrival.authorization == "Bearer hub-token-1"
    assert parse(arrival.body).message == minimal_request(Version.V2021)
    assert outbox(seeded, message_id).status == "sent"


def set_outbound_token(db: Database, isil: str, token: str | None) -> None:
    with db.unit_of_work() as session:
        peers.set_peer(session, isil, outbound_token=token)


def test_a_peer_that_issued_us_a_token_gets_its_own_token(seeded: Database, http_peer: HttpPeer) -> None:
    point_at(seeded, "SE-L", http_peer.url)
    set_outbound_token(seeded, "SE-L", "lunds-token-til-os")
    queue(seeded, "SE-L", minimal_request(Version.V2021), "k1")
    assert run_once(seeded, SETTINGS, NOW).sent == 1
    [arrival] = http_peer.arrivals
    assert arrival.authorization == "Bearer lunds-token-til-os"


def test_the_token_in_force_when_the_worker_sends_is_the_one_presented(
    seeded: Database, http_peer: HttpPeer
) -> None:
    # Queued before the peer changed its token: the outbox holds no credential, so the new one goes.
    point_at(seeded, "SE-L", http_peer.url)
    set_outbound_token(seeded, "SE-L", "gammel-token")
    queue(seeded, "SE-L", minimal_request(Version.V2021), "k1")
    set_outbound_token(seeded, "SE-L", "ny-token")
    run_once(seeded, SETTINGS, NOW)
    assert [a.authorization for a in http_peer.arrivals] == ["Bearer ny-token"]
    with seeded.unit_of_work() as session:
        assert all("ny-token" not in str(row.payload) for row in session.query(OutboxMessage))


def test_a_cleared_token_falls_back_to_the_hubs_setting(seeded: Database, http_peer: HttpPeer) -> None:
    point_at(seeded, "SE-L", http_peer.url)
    set_outbound_token(seeded, "SE-L", "lunds-token-til-os")
    set_outbound_token(seeded, "SE-L", None)
    queue(seeded, "SE-L", minimal_request(Version.V2021), "k1")
    run_once(seeded, SETTINGS, NOW)
    assert [a.authorization for a in http_peer.arrivals] == ["Bearer hub-token-1"]


def test_without_any_token_no_authorization_header_is_sent(seeded: Database, http_peer: HttpPeer) -> None:
    point_at(seeded, "SE-L", http_peer.url)
    queue(seeded, "SE-L", minimal_request(Version.V2021), "k1")
    run_once(seeded, SETTINGS.model_copy(update={"iso18626_outbound_token": None}), NOW)
    assert [a.authorization for a in http_peer.arrivals] == [None]


def test_an_error_confirmation_is_retried_with_backoff_and_keeps_the_peers_answer(
    seeded: Database, http_peer: HttpPeer
) -> None:
    point_at(seeded, "SE-L", http_peer.url)
    http_peer.answers = ["error"]
    message_id = queue(seeded, "SE-L", minimal_request(Version.V2021), "k1")
    assert message_id is not None
    assert run_once(seeded, SETTINGS, NOW).retried == 1
    row = outbox(seeded, message_id)
    assert row.status == "pending" and row.attempts == 1
    assert "ERROR" in (row.last_error or "") and "ukendt forespørgsel KBH-1" in (row.last_error or "")
    assert row.next_attempt_at == NOW + timedelta(seconds=30)
    assert run_once(seeded, SETTINGS, NOW + timedelta(seconds=10)).sent == 0
    assert run_once(seeded, SETTINGS, NOW + timedelta(seconds=31)).sent == 1
    assert len(http_peer.arrivals) == 2


def test_a_peer_answering_503_is_retried_and_the_answer_is_kept(
    seeded: Database, http_peer: HttpPeer
) -> None:
    point_at(seeded, "SE-L", http_peer.url)
    http_peer.answers = [503]
    message_id = queue(seeded, "SE-L", minimal_request(Version.V2021), "k1")
    assert message_id is not None
    assert run_once(seeded, SETTINGS, NOW).retried == 1
    assert "HTTP 503" in (outbox(seeded, message_id).last_error or "")


def test_an_operator_sees_the_failure_and_retries_through_the_outbox_api(
    seeded: Database, http_peer: HttpPeer, client: TestClient, token_for: Callable[[str], dict[str, str]]
) -> None:
    point_at(seeded, "SE-L", http_peer.url)
    http_peer.answers = ["error"]
    message_id = queue(seeded, "SE-L", minimal_request(Version.V2021), "k1")
    run_once(seeded, SETTINGS, NOW)
    listed = client.get("/api/v1/outbox?channel=iso18626", headers=token_for("admin")).json()["items"]
    assert [(m["id"], m["status"]) for m in listed] == [(message_id, "pending")]
    assert "the peer answered ERROR" in listed[0]["last_error"]
    assert client.post(f"/api/v1/outbox/{message_id}/retry", headers=token_for("admin")).status_code == 200
    assert run_once(seeded, SETTINGS, datetime.now(UTC)).sent == 1
    assert outbox(seeded, message_id or 0).status == "sent"


def test_messages_about_one_request_leave_in_order(seeded: Database, http_peer: HttpPeer) -> None:
    point_at(seeded, "SE-L", http_peer.url)
    http_peer.answers = [503]
    first = full_requesting_agency_message(Version.V2021)
    second = replace(first, note="Anden besked")
    queue(seeded, "SE-L", first, "k1")
    queue(seeded, "SE-L", second, "k2")
    run_once(seeded, SETTINGS, NOW)
    assert len(http_peer.arrivals) == 1  # the second waits behind the first
    run_once(seeded, SETTINGS, NOW + timedelta(minutes=1))
    notes = [parse(a.body).message.note for a in http_peer.arrivals]  # type: ignore[union-attr]
    assert notes == [first.note, first.note, "Anden besked"]


def test_a_reshare_peer_gets_note_markers_and_sequence_numbers(seeded: Database) -> None:
    with seeded.unit_of_work() as session:
        peers.set_peer(session, "SE-L", kind=Peer.RESHARE)
    agree = ReShareNote(markers=(ReShareMarker.LOAN_CONDITION_AGREE_RESPONSE,))
    message = full_requesting_agency_message(Version.V2021)
    ids = [queue(seeded, "SE-L", message, f"k{i}", reshare_note=agree) for i in (1, 2)]
    notes = []
    for message_id in ids:
        xml = str(outbox(seeded, message_id or 0).payload["xml"]).encode()
        sent = parse(xml).message
        assert isinstance(sent, RequestingAgencyMessage)
        notes.append(sent.note)
    assert notes[0] == f"#ReShareLoanConditionAgreeResponse# {message.note}#seq:1#"
    assert notes[1] is not None and notes[1].endswith("#seq:2#")


def test_a_generic_peer_gets_only_the_notes_text(seeded: Database) -> None:
    agree = ReShareNote(
        text="Vi accepterer betingelserne", markers=(ReShareMarker.LOAN_CONDITION_AGREE_RESPONSE,)
    )
    message_id = queue(
        seeded, "SE-L", full_requesting_agency_message(Version.V2021), "k1", reshare_note=agree
    )
    sent = parse(str(outbox(seeded, message_id or 0).payload["xml"]).encode()).message
    assert isinstance(sent, RequestingAgencyMessage) and sent.note == "Vi accepterer betingelserne"


def test_a_broker_style_peer_gets_unfilled_only_at_the_end_of_the_rota(seeded: Database) -> None:
    # the demo sets NO-0030100 up broker style
    assert queue(seeded, "NO-0030100", unfilled(Version.V2017), "k1", at_end_of_rota=False) is None
    assert queue(seeded, "NO-0030100", unfilled(Version.V2017), "k2", at_end_of_rota=True) is not None
    assert queue(seeded, "SE-L", unfilled(Version.V2021), "k3", at_end_of_rota=False) is not None


def test_should_send_unfilled_holds_it_back_only_for_a_broker_style_peer_before_the_end() -> None:
    broker = PeerProfile(unfilled_only_at_end_of_rota=True)
    assert not should_send_unfilled(broker, at_end_of_rota=False)
    assert should_send_unfilled(broker, at_end_of_rota=True)
    assert should_send_unfilled(PeerProfile(), at_end_of_rota=False)
