"""ISO 18626 use cases: receive a message from a peer, queue a message to a peer, send the outbox.

Inbound (:func:`receive`), in this order: size limit → parse → identify the sender (the requesting
agency of a request or requestingAgencyMessage, the supplying agency of a supplyingAgencyMessage; agency
id type ISIL) → authenticate against the peer's credentials (bearer token or accountId + securityCode)
→ the handler's reads (its :data:`Prepare`, before the first write: on SQLite the write lock is then
held only for the writes) → deduplicate (a peer's retry gets the first confirmation back byte for
byte) → dispatch to the handler registered for the message kind. Every message leaves a row in the
inbound log; only authenticated messages get a dedupe key. Areas plug in with :func:`register_handler`
(or :func:`register_prepared_handler`); until the lending area does, a message kind without a handler
is answered ERROR ``UnsupportedActionType``.

Outbound (:func:`queue_message`): the message is built for the peer's version, checked against the
official XSD, given the peer's quirks, and put in the outbox on channel ``iso18626``; the worker sends
it with :func:`send_to_peer`, which raises on anything but an OK confirmation so the outbox retries
with backoff and keeps the peer's answer as the error text.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, Final, cast

import httpx
from sqlalchemy import String, Table, bindparam, exists, func, insert, literal, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import ScalarSelect

from fjernlaan.db.base import utcnow
from fjernlaan.db.engine import read_only
from fjernlaan.db.outbox import OutboxMessage, enqueue
from fjernlaan.db.uow import Database, reads_before_writes
from fjernlaan.directory.model import InvalidIsil, normalise_isil
from fjernlaan.directory.store import LibraryRow
from fjernlaan.errors import DomainError, NotFound
from fjernlaan.iso18626.codec import (
    DEFAULT_MAX_BYTES,
    ParsedMessage,
    XsdUnavailableError,
    build,
    build_confirmation,
    build_validated,
    parse,
    sniff_message_kind,
)
from fjernlaan.iso18626.model import (
    CONFIRMATION_OF,
    AgencyId,
    Authentication,
    ErrorContext,
    ErrorData,
    ErrorType,
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
    Version,
)
from fjernlaan.iso18626.quirks import (
    Peer,
    PeerProfile,
    ReShareNote,
    should_send_unfilled,
    with_reshare_note,
)
from fjernlaan.iso18626.store import (
    InboundMessageRow,
    PeerRow,
    RequestLinkRow,
    get_or_create_peer,
    get_peer,
    hash_secret,
    hash_token,
    new_peer_token,
    secret_matches,
    token_matches,
)
from fjernlaan.outbound_policy import EndpointRefused, pinned_request, resolve_endpoint
from fjernlaan.settings import Settings
from fjernlaan.ttl_cache import TtlCache

log = logging.getLogger("fjernlaan.iso18626")

CHANNEL: Final = "iso18626"
#: The message kinds a peer may post; confirmations travel back in the HTTP answer, never on their own.
INBOUND_KINDS: Final = ("request", "supplyingAgencyMessage", "requestingAgencyMessage")
XML_CONTENT_TYPES: Final = frozenset({"text/xml", "application/xml"})
# How much of a refused body the log keeps by default: messages refused before their sender was
# authenticated may come from anybody, and a log that keeps their bodies whole fills the disk.
DEFAULT_REFUSED_LOG_BYTES: Final = 2048
# The inbound log is written with Core statements: one INSERT and one UPDATE per message, without the
# ORM's unit-of-work bookkeeping for a row nobody reads back in the same transaction.
_INBOUND: Final = cast(Table, InboundMessageRow.__table__)
# The statements are built once: building one costs more CPU than SQLite takes to run it. The columns
# an INSERT sets and an UPDATE changes are the keys of the parameters given with it.
_LOG_INSERT: Final = insert(_INBOUND)
_CLAIM: Final = {
    "postgresql": postgresql_insert(_INBOUND)
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .returning(_INBOUND.c.id),
    "sqlite": sqlite_insert(_INBOUND)
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .returning(_INBOUND.c.id),
}
_ANSWERED: Final = update(_INBOUND).where(_INBOUND.c.id == bindparam("row_id"))
_FIRST_ANSWER: Final = select(
    _INBOUND.c.id,
    _INBOUND.c.confirmation,
    _INBOUND.c.outcome,
    _INBOUND.c.message_status,
    _INBOUND.c.error_type,
    _INBOUND.c.error_value,
).where(_INBOUND.c.dedupe_key == bindparam("key"))
_RECEIVED_AGAIN: Final = (
    update(_INBOUND)
    .where(_INBOUND.c.id == bindparam("row_id"))
    .values(times_received=_INBOUND.c.times_received + 1, last_received_at=bindparam("at"))
)

Handler = Callable[[Session, ParsedMessage, str, datetime], tuple[ErrorData, ...]]
"""Applies one authenticated inbound message: ``(session, parsed, sender_isil, now)``.

