"""The ISO 18626 glue to lending: requests a peer places, and messages our actions send to peers.

* :func:`place_for_peer` / :func:`route` — a peer (a foreign or external library) borrows from the
  network: its request becomes an ILL request with the peer as requesting library and no patron, and
  the rota builder routes it like any other.
* :func:`apply_rule` — a peer's message applies a :class:`~fjernlaan.iso18626.lifecycle.Rule`
  (bridge steps, the main action, follow-ups) as role ``peer``; nothing changes when it is illegal.
* :func:`after_apply` (hooked to :func:`fjernlaan.lending.service.on_apply` by
  ``iso18626/install.py``) — every applied action on a request a peer takes part in queues the
  matching ISO 18626 message in the same transaction: a ``request`` when an attempt starts at a peer,
  ``requestingAgencyMessage``s for our borrowing library's actions, ``supplyingAgencyMessage``s to a
  peer that borrows from us.

Privacy: nothing of the patron (name, card, e-mail) is ever written into a message to a peer.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from fjernlaan.catalogue import service as catalogue
from fjernlaan.directory import service as directory
from fjernlaan.directory.model import Library
from fjernlaan.errors import DomainError
from fjernlaan.iso18626 import lifecycle
from fjernlaan.iso18626 import model as iso
from fjernlaan.iso18626.links import (
    Link,
    PeerRole,
    add_link,
    is_peer,
    links_of,
    peer_version,
    remember_links,
)
from fjernlaan.iso18626.outbound import queue_message
from fjernlaan.lending import model as lm
from fjernlaan.lending import rota as lr
from fjernlaan.lending import service as lending

R = lm.RequesterState
S = lm.SupplierState


def _ordering_key(request_id: int) -> str:
    return f"lending:{request_id}:iso18626"


def _at(day: date | None) -> datetime | None:
    return datetime.combine(day, time(23, 59), tzinfo=UTC) if day else None


def _agency(isil: str) -> iso.AgencyId:
    return iso.AgencyId("ISIL", isil)


def _library(session: Session, isil: str) -> Library:
    # The directory as lending caches it for a few seconds (as placing a request does), so a peer's
    # request does not read its own library twice.
    return lending.cached_libraries(session).get(isil) or directory.get_library(session, isil)


# --------------------------------------------------------------------------------------------------
# A peer borrows from the network
# --------------------------------------------------------------------------------------------------


def place_for_peer(
    session: Session,
    *,
    requester_isil: str,
    service_type: lm.ServiceType,
    record_pk: int | None,
    title: str,
    citation: dict[str, Any],
    need_before: date | None,
    principles_name: str,
    now: datetime,
    note: str | None = None,
) -> lending.Loaded:
    """Create and validate an ILL request a peer placed (no patron); :func:`route` sends it on."""
    return lending.place_for_peer(
        session,
        requester=_library(session, requester_isil),
        service_type=service_type,
        record_pk=record_pk,
        title=title,
        citation=citation,
        need_before=need_before,
        principles_name=principles_name,
        now=now,
        note=note,
        # A new request: no peer takes part in it yet (known before the validation's listeners ask).
        placed=lambda request_id: remember_links(session, request_id, []),
    )


def rota_for_peer(
    session: Session, record_pk: int, requester_isil: str, principles_name: str, now: datetime
) -> lr.Rota:
    """The rota for a peer's request of a catalogue record (reads only: it may be built before the
    write transaction, as placing a request does, and given to :func:`route`)."""
    requester = _library(session, requester_isil)
    principles = lending.principles_named(principles_name)
    return lending.rota_for_record(session, record_pk, requester, principles, now)


def route(
    session: Session,
    loaded: lending.Loaded,
    principles_name: str,
    now: datetime,
    rota: lr.Rota | None = None,
) -> None:
    """Route a validated request: build the rota (unless given, see :func:`rota_for_peer`) and ask
    the first lender, or leave it to staff to source a free-form citation."""
    row = loaded.row
    if row.record_pk is None:
        lending.apply(
            session,
            loaded,
            lm.Action.START_SOURCING,
            lending.SYSTEM,
            now,
            lm.ActionInput(reason="not in the catalogue: staff source it"),
        )
        return
    if rota is None:
        rota = rota_for_peer(session, row.record_pk, row.requester_isil, principles_name, now)
    # The steps change the rows in memory; one flush at the end writes them all.
    lending.apply(session, loaded, lm.Action.START_SOURCING, lending.SYSTEM, now, flush=False)
    if rota.filled_locally:
        # A peer holds nothing in our catalogue; should it, it still borrows: its copy is its business.
        rota = lr.Rota(rota.requester, rota.principles_version, False, (), rota.excluded, rota.national_isil)
    lending.store_rota(session, loaded, rota, lending.cached_libraries(session))
    lending.apply(session, loaded, lm.Action.SEND, lending.SYSTEM, now, flush=False)
    lending.flush_request(session, loaded)


# --------------------------------------------------------------------------------------------------
# Applying a peer's message
# --------------------------------------------------------------------------------------------------


def _allowed(aggregate: lm.RequestAggregate, role: lm.Role) -> set[lm.Action]:
    return {a.action for a in lm.allowed_for(aggregate, role)}


def apply_rule(
    session: Session,
    request_id: int,
    rule: lifecycle.Rule,
    *,
    peer_isil: str,
    now: datetime,
    data: lm.ActionInput | None = None,
    attempt_position: int | None = None,
    read_before: lending.Loaded | None = None,
    links: list[Link] | None = None,
) -> bool:
    """Apply a peer's message to a request; False when it was already applied (nothing changed).

    ``read_before`` is the request as read before the write transaction (see
    :func:`fjernlaan.lending.service.load_for_change`) and ``links`` its peers' links read with it
    (see :func:`fjernlaan.iso18626.links.remember_links`); they are used only if the request has not
    changed since.

    ``attempt_position`` (a peer supplier's message) names the peer's attempt: its supplier state
    decides whether the message was applied before, and a message about an attempt that is no longer
    the open one is refused. Raises ``DomainError`` (``UnrecognisedDataValue``) when the action is not
    allowed now.
    """
    if rule.main is None:
        return False
    loaded = lending.load_for_change(session, request_id, read_before)
    aggregate = loaded.aggregate()
    if attempt_position is not None:
        attempt = next((a for a in aggregate.attempts if a.position == attempt_position), None)
        if attempt is not None and attempt.state.value in rule.done_in:
            return False
        open_attempt = aggregate.open_attempt
        if open_attempt is None or open_attempt.position != attempt_position:
            raise DomainError(
                f"request {request_id}: the attempt at {peer_isil} has ended "
                f"({attempt.state.value if attempt else 'unknown'}); {rule.main.value} is not possible now",
                field="status",
            )
    elif aggregate.state.value in rule.done_in:
        return False
    if loaded is read_before and links is not None:
        remember_links(session, request_id, links)
    role = lm.Role.SYSTEM if rule.main is lm.Action.MARK_OVERDUE else lm.Role.PEER
    actor = lending.Actor(role, None, peer_isil)
    allowed = _allowed(aggregate, role)
    # The steps change the loaded rows in memory and are written with one flush at the end.
    if rule.main not in allowed:
        for step in rule.bridge:
            if step in _allowed(loaded.aggregate(), role):
                lending.apply(session, loaded, step, actor, now, data, flush=False)
    lending.apply(session, loaded, rule.main, actor, now, data, flush=False)
    for step in rule.after:
        if step in _allowed(loaded.aggregate(), role):
            lending.apply(session, loaded, step, actor, now, data, flush=False)
    lending.flush_request(session, loaded)
    return True


# --------------------------------------------------------------------------------------------------
# Messages our actions send to peers
# --------------------------------------------------------------------------------------------------


def _bibliographic(
    session: Session, loaded: lending.Loaded
) -> tuple[iso.BibliographicInfo, iso.PublicationInfo | None]:
    row = loaded.row
    if row.record_pk is not None:
        record = catalogue.get_record(session, row.record_pk)
        item_ids = tuple(iso.BibliographicItemId("ISBN", i) for i in record.isbns) + tuple(
            iso.BibliographicItemId("ISSN", i) for i in record.issns
        )
        record_ids = (
            (iso.BibliographicRecordId(record.source_library, record.record_id),)
            if record.source_library
            else ()
        )
        info = iso.BibliographicInfo(
            supplier_unique_record_id=None,
            title=record.title,
            author=record.creators[0] if record.creators else None,
            subtitle=record.subtitle,
            item_ids=item_ids,
            record_ids=record_ids,
        )
        publication = iso.PublicationInfo(
            publisher=record.publisher, publication_date=str(record.year) if record.year else None
        )
        return info, publication if (record.publisher or record.year) else None
    citation = row.citation or {}
    item_ids = tuple(
        iso.BibliographicItemId(code, str(citation[key]))
        for key, code in (("isbn", "ISBN"), ("issn", "ISSN"))
        if citation.get(key)
    )
    info = iso.BibliographicInfo(
        title=row.title,
        author=citation.get("author"),
        title_of_component=citation.get("article_title"),
        pages_requested=citation.get("pages"),
        item_ids=item_ids,
    )
    return info, None


def _queue(
    session: Session, to_isil: str, message: iso.Message, request_id: int, what: str, now: datetime, **kw: Any
) -> None:
    queue_message(
        session,
        to_isil=to_isil,
        message=message,
        ordering_key=_ordering_key(request_id),
        idempotency_key=f"lending:{request_id}:iso18626:{what}:{uuid.uuid4().hex}",
        now=now,
        **kw,
    )


def _send_request(session: Session, loaded: lending.Loaded, move: lm.MoveToNextLender, now: datetime) -> None:
    row = loaded.row
    entry = next((e for e in loaded.rota if e.position == move.position), None)
    ours = (entry.via_isil if entry is not None else None) or row.requester_isil
    rid = f"{row.id}-{move.position}"
    add_link(
        session,
        request_id=row.id,
        peer_isil=move.to_isil,
        peer_role=PeerRole.SUPPLIER,
        requesting_agency_request_id=rid,
        our_agency_isil=ours,
        now=now,
        position=move.position,
    )
    info, publication = _bibliographic(session, loaded)
    message = iso.Request(
        header=iso.Header(
            requesting_agency_id=_agency(ours),
            supplying_agency_id=_agency(move.to_isil),
            timestamp=now,
            requesting_agency_request_id=rid,
        ),
        bibliographic_info=info,
        publication_info=publication,
        service_info=iso.ServiceInfo(
            service_type=iso.ServiceType(row.service_type),
            request_type=iso.RequestType.NEW,
            need_before_date=_at(row.need_before),
        ),
        # No patron_info: a lender never learns who the patron is.
    )
    _queue(session, move.to_isil, message, row.id, "request", now)


def _send_requesting(
    session: Session, link: Link, action: lm.Action, loaded: lending.Loaded, now: datetime, reason: str | None
) -> None:
    iso_action = lifecycle.REQUESTER_ACTION_MESSAGES[action]
    note = reason
    if iso_action is iso.Action.LOST and peer_version(session, link.peer_isil) is iso.Version.V2017:
        iso_action, note = iso.Action.NOTIFICATION, f"Lost: {reason or 'the item is lost'}"
    if action is lm.Action.ACCEPT_CONDITION:
        note = "ConditionAccepted"
    message = iso.RequestingAgencyMessage(
        header=iso.Header(
            requesting_agency_id=_agency(link.our_agency_isil),
            supplying_agency_id=_agency(link.peer_isil),
            timestamp=now,
            requesting_agency_request_id=link.requesting_agency_request_id,
            supplying_agency_request_id=link.supplying_agency_request_id,
        ),
        action=iso_action,
        note=note,
    )
    _queue(session, link.peer_isil, message, loaded.row.id, iso_action.value, now)


def send_supplying(
    session: Session,
    link: Link,
    request_id: int,
    reason: iso.ReasonForMessage,
    status: iso.Status,
    answer_yes_no: bool | None,
    due_date: date | None,
    now: datetime,
    note: str | None = None,
) -> None:
    """Queue a supplyingAgencyMessage to a peer that borrows from the network."""
    message = iso.SupplyingAgencyMessage(
        header=iso.Header(
            requesting_agency_id=_agency(link.peer_isil),
            supplying_agency_id=_agency(link.our_agency_isil),
            timestamp=now,
            requesting_agency_request_id=link.requesting_agency_request_id,
            supplying_agency_request_id=str(request_id),
        ),
        message_info=iso.MessageInfo(
            reason_for_message=reason,
            answer_yes_no=answer_yes_no,
            note=note,
            reason_unfilled=iso.SchemeValue("NotAvailable") if status is iso.Status.UNFILLED else None,
        ),
        status_info=iso.StatusInfo(
            status=status,
            last_change=now,
            due_date=_at(due_date) if status in (iso.Status.LOANED, iso.Status.OVERDUE) else None,
        ),
    )
    _queue(
        session,
        link.peer_isil,
        message,
        request_id,
        f"{reason.value}:{status.value}",
        now,
        at_end_of_rota=True,
    )


def _attempt_state_after(before: lm.RequestAggregate, after: lm.RequestAggregate) -> lm.SupplierState | None:
    """The new state of the attempt the action was about (the one open before it)."""
    attempt = before.open_attempt
    if attempt is None:
        return after.attempts[-1].state if after.attempts else None
    index = len(before.attempts) - 1
    return after.attempts[index].state if index < len(after.attempts) else None


def after_apply(
    session: Session,
    loaded: lending.Loaded,
    action: lm.Action,
    actor: lending.Actor,
    before: lm.RequestAggregate,
    outcome: lm.Outcome,
    now: datetime,
) -> None:
    """Queue the ISO 18626 messages an applied action sends to the peers taking part (see module)."""
    libraries = lending.cached_libraries(session)
    row = loaded.row
    moves = [e for e in outcome.effects if isinstance(e, lm.MoveToNextLender)]
    notified = [e.isil for e in outcome.effects if isinstance(e, lm.NotifyLender) and e.message != "Request"]
    if action is lm.Action.RECEIVE and not notified and outcome.aggregate.attempts:
        # A copy's receipt tells a staff lender nothing, so the model notifies no one; a peer that
        # supplied it still waits for Received to close its side of the request.
        notified = [outcome.aggregate.attempts[-1].isil]
    requester = libraries.get(row.requester_isil)
    requester_may_be_peer = requester is not None and bool(requester.iso18626_endpoint)
    lender_isils = [*notified, *(m.to_isil for m in moves)]
    lender_may_be_peer = any(
        (lib := libraries.get(isil)) is not None and lib.iso18626_endpoint for isil in lender_isils
    )
    if not (requester_may_be_peer or lender_may_be_peer):
        return  # the usual case: nobody on this request speaks ISO 18626 (no query needed)
    reason = next((e.reason for e in outcome.events if e.reason), None)
    links = links_of(session, row.id)
    # The network borrows from a peer: our borrowing library's actions.
    for lender_isil in notified:
        if actor.role is lm.Role.PEER and actor.isil == lender_isil:
            continue
        link = next(
            (
                lk
                for lk in reversed(links)
                if lk.peer_role is PeerRole.SUPPLIER and lk.peer_isil == lender_isil
            ),
            None,
        )
        if link is not None and action in lifecycle.REQUESTER_ACTION_MESSAGES:
            _send_requesting(session, link, action, loaded, now, reason)
    for move in moves:
        # Only a library with an endpoint in the (cached) directory can be a peer: ask no more of others.
        lender = libraries.get(move.to_isil)
        if (lender is None or lender.iso18626_endpoint) and is_peer(session, move.to_isil):
            _send_request(session, loaded, move, now)
    # A peer borrows from the network: our lenders' actions.
    requester_link = next((lk for lk in links if lk.peer_role is PeerRole.REQUESTER), None)
    if requester_link is None or (actor.role is lm.Role.PEER and actor.isil == requester_link.peer_isil):
        return
    new = outcome.aggregate
    message = lifecycle.supply_message_for(action, before.state, new.state, _attempt_state_after(before, new))
    if message is None:
        return
    reason_for_message, status, answer = message
    note = reason if status in (iso.Status.UNFILLED, iso.Status.RETRY_POSSIBLE, iso.Status.RECALLED) else None
    if action is lm.Action.OFFER_CONDITION:
        attempt = new.attempts[-1] if new.attempts else None
        note = attempt.condition if attempt and attempt.condition else note
    send_supplying(
        session, requester_link, row.id, reason_for_message, status, answer, new.due_date, now, note
    )
