"""ISO 18626 outbound: queue a message to a peer, and send it from the outbox.

:func:`queue_message`: the message is built for the peer's version, checked against the official XSD,
given the peer's quirks, and put in the outbox on channel ``iso18626``; the worker sends it with
:func:`send_to_peer`, which raises on anything but an OK confirmation so the outbox retries with
backoff and keeps the peer's answer as the error text.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import httpx
from sqlalchemy import String, exists, func, literal, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import ScalarSelect

from fjernlaan.db.engine import read_only
from fjernlaan.db.outbox import OutboxMessage, enqueue
from fjernlaan.db.uow import Database
from fjernlaan.directory import service as directory
from fjernlaan.directory.model import normalise_isil
from fjernlaan.errors import DomainError
from fjernlaan.iso18626.model import (
    CONFIRMATION_OF,
    Iso18626BuildError,
    Iso18626Error,
    Message,
    MessageStatus,
    Request,
    RequestConfirmation,
    RequestingAgencyMessage,
    RequestingAgencyMessageConfirmation,
    Status,
    SupplyingAgencyMessage,
    SupplyingAgencyMessageConfirmation,
)
from fjernlaan.iso18626.peers import directory_entry, effective_version, peer_settings
from fjernlaan.iso18626.quirks import (
    Peer,
    PeerProfile,
    ReShareNote,
    should_send_unfilled,
    with_reshare_note,
)
from fjernlaan.iso18626.reader import parse
from fjernlaan.iso18626.schema import XsdUnavailableError
from fjernlaan.iso18626.store import (
    PeerRow,
    RequestLinkRow,
)
from fjernlaan.iso18626.writer import build, build_validated
from fjernlaan.outbound_policy import EndpointRefused, pinned_request, resolve_endpoint
from fjernlaan.settings import Settings

log = logging.getLogger("fjernlaan.iso18626")

CHANNEL: Final = "iso18626"


# --------------------------------------------------------------------------------------------------
# Outbound
# --------------------------------------------------------------------------------------------------


def _summary(message: Message, to_isil: str) -> str:
    if isinstance(message, SupplyingAgencyMessage):
        what = f"supplyingAgencyMessage {message.status_info.status.value}"
    elif isinstance(message, RequestingAgencyMessage):
        what = f"requestingAgencyMessage {message.action.value}"
    elif isinstance(message, Request):
        what = "request"
    else:
        what = type(message).__name__
    request_id = getattr(getattr(message, "header", None), "requesting_agency_request_id", None)
    return f"{what} {request_id or ''} to {to_isil}".replace("  ", " ")


def _next_sequence(session: Session, destination: str, ordering_key: str) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.channel == CHANNEL,
            OutboxMessage.destination == destination,
            OutboxMessage.ordering_key == ordering_key,
        )
    )
    return int(count or 0) + 1


def queue_message(
    session: Session,
    *,
    to_isil: str,
    message: Message,
    ordering_key: str,
    idempotency_key: str,
    now: datetime,
    at_end_of_rota: bool = True,
    reshare_note: ReShareNote | None = None,
    xsd_dir: Path | None = None,
) -> OutboxMessage | None:
    """Put a message to a peer in the outbox, inside the caller's transaction.

    The XML is built for the peer's version and checked against the official XSD when it can be found
    (``xsd_dir``, else :func:`fjernlaan.iso18626.schema.find_xsd_dir`); a message we cannot write
    correctly raises DomainError rather than leave. For a ReShare peer the note carries ``reshare_note``
    and a ``#seq:N#`` per ``ordering_key``; for other peers only the note's text is sent. An Unfilled to
    a broker-style peer before the end of the rota is held back: None is returned and nothing queued.
    Messages with one ``ordering_key`` (one ILL request) leave in the order they were queued.
    """
    peer = peer_settings(session, normalise_isil(to_isil))
    if peer is not None:
        isil, endpoint, profile = peer.isil, peer.endpoint, peer.profile
        version = peer.version
    else:  # a library without peer settings: generic quirks
        library = directory_entry(session, to_isil)
        isil, endpoint, profile = library.isil, library.endpoint, PeerProfile()
        version = effective_version(library, profile)
    if not endpoint:
        raise DomainError(f"{isil} has no ISO 18626 endpoint in the directory", field="to_isil")
    if (
        isinstance(message, SupplyingAgencyMessage)
        and message.status_info.status is Status.UNFILLED
        and not should_send_unfilled(profile, at_end_of_rota)
    ):
        log.info("Unfilled for %s held back: %s wants it only at the end of the rota", ordering_key, isil)
        return None
    if profile.kind is Peer.RESHARE:
        note = reshare_note or ReShareNote()
        if note.sequence is None:
            note = replace(note, sequence=_next_sequence(session, endpoint, ordering_key))
        message = with_reshare_note(message, note)
    elif reshare_note is not None and reshare_note.text is not None:
        message = with_reshare_note(message, ReShareNote(text=reshare_note.text))
    try:
        xml, problems = build_validated(message, version, xsd_dir=xsd_dir)
    except Iso18626BuildError as exc:
        raise DomainError(f"cannot write this message in ISO 18626 {version.value}: {exc}") from exc
    except XsdUnavailableError as exc:
        log.warning("sending without XSD validation: %s", exc)
        xml, problems = build(message, version), []
    if problems:
        raise DomainError(
            f"the {version.value} message for {isil} does not validate: {'; '.join(problems[:3])}"
        )
    kind = _summary(message, isil).split(" ", 1)[0]
    payload: dict[str, Any] = {
        "kind": kind,
        "to": isil,
        "version": version.value,
        "summary": _summary(message, isil),
        "xml": xml.decode("utf-8"),
    }
    return enqueue(
        session,
        channel=CHANNEL,
        destination=endpoint,
        payload=payload,
        idempotency_key=idempotency_key,
        ordering_key=ordering_key,
        now=now,
    )


def failed_messages_query(isil: str) -> ScalarSelect[int]:
    """A scalar subquery: how many ISO 18626 messages sent for library `isil` (the agency the hub
    spoke as, `RequestLink.our_agency_isil`) gave up after every retry (outbox status `failed`).
    The staff dashboard puts it in its one count query."""
    # The outbox orders a request's messages by "lending:<request id>:iso18626" (iso18626.peering).
    key = literal("lending:") + sql_cast(RequestLinkRow.request_id, String) + literal(":iso18626")
    return (
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.channel == CHANNEL,
            OutboxMessage.status == "failed",
            exists().where(RequestLinkRow.our_agency_isil == isil, OutboxMessage.ordering_key == key),
        )
        .scalar_subquery()
    )


def count_failed_messages(session: Session, isil: str) -> int:
    """How many ISO 18626 messages sent for library `isil` failed for good (see `failed_messages_query`)."""
    return int(session.scalar(select(failed_messages_query(normalise_isil(isil)))) or 0)


class PeerDeliveryError(RuntimeError):
    """The peer did not accept a message: HTTP error, unreadable answer, or an ERROR confirmation."""


def check_confirmation(data: bytes, kind: str | None = None) -> None:
    """Raise PeerDeliveryError unless ``data`` is an OK confirmation (of ``kind``'s message, when given)."""
    try:
        parsed = parse(data)
    except Iso18626Error as exc:
        raise PeerDeliveryError(f"the peer's answer is not a readable confirmation: {exc}") from None
    message = parsed.message
    if not isinstance(
        message,
        RequestConfirmation | SupplyingAgencyMessageConfirmation | RequestingAgencyMessageConfirmation,
    ):
        raise PeerDeliveryError(f"the peer answered with a {parsed.kind}, not a confirmation")
    expected = CONFIRMATION_OF.get(kind or "")
    if expected is not None and parsed.kind != expected:
        raise PeerDeliveryError(f"the peer answered a {kind} with a {parsed.kind}")
    if message.header.message_status is MessageStatus.ERROR:
        detail = "; ".join(f"{e.type.value}: {e.value or ''}".rstrip(": ") for e in message.errors)
        raise PeerDeliveryError(f"the peer answered ERROR: {detail or 'no errorData'}")


def outbound_token(db: Database, isil: str | None, settings: Settings) -> str | None:
    """The bearer token to present to ``isil``: the peer's own (see :func:`set_peer`), else the hub's
    ``iso18626_outbound_token`` setting, else None (no Authorization header).

    Neither is presented to an endpoint changed after the token was stored (the peer's) or issued
    (the hub's, ``iso18626_outbound_token_issued_at``): :class:`PeerDeliveryError` says so, and the
    message waits in the outbox until a national admin stores the token again (or the hub's is
    re-issued). Whoever changed the endpoint does not get the credentials meant for the old one.
    """
    own: str | None = None
    own_set_at: datetime | None = None
    changed_at: datetime | None = None
    if isil:
        # A read: on SQLite it must not take the write lock the server's writers queue on.
        with read_only(db.engine).connect() as connection:
            library = directory.iso18626_entry(connection, isil)
            changed_at = library.endpoint_changed_at if library is not None else None
            found = connection.execute(
                select(PeerRow.outbound_token, PeerRow.outbound_token_set_at).where(
                    PeerRow.library_isil == isil
                )
            ).first()
        if found is not None:
            own, own_set_at = found
    if own:
        if changed_at is not None and (own_set_at is None or _aware(changed_at) > _aware(own_set_at)):
            raise PeerDeliveryError(
                f"the ISO 18626 endpoint of {isil} changed after its outbound token was stored; the token "
                "is not sent to the new endpoint until a national admin stores it again"
            )
        return own
    hub = settings.iso18626_outbound_token or None
    if hub and changed_at is not None:
        issued = settings.iso18626_outbound_token_issued_at
        if issued is None or _aware(changed_at) > _aware(issued):
            raise PeerDeliveryError(
                f"the ISO 18626 endpoint of {isil} changed after the hub's outbound token was issued "
                "(FJERNLAAN_ISO18626_OUTBOUND_TOKEN_ISSUED_AT); the token is not sent to the new endpoint"
            )
    return hub


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive UTC from a Core select; settings may be naive too: both mean UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def send_to_peer(settings: Settings, payload: dict[str, Any], destination: str, db: Database) -> None:
    """The outbox sender of channel ``iso18626``: POST the XML with the peer's bearer token (read at
    sending time, so a new token applies to messages already queued), accept only an OK confirmation.

    The destination is checked again here (:func:`fjernlaan.outbound_policy.resolve_endpoint`): its
    name is resolved, every address must be allowed, and the connection goes to the address checked.
    """
    try:
        checked = resolve_endpoint(destination, settings)
    except EndpointRefused as exc:
        raise PeerDeliveryError(f"{destination[:200]} refused: {exc.message}") from None
    headers = {"Content-Type": "application/xml", "Accept": "application/xml, text/xml"}
    token = outbound_token(db, str(payload.get("to") or "") or None, settings)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = str(payload["xml"]).encode("utf-8")
    response: httpx.Response | None = None
    with httpx.Client(timeout=settings.iso18626_send_timeout_seconds) as client:
        for address in checked.addresses:  # the next checked address when one cannot be reached
            url, extensions = pinned_request(checked, address)
            if url != checked.url:
                headers["Host"] = httpx.URL(checked.url).netloc.decode("ascii")
            request = client.build_request("POST", url, content=body, headers=headers, extensions=extensions)
            try:
                response = client.send(request)
                break
            except httpx.ConnectError as exc:
                failure: httpx.HTTPError = exc
            except httpx.HTTPError as exc:
                raise PeerDeliveryError(f"{destination} unreachable: {type(exc).__name__}: {exc}") from None
    if response is None:
        raise PeerDeliveryError(f"{destination} unreachable: {type(failure).__name__}: {failure}")
    if response.status_code >= 300:
        raise PeerDeliveryError(f"HTTP {response.status_code} from {destination}: {response.text[:500]}")
    check_confirmation(response.content, str(payload.get("kind") or "") or None)
