"""The inbound ISO 18626 handlers: what each message a peer posts does to an ILL request.

Listed by message kind in ``iso18626/install.py``, whose hooks the composition root registers with
:func:`fjernlaan.iso18626.inbound.register_prepared_handler`. Each runs inside the savepoint the
inbound path opens: a refusal (``DomainError``, or the errors returned) undoes everything it did and
answers ERROR.

* ``request`` — a peer borrows from the network: a new ILL request with the peer as requesting
  library, routed by the rota builder (a catalogue match by ISBN, ISSN or record id; otherwise a
  free-form citation that staff source).
* ``requestingAgencyMessage`` — the peer (requester) acts on its request
  (:data:`~fjernlaan.iso18626.lifecycle.PEER_REQUESTER_ACTIONS`).
* ``supplyingAgencyMessage`` — a peer we asked as lender answers on its attempt
  (:data:`~fjernlaan.iso18626.lifecycle.PEER_SUPPLIER_STATUSES`).

The last two take one path (:func:`prepare_peer_message`, :func:`handle_peer_message`) and differ
only in the data of their :class:`PeerMessageKind` (:data:`PEER_MESSAGES`).

Each comes with a ``prepare_*`` function that reads what it needs before the write transaction (the
link, the request, a peer request's record and rota); the handler reuses those rows only when the
request has not changed since (``lending.service.load_for_change``), so a message always meets the
request's current state.

Errors: an unknown request id is ``UnrecognisedDataValue`` naming the id; an action the request's
state does not allow is ``UnrecognisedDataValue`` too (the value is valid ISO 18626 but not for this
request now), and nothing changes; an action the hub never acts on is ``UnsupportedActionType``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from fjernlaan.catalogue import service as catalogue
from fjernlaan.catalogue.model import InvalidIdentifier, normalise_isbn, normalise_issn
from fjernlaan.db.uow import is_separate_reader
from fjernlaan.directory import service as directory
from fjernlaan.directory.model import InvalidIsil, LibraryType, normalise_isil
from fjernlaan.errors import DomainError
from fjernlaan.iso18626 import lifecycle, peering
from fjernlaan.iso18626.links import (
    Link,
    PeerRole,
    add_link,
    complete_links,
    find_link,
    links_of,
    note_supplier_request_id,
)
from fjernlaan.iso18626.model import Action as IsoAction
from fjernlaan.iso18626.model import (
    ErrorData,
    ErrorType,
    ReasonForMessage,
    Request,
    RequestingAgencyMessage,
    Status,
    SupplyingAgencyMessage,
)
from fjernlaan.iso18626.model import ServiceType as IsoServiceType
from fjernlaan.iso18626.reader import ParsedMessage
from fjernlaan.lending import model as lm
from fjernlaan.lending import rota as lr
from fjernlaan.lending import service as lending
from fjernlaan.settings import get_settings


def _unknown(element: str, value: str, why: str) -> ErrorData:
    return ErrorData(ErrorType.UNRECOGNISED_DATA_VALUE, f"header/{element} {value!r}: {why}")


def _record_pk(session: Session, message: Request) -> int | None:
    """The catalogue record a request names: ISBN, ISSN, then record ids; None when none matches."""
    info = message.bibliographic_info
    keys: list[str] = []
    for item in info.item_ids:
        code = item.code.strip().upper()
        try:
            if code == "ISBN":
                keys.append(f"isbn:{normalise_isbn(item.identifier)}")
            elif code == "ISSN":
                keys.append(f"issn:{normalise_issn(item.identifier)}")
        except InvalidIdentifier:
            continue
    for record in info.record_ids:
        code = record.code.strip()
        if code.upper() == "OCLC":
            keys.append(f"oclc:{record.identifier.strip()}")
        else:
            keys.append(f"id:{code}:{record.identifier.strip()}")
    for key in keys:
        found = catalogue.record_pk_by_identifier(session, key)
        if found is not None:
            return found
    return None


def _our_agency(session: Session, message: Request) -> str:
    """Who the peer addressed: the supplying agency of its request, else the national library."""
    agency = message.header.supplying_agency_id
    if agency is not None and agency.value.strip():
        try:
            return normalise_isil(agency.value)
        except InvalidIsil:
            return agency.value.strip()[:16]
    national = next(
        (lib.isil for lib in directory.all_libraries(session) if lib.type is LibraryType.NATIONAL), None
    )
    if national is None:
        raise DomainError("header/supplyingAgencyId is missing and the hub has no national library")
    return national


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """What a peer's request needs read before it is placed: the record, its title, its rota."""

    record_pk: int | None
    title: str | None
    our_agency: str
    rota: lr.Rota | None


