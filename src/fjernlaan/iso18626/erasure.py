"""What the privacy area's erasure asks of ISO 18626: drop the raw bodies of logged messages, which can
carry a peer's patron's name. The message's identity, outcome and confirmation stay, so a very late
retry is still answered the same way."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from fjernlaan.iso18626.store import InboundMessageRow, RequestLinkRow


def erase_request_bodies(session: Session, request_ids: list[int]) -> int:
    """Drop the raw bodies of every logged message about these ILL requests (matched through the ids
    peers know them by): a peer's request can carry its patron's name. Returns how many were erased."""
    if not request_ids:
        return 0
    peer_ids = select(RequestLinkRow.requesting_agency_request_id).where(
        RequestLinkRow.request_id.in_(request_ids)
    )
    rows = session.scalars(
        select(InboundMessageRow).where(
            InboundMessageRow.requesting_agency_request_id.in_(peer_ids), InboundMessageRow.body.is_not(None)
        )
    ).all()
    for row in rows:
        row.body = None
    session.flush()
    return len(rows)


def erase_unlinked_bodies(session: Session, received_before: datetime) -> int:
    """Drop the raw bodies of messages received before the given time that belong to no ILL request
    (refused, unknown senders, junk): nothing else will ever erase them."""
    linked = select(RequestLinkRow.id).where(
        RequestLinkRow.requesting_agency_request_id == InboundMessageRow.requesting_agency_request_id
    )
    rows = session.scalars(
        select(InboundMessageRow).where(
            InboundMessageRow.received_at < received_before,
            InboundMessageRow.body.is_not(None),
            ~linked.exists(),
        )
    ).all()
    for row in rows:
        row.body = None
    session.flush()
    return len(rows)


def count_bodies(session: Session, request_ids: list[int], received_before: datetime) -> int:
    """How many bodies the two functions above would erase (for a dry run)."""
    peer_ids = select(RequestLinkRow.requesting_agency_request_id).where(
        RequestLinkRow.request_id.in_(request_ids or [-1])
    )
    linked = select(RequestLinkRow.id).where(
        RequestLinkRow.requesting_agency_request_id == InboundMessageRow.requesting_agency_request_id
    )
    query = select(func.count(InboundMessageRow.id)).where(
        InboundMessageRow.body.is_not(None),
        or_(
            InboundMessageRow.requesting_agency_request_id.in_(peer_ids),
            and_(InboundMessageRow.received_at < received_before, ~linked.exists()),
        ),
    )
    return session.scalar(query) or 0
