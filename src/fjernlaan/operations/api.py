"""Operators' routes: the outbox (pending, sent, failed messages) and retrying one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel
from sqlalchemy import func, select

from fjernlaan.db.outbox import OutboxMessage, retry_message
from fjernlaan.identity import require_role
from fjernlaan.limits import INT_MAX
from fjernlaan.web.deps import ClockDep, Page, PageDep, PrincipalDep, SessionDep

router = APIRouter(prefix="/api/v1/outbox", tags=["operations"])


class OutboxOut(BaseModel):
    """A queued message as operators see it (payloads can hold patron data, so only a summary)."""

    id: int
    channel: str
    destination: str
    ordering_key: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    summary: str


def _summary(payload: dict[str, Any]) -> str:
    return str(payload.get("subject") or payload.get("summary") or payload.get("kind") or "")[:200]


def outbox_out(row: OutboxMessage) -> OutboxOut:
    """The API view of an outbox row."""
    return OutboxOut(
        id=row.id,
        channel=row.channel,
        destination=row.destination,
        ordering_key=row.ordering_key,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
        summary=_summary(row.payload),
    )


@router.get("", response_model=Page[OutboxOut], summary="Messages to other systems (national admin)")
def list_outbox(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    status: Annotated[Literal["pending", "sent", "failed"] | None, Query()] = None,
    channel: Annotated[str | None, Query(max_length=32)] = None,
) -> Page[OutboxOut]:
    require_role(principal)
    query = select(OutboxMessage)
    if status:
        query = query.where(OutboxMessage.status == status)
    if channel:
        query = query.where(OutboxMessage.channel == channel)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(OutboxMessage.id.desc()).limit(page.limit).offset(page.offset))
    return Page[OutboxOut](
        items=[outbox_out(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post(
    "/{message_id}/retry", response_model=OutboxOut, summary="Send a message again now (national admin)"
)
def retry(
    message_id: Annotated[int, Path(ge=1, le=INT_MAX)],
    session: SessionDep,
    principal: PrincipalDep,
    clock: ClockDep,
) -> OutboxOut:
    require_role(principal)
    row = retry_message(session, message_id, clock.now())
    session.commit()
    return outbox_out(row)
