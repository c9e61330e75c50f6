"""Builders shared by the lending domain tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from fjernlaan.lending.model import (
    EXPECTED_ATTEMPT_STATES,
    Action,
    ActionInput,
    Attempt,
    Guard,
    LenderTerms,
    RequestAggregate,
    RequesterState,
    ServiceType,
    SupplierState,
    Transition,
)

AT = datetime(2026, 3, 2, 10, 0)
LENDERS = (
    LenderTerms("DK-710100", max_renewals=1),
    LenderTerms("DK-775100", max_renewals=2),
    LenderTerms("DK-746100", max_renewals=0),
)
FULL_INPUT = ActionInput(reason="årsag: øjeblikkeligt udlånt", condition="kun til læsesalsbrug", fee_dkk=25.0)

# Requester states reached only after the lender chose how to supply: the service they imply.
_AFTER_LOAN = {
    RequesterState.RECEIVED,
    RequesterState.CHECKED_OUT,
    RequesterState.RENEW_PENDING,
    RequesterState.OVERDUE,
    RequesterState.RECALLED,
    RequesterState.RETURNED_BY_PATRON,
    RequesterState.RETURN_SHIPPED,
}


def aggregate_in(
    state: RequesterState,
    attempt_state: SupplierState | None,
    service: ServiceType,
    *,
    last_lender: bool = False,
    renewals_used: int = 0,
) -> RequestAggregate:
    """A request in `state` whose open attempt (if any) is in `attempt_state`.

    `service` is the effective service: Loan or Copy after shipment, any before. With `last_lender` the
    current attempt is at the rota's last position, so nobody is left to ask.
    """
    before_lender = state in {
        RequesterState.SUBMITTED,
        RequesterState.VALIDATED,
        RequesterState.SOURCING,
        RequesterState.FILLED_LOCALLY,
    }
    position: int | None = None
    if not before_lender:
        position = len(LENDERS) - 1 if last_lender else 0
    attempts: tuple[Attempt, ...] = ()
    if position is not None:
        closed = SupplierState.UNFILLED
        if state in {RequesterState.DELIVERED, RequesterState.SHIPPED} and attempt_state is None:
            closed = SupplierState.COPY_COMPLETED
        attempts = (Attempt(position, LENDERS[position].isil, attempt_state or closed),)
    delivered_as: ServiceType | None = None
    if service is not ServiceType.COPY_OR_LOAN and (
        state in _AFTER_LOAN or state in {RequesterState.SHIPPED, RequesterState.DELIVERED}
    ):
        delivered_as = service
    return RequestAggregate(
        service_type=service,
        state=state,
        # Before the first lender is asked, "nobody left to ask" means an empty rota.
        lenders=() if last_lender and position is None else LENDERS,
        position=position,
        attempts=attempts,
        delivered_as=delivered_as,
        renewals_used=renewals_used,
    )


def setups_for(row: Transition[RequesterState] | Transition[SupplierState]) -> Iterator[RequestAggregate]:
    """Every consistent aggregate from which `row` could fire (its states, services and guard)."""
    from fjernlaan.lending.model import Side

    pairs: list[tuple[RequesterState, SupplierState | None]] = []
    for req_state, attempt_states in EXPECTED_ATTEMPT_STATES.items():
        for att in attempt_states:
            if row.side is Side.REQUESTER and req_state in row.from_states:
                pairs.append((req_state, att))
            if row.side is Side.SUPPLIER and att in row.from_states:
                pairs.append((req_state, att))
    for req_state, att in pairs:
        for service in sorted(row.service_types):
            if not consistent(req_state, att, service):
                continue
            last = row.guard is Guard.NO_NEXT_LENDER
            if row.guard is Guard.NONE and row.action in {Action.UNFILLED, Action.NO_ANSWER}:
                last = False
            yield aggregate_in(req_state, att, service, last_lender=last)


def consistent(state: RequesterState, attempt_state: SupplierState | None, service: ServiceType) -> bool:
    """Whether a request can be in `state` with its open attempt in `attempt_state` for this service."""
    if attempt_state not in EXPECTED_ATTEMPT_STATES[state]:
        return False
    if state in _AFTER_LOAN:
        return service is ServiceType.LOAN
    if state is RequesterState.DELIVERED:
        return service is ServiceType.COPY
    if state is RequesterState.SHIPPED:
        return (service is ServiceType.COPY) == (
            attempt_state is None
        ) and service is not ServiceType.COPY_OR_LOAN
    return True
