"""Which ILL requests a peer takes part in, and the ids both sides know them by.

Other areas use these functions, never the ``iso18626_links`` table itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from fjernlaan.iso18626.model import Version
from fjernlaan.iso18626.service import peer_settings, peer_view
from fjernlaan.iso18626.store import RequestLinkRow


class PeerRole(StrEnum):
    """The part a peer plays on a request."""

    REQUESTER = "requester"  # the peer borrows from the network
    SUPPLIER = "supplier"  # the network borrows from the peer (one attempt)


@dataclass(frozen=True, slots=True)
class Link:
    """A request a peer takes part in."""

    request_id: int
    peer_isil: str
    peer_role: PeerRole
    requesting_agency_request_id: str
    supplying_agency_request_id: str | None
    our_agency_isil: str
    position: int | None


def _link(row: RequestLinkRow) -> Link:
    return Link(
        row.request_id,
        row.peer_isil,
        PeerRole(row.peer_role),
        row.requesting_agency_request_id,
        row.supplying_agency_request_id,
        row.our_agency_isil,
        row.position,
    )


def add_link(
    session: Session,
    *,
    request_id: int,
    peer_isil: str,
    peer_role: PeerRole,
    requesting_agency_request_id: str,
    our_agency_isil: str,
    now: datetime,
    supplying_agency_request_id: str | None = None,
    position: int | None = None,
) -> Link:
    """Record that a peer takes part in a request."""
    row = RequestLinkRow(
        request_id=request_id,
        peer_isil=peer_isil,
        peer_role=peer_role.value,
        requesting_agency_request_id=requesting_agency_request_id,
        supplying_agency_request_id=supplying_agency_request_id,
        our_agency_isil=our_agency_isil,
        position=position,
        created_at=now,
    )
    session.add(row)
    session.flush()
    link = _link(row)
    cached = _known(session).get(request_id)
    if cached is not None:
        cached.append(link)
    return link


def find_link(
    session: Session, peer_isil: str, peer_role: PeerRole, requesting_agency_request_id: str
) -> Link | None:
    """The request a peer's message is about, by the requesting agency's request id."""
    row = session.scalar(
        select(RequestLinkRow).where(
            RequestLinkRow.peer_isil == peer_isil,
            RequestLinkRow.peer_role == peer_role.value,
            RequestLinkRow.requesting_agency_request_id == requesting_agency_request_id,
        )
    )
    return _link(row) if row is not None else None


# Links read in a session, by request id. Every applied action asks for its request's links (to know
# which peers hear of it), and a peer's message applies two or three actions; the links change only
# through add_link and note_supplier_request_id, which keep this up to date, and a rollback (a refused
# message's savepoint included) forgets it.
_SESSION_KEY = "fjernlaan.iso18626.links"


def _known(session: Session) -> dict[int, list[Link]]:
    known: dict[int, list[Link]] = session.info.setdefault(_SESSION_KEY, {})
    return known


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, _previous: object) -> None:
    session.info.pop(_SESSION_KEY, None)


def links_of(session: Session, request_id: int) -> list[Link]:
    """Every peer taking part in a request, oldest first."""
    known = _known(session)
    links = known.get(request_id)
    if links is None:
        rows = session.scalars(
            select(RequestLinkRow).where(RequestLinkRow.request_id == request_id).order_by(RequestLinkRow.id)
        )
        links = known[request_id] = [_link(r) for r in rows]
    return list(links)


def note_supplier_request_id(session: Session, link: Link, supplying_agency_request_id: str) -> None:
    """Remember the peer supplier's own id for our request (sent back in later messages)."""
    row = session.scalar(
        select(RequestLinkRow).where(
            RequestLinkRow.peer_isil == link.peer_isil,
            RequestLinkRow.peer_role == link.peer_role.value,
            RequestLinkRow.requesting_agency_request_id == link.requesting_agency_request_id,
        )
    )
    if row is not None and row.supplying_agency_request_id is None:
        row.supplying_agency_request_id = supplying_agency_request_id[:200]
        _known(session).pop(link.request_id, None)


def is_peer(session: Session, isil: str) -> bool:
    """True for a library with an ISO 18626 endpoint and peer settings: the hub talks to it in ISO 18626."""
    peer = peer_settings(session, isil)
    return bool(peer is not None and peer.endpoint)


def peer_version(session: Session, isil: str) -> Version:
    """The ISO 18626 version we write to a peer."""
    peer = peer_settings(session, isil)
    return peer.version if peer is not None else peer_view(session, isil).version