def prepare_request(
    session: Session, parsed: ParsedMessage, sender_isil: str, now: datetime
) -> PreparedRequest | None:
    """The catalogue record a peer's request names and its rota, read before the write transaction.

    The rota is a snapshot of the holdings and the lenders' load when the request arrives, as for a
    request placed by staff (``lending.service.place``).
    """
    message = parsed.message
    assert isinstance(message, Request)
    record_pk = _record_pk(session, message)
    title = message.bibliographic_info.title or (
        catalogue.get_record(session, record_pk).title if record_pk else None
    )
    if not title:
        return None  # refused under the lock, where the answer is written
    principles = get_settings().active_principles
    rota = peering.rota_for_peer(session, record_pk, sender_isil, principles, now) if record_pk else None
    return PreparedRequest(record_pk, title, _our_agency(session, message), rota)


def handle_request(
    session: Session,
    parsed: ParsedMessage,
    sender_isil: str,
    now: datetime,
    prepared: PreparedRequest | None = None,
) -> tuple[ErrorData, ...]:
    """A peer asks the network for an item: place it as an ILL request and route it."""
    message = parsed.message
    assert isinstance(message, Request)
    rid = message.header.requesting_agency_request_id.strip()
    # Under the write lock, not in `prepare_request`: two different messages with the same id at
    # once must not both place a request.
    existing = find_link(session, sender_isil, PeerRole.REQUESTER, rid)
    if existing is not None:
        return (
            _unknown(
                "requestingAgencyRequestId",
                rid,
                f"{sender_isil} already sent a request with this id (our request {existing.request_id})",
            ),
        )
    info = message.bibliographic_info
    if prepared is not None:
        record_pk, title = prepared.record_pk, prepared.title
    else:
        record_pk = _record_pk(session, message)
        title = info.title or (catalogue.get_record(session, record_pk).title if record_pk else None)
    if not title:
        return (
            ErrorData(
                ErrorType.UNRECOGNISED_DATA_VALUE,
                "bibliographicInfo: no title and no ISBN, ISSN or record id this hub knows",
            ),
        )
    citation = {
        k: v
        for k, v in {
            "title": info.title,
            "author": info.author,
            "isbn": next((i.identifier for i in info.item_ids if i.code.upper() == "ISBN"), None),
            "issn": next((i.identifier for i in info.item_ids if i.code.upper() == "ISSN"), None),
            "article_title": info.title_of_component,
            "pages": info.pages_requested,
        }.items()
        if v
    }
    service = message.service_info
    service_type = lm.ServiceType((service.service_type if service else IsoServiceType.LOAN).value)
    need_before = service.need_before_date.date() if service and service.need_before_date else None
    principles = get_settings().active_principles
    loaded = peering.place_for_peer(
        session,
        requester_isil=sender_isil,
        service_type=service_type,
        record_pk=record_pk,
        title=title,
        citation={} if record_pk else citation,
        need_before=need_before,
        principles_name=principles,
        now=now,
        note=f"their id {rid}",
    )
    add_link(
        session,
        request_id=loaded.row.id,
        peer_isil=sender_isil,
        peer_role=PeerRole.REQUESTER,
        requesting_agency_request_id=rid,
        our_agency_isil=prepared.our_agency if prepared is not None else _our_agency(session, message),
        now=now,
        supplying_agency_request_id=str(loaded.row.id),
    )
    peering.route(session, loaded, principles, now, prepared.rota if prepared is not None else None)
    return ()


