"""Both directions of the ISO 18626 lifecycle against one hub's database: a peer borrowing from the
network, and the network borrowing from a peer (through the national library)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fjernlaan.accounts.model import Principal, Role
from fjernlaan.accounts.service import PatronIn, add_patron
from fjernlaan.catalogue.model import Holding, Record
from fjernlaan.catalogue.service import upsert_record
from fjernlaan.db.outbox import OutboxMessage
from fjernlaan.db.uow import Database
from fjernlaan.iso18626 import inbound, peers
from fjernlaan.iso18626 import model as iso
from fjernlaan.iso18626.reader import parse
from fjernlaan.iso18626.writer import build
from fjernlaan.lending import model as lm
from fjernlaan.lending import service as lending
from fjernlaan.lending.schemas import PlaceRequestIn
from iso18626_peers import add_foreign_library

PEER = "ZZ-PEERHUB"
LENDER = "DK-715700"
ISBN = "9788702173437"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh() -> None:
    lending.clear_caches()


def _agency(isil: str) -> iso.AgencyId:
    return iso.AgencyId("ISIL", isil)


def _peer(session: Session) -> str:
    add_foreign_library(session, PEER, endpoint="http://127.0.0.1:9/iso18626")
    peers.set_peer(session, PEER, account_id="peer", security_code="hemmelig-kode-æøå")
    return peers.issue_peer_token(session, PEER)


def _post(db: Database, token: str, message: iso.Message, now: datetime) -> inbound.Reception:
    with db.unit_of_work() as session:
        return inbound.receive(session, build(message, iso.Version.V2017), bearer_token=token, now=now)


def _outbox(db: Database) -> list[iso.Message]:
    with db.unit_of_work() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "iso18626").order_by(OutboxMessage.id)
        )
        return [parse(str(r.payload["xml"]).encode()).message for r in rows]


def _state(db: Database, request_id: int) -> str:
    with db.unit_of_work() as session:
        return lending.load(session, request_id).row.state


# --------------------------------------------------------------------------------------------------
# A peer borrows from the network
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def peer_borrows(seeded: Database) -> tuple[Database, str]:
    with seeded.unit_of_work() as session:
        token = _peer(session)
        upsert_record(
            session, Record(record_id="pb-1", title="Æbler på Åen", isbns=(ISBN,)), [Holding(LENDER)]
        )
    return seeded, token


def _peer_request(rid: str, now: datetime) -> iso.Request:
    return iso.Request(
        header=iso.Header(_agency(PEER), now, rid, supplying_agency_id=_agency("DK-800010")),
        bibliographic_info=iso.BibliographicInfo(
            title="Æbler på Åen", item_ids=(iso.BibliographicItemId("ISBN", ISBN),)
        ),
        service_info=iso.ServiceInfo(service_type=iso.ServiceType.LOAN),
        patron_info=iso.PatronInfo(surname="Hemmelig", given_name="Patron"),
    )


def _peer_action(rid: str, action: iso.Action, now: datetime) -> iso.RequestingAgencyMessage:
    return iso.RequestingAgencyMessage(
        header=iso.Header(_agency(PEER), now, rid, supplying_agency_id=_agency("DK-800010")), action=action
    )


def _request_id(db: Database) -> int:
    with db.unit_of_work() as session:
        from fjernlaan.iso18626.links import PeerRole, find_link

        link = find_link(session, PEER, PeerRole.REQUESTER, "their-1")
        assert link is not None
        return link.request_id


def _lender_acts(db: Database, request_id: int, action: lm.Action, now: datetime) -> None:
    with db.unit_of_work() as session:
        loaded = lending.load(session, request_id, lock=True)
        lending.apply(session, loaded, action, lending.Actor(lm.Role.SUPPLIER_STAFF, "staff", LENDER), now)


def test_a_peers_request_is_routed_to_a_lender_holding_the_isbn(peer_borrows: tuple[Database, str]) -> None:
    db, token = peer_borrows
    reception = _post(db, token, _peer_request("their-1", T0), T0)
    assert reception.message_status is iso.MessageStatus.OK
    with db.unit_of_work() as session:
        row = lending.load(session, _request_id(db)).row
        assert (row.state, row.requester_isil, row.current_lender_isil, row.patron_id) == (
            "sent",
            PEER,
            LENDER,
            None,
        )


def test_our_lenders_answers_reach_the_peer_as_supplying_agency_messages(
    peer_borrows: tuple[Database, str],
) -> None:
    db, token = peer_borrows
    _post(db, token, _peer_request("their-1", T0), T0)
    request_id = _request_id(db)
    _lender_acts(db, request_id, lm.Action.WILL_SUPPLY, T0 + timedelta(minutes=1))
    _lender_acts(db, request_id, lm.Action.SHIP, T0 + timedelta(minutes=2))
    sent = [m for m in _outbox(db) if isinstance(m, iso.SupplyingAgencyMessage)]
    assert [(m.message_info.reason_for_message, m.status_info.status) for m in sent] == [
        (iso.ReasonForMessage.REQUEST_RESPONSE, iso.Status.EXPECT_TO_SUPPLY),
        (iso.ReasonForMessage.STATUS_CHANGE, iso.Status.LOANED),
    ]
    assert sent[1].header.requesting_agency_request_id == "their-1"
    assert sent[1].header.supplying_agency_id == _agency("DK-800010")
    assert sent[1].status_info.due_date is not None


def test_the_peers_received_and_renew_drive_the_requester_side(peer_borrows: tuple[Database, str]) -> None:
    db, token = peer_borrows
    _post(db, token, _peer_request("their-1", T0), T0)
    request_id = _request_id(db)
    _lender_acts(db, request_id, lm.Action.SHIP, T0 + timedelta(minutes=1))
    assert _post(db, token, _peer_action("their-1", iso.Action.RECEIVED, T0 + timedelta(hours=1)), T0).applied
    assert _state(db, request_id) == "checked_out"
    assert _post(db, token, _peer_action("their-1", iso.Action.RENEW, T0 + timedelta(hours=2)), T0).applied
    assert _state(db, request_id) == "renew_pending"


def test_the_peers_received_for_a_copy_completes_its_request(peer_borrows: tuple[Database, str]) -> None:
    # ISO 18626 has no later requester message for a copy: without this it stayed `delivered`.
    db, token = peer_borrows
    request = _peer_request("their-1", T0)
    copy = iso.Request(
        header=request.header,
        bibliographic_info=request.bibliographic_info,
        service_info=iso.ServiceInfo(service_type=iso.ServiceType.COPY),
    )
    _post(db, token, copy, T0)
    request_id = _request_id(db)
    _lender_acts(db, request_id, lm.Action.DELIVER_COPY, T0 + timedelta(minutes=1))
    assert _state(db, request_id) == "shipped"
    assert _post(db, token, _peer_action("their-1", iso.Action.RECEIVED, T0 + timedelta(hours=1)), T0).applied
    assert _state(db, request_id) == "completed"


def test_an_action_the_state_does_not_allow_is_refused_and_changes_nothing(
    peer_borrows: tuple[Database, str],
) -> None:
    db, token = peer_borrows
    _post(db, token, _peer_request("their-1", T0), T0)
    reception = _post(
        db, token, _peer_action("their-1", iso.Action.SHIPPED_RETURN, T0 + timedelta(hours=1)), T0
    )
    assert reception.error is not None
    assert reception.error.type is iso.ErrorType.UNRECOGNISED_DATA_VALUE
    assert _state(db, _request_id(db)) == "sent"


def test_an_unknown_request_id_is_refused_naming_it(peer_borrows: tuple[Database, str]) -> None:
    db, token = peer_borrows
    reception = _post(db, token, _peer_action("nobody-knows", iso.Action.RECEIVED, T0), T0)
    assert reception.error is not None
    assert reception.error.type is iso.ErrorType.UNRECOGNISED_DATA_VALUE
    assert "nobody-knows" in (reception.error.value or "")


def test_hold_return_is_an_unsupported_action(peer_borrows: tuple[Database, str]) -> None:
    db, token = peer_borrows
    _post(db, token, _peer_request("their-1", T0), T0)
    reception = _post(
        db, token, _peer_action("their-1", iso.Action.SHIPPED_FORWARD, T0 + timedelta(hours=1)), T0
    )
    assert reception.error is not None and reception.error.type is iso.ErrorType.UNSUPPORTED_ACTION_TYPE


# --------------------------------------------------------------------------------------------------
# The network borrows from a peer
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def network_borrows(seeded: Database) -> tuple[Database, str, int]:
    with seeded.unit_of_work() as session:
        token = _peer(session)
        record = upsert_record(
            session, Record(record_id="nb-1", title="Fjernlån fra Ærø", isbns=(ISBN,)), [Holding(PEER)]
        )
        patron = add_patron(
            session,
            PatronIn(
                card_number="555", name="Søren Hemmelig", email="soren@example.dk", home_library="DK-710100"
            ),
        )
        admin = Principal(user_id=0, username="admin", role=Role.NATIONAL_ADMIN, library_isil=None)
        request_id = lending.place(
            session,
            PlaceRequestIn(record_id=record.record_pk, patron_id=patron.id, requester_isil="DK-710100"),
            admin,
            "dk-2012",
            T0,
        )
    return seeded, token, request_id


def _supplier_says(
    rid: str,
    status: iso.Status,
    now: datetime,
    reason: iso.ReasonForMessage = iso.ReasonForMessage.STATUS_CHANGE,
) -> iso.SupplyingAgencyMessage:
    return iso.SupplyingAgencyMessage(
        header=iso.Header(_agency("DK-800010"), now, rid, supplying_agency_id=_agency(PEER)),
        message_info=iso.MessageInfo(reason_for_message=reason),
        status_info=iso.StatusInfo(status=status, last_change=now),
    )


def test_an_attempt_at_a_peer_sends_it_a_request_without_the_patron(
    network_borrows: tuple[Database, str, int],
) -> None:
    db, _, request_id = network_borrows
    requests = [m for m in _outbox(db) if isinstance(m, iso.Request)]
    assert len(requests) == 1
    request = requests[0]
    assert request.patron_info is None
    assert request.header.requesting_agency_request_id == f"{request_id}-0"
    assert request.header.requesting_agency_id == _agency("DK-800010")
    assert request.bibliographic_info.title == "Fjernlån fra Ærø"


def test_the_peers_loaned_ships_our_attempt_and_received_goes_back(
    network_borrows: tuple[Database, str, int],
) -> None:
    db, token, request_id = network_borrows
    rid = f"{request_id}-0"
    assert _post(
        db, token, _supplier_says(rid, iso.Status.EXPECT_TO_SUPPLY, T0 + timedelta(hours=1)), T0
    ).applied
    assert _state(db, request_id) == "expects_to_supply"
    assert _post(db, token, _supplier_says(rid, iso.Status.LOANED, T0 + timedelta(hours=2)), T0).applied
    assert _state(db, request_id) == "shipped"
    with db.unit_of_work() as session:
        loaded = lending.load(session, request_id, lock=True)
        lending.apply(session, loaded, lm.Action.RECEIVE, lending.Actor(lm.Role.REQUESTER_STAFF, "kbh"), T0)
    actions = [m.action for m in _outbox(db) if isinstance(m, iso.RequestingAgencyMessage)]
    assert actions == [iso.Action.RECEIVED]


def test_the_peers_unfilled_ends_its_attempt(network_borrows: tuple[Database, str, int]) -> None:
    db, token, request_id = network_borrows
    reception = _post(
        db, token, _supplier_says(f"{request_id}-0", iso.Status.UNFILLED, T0 + timedelta(hours=1)), T0
    )
    assert reception.applied
    assert _state(db, request_id) == "end_of_rota"


def test_our_receipt_of_a_peers_copy_goes_back_as_received(seeded: Database) -> None:
    # A staff lender is not told a copy arrived; a peer is, or its side never closes.
    with seeded.unit_of_work() as session:
        token = _peer(session)
        record = upsert_record(
            session, Record(record_id="nb-2", title="Kopi fra Ærø", isbns=(ISBN,)), [Holding(PEER)]
        )
        patron = add_patron(session, PatronIn(card_number="556", name="Åse", home_library="DK-710100"))
        admin = Principal(user_id=0, username="admin", role=Role.NATIONAL_ADMIN, library_isil=None)
        request_id = lending.place(
            session,
            PlaceRequestIn(
                record_id=record.record_pk,
                patron_id=patron.id,
                requester_isil="DK-710100",
                service_type=lm.ServiceType.COPY,
            ),
            admin,
            "dk-2012",
            T0,
        )
    rid = f"{request_id}-0"
    assert _post(
        seeded, token, _supplier_says(rid, iso.Status.COPY_COMPLETED, T0 + timedelta(hours=1)), T0
    ).applied
    assert _state(seeded, request_id) == "shipped"
    with seeded.unit_of_work() as session:
        loaded = lending.load(session, request_id, lock=True)
        lending.apply(session, loaded, lm.Action.RECEIVE, lending.Actor(lm.Role.REQUESTER_STAFF, "kbh"), T0)
    assert _state(seeded, request_id) == "delivered"
    sent = [m for m in _outbox(seeded) if isinstance(m, iso.RequestingAgencyMessage)]
    assert [(m.action, m.header.requesting_agency_request_id) for m in sent] == [(iso.Action.RECEIVED, rid)]
