"""POST /iso18626: every message gets its confirmation (OK or ERROR), peers must prove who they are,
a retry is applied once, and nothing a peer or an attacker sends makes the hub answer 500."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from fjernlaan.db.outbox import OutboxMessage
from fjernlaan.db.uow import Database
from fjernlaan.errors import Conflict
from fjernlaan.iso18626 import inbound, peers
from fjernlaan.iso18626.model import (
    CONFIRMATION_OF,
    Action,
    AgencyId,
    Authentication,
    Confirmation,
    ErrorType,
    Header,
    Iso18626Error,
    MessageStatus,
    RequestingAgencyMessage,
    Version,
)
from fjernlaan.iso18626.reader import parse
from fjernlaan.iso18626.store import InboundMessageRow
from fjernlaan.iso18626.writer import build
from iso18626_examples import T0, minimal_request
from iso18626_peers import SAMPLE_PEER, Peer, RecordingHandler

XML = {"Content-Type": "application/xml"}

# file -> expected answer: "OK" or the errorType of the ERROR confirmation.
SAMPLES: dict[str, str] = {
    "crosslink__broker_test_testdata_reqmsg-invalid-action.xml": ErrorType.UNSUPPORTED_ACTION_TYPE,
    "crosslink__broker_test_testdata_reqmsg-notification.xml": "OK",
    "crosslink__broker_test_testdata_reqmsg-ok.xml": "OK",
    "crosslink__broker_test_testdata_request-retry-1.xml": "OK",
    "crosslink__broker_test_testdata_request-willsupply-loaned.xml": "OK",
    "crosslink__broker_test_testdata_supmsg-invalid-status.xml": ErrorType.UNRECOGNISED_DATA_VALUE,
    "crosslink__broker_test_testdata_supmsg-notification.xml": "OK",
    "crosslink__broker_test_testdata_supmsg-ok.xml": "OK",
    "crosslink__illmock_examples_req.xml": "OK",
    # template placeholders (_TIMESTAMP_) are not date-times
    "modrs__it_cancelResponseReplyNoTemplate.xml": ErrorType.BADLY_FORMED_MESSAGE,
    # agencyIdType DMMY: the hub knows its peers by ISIL only
    "modrs__it_illmockrequest.xml": ErrorType.UNRECOGNISED_DATA_VALUE,
    "modrs__it_patronRequest.xml": "OK",
    "modrs__it_unfilledNotification.xml": ErrorType.BADLY_FORMED_MESSAGE,
    # confirmations are answers, never messages to post
    "modrs__unit_requestConfirmation.xml": ErrorType.BADLY_FORMED_MESSAGE,
    "modrs__unit_requestingAgencyMessageConfirmation.xml": ErrorType.BADLY_FORMED_MESSAGE,
    "modrs__unit_supplyingAgencyMessageConfirmation.xml": ErrorType.BADLY_FORMED_MESSAGE,
}


def confirmation_of(response: Response) -> Confirmation:
    """The confirmation in an answer of the endpoint, after checking it is one (HTTP 200, XML)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    message = parse(response.content).message
    assert isinstance(message, Confirmation.__args__)  # type: ignore[attr-defined]
    return message  # type: ignore[return-value]


def error_type(response: Response) -> str:
    """``OK`` or the errorType the endpoint answered with."""
    confirmation = confirmation_of(response)
    if confirmation.header.message_status is MessageStatus.OK:
        return "OK"
    return confirmation.errors[0].type.value


def sender_id(data: bytes) -> str | None:
    """The agencyIdValue of the sample's sender (requesting agency, or supplying for a supplier's
    message), read whether or not the sample is valid."""
    try:
        parsed = parse(data)
        agency = inbound.sender_of(parsed.message)[1]
        return agency.value if agency else None
    except Iso18626Error as exc:
        ctx = exc.context
        if ctx is None:
            return None
        agency = (
            ctx.supplying_agency_id
            if exc.message_kind == "supplyingAgencyMessage"
            else ctx.requesting_agency_id
        )
        return agency.value if agency else None


def as_sample_peer(data: bytes) -> bytes:
    """The sample with its sender's id replaced by our test peer's ISIL (the samples use ids such as
    ``SUP_B`` that are not ISILs and so cannot be directory libraries)."""
    sender = sender_id(data)
    if sender is None:
        return data
    return re.sub(rb">\s*" + re.escape(sender.encode()) + rb"\s*<", f">{SAMPLE_PEER}<".encode(), data)


def outbox_rows(db: Database) -> int:
    with db.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def inbound_rows(db: Database) -> list[InboundMessageRow]:
    with db.unit_of_work() as session:
        return list(session.scalars(select(InboundMessageRow).order_by(InboundMessageRow.id)))


