"""Use cases behind the transport labels and the network overview: which of some requests a library
is shipping now (and to whom), and how many requests each library has open."""

from __future__ import annotations

from sqlalchemy import func, or_, select, union_all
from sqlalchemy.orm import Session

from fjernlaan.lending.model import REQUESTER_TERMINAL, RequesterState
from fjernlaan.lending.store import RequestRow
from fjernlaan.lending.transport import Shipment, ShipmentKind

R = RequesterState

# The lender ships once it said it will supply; the label may be printed again after shipping.
_LENDER_SHIPS = {R.EXPECTS_TO_SUPPLY: False, R.SHIPPED: True}
# The borrowing library ships the item back once the patron returned it.
_RETURN_SHIPS = {R.RETURNED_BY_PATRON: False, R.RETURN_SHIPPED: True}


def shipments(session: Session, library_isil: str, request_ids: tuple[int, ...]) -> list[Shipment]:
    """The requests among `request_ids` whose item `library_isil` ships now (or shipped and may label
    again): to the borrowing library when it is the lender, back to the lender when it borrowed.

    Requests that are not this library's to ship are left out, whatever the reason, so the answer
    tells nothing about other libraries' requests. The order of `request_ids` is kept.
    """
    if not request_ids:
        return []
    rows = session.execute(
        select(
            RequestRow.id,
            RequestRow.state,
            RequestRow.requester_isil,
            RequestRow.current_lender_isil,
        ).where(
            RequestRow.id.in_(request_ids),
            or_(RequestRow.requester_isil == library_isil, RequestRow.current_lender_isil == library_isil),
        )
    ).all()
    found: dict[int, Shipment] = {}
    for request_id, state, requester, lender in rows:
        current = R(state)
        if lender == library_isil and current in _LENDER_SHIPS:
            found[request_id] = Shipment(
                request_id, ShipmentKind.LOAN, library_isil, requester, _LENDER_SHIPS[current]
            )
        elif requester == library_isil and lender and current in _RETURN_SHIPS:
            found[request_id] = Shipment(
                request_id, ShipmentKind.RETURN, library_isil, lender, _RETURN_SHIPS[current]
            )
    return [found[i] for i in request_ids if i in found]


def open_request_counts(session: Session, isils: list[str] | None = None) -> dict[str, int]:
    """Open (not ended) requests per library, counting a request for its borrowing library and for
    the lender asked now: the load each library carries. One query; `isils` narrows it."""
    open_rows = RequestRow.state.not_in([s.value for s in REQUESTER_TERMINAL])
    as_requester = select(RequestRow.requester_isil.label("isil")).where(open_rows)
    as_lender = select(RequestRow.current_lender_isil.label("isil")).where(
        open_rows,
        RequestRow.current_lender_isil.is_not(None),
        # A library that is its own lender (filled locally) counts once.
        RequestRow.current_lender_isil != RequestRow.requester_isil,
    )
    both = union_all(as_requester, as_lender).subquery()
    query = select(both.c.isil, func.count()).group_by(both.c.isil)
    if isils is not None:
        if not isils:
            return {}
        query = query.where(both.c.isil.in_(isils))
    return {isil: int(count) for isil, count in session.execute(query) if isil is not None}
