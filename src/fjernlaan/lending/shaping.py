"""Shaping lending's answers: the schemas the API returns and the pages read, built from what the
service returns (its domain values and the request's rows), so the use cases stay free of them.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from fjernlaan.accounts.model import Patron, Principal
from fjernlaan.lending import model as lm
from fjernlaan.lending import service
from fjernlaan.lending.schemas import (
    AllowedActionOut,
    AttemptOut,
    EventOut,
    ExclusionOut,
    PatronOut,
    RequestOut,
    RotaEntryOut,
)

R = lm.RequesterState
S = lm.SupplierState


def view(
    session: Session, request_id: int, principal: Principal, as_role: lm.Role | None = None
) -> RequestOut:
    """The request as the caller may see it: a lender never sees the patron's name, card or e-mail."""
    return request_out(service.read_request(session, request_id, principal, as_role))


def patron_out(patron: Patron) -> PatronOut:
    """The patron as the borrowing library sees them on a request."""
    return PatronOut(
        id=patron.id,
        name=patron.name,
        card_number=patron.card_number,
        email=patron.email,
        language=patron.language,
    )


def allowed_out(allowed: lm.AllowedAction, request_id: int) -> AllowedActionOut:
    """An allowed action with the fields its body needs and where to post it."""
    return AllowedActionOut(
        action=allowed.action,
        needs=list(allowed.needs),
        path=service.action_path(request_id, allowed.action),
    )


def request_out(reading: service.RequestReading) -> RequestOut:
    """The answer of `GET /api/v1/requests/{id}` (and what the request page shows)."""
    loaded = reading.loaded
    row = loaded.row
    by_position = {a.position: a for a in loaded.attempts}
    open_attempt = reading.aggregate.open_attempt
    return RequestOut(
        id=row.id,
        state=R(row.state),
        service_type=lm.ServiceType(row.service_type),
        delivered_as=lm.ServiceType(row.delivered_as) if row.delivered_as else None,
        title=row.title,
        record_id=row.record_pk,
        citation=dict(row.citation or {}),
        needs_sourcing=row.needs_sourcing,
        requester_isil=row.requester_isil,
        pickup_isil=row.pickup_isil,
        patron_category=row.patron_category,
        patron=patron_out(reading.patron) if reading.patron is not None else None,
        principles_version=row.principles_version,
        position=row.position,
        current_lender_isil=row.current_lender_isil,
        current_attempt_state=open_attempt.state if open_attempt else None,
        need_before=row.need_before,
        answer_due=row.answer_due,
        due_date=row.due_date,
        pickup_due=row.pickup_due,
        renewals_used=row.renewals_used,
        replacement_charge_dkk=row.replacement_charge_dkk,
        created_at=row.created_at,
        updated_at=row.updated_at,
        ended_at=row.ended_at,
        viewer_role=reading.role,
        rota=[
            RotaEntryOut(
                position=e.position or 0,
                isil=e.isil,
                tier=e.tier,
                score=e.score,
                via_isil=e.via_isil,
                reasons=list(e.reasons),
                attempt_state=S(by_position[e.position].state) if e.position in by_position else None,
            )
            for e in loaded.rota
        ],
        excluded=[ExclusionOut(isil=e.isil, reasons=list(e.reasons)) for e in loaded.excluded],
        attempts=[
            AttemptOut(
                position=a.position,
                isil=a.isil,
                state=S(a.state),
                condition=a.condition,
                fee_dkk=a.fee_dkk,
                reply_by=a.reply_by,
                answer_due=a.answer_due,
                created_at=a.created_at,
            )
            for a in loaded.attempts
        ],
        events=[
            EventOut(
                at=e.at,
                side=e.side,
                action=e.action,
                from_state=e.from_state,
                to_state=e.to_state,
                by_role=e.by_role,
                by_user=e.by_user,
                by_isil=e.by_isil,
                reason=e.reason,
                position=e.position,
                isil=e.isil,
            )
            for e in reading.events
        ],
        allowed_actions=[allowed_out(a, row.id) for a in reading.allowed],
        can_edit_rota=reading.can_edit_rota,
    )
