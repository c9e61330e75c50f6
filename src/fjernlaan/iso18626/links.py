"""Which ILL requests a peer takes part in, and the ids both sides know them by.

Other areas use these functions, never the ``iso18626_links`` table itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, cast

from sqlalchemy import Table, bindparam, event, insert, select, update
from sqlalchemy.orm import Session

from fjernlaan.iso18626.model import Version
from fjernlaan.iso18626.peers import peer_settings, peer_view
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


# Read and written with prebuilt Core statements: a peer's message looks its request up first thing, and
# building an ORM query costs more CPU than running it.
_LINKS: Final = cast(Table, RequestLinkRow.__table__)
_COLUMNS: Final = (
    _LINKS.c.request_id,
    _LINKS.c.peer_isil,
    _LINKS.c.peer_role,
    _LINKS.c.requesting_agency_request_id,
    _LINKS.c.supplying_agency_request_id,
    _LINKS.c.our_agency_isil,
    _LINKS.c.position,
)
_BY_PEER_ID: Final = select(*_COLUMNS).where(
    _LINKS.c.peer_isil == bindparam("peer"),
    _LINKS.c.peer_role == bindparam("role"),
    _LINKS.c.requesting_agency_request_id == bindparam("rid"),
)
_OF_REQUEST: Final = (
    select(*_COLUMNS).where(_LINKS.c.request_id == bindparam("request")).order_by(_LINKS.c.id)
)
_ADD: Final = insert(_LINKS)
_NOTE_SUPPLIER_ID: Final = (
    update(_LINKS)
    .where(
        _LINKS.c.peer_isil == bindparam("peer"),
        _LINKS.c.peer_role == bindparam("role"),
        _LINKS.c.requesting_agency_request_id == bindparam("rid"),
        _LINKS.c.supplying_agency_request_id.is_(None),
    )
    .values(supplying_agency_request_id=bindparam("supplier_id"))
)


def _link(row: Sequence[Any]) -> Link:
    """A link from a row of _COLUMNS."""
    request_id, peer_isil, peer_role, rid, supplier_rid, our_agency, position = row
    return Link(request_id, peer_isil, PeerRole(peer_role), rid, supplier_rid, our_agency, position)


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
    """Record that a peer takes part in a request (already written to the database)."""
    # On the session's connection: the insert needs none of the session's pending changes, so they
    # are not flushed here but with the caller's next flush, in one round.
    session.connection().execute(
        _ADD,
        {
            "request_id": request_id,
            "peer_isil": peer_isil,
            "peer_role": peer_role.value,
            "requesting_agency_request_id": requesting_agency_request_id,
            "supplying_agency_request_id": supplying_agency_request_id,
            "our_agency_isil": our_agency_isil,
            "position": position,
            "created_at": now,
        },
    )
    link = Link(
        request_id,
        peer_isil,
        peer_role,
        requesting_agency_request_id,
        supplying_agency_request_id,
        our_agency_isil,
        position,
    )
    cached = _known(session).get(request_id)
    if cached is not None:
        cached.append(link)
    return link


def find_link(
    session: Session, peer_isil: str, peer_role: PeerRole, requesting_agency_request_id: str
) -> Link | None:
    """The request a peer's message is about, by the requesting agency's request id."""
    row = session.execute(
        _BY_PEER_ID, {"peer": peer_isil, "role": peer_role.value, "rid": requesting_agency_request_id}
    ).first()
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
        rows = session.execute(_OF_REQUEST, {"request": request_id})
        links = known[request_id] = [_link(r) for r in rows]
    return list(links)


def remember_links(session: Session, request_id: int, links: Sequence[Link]) -> None:
    """Tell this session a request's links, as read elsewhere (before the write transaction) or known
    to be none (a request just created), so that :func:`links_of` need not read them.

    The caller vouches that they are current: links are added only together with a change to their
    request (whose version then changes), and :func:`note_supplier_request_id` only fills a missing
    supplier id (see :func:`complete_links`).
    """
    _known(session)[request_id] = list(links)


def complete_links(links: Sequence[Link]) -> bool:
    """True when no link still waits for its supplier's request id: such links cannot change without
    a change to their request, so a copy read earlier is current as long as the request is."""
    return all(link.supplying_agency_request_id is not None for link in links)


def note_supplier_request_id(session: Session, link: Link, supplying_agency_request_id: str) -> None:
    """Remember the peer supplier's own id for our request (sent back in later messages)."""
    if link.supplying_agency_request_id is not None:
        return
    session.execute(
        _NOTE_SUPPLIER_ID,
        {
            "peer": link.peer_isil,
            "role": link.peer_role.value,
            "rid": link.requesting_agency_request_id,
            "supplier_id": supplying_agency_request_id[:200],
        },
    )
    _known(session).pop(link.request_id, None)


def is_peer(session: Session, isil: str) -> bool:
    """True for a library with an ISO 18626 endpoint and peer settings: the hub talks to it in ISO 18626."""
    peer = peer_settings(session, isil)
    return bool(peer is not None and peer.endpoint)


def peer_version(session: Session, isil: str) -> Version:
    """The ISO 18626 version we write to a peer."""
    peer = peer_settings(session, isil)
    return peer.version if peer is not None else peer_view(session, isil).version
