"""Which ILL requests a peer takes part in, and the ids both sides know them by.

Other areas use these functions, never the ``iso18626_links`` table itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from fjernlaan.directory.store import LibraryRow
from fjernlaan.iso18626.model import Version
from fjernlaan.iso18626.service import peer_view
from fjernlaan.iso18626.store import RequestLinkRow, get_peer


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
    return _link(row)


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


def links_of(session: Session, request_id: int) -> list[Link]:
    """Every peer taking part in a request, oldest first."""
    rows = session.scalars(
        select(RequestLinkRow).where(RequestLinkRow.request_id == request_id).order_by(RequestLinkRow.id)
    )
    return [_link(r) for r in rows]


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


def is_peer(session: Session, isil: str) -> bool:
    """True for a library with an ISO 18626 endpoint and peer settings: the hub talks to it in ISO 18626."""
    library = session.get(LibraryRow, isil)
    return bool(library is not None and library.iso18626_endpoint and get_peer(session, isil) is not None)


def peer_version(session: Session, isil: str) -> Version:
    """The ISO 18626 version we write to a peer."""
    return peer_view(session, isil).version
