"""Queue e-mails through the outbox, in the caller's transaction, so none is lost or sent twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from fjernlaan.db.outbox import OutboxMessage, enqueue
from fjernlaan.notify.mail import Attachment, render

EMAIL = "email"


def queue_email(
    session: Session,
    *,
    to: list[str] | tuple[str, ...],
    template: str,
    lang: str,
    context: dict[str, Any],
    idempotency_key: str,
    attachments: tuple[Attachment, ...] = (),
    now: datetime,
    ordering_key: str | None = None,
    new_key: bool = False,
) -> OutboxMessage:
    """Render a mail now (its content is fixed with the change that caused it) and queue it
    (`new_key`: the key names a row just inserted, so it is not looked up; see `enqueue`)."""
    mail = render(template, lang, context, to, attachments)
    return enqueue(
        session,
        channel=EMAIL,
        destination=", ".join(mail.to),
        payload=mail.to_payload(),
        idempotency_key=idempotency_key,
        ordering_key=ordering_key,
        now=now,
        new_key=new_key,
    )