Returns the errors for the confirmation (empty: OK). Runs inside a savepoint of the transaction that
logs the message: raising :class:`~fjernlaan.errors.DomainError` (or returning errors) undoes its
changes and answers ERROR, while the log row and confirmation are kept.
"""

Prepare = Callable[[Session, ParsedMessage, str, datetime], Any]
"""Reads what a handler will need, before the message is logged: ``(session, parsed, sender_isil,
now)``, returning anything the matching :data:`PreparedHandler` takes as its last argument.

On SQLite the session is a read-only one on a WAL snapshot outside the write transaction (see
:func:`fjernlaan.db.uow.reads_before_writes`), so the database's one write lock is not held while
it reads; what it read may be stale by the time the handler runs, which must check that it is not
(or read again). It must not write. A :class:`~fjernlaan.errors.DomainError` it raises is ignored:
the handler then runs without preparation (None) and gives the proper answer itself.
"""

PreparedHandler = Callable[[Session, ParsedMessage, str, datetime, Any], tuple[ErrorData, ...]]
"""A :data:`Handler` that also takes what its :data:`Prepare` read (None when nothing was)."""


@dataclass(frozen=True, slots=True)
class _Registered:
    handle: PreparedHandler
    prepare: Prepare | None = None


HANDLERS: dict[str, _Registered] = {}


def register_handler(kind: str, handler: Handler) -> None:
    """Let an area apply inbound messages of one kind (``request``, ``supplyingAgencyMessage``,
    ``requestingAgencyMessage``)."""
    if kind not in INBOUND_KINDS:
        raise ValueError(f"{kind!r} is not an inbound ISO 18626 message kind")
    HANDLERS[kind] = _Registered(
        lambda session, parsed, isil, now, _prepared: handler(session, parsed, isil, now)
    )


def register_prepared_handler(kind: str, prepare: Prepare, handler: PreparedHandler) -> None:
    """Like :func:`register_handler`, with the reads done first by ``prepare`` outside the write
    transaction (see :data:`Prepare`); ``handler`` gets their result."""
    if kind not in INBOUND_KINDS:
        raise ValueError(f"{kind!r} is not an inbound ISO 18626 message kind")
    HANDLERS[kind] = _Registered(handler, prepare)


def _prepare(
    session: Session, registered: _Registered, parsed: ParsedMessage, isil: str, now: datetime
) -> Any:
    if registered.prepare is None:
        return None
    try:
        with reads_before_writes(session) as reads:
            return registered.prepare(reads, parsed, isil, now)
    except DomainError:
        return None  # the handler reads again and answers


class Outcome(StrEnum):
    """What became of an inbound message (the log's ``outcome``)."""

    APPLIED = "applied"  # authenticated, handled, OK
    REFUSED = "refused"  # authenticated, the handler said ERROR; nothing changed
    UNSUPPORTED = "unsupported"  # authenticated, no handler for the kind yet
    INVALID = "invalid"  # not a readable ISO 18626 message (or wrong content type, too big, ...)
    UNKNOWN_SENDER = "unknown_sender"
    UNAUTHENTICATED = "unauthenticated"
    INTERNAL_ERROR = "internal_error"


@dataclass(frozen=True, slots=True)
class Reception:
    """The answer to one inbound message."""

    confirmation: bytes
    applied: bool
    outcome: Outcome
    message_status: MessageStatus
    duplicate: bool = False
    error: ErrorData | None = None


# --------------------------------------------------------------------------------------------------
# Inbound
# --------------------------------------------------------------------------------------------------


def content_type_is_xml(content_type: str | None) -> bool:
    """True for ``text/xml`` and ``application/xml`` (any parameters, any case)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() in XML_CONTENT_TYPES


def sender_of(message: Message) -> tuple[str, AgencyId | None]:
    """Which header element names the sender, and its value.

    A supplier sends supplyingAgencyMessage; a requester sends request and requestingAgencyMessage.
    """
    if isinstance(message, SupplyingAgencyMessage):
        return "supplyingAgencyId", message.header.supplying_agency_id
    if isinstance(message, Request | RequestingAgencyMessage):
        return "requestingAgencyId", message.header.requesting_agency_id
    return "header", None


def dedupe_key(sender_isil: str, parsed: ParsedMessage) -> str:
    """The identity of an inbound message: sender, kind, request ids, timestamp and action/status.

    A peer's retry repeats all of these; a new message from the same peer changes at least the
    timestamp.
    """
    message = parsed.message
    assert isinstance(message, Request | SupplyingAgencyMessage | RequestingAgencyMessage)
    h = message.header
    detail = ""
    if isinstance(message, SupplyingAgencyMessage):
        detail = f"{message.message_info.reason_for_message.value}/{message.status_info.status.value}"
    elif isinstance(message, RequestingAgencyMessage):
        detail = message.action.value
    parts = (
        sender_isil,
        parsed.kind,
        h.requesting_agency_request_id,
        h.supplying_agency_request_id or "",
        h.timestamp.astimezone(UTC).isoformat(),
        detail,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _error_from_exception(exc: Exception) -> ErrorData:
    if isinstance(exc, Iso18626Error):
        return exc.error_data
    if isinstance(exc, DomainError):
        # An area may name the errorType; otherwise the message refers to a value we cannot accept
        # (an unknown request id, a state that does not allow the action, ...).
        raw = exc.extra.get("iso18626_error_type")
        error_type = (
            ErrorType(raw) if raw in {e.value for e in ErrorType} else ErrorType.UNRECOGNISED_DATA_VALUE
        )
        return ErrorData(error_type, exc.message)
    return ErrorData(ErrorType.UNRECOGNISED_DATA_VALUE, str(exc))


def _log(
    session: Session,
    *,
    body: bytes,
    now: datetime,
    confirmation: bytes,
    outcome: Outcome,
    log_bytes: int,
    error: ErrorData | None = None,
    kind: str | None = None,
    sender: str | None = None,
    request_id: str | None = None,
) -> None:
    """Log a message that was not applied with at most ``log_bytes`` of its body."""
    session.execute(
        _LOG_INSERT,
        {
            "received_at": now,
            "last_received_at": now,
            "sender": sender[:200] if sender else None,
            "kind": kind,
            "requesting_agency_request_id": request_id[:200] if request_id else None,
            "dedupe_key": None,
            "body": bytes(body[:log_bytes]),
            "confirmation": confirmation,
            "message_status": MessageStatus.ERROR.value if error else MessageStatus.OK.value,
            "outcome": outcome.value,
            "error_type": error.type.value if error else None,
            "error_value": error.value if error else None,
            "times_received": 1,
        },
    )


def refuse(
    session: Session,
    body: bytes,
    exc: Iso18626Error,
    now: datetime,
    log_bytes: int = DEFAULT_REFUSED_LOG_BYTES,
) -> Reception:
    """Answer ERROR for a message that cannot be read (or must not be: wrong Content-Type, too big);
    the log keeps at most ``log_bytes`` of it."""
    confirmation = build_confirmation(exc, timestamp_received=now, timestamp=now)
    ctx = exc.context or ErrorContext()
    sender = ctx.requesting_agency_id
    if exc.message_kind == "supplyingAgencyMessage":
        sender = ctx.supplying_agency_id
    _log(
        session,
        body=body,
        now=now,
        confirmation=confirmation,
        outcome=Outcome.INVALID,
        log_bytes=log_bytes,
        error=exc.error_data,
        kind=exc.message_kind,
        sender=sender.value if sender else None,
        request_id=ctx.requesting_agency_request_id,
    )
    return Reception(confirmation, False, Outcome.INVALID, MessageStatus.ERROR, error=exc.error_data)


def _refuse_parsed(
    session: Session,
    body: bytes,
    parsed: ParsedMessage,
    error: ErrorData,
    outcome: Outcome,
    now: datetime,
    log_bytes: int,
    sender: str | None,
) -> Reception:
    confirmation = build_confirmation(parsed, timestamp_received=now, timestamp=now, errors=(error,))
    message = parsed.message
    assert isinstance(message, Request | SupplyingAgencyMessage | RequestingAgencyMessage)
    _log(
        session,
        body=body,
        now=now,
        confirmation=confirmation,
        outcome=outcome,
        log_bytes=log_bytes,
        error=error,
        kind=parsed.kind,
        sender=sender,
        request_id=message.header.requesting_agency_request_id,
    )
    return Reception(confirmation, False, outcome, MessageStatus.ERROR, error=error)


def _confirmation_posted(parsed: ParsedMessage) -> Iso18626Error:
    message = parsed.message
    assert isinstance(
        message,
        RequestConfirmation | SupplyingAgencyMessageConfirmation | RequestingAgencyMessageConfirmation,
    )
    h = message.header
    return Iso18626Error(
        ErrorType.BADLY_FORMED_MESSAGE,
        f"{parsed.kind} is an answer, not a message: confirmations travel back in the HTTP response "
        "to the message they confirm",
        None,
        context=ErrorContext(
            supplying_agency_id=h.supplying_agency_id,
            requesting_agency_id=h.requesting_agency_id,
            requesting_agency_request_id=h.requesting_agency_request_id,
            version=parsed.version,
        ),
    )


# --------------------------------------------------------------------------------------------------
# Peer settings, cached
# --------------------------------------------------------------------------------------------------

#: How long a process reuses a peer's settings and credential hashes before reading them again.
PEER_CACHE_SECONDS: Final = 5.0


@dataclass(frozen=True, slots=True)
class PeerSettings:
    """What the inbound path and the outbox need of a peer: its directory entry's ISO 18626 fields,
    its credential hashes and its quirks (one query, then reused for :data:`PEER_CACHE_SECONDS`)."""

    isil: str
    active: bool
    endpoint: str | None
    directory_version: str | None
    account_id: str | None
    security_code_hash: str | None
    token_hash: str | None
    profile: PeerProfile

    @property
    def version(self) -> Version:
        """The version we speak to the peer: its override, else the directory's, else 2017."""
        if self.profile.version_override is not None:
            return self.profile.version_override
        return Version(self.directory_version) if self.directory_version else Version.V2017


# Peers' settings per database for a few seconds.
# Every inbound message names its sender, and at a peak most come from a handful of peers: reading
# the same two rows for each would be a third of the queries of a simple message. Changes made
# through :func:`set_peer` or :func:`issue_peer_token` clear the cache of this process at once;
# other server processes see them within PEER_CACHE_SECONDS (as with staff bearer tokens).
# Only peers are cached, never an unknown sender, so a new peer is recognised at once.
_peers: TtlCache[PeerSettings] = TtlCache(PEER_CACHE_SECONDS)


def clear_peer_cache() -> None:
    """Forget cached peer settings (done by set_peer and issue_peer_token; tests that change peer
    rows directly call it)."""
    _peers.clear()


def _db_key(session: Session) -> str:
    # Keyed by the connection pool, which an engine shares with its read-only variant (`read_only`):
    # a message's sender is identified through one and its answer queued through the other.
    engine = session.get_bind().engine
    return f"{id(engine.pool)}:{engine.url!r}"


def peer_settings(session: Session, isil: str) -> PeerSettings | None:
    """The settings of the peer with this (normalised) ISIL, or None when the library is not a peer."""
    key = (_db_key(session), isil)
    cached = _peers.get(key)
    if cached is not None:
        return cached
    found = session.execute(
        select(LibraryRow.active, LibraryRow.iso18626_endpoint, LibraryRow.iso18626_version, PeerRow)
        .join(PeerRow, PeerRow.library_isil == LibraryRow.isil)
        .where(LibraryRow.isil == isil)
    ).first()
    if found is None:
        return None
    active, endpoint, directory_version, row = found
    settings = PeerSettings(
        isil=isil,
        active=bool(active),
        endpoint=endpoint,
        directory_version=directory_version,
        account_id=row.account_id,
        security_code_hash=row.security_code_hash,
        token_hash=row.token_hash,
        profile=row.profile,
    )
    _peers.put(key, settings)
    return settings


def authentication_problem(
    peer: PeerRow | PeerSettings, presented: Authentication | None, bearer: str | None
) -> str | None:
    """Why the credentials presented do not prove the sender is this peer; None when they do.

    Either credential is enough: a valid bearer token, or the peer's accountId with its securityCode.
    """
    problems: list[str] = []
    if bearer:
        if token_matches(peer.token_hash, bearer):
            return None
        problems.append("the bearer token is not this peer's")
    if presented is not None and (presented.account_id or presented.security_code):
        if peer.account_id is None or peer.security_code_hash is None:
            problems.append("no accountId/securityCode is set up for this peer")
        elif presented.account_id == peer.account_id and secret_matches(
            peer.security_code_hash, presented.security_code
        ):
            return None
        else:
            problems.append("requestingAgencyAuthentication: accountId or securityCode is wrong")
    if not problems:
        return (
            "no credentials: send requestingAgencyAuthentication (accountId and securityCode) or "
            "'Authorization: Bearer <token>'"
        )
    return "; ".join(problems)


def _identify(
    session: Session, parsed: ParsedMessage
) -> tuple[PeerSettings | None, ErrorData | None, Outcome]:
    """The sender's peer settings, or the error explaining why the sender is not a peer."""
    element, agency = sender_of(parsed.message)
    if agency is None:  # pragma: no cover - the parser requires the sender's agency id
        return (
            None,
            ErrorData(ErrorType.BADLY_FORMED_MESSAGE, f"header/{element} is missing"),
            Outcome.INVALID,
        )
    if agency.type.strip().upper() != "ISIL":
        return (
            None,
            ErrorData(
                ErrorType.UNRECOGNISED_DATA_VALUE,
                f"header/{element}/agencyIdType {agency.type!r}: this hub identifies agencies by ISIL",
            ),
            Outcome.UNKNOWN_SENDER,
        )
    unknown = ErrorData(
        ErrorType.UNRECOGNISED_DATA_VALUE,
        f"header/{element}/agencyIdValue {agency.value!r} is not an ISO 18626 peer of this hub",
    )
    try:
        isil = normalise_isil(agency.value)
    except InvalidIsil:
        return None, unknown, Outcome.UNKNOWN_SENDER
    peer = peer_settings(session, isil)
    if peer is None or not peer.active:
        return None, unknown, Outcome.UNKNOWN_SENDER
    return peer, None, Outcome.APPLIED


def receive(
    session: Session,
    body: bytes,
    *,
    bearer_token: str | None,
    now: datetime,
    max_bytes: int = DEFAULT_MAX_BYTES,
    content_type: str | None = None,
    refused_log_bytes: int = DEFAULT_REFUSED_LOG_BYTES,
) -> Reception:
    """Take one message a peer posted and answer it with its confirmation (see the module docstring).

    ``content_type``, when given, must be ``text/xml`` or ``application/xml``. A message refused
    before its sender is authenticated is logged with at most ``refused_log_bytes`` of its body (it may
    come from anybody). The caller commits.
    A handler's unexpected exception (not a DomainError) propagates after its savepoint is rolled back,
    so the caller can undo the whole transaction and the peer's retry is processed afresh.
    """
    body = bytes(body)
    if content_type is not None and not content_type_is_xml(content_type):
        exc = Iso18626Error(
            ErrorType.BADLY_FORMED_MESSAGE,
            f"Content-Type must be text/xml or application/xml, not {content_type[:100]!r}",
            sniff_message_kind(body),
        )
        return refuse(session, body, exc, now, refused_log_bytes)
    try:
        parsed = parse(body, max_bytes=max_bytes)
    except Iso18626Error as exc:
        return refuse(session, body, exc, now, refused_log_bytes)
    if parsed.kind not in INBOUND_KINDS:
        return refuse(session, body, _confirmation_posted(parsed), now, refused_log_bytes)
    message = parsed.message
    assert isinstance(message, Request | SupplyingAgencyMessage | RequestingAgencyMessage)
    claimed = sender_of(message)[1]
    claimed_value = claimed.value if claimed else None

    with reads_before_writes(session) as reads:  # a cache miss reads without the write lock
        peer, error, outcome = _identify(reads, parsed)
    if error is not None or peer is None:
        assert error is not None
        return _refuse_parsed(session, body, parsed, error, outcome, now, refused_log_bytes, claimed_value)
    isil = peer.isil
    problem = authentication_problem(peer, message.header.authentication, bearer_token)
    if problem is not None:
        error = ErrorData(ErrorType.UNRECOGNISED_DATA_VALUE, f"authentication failed for {isil}: {problem}")
        return _refuse_parsed(
            session, body, parsed, error, Outcome.UNAUTHENTICATED, now, refused_log_bytes, isil
        )

    key = dedupe_key(isil, parsed)
    registered = HANDLERS.get(parsed.kind)
    # Everything that only reads happens before the first write, which on SQLite takes the
    # database's one write lock until the commit: the handler's reads (see `Prepare`) and the OK
    # confirmation (rebuilt under the lock only when the handler refuses the message).
    prepared = _prepare(session, registered, parsed, isil, now) if registered is not None else None
    confirmed_ok = build_confirmation(parsed, timestamp_received=now, timestamp=now)
    # Claim the identity first: a concurrent delivery of the same message waits here on the unique
    # index (PostgreSQL) and then finds our row instead of applying the message again.
    row_id = _claim(
        session,
        {
            "received_at": now,
            "last_received_at": now,
            "sender": isil,
            "kind": parsed.kind,
            "requesting_agency_request_id": message.header.requesting_agency_request_id[:200],
            "dedupe_key": key,
            "body": body,
            # The answer it will most likely get, so that an applied message needs no UPDATE of
            # its row (a refusal rewrites it; an unexpected failure rolls the whole row back).
            "confirmation": confirmed_ok if registered is not None else b"",
            "message_status": (MessageStatus.OK if registered is not None else MessageStatus.ERROR).value,
            "outcome": (Outcome.APPLIED if registered is not None else Outcome.UNSUPPORTED).value,
            "times_received": 1,
        },
    )
    if row_id is None:
        return _replay(session, key, now)

    errors: tuple[ErrorData, ...]
    if registered is None:
        errors = (
            ErrorData(
                ErrorType.UNSUPPORTED_ACTION_TYPE,
                f"the hub does not handle {parsed.kind} messages yet",
            ),
        )
        outcome = Outcome.UNSUPPORTED
    else:
        nested = session.begin_nested()
        try:
            errors = tuple(registered.handle(session, parsed, isil, now, prepared))
        except (DomainError, Iso18626Error) as exc:
            nested.rollback()
            errors = (_error_from_exception(exc),)
        except BaseException:
            nested.rollback()
            raise
        else:
            if errors:
                nested.rollback()
            else:
                nested.commit()
        if not errors:  # the row already holds this answer
            return Reception(confirmed_ok, True, Outcome.APPLIED, MessageStatus.OK)
        outcome = Outcome.REFUSED
    confirmation = build_confirmation(parsed, timestamp_received=now, timestamp=now, errors=errors)
    session.execute(
        _ANSWERED,
        {
            "row_id": row_id,
            "confirmation": confirmation,
            "outcome": outcome.value,
            "message_status": MessageStatus.ERROR.value,
            "error_type": errors[0].type.value,
            "error_value": errors[0].value,
        },
    )
    return Reception(confirmation, False, outcome, MessageStatus.ERROR, error=errors[0])


def _claim(session: Session, values: dict[str, Any]) -> int | None:
    """Log an authenticated message under its dedupe key; its row id, or None when the key is taken
    (a retry, or a concurrent delivery that got there first and has committed).

    One statement (``INSERT … ON CONFLICT DO NOTHING RETURNING``) where the database can, instead of
    a lookup, a savepoint and an insert.
    """
    claim = _CLAIM.get(session.get_bind().dialect.name)
    if claim is not None:
        claimed: int | None = session.execute(claim, values).scalar_one_or_none()
        return claimed
    try:  # pragma: no cover - the two databases the hub supports take the branch above
        with session.begin_nested():
            return int(session.execute(insert(_INBOUND).returning(_INBOUND.c.id), values).scalar_one())
    except IntegrityError:  # pragma: no cover
        return None


def _replay(session: Session, key: str, now: datetime) -> Reception:
    """A peer's retry: the first answer again, byte for byte, and nothing applied."""
    first = session.execute(_FIRST_ANSWER, {"key": key}).one()
    session.execute(_RECEIVED_AGAIN, {"row_id": first.id, "at": now})
    error = ErrorData(ErrorType(first.error_type), first.error_value) if first.error_type else None
    return Reception(
        bytes(first.confirmation),
        False,
        Outcome(first.outcome),
        MessageStatus(first.message_status),
        duplicate=True,
        error=error,
    )


def internal_error_confirmation(body: bytes, now: datetime) -> bytes:
    """The answer when the hub itself failed: ERROR, nothing applied, the peer may send it again.

    ISO 18626 has no errorType for "try again later"; UnrecognisedDataValue with a plain errorValue is
    the least misleading of the five.
    """
    kind = sniff_message_kind(body)
    exc = Iso18626Error(
        ErrorType.UNRECOGNISED_DATA_VALUE,
        "the hub could not process this message right now; nothing was applied, please send it again later",
        kind,
    )
    try:
        parsed = parse(body)
        if parsed.kind in INBOUND_KINDS:
            return build_confirmation(parsed, timestamp_received=now, timestamp=now, errors=(exc.error_data,))
    except Exception:  # the body is what broke us; answer from what we can sniff
        pass
    return build_confirmation(exc, timestamp_received=now, timestamp=now)


def log_internal_error(
    session: Session, body: bytes, confirmation: bytes, now: datetime, max_bytes: int
) -> None:
    """Record that the hub failed on a message (in a fresh transaction; the failed one was undone)."""
    _log(
        session,
        body=body,
        now=now,
        confirmation=confirmation,
        outcome=Outcome.INTERNAL_ERROR,
        log_bytes=max_bytes,
        error=ErrorData(ErrorType.UNRECOGNISED_DATA_VALUE, "internal error at the hub"),
        kind=sniff_message_kind(body),
    )


# --------------------------------------------------------------------------------------------------
# Peers
# --------------------------------------------------------------------------------------------------


class _Keep(Enum):
    KEEP = "keep"


KEEP: Final = _Keep.KEEP
"""Leave this setting as it is (for :func:`set_peer`)."""


@dataclass(frozen=True, slots=True)
class PeerView:
    """A peer as an administrator sees it: whether credentials are set, never the secrets."""

    library_isil: str
    configured: bool
    endpoint: str | None
    directory_version: Version | None
    version: Version
    account_id: str | None
    has_security_code: bool
    has_bearer_token: bool
    has_outbound_token: bool
    profile: PeerProfile


def _library(session: Session, isil: str) -> LibraryRow:
    key = normalise_isil(isil)
    row = session.get(LibraryRow, key)
    if row is None:
        raise NotFound(f"no library with ISIL {key}", field="isil")
    return row


def effective_version(library: LibraryRow, profile: PeerProfile) -> Version:
    """The version we speak to a peer: its override, else the directory's, else 2017."""
    if profile.version_override is not None:
        return profile.version_override
    if library.iso18626_version:
        return Version(library.iso18626_version)
    return Version.V2017


def peer_view(session: Session, isil: str) -> PeerView:
    """The peer settings of a directory library (defaults when none are set)."""
    library = _library(session, isil)
    row = get_peer(session, library.isil)
    profile = row.profile if row else PeerProfile()
    return PeerView(
        library_isil=library.isil,
        configured=row is not None,
        endpoint=library.iso18626_endpoint,
        directory_version=Version(library.iso18626_version) if library.iso18626_version else None,
        version=effective_version(library, profile),
        account_id=row.account_id if row else None,
        has_security_code=bool(row and row.security_code_hash),
        has_bearer_token=bool(row and row.token_hash),
        has_outbound_token=bool(row and row.outbound_token),
        profile=profile,
    )


def set_peer(
    session: Session,
    isil: str,
    *,
    account_id: str | _Keep | None = KEEP,
    security_code: str | _Keep | None = KEEP,
    kind: Peer | None = None,
    unfilled_only_at_end_of_rota: bool | None = None,
    version_override: Version | _Keep | None = KEEP,
    outbound_token: str | _Keep | None = KEEP,
    now: datetime | None = None,
) -> PeerView:
    """Create or change a library's peer settings; ``KEEP`` (or None for the flags) leaves a setting.

    ``now`` dates a new outbound token (the caller's clock; the wall clock when not given).

    ``security_code`` is stored hashed; None clears it. ``outbound_token`` is the bearer token the peer
    issued to us (see :func:`check_outbound_token`); None clears it, and the hub's
    ``iso18626_outbound_token`` setting is presented to this peer again.
    """
    library = _library(session, isil)
    row = get_or_create_peer(session, library.isil)
    if not isinstance(account_id, _Keep):
        row.account_id = (account_id.strip() or None) if account_id else None
    if not isinstance(security_code, _Keep):
        if security_code is not None and len(security_code) < 8:
            raise DomainError("a securityCode needs at least 8 characters", field="security_code")
        row.security_code_hash = hash_secret(security_code) if security_code else None
    if kind is not None:
        row.kind = kind.value
    if unfilled_only_at_end_of_rota is not None:
        row.unfilled_only_at_end_of_rota = unfilled_only_at_end_of_rota
    if not isinstance(version_override, _Keep):
        row.version_override = version_override.value if version_override else None
    if not isinstance(outbound_token, _Keep):
        row.outbound_token = check_outbound_token(outbound_token) if outbound_token is not None else None
        row.outbound_token_set_at = (now or utcnow()) if outbound_token is not None else None
    session.flush()
    clear_peer_cache()
    return peer_view(session, library.isil)


#: RFC 6750's b64token: what a bearer token may hold, so it can travel in an HTTP header unchanged.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
OUTBOUND_TOKEN_MAX = 500


def check_outbound_token(token: str) -> str:
    """The token a peer gave us, stripped of surrounding blanks; DomainError if it cannot be a bearer
    token (empty, too long, or with characters an HTTP Authorization header cannot carry)."""
    token = token.strip()
    if not token:
        raise DomainError(
            "the outbound token is empty (use null, or --clear, to remove it)", field="outbound_token"
        )
    if len(token) > OUTBOUND_TOKEN_MAX:
        raise DomainError(
            f"the outbound token has {len(token)} characters; at most {OUTBOUND_TOKEN_MAX}",
            field="outbound_token",
        )
    if not _B64TOKEN.fullmatch(token):
        raise DomainError(
            "the outbound token may hold only letters A-Z a-z, digits and - . _ ~ + / (then any '='): "
            "a bearer token as RFC 6750 defines it",
            field="outbound_token",
        )
    return token


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
            changed_at = connection.scalar(
                select(LibraryRow.iso18626_endpoint_changed_at).where(LibraryRow.isil == isil)
            )
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


def issue_peer_token(session: Session, isil: str) -> str:
    """A new bearer token for the peer (replacing any earlier one); only its hash is stored."""
    library = _library(session, isil)
    row = get_or_create_peer(session, library.isil)
    token = new_peer_token()
    row.token_hash = hash_token(token)
    session.flush()
    clear_peer_cache()
    return token


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
    (``xsd_dir``, else :func:`fjernlaan.iso18626.codec.find_xsd_dir`); a message we cannot write
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
        library = _library(session, to_isil)
        isil, endpoint, profile = library.isil, library.iso18626_endpoint, PeerProfile()
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
    # The outbox orders a request's messages by "lending:<request id>:iso18626" (lending.peering).
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
