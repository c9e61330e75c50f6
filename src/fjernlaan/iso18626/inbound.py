"""ISO 18626 inbound: receive a message from a peer and answer it with its confirmation.

:func:`receive`, in this order: size limit → parse → identify the sender (the requesting agency of a
request or requestingAgencyMessage, the supplying agency of a supplyingAgencyMessage; agency id type
ISIL) → authenticate against the peer's credentials (bearer token or accountId + securityCode, see
:mod:`fjernlaan.iso18626.peers`) → the handler's reads (its :data:`Prepare`, before the first write:
on SQLite the write lock is then held only for the writes) → deduplicate (a peer's retry gets the
first confirmation back byte for byte) → dispatch to the handler registered for the message kind.
Every message leaves a row in the inbound log; only authenticated messages get a dedupe key. Areas
plug in with :func:`register_handler` (or :func:`register_prepared_handler`); until the lending glue
does, a message kind without a handler is answered ERROR ``UnsupportedActionType``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fjernlaan.db.uow import reads_before_writes
from fjernlaan.directory.model import InvalidIsil, normalise_isil
from fjernlaan.errors import DomainError
from fjernlaan.iso18626.model import (
    AgencyId,
    Authentication,
    ErrorContext,
    ErrorData,
    ErrorType,
    Iso18626Error,
    Message,
    MessageStatus,
    Request,
    RequestConfirmation,
    RequestingAgencyMessage,
    RequestingAgencyMessageConfirmation,
    SupplyingAgencyMessage,
    SupplyingAgencyMessageConfirmation,
)
from fjernlaan.iso18626.peers import PeerSettings, peer_settings
from fjernlaan.iso18626.reader import DEFAULT_MAX_BYTES, ParsedMessage, parse, sniff_message_kind
from fjernlaan.iso18626.store import (
    InboundMessageRow,
    PeerRow,
    secret_matches,
    token_matches,
)
from fjernlaan.iso18626.writer import build_confirmation

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