@dataclass(frozen=True, slots=True)
class PreparedAction:
    """A peer's message about one of its requests, as read before the write transaction: its link
    (which never changes request or position) and, when read in a session of its own, the request
    (reused only if unchanged when the message is applied, see ``lending.service.load_for_change``)."""

    link: Link
    loaded: lending.Loaded | None
    links: list[Link] | None = None


def _prepare_action(
    session: Session, sender_isil: str, role: PeerRole, rid: str, needs_request: bool
) -> PreparedAction | None:
    link = find_link(session, sender_isil, role, rid)
    if link is None:
        return None  # answered under the lock: the link may be there by then
    # In the write transaction's own session (PostgreSQL) the handler loads the request itself,
    # with its row lock; only rows read in a session of their own are worth reading early.
    if not (needs_request and is_separate_reader(session)):
        return PreparedAction(link, None)
    loaded = lending.load(session, link.request_id)
    links = links_of(session, link.request_id)
    return PreparedAction(link, loaded, links if complete_links(links) else None)


@dataclass(frozen=True, slots=True)
class _Apply:
    """What a peer's message does to its request: a lifecycle rule, applied with this input."""

    rule: lifecycle.Rule
    data: lm.ActionInput


_Interpret = Callable[
    [Session, Any, Link, str, datetime, PreparedAction | None], "tuple[ErrorData, ...] | _Apply"
]


@dataclass(frozen=True, slots=True)
class PeerMessageKind:
    """A message a peer sends about one of its requests (``requestingAgencyMessage`` from a peer that
    borrows, ``supplyingAgencyMessage`` from a peer we asked as lender): the two are read, prepared
    and applied alike and differ only in these values (see :data:`PEER_MESSAGES`)."""

    kind: str
    message_type: type[RequestingAgencyMessage] | type[SupplyingAgencyMessage]
    #: The sender's part in the request, which its link records.
    role: PeerRole
    #: The errorValue for a request id we do not know from the sender (``{sender}``: its ISIL).
    unknown_id: str
    #: Whether the message needs the request read (it changes or reports it), so it is read early.
    needs_request: Callable[[Any], bool]
    #: The answer to the message (errors, or nothing more to do), or the rule it applies.
    interpret: _Interpret
    #: A supplier's message is about its attempt (the link's position), which must still be open.
    names_attempt: bool


def _message(
    spec: PeerMessageKind, parsed: ParsedMessage
) -> RequestingAgencyMessage | SupplyingAgencyMessage:
    message = parsed.message
    assert isinstance(message, spec.message_type)
    return message


def prepare_peer_message(
    spec: PeerMessageKind, session: Session, parsed: ParsedMessage, sender_isil: str, now: datetime
) -> PreparedAction | None:
    """The link and the request a peer's message is about, read before the write lock."""
    message = _message(spec, parsed)
    rid = message.header.requesting_agency_request_id.strip()
    return _prepare_action(session, sender_isil, spec.role, rid, spec.needs_request(message))


def handle_peer_message(
    spec: PeerMessageKind,
    session: Session,
    parsed: ParsedMessage,
    sender_isil: str,
    now: datetime,
    prepared: PreparedAction | None = None,
) -> tuple[ErrorData, ...]:
    """A peer acts on (or answers about) one of its requests."""
    message = _message(spec, parsed)
    rid = message.header.requesting_agency_request_id.strip()
    link = prepared.link if prepared is not None else find_link(session, sender_isil, spec.role, rid)
    if link is None:
        return (_unknown("requestingAgencyRequestId", rid, spec.unknown_id.format(sender=sender_isil)),)
    answer = spec.interpret(session, message, link, sender_isil, now, prepared)
    if not isinstance(answer, _Apply):
        return answer
    peering.apply_rule(
        session,
        link.request_id,
        answer.rule,
        peer_isil=sender_isil,
        now=now,
        data=answer.data,
        attempt_position=link.position if spec.names_attempt else None,
        read_before=prepared.loaded if prepared is not None else None,
        links=prepared.links if prepared is not None else None,
    )
    return ()


def _requester_needs_request(message: RequestingAgencyMessage) -> bool:
    rule = lifecycle.PEER_REQUESTER_ACTIONS.get(message.action)
    return message.action is IsoAction.STATUS_REQUEST or (rule is not None and rule.main is not None)


