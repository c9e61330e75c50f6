"""The hub's outbound credentials never follow an endpoint that changed after they were issued, and a
message never goes to an address the rules forbid, whoever stored the endpoint (issue 12, defect 3)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fjernlaan.app.worker import run_once
from fjernlaan.clock import SYSTEM_CLOCK
from fjernlaan.db.outbox import OutboxMessage
from fjernlaan.db.uow import Database
from fjernlaan.directory import service as directory
from fjernlaan.directory.schemas import LibraryPatch
from fjernlaan.directory.store import LibraryRow
from fjernlaan.iso18626 import outbound, peers
from fjernlaan.iso18626.model import Version
from fjernlaan.settings import Settings
from iso18626_examples import minimal_request
from iso18626_peers import HttpPeer

HUB = Settings(
    database_url="sqlite://", iso18626_outbound_token="hub-token-1", iso18626_allow_local_endpoints=True
)


def change_endpoint(db: Database, isil: str, url: str) -> datetime:
    """Change the endpoint as the API does; when the change was recorded."""
    with db.unit_of_work() as session:
        directory.update_library(session, isil, LibraryPatch(iso18626_endpoint=url))
        row = session.get(LibraryRow, isil)
        assert row is not None and row.iso18626_endpoint_changed_at is not None
        return row.iso18626_endpoint_changed_at


def queue(db: Database, isil: str, key: str) -> int:
    with db.unit_of_work() as session:
        row = outbound.queue_message(
            session,
            to_isil=isil,
            message=minimal_request(Version.V2021),
            ordering_key=key,
            idempotency_key=key,
            now=SYSTEM_CLOCK.now(),  # `due()` reads the time back from the row
        )
        assert row is not None
        return row.id


def due(db: Database, message_id: int) -> datetime:
    """A moment when the message is due (whatever today's date is)."""
    return outbox(db, message_id).next_attempt_at + timedelta(seconds=1)


def outbox(db: Database, message_id: int) -> OutboxMessage:
    with db.unit_of_work() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        session.expunge(row)
        return row


def test_a_peers_token_does_not_follow_its_endpoint_until_stored_again(
    seeded: Database, http_peer: HttpPeer
) -> None:
    with seeded.unit_of_work() as session:
        peers.set_peer(session, "SE-L", outbound_token="lunds-token-til-os")
    change_endpoint(seeded, "SE-L", http_peer.url)  # e.g. by whoever took over the library's account
    message_id = queue(seeded, "SE-L", "k1")
    run_once(seeded, HUB, due(seeded, message_id))
    assert http_peer.arrivals == []
    held = outbox(seeded, message_id)
    assert held.status == "pending" and "changed after its outbound token was stored" in (
        held.last_error or ""
    )
    # A national admin who checked the new endpoint stores the peer's token again: now it goes.
    with seeded.unit_of_work() as session:
        peers.set_peer(session, "SE-L", outbound_token="lunds-token-til-os")
    run_once(seeded, HUB, due(seeded, message_id))
    assert [a.authorization for a in http_peer.arrivals] == ["Bearer lunds-token-til-os"]
    assert outbox(seeded, message_id).status == "sent"


def test_the_hubs_token_goes_only_to_endpoints_unchanged_since_it_was_issued(
    seeded: Database, http_peer: HttpPeer
) -> None:
    changed_at = change_endpoint(seeded, "SE-L", http_peer.url)
    message_id = queue(seeded, "SE-L", "k1")
    run_once(seeded, HUB, due(seeded, message_id))  # no issue time: any changed endpoint is suspect
    assert "changed after the hub's outbound token was issued" in (
        outbox(seeded, message_id).last_error or ""
    )
    before = HUB.model_copy(update={"iso18626_outbound_token_issued_at": changed_at - timedelta(seconds=1)})
    run_once(seeded, before, due(seeded, message_id))
    assert http_peer.arrivals == []
    assert "changed after the hub's outbound token was issued" in (
        outbox(seeded, message_id).last_error or ""
    )
    reissued = HUB.model_copy(update={"iso18626_outbound_token_issued_at": changed_at + timedelta(seconds=1)})
    run_once(seeded, reissued, due(seeded, message_id))
    assert [a.authorization for a in http_peer.arrivals] == ["Bearer hub-token-1"]


def test_an_endpoint_never_changed_through_the_api_keeps_the_hubs_token(
    seeded: Database, http_peer: HttpPeer
) -> None:
    with seeded.unit_of_work() as session:
        row = session.get(LibraryRow, "SE-L")
        assert row is not None
        row.iso18626_endpoint = http_peer.url  # as first entered (directory import, demo)
    message_id = queue(seeded, "SE-L", "k1")
    run_once(seeded, HUB, due(seeded, message_id))
    assert [a.authorization for a in http_peer.arrivals] == ["Bearer hub-token-1"]


def test_a_loopback_endpoint_is_not_posted_to_in_production(seeded: Database, http_peer: HttpPeer) -> None:
    # Stored past the API's check (an old row, a directory import): the sender checks again.
    with seeded.unit_of_work() as session:
        row = session.get(LibraryRow, "SE-L")
        assert row is not None
        row.iso18626_endpoint = http_peer.url.replace("127.0.0.1", "localhost")
    message_id = queue(seeded, "SE-L", "k1")
    run_once(
        seeded, HUB.model_copy(update={"iso18626_allow_local_endpoints": False}), due(seeded, message_id)
    )
    assert http_peer.arrivals == []
    assert "loopback" in (outbox(seeded, message_id).last_error or "")
    # The same endpoint in an allow-listed range is fine (and the name's address is what is dialled).
    allow = HUB.model_copy(
        update={"iso18626_allow_local_endpoints": False, "iso18626_endpoint_allowlist": "127.0.0.0/8,::1/128"}
    )
    run_once(seeded, allow, due(seeded, message_id))
    assert len(http_peer.arrivals) == 1