def cancel_from(isil: str, *, auth: Authentication | None = None, request_id: str = "KBH-1") -> bytes:
    """A 2017 requestingAgencyMessage (Cancel) sent by ``isil``."""
    message = RequestingAgencyMessage(
        header=Header(
            requesting_agency_id=AgencyId("ISIL", isil),
            timestamp=T0,
            requesting_agency_request_id=request_id,
            supplying_agency_id=AgencyId("ISIL", "DK-800010"),
            authentication=auth,
        ),
        action=Action.CANCEL,
        note="Låneren har fået bogen andetsteds – tak",
    )
    return build(message, Version.V2017)


# --------------------------------------------------------------------------------------------------
# Samples
# --------------------------------------------------------------------------------------------------


def test_the_sample_table_covers_every_sample_file(samples_dir: Path) -> None:
    assert sorted(p.name for p in samples_dir.glob("*.xml")) == sorted(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_gets_its_confirmation_from_a_known_peer(
    name: str,
    samples_dir: Path,
    client: TestClient,
    sample_peer: Peer,
    handler: RecordingHandler,
) -> None:
    data = as_sample_peer((samples_dir / name).read_bytes())
    response = client.post("/iso18626", content=data, headers={**XML, **sample_peer.auth})
    assert error_type(response) == SAMPLES[name]
    assert len(handler.calls) == (1 if SAMPLES[name] == "OK" else 0)


def test_the_confirmation_matches_the_message_it_answers(
    samples_dir: Path, client: TestClient, sample_peer: Peer, handler: RecordingHandler
) -> None:
    for name in sorted(n for n, e in SAMPLES.items() if e == "OK"):
        data = as_sample_peer((samples_dir / name).read_bytes())
        sent = parse(data)
        response = client.post("/iso18626", content=data, headers={**XML, **sample_peer.auth})
        answered = parse(response.content)
        assert answered.kind == CONFIRMATION_OF[sent.kind], name
        assert answered.message.header.requesting_agency_request_id == (  # type: ignore[union-attr]
            sent.message.header.requesting_agency_request_id  # type: ignore[union-attr]
        )


def test_a_sample_from_a_sender_that_is_not_a_peer_is_refused(
    samples_dir: Path, client: TestClient, handler: RecordingHandler
) -> None:
    for name in sorted(SAMPLES):
        response = client.post("/iso18626", content=(samples_dir / name).read_bytes(), headers=XML)
        assert error_type(response) != "OK", name
    assert handler.calls == []


def test_a_message_kind_without_a_handler_is_unsupported_for_now(
    client: TestClient, sample_peer: Peer, no_handlers: None
) -> None:
    response = client.post("/iso18626", content=cancel_from(SAMPLE_PEER), headers={**XML, **sample_peer.auth})
    confirmation = confirmation_of(response)
    assert confirmation.errors[0].type is ErrorType.UNSUPPORTED_ACTION_TYPE
    assert "does not handle requestingAgencyMessage messages yet" in (confirmation.errors[0].value or "")


# --------------------------------------------------------------------------------------------------
# Who is sending
# --------------------------------------------------------------------------------------------------


def test_an_unknown_sender_gets_error_and_nothing_changes(
    client: TestClient, seeded: Database, handler: RecordingHandler
) -> None:
    response = client.post("/iso18626", content=cancel_from("ZZ-UKENDT"), headers=XML)
    confirmation = confirmation_of(response)
    assert confirmation.errors[0].type is ErrorType.UNRECOGNISED_DATA_VALUE
    assert "ZZ-UKENDT" in (confirmation.errors[0].value or "")
    assert handler.calls == [] and outbox_rows(seeded) == 0
    assert [r.outcome for r in inbound_rows(seeded)] == ["unknown_sender"]


def test_a_directory_library_without_peer_settings_is_not_a_peer(
    client: TestClient, handler: RecordingHandler
) -> None:
    response = client.post("/iso18626", content=cancel_from("DK-710100"), headers=XML)
    assert error_type(response) == ErrorType.UNRECOGNISED_DATA_VALUE
    assert handler.calls == []


def test_account_id_and_security_code_authenticate_a_peer(
    client: TestClient, sample_peer: Peer, handler: RecordingHandler
) -> None:
    body = cancel_from(SAMPLE_PEER, auth=Authentication("zz-konto", "hemmelig-kode-æøå"))
    assert error_type(client.post("/iso18626", content=body, headers=XML)) == "OK"
    assert handler.calls == [("requestingAgencyMessage", SAMPLE_PEER)]


def test_a_wrong_security_code_gets_error_and_nothing_changes(
    client: TestClient, seeded: Database, sample_peer: Peer, handler: RecordingHandler
) -> None:
    body = cancel_from(SAMPLE_PEER, auth=Authentication("zz-konto", "forkert-kode"))
    confirmation = confirmation_of(client.post("/iso18626", content=body, headers=XML))
    assert confirmation.header.message_status is MessageStatus.ERROR
    assert "authentication failed" in (confirmation.errors[0].value or "")
    assert handler.calls == [] and outbox_rows(seeded) == 0


def test_a_message_without_any_credentials_is_refused(
    client: TestClient, sample_peer: Peer, handler: RecordingHandler
) -> None:
    confirmation = confirmation_of(client.post("/iso18626", content=cancel_from(SAMPLE_PEER), headers=XML))
    assert "no credentials" in (confirmation.errors[0].value or "")
    assert handler.calls == []


def test_the_bearer_token_authenticates_a_peer(
    client: TestClient, sample_peer: Peer, handler: RecordingHandler
) -> None:
    response = client.post("/iso18626", content=cancel_from(SAMPLE_PEER), headers={**XML, **sample_peer.auth})
    assert error_type(response) == "OK"


def test_another_peers_bearer_token_does_not_authenticate(
    client: TestClient, seeded: Database, sample_peer: Peer, handler: RecordingHandler
) -> None:
    with seeded.unit_of_work() as session:
        other = peers.issue_peer_token(session, "SE-L")
    response = client.post(
        "/iso18626", content=cancel_from(SAMPLE_PEER), headers={**XML, "Authorization": f"Bearer {other}"}
    )
    assert error_type(response) == ErrorType.UNRECOGNISED_DATA_VALUE
    assert handler.calls == []


def test_a_new_bearer_token_replaces_the_old_one_at_once(
    client: TestClient, seeded: Database, sample_peer: Peer, handler: RecordingHandler
) -> None:
    # The hub reuses a peer's settings for a few seconds; issuing a token must not wait for that.
    first = client.post(
        "/iso18626", content=cancel_from(SAMPLE_PEER, request_id="KBH-1"), headers={**XML, **sample_peer.auth}
    )
    assert error_type(first) == "OK"
    with seeded.unit_of_work() as session:
        new = peers.issue_peer_token(session, SAMPLE_PEER)
    old = client.post(
        "/iso18626", content=cancel_from(SAMPLE_PEER, request_id="KBH-2"), headers={**XML, **sample_peer.auth}
    )
    assert error_type(old) == ErrorType.UNRECOGNISED_DATA_VALUE
    fresh = client.post(
        "/iso18626",
        content=cancel_from(SAMPLE_PEER, request_id="KBH-3"),
        headers={**XML, "Authorization": f"Bearer {new}"},
    )
    assert error_type(fresh) == "OK"
    assert len(handler.calls) == 2


def test_a_changed_security_code_takes_effect_at_once(
    client: TestClient, seeded: Database, sample_peer: Peer, handler: RecordingHandler
) -> None:
    auth = Authentication("zz-konto", "hemmelig-kode-æøå")
    body = cancel_from(SAMPLE_PEER, request_id="KBH-1", auth=auth)
    assert error_type(client.post("/iso18626", content=body, headers=XML)) == "OK"
    with seeded.unit_of_work() as session:
        peers.set_peer(session, SAMPLE_PEER, security_code="en-helt-ny-kode")
    again = cancel_from(SAMPLE_PEER, request_id="KBH-2", auth=auth)
    assert (
        error_type(client.post("/iso18626", content=again, headers=XML)) == ErrorType.UNRECOGNISED_DATA_VALUE
    )
    assert len(handler.calls) == 1


# --------------------------------------------------------------------------------------------------
# Retries
# --------------------------------------------------------------------------------------------------


def test_the_same_message_twice_is_applied_once_and_confirmed_identically(
    client: TestClient, seeded: Database, sample_peer: Peer, handler: RecordingHandler
) -> None:
    body = cancel_from(SAMPLE_PEER)
    first = client.post("/iso18626", content=body, headers={**XML, **sample_peer.auth})
    second = client.post("/iso18626", content=body, headers={**XML, **sample_peer.auth})
    assert error_type(first) == "OK"
    assert second.content == first.content
    assert len(handler.calls) == 1 and outbox_rows(seeded) == 1
    [row] = inbound_rows(seeded)
    assert row.times_received == 2


def test_a_new_message_about_the_same_request_is_applied_again(
    client: TestClient, sample_peer: Peer, handler: RecordingHandler
) -> None:
    for request_id in ("KBH-1", "KBH-2"):
        body = cancel_from(SAMPLE_PEER, request_id=request_id)
        client.post("/iso18626", content=body, headers={**XML, **sample_peer.auth})
    assert len(handler.calls) == 2


def test_a_retry_of_a_refused_message_gets_the_same_error(
    client: TestClient, sample_peer: Peer, handler: RecordingHandler
) -> None:
    handler.fail_with = Conflict("forespørgslen KBH-1 er allerede afsluttet")
    body = cancel_from(SAMPLE_PEER)
    first = client.post("/iso18626", content=body, headers={**XML, **sample_peer.auth})
    second = client.post("/iso18626", content=body, headers={**XML, **sample_peer.auth})
    assert second.content == first.content
    assert len(handler.calls) == 1


# --------------------------------------------------------------------------------------------------
# Handlers
# --------------------------------------------------------------------------------------------------


def test_a_handlers_domain_error_answers_error_and_rolls_back_its_changes(
    client: TestClient, seeded: Database, sample_peer: Peer, handler: RecordingHandler
) -> None:
    handler.fail_with = Conflict("forespørgslen KBH-1 er allerede afsluttet")
    response = client.post("/iso18626", content=cancel_from(SAMPLE_PEER), headers={**XML, **sample_peer.auth})
    confirmation = confirmation_of(response)
    assert confirmation.errors[0].type is ErrorType.UNRECOGNISED_DATA_VALUE
    assert confirmation.errors[0].value == "forespørgslen KBH-1 er allerede afsluttet"
    assert outbox_rows(seeded) == 0  # the handler's outbox row was rolled back
    [row] = inbound_rows(seeded)  # ... while the log and the confirmation stay
    assert row.outcome == "refused" and row.confirmation == response.content


def test_a_handler_crash_answers_error_not_500_and_a_retry_is_processed_afresh(
    client: TestClient, seeded: Database, sample_peer: Peer, handler: RecordingHandler
) -> None:
    handler.fail_with = RuntimeError("database went away")
    body = cancel_from(SAMPLE_PEER)
    response = client.post("/iso18626", content=body, headers={**XML, **sample_peer.auth})
    assert error_type(response) == ErrorType.UNRECOGNISED_DATA_VALUE
    assert outbox_rows(seeded) == 0
    handler.fail_with = None
    again = client.post("/iso18626", content=body, headers={**XML, **sample_peer.auth})
    assert error_type(again) == "OK"
    assert len(handler.calls) == 2


# --------------------------------------------------------------------------------------------------
# Hostile input
# --------------------------------------------------------------------------------------------------

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ISO18626Message xmlns="http://illtransactions.org/2013/iso18626"><request>&xxe;</request></ISO18626Message>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<ISO18626Message xmlns="http://illtransactions.org/2013/iso18626"><request>&lol4;</request></ISO18626Message>"""

TOO_DEEP = (
    b'<ISO18626Message xmlns="http://illtransactions.org/2013/iso18626"><request>'
    + b"<a>" * 60
    + b"</a>" * 60
    + b"</request></ISO18626Message>"
)

HOSTILE: dict[str, tuple[bytes, dict[str, str]]] = {
    "xxe": (XXE, XML),
    "billion laughs": (BILLION_LAUGHS, XML),
    "oversize": (b"<ISO18626Message>" + b" " * 1_000_001 + b"</ISO18626Message>", XML),
    "too deep": (TOO_DEEP, XML),
    "not xml": ("Hej, vil I låne os en bog? 📚".encode(), XML),
    "empty": (b"", XML),
    "binary junk": (bytes(range(256)) * 4, XML),
    "wrong content type": (
        build(minimal_request(Version.V2017), Version.V2017),
        {"Content-Type": "text/plain"},
    ),
    "json": (b'{"request": {}}', {"Content-Type": "application/json"}),
    "no content type": (build(minimal_request(Version.V2017), Version.V2017), {}),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_input_gets_an_error_confirmation_never_a_500(
    case: str, client: TestClient, seeded: Database, sample_peer: Peer, handler: RecordingHandler
) -> None:
    body, headers = HOSTILE[case]
    response = client.post("/iso18626", content=body, headers={**headers, **sample_peer.auth})
    assert error_type(response) == ErrorType.BADLY_FORMED_MESSAGE
    assert handler.calls == [] and outbox_rows(seeded) == 0


def test_an_xxe_payload_is_never_expanded(client: TestClient, sample_peer: Peer) -> None:
    response = client.post("/iso18626", content=XXE, headers=XML)
    assert b"root:" not in response.content


def test_text_xml_is_accepted_like_application_xml(
    client: TestClient, sample_peer: Peer, handler: RecordingHandler
) -> None:
    headers = {"Content-Type": "text/xml; charset=utf-8", **sample_peer.auth}
    assert error_type(client.post("/iso18626", content=cancel_from(SAMPLE_PEER), headers=headers)) == "OK"


def test_every_refusal_is_logged_with_the_confirmation_we_sent(client: TestClient, seeded: Database) -> None:
    response = client.post("/iso18626", content=b"not xml", headers=XML)
    [row] = inbound_rows(seeded)
    assert row.outcome == "invalid" and row.dedupe_key is None
    assert row.confirmation == response.content and row.body == b"not xml"