def _requester_action(
    session: Session,
    message: RequestingAgencyMessage,
    link: Link,
    sender_isil: str,
    now: datetime,
    prepared: PreparedAction | None,
) -> tuple[ErrorData, ...] | _Apply:
    """The peer that borrows from the network acts on its request."""
    if message.action in lifecycle.UNSUPPORTED_PEER_ACTIONS:
        return (
            ErrorData(
                ErrorType.UNSUPPORTED_ACTION_TYPE,
                f"action {message.action.value}: the hub does not act on it",
            ),
        )
    if message.action is IsoAction.STATUS_REQUEST:
        # Without the row lock, as before; on SQLite the answer reflects the state as of the write
        # lock (a change committed since it was read means reading again), so it is queued after
        # any message a concurrent change queued.
        read_before = prepared.loaded if prepared is not None else None
        loaded = lending.load_for_change(session, link.request_id, read_before, lock=False)
        aggregate = loaded.aggregate()
        last = aggregate.attempts[-1] if aggregate.attempts else None
        status = lifecycle.status_of(last.state) if last else Status.REQUEST_RECEIVED
        peering.send_supplying(
            session,
            link,
            link.request_id,
            ReasonForMessage.STATUS_REQUEST_RESPONSE,
            status,
            None,
            aggregate.due_date,
            now,
        )
        return ()
    rule = lifecycle.PEER_REQUESTER_ACTIONS[message.action]
    return _Apply(rule, lm.ActionInput(reason=message.note or f"{message.action.value} from {sender_isil}"))


def _supplier_rule(message: SupplyingAgencyMessage) -> lifecycle.Rule:
    info = message.message_info
    return lifecycle.supplier_rule(info.reason_for_message, info.answer_yes_no, message.status_info.status)


def _supplier_answer(
    session: Session,
    message: SupplyingAgencyMessage,
    link: Link,
    sender_isil: str,
    now: datetime,
    prepared: PreparedAction | None,
) -> tuple[ErrorData, ...] | _Apply:
    """A peer we asked as lender answers on its attempt."""
    if message.header.supplying_agency_request_id:
        note_supplier_request_id(session, link, message.header.supplying_agency_request_id)
    info = message.message_info
    status = message.status_info.status
    rule = _supplier_rule(message)
    reason = info.note
    if status is Status.UNFILLED:
        why = info.reason_unfilled.value if info.reason_unfilled else None
        reason = "; ".join(p for p in (f"Unfilled at {sender_isil}", why, info.note) if p)
    condition = None
    if rule.main is lm.Action.OFFER_CONDITION:
        retry = message.retry_info
        parts = [info.note, info.reason_retry.value if info.reason_retry else None]
        if retry is not None:
            parts += [c.value for c in retry.loan_conditions]
        condition = "; ".join(p for p in parts if p) or "RetryPossible"
    if rule.main in (
        lm.Action.RECALL,
        lm.Action.REFUSE_RENEWAL,
        lm.Action.REFUSE_CANCEL,
        lm.Action.REPORT_LOST,
    ):
        reason = reason or f"{status.value} from {sender_isil}"
    due = message.status_info.due_date
    fee = float(info.offered_costs[0].amount) if info.offered_costs else None
    data = lm.ActionInput(
        reason=reason, condition=condition, fee_dkk=fee, due_date=due.date() if due else None
    )
    return _Apply(rule, data)


#: The peers' messages about their requests (see :class:`PeerMessageKind`).
PEER_MESSAGES: Final = (
    PeerMessageKind(
        kind="requestingAgencyMessage",
        message_type=RequestingAgencyMessage,
        role=PeerRole.REQUESTER,
        unknown_id="no request from {sender} has this id",
        needs_request=_requester_needs_request,
        interpret=_requester_action,
        names_attempt=False,
    ),
    PeerMessageKind(
        kind="supplyingAgencyMessage",
        message_type=SupplyingAgencyMessage,
        role=PeerRole.SUPPLIER,
        unknown_id="no request of ours was sent to {sender} with this id",
        needs_request=lambda message: _supplier_rule(message).main is not None,
        interpret=_supplier_answer,
        names_attempt=True,
    ),
)
