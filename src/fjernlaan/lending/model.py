"""The pure heart of lending: the request's two state machines.

No database, no HTTP, no clock: callers pass the time and the facts (holdings, policies, calendars,
load), and get back new values, events and effects that the service layer stores and executes in one
unit of work (DESIGN.md §4).

* State machines. The requester side (the borrowing library's view of the whole request) and the
  supplier side (one state per attempt, i.e. per lender asked) are explicit transition tables,
  `REQUESTER_TRANSITIONS` and `SUPPLIER_TRANSITIONS`. An action (what `POST /requests/{id}/actions/
  {action}` names) is legal when a requester-side row matches the request's state, and, when the action
  also moves the lender's open attempt, a supplier-side row matches the attempt's state; the role must be
  allowed by every matching row. `apply_action` returns the new aggregate, one `Event` per state change,
  and the `Effect`s (notify, move to the next lender, deadlines, charges) to carry out.

The rota builder (which lenders to ask, in what order) lives beside it in `fjernlaan.lending.rota`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Generic, TypeVar

from fjernlaan.directory.model import Library
from fjernlaan.errors import DomainError

# --------------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------------


class ServiceType(StrEnum):
    """What the patron asked for (ISO 18626 ServiceType)."""

    LOAN = "Loan"
    COPY = "Copy"
    COPY_OR_LOAN = "CopyOrLoan"


class Side(StrEnum):
    """Which state machine a transition or event belongs to."""

    REQUESTER = "requester"
    SUPPLIER = "supplier"


class RequesterState(StrEnum):
    """The borrowing library's view of the whole request (DESIGN.md §4)."""

    SUBMITTED = "submitted"
    VALIDATED = "validated"
    FILLED_LOCALLY = "filled_locally"
    SOURCING = "sourcing"
    SENT = "sent"
    EXPECTS_TO_SUPPLY = "expects_to_supply"
    CONDITIONAL = "conditional"
    SHIPPED = "shipped"
    RECEIVED = "received"
    CHECKED_OUT = "checked_out"
    RETURNED_BY_PATRON = "returned_by_patron"
    RETURN_SHIPPED = "return_shipped"
    COMPLETED = "completed"
    DELIVERED = "delivered"
    CANCEL_PENDING = "cancel_pending"
    CANCELLED = "cancelled"
    UNFILLED = "unfilled"
    END_OF_ROTA = "end_of_rota"
    OVERDUE = "overdue"
    RECALLED = "recalled"
    RENEW_PENDING = "renew_pending"
    LOST = "lost"


class SupplierState(StrEnum):
    """One lender's view of one attempt (DESIGN.md §4); `ISO18626_STATUS` maps each to the standard."""

    RECEIVED = "received"
    WILL_SUPPLY = "will_supply"
    AWAITING_SHIPMENT = "awaiting_shipment"
    SHIPPED = "shipped"
    AWAITING_RETURN = "awaiting_return"
    RETURNED = "returned"
    COMPLETED = "completed"
    UNFILLED = "unfilled"
    CONDITIONAL = "conditional"
    CANCELLED = "cancelled"
    OVERDUE = "overdue"
    RECALLED = "recalled"
    COPY_COMPLETED = "copy_completed"
    COMPLETED_WITHOUT_RETURN = "completed_without_return"


# The ISO 18626 supplying-agency status each supplier state is reported as. `awaiting_return` and
# `returned` are still "Loaned" to the standard: the loan only completes when the lender checks it in.
ISO18626_STATUS: Mapping[SupplierState, str] = {
    SupplierState.RECEIVED: "RequestReceived",
    SupplierState.WILL_SUPPLY: "ExpectToSupply",
    SupplierState.AWAITING_SHIPMENT: "WillSupply",
    SupplierState.SHIPPED: "Loaned",
    SupplierState.AWAITING_RETURN: "Loaned",
    SupplierState.RETURNED: "Loaned",
    SupplierState.COMPLETED: "LoanCompleted",
    SupplierState.UNFILLED: "Unfilled",
    SupplierState.CONDITIONAL: "RetryPossible",
    SupplierState.CANCELLED: "Cancelled",
    SupplierState.OVERDUE: "Overdue",
    SupplierState.RECALLED: "Recalled",
    SupplierState.COPY_COMPLETED: "CopyCompleted",
    SupplierState.COMPLETED_WITHOUT_RETURN: "CompletedWithoutReturn",
}

REQUESTER_TERMINAL: frozenset[RequesterState] = frozenset(
    {
        RequesterState.FILLED_LOCALLY,
        RequesterState.COMPLETED,
        RequesterState.CANCELLED,
        RequesterState.UNFILLED,
        RequesterState.LOST,
    }
)
SUPPLIER_TERMINAL: frozenset[SupplierState] = frozenset(
    {
        SupplierState.COMPLETED,
        SupplierState.UNFILLED,
        SupplierState.CANCELLED,
        SupplierState.COPY_COMPLETED,
        SupplierState.COMPLETED_WITHOUT_RETURN,
    }
)


class Role(StrEnum):
    """Who triggers an action. `peer` is another system speaking ISO 18626 for its side of the request
    (a lender's own library system for supplier actions, a borrower's for requester actions)."""

    PATRON = "patron"
    REQUESTER_STAFF = "requester_staff"
    SUPPLIER_STAFF = "supplier_staff"
    SYSTEM = "system"
    PEER = "peer"


class Action(StrEnum):
    """The actions of `POST /requests/{id}/actions/{action}`."""

    VALIDATE = "validate"
    REJECT = "reject"
    FILL_LOCALLY = "fill_locally"
    START_SOURCING = "start_sourcing"
    SEND = "send"
    WILL_SUPPLY = "will_supply"
    READY_TO_SHIP = "ready_to_ship"
    UNFILLED = "unfilled"
    NO_ANSWER = "no_answer"
    OFFER_CONDITION = "offer_condition"
    ACCEPT_CONDITION = "accept_condition"
    DECLINE_CONDITION = "decline_condition"
    SHIP = "ship"
    DELIVER_COPY = "deliver_copy"
    RECEIVE = "receive"
    COMPLETE = "complete"
    CHECK_OUT = "check_out"
    RETURN_BY_PATRON = "return_by_patron"
    SHIP_RETURN = "ship_return"
    CONFIRM_RETURN = "confirm_return"
    REQUEST_RENEWAL = "request_renewal"
    GRANT_RENEWAL = "grant_renewal"
    REFUSE_RENEWAL = "refuse_renewal"
    MARK_OVERDUE = "mark_overdue"
    RECALL = "recall"
    REPORT_LOST = "report_lost"
    CANCEL = "cancel"
    CONFIRM_CANCEL = "confirm_cancel"
    REFUSE_CANCEL = "refuse_cancel"
    NEED_BEFORE_PASSED = "need_before_passed"
    GIVE_UP = "give_up"


class Guard(StrEnum):
    """A condition on the aggregate (not on the states) that picks between rows of the same action."""

    NONE = "none"
    HAS_NEXT_LENDER = "has_next_lender"
    NO_NEXT_LENDER = "no_next_lender"
    RENEWALS_LEFT = "renewals_left"


StateT = TypeVar("StateT", RequesterState, SupplierState)

ALL_SERVICES: frozenset[ServiceType] = frozenset(ServiceType)
LOANS: frozenset[ServiceType] = frozenset({ServiceType.LOAN})
COPIES: frozenset[ServiceType] = frozenset({ServiceType.COPY})


@dataclass(frozen=True, slots=True)
class Transition(Generic[StateT]):
    """One row of a transition table: `action` moves `side` from any of `from_states` to `to_state`.

    `roles` may trigger it; `needs` names the `ActionInput` fields it requires; `service_types` is the
    request's effective service (a CopyOrLoan becomes Loan or Copy once the lender chose); `guard` picks
    between rows of the same action on the same state.
    """

    side: Side
    action: Action
    from_states: frozenset[StateT]
    to_state: StateT
    roles: frozenset[Role]
    needs: tuple[str, ...] = ()
    service_types: frozenset[ServiceType] = ALL_SERVICES
    guard: Guard = Guard.NONE


R = RequesterState
S = SupplierState
_REQ = frozenset({Role.REQUESTER_STAFF, Role.PEER})
_REQ_OR_PATRON = frozenset({Role.REQUESTER_STAFF, Role.PEER, Role.PATRON})
_SUP = frozenset({Role.SUPPLIER_STAFF, Role.PEER})
_SYS = frozenset({Role.SYSTEM})
_SYS_OR_REQ = frozenset({Role.SYSTEM, Role.REQUESTER_STAFF})


def _r(
    action: Action,
    from_states: Iterable[RequesterState],
    to_state: RequesterState,
    roles: frozenset[Role],
    needs: tuple[str, ...] = (),
    service_types: frozenset[ServiceType] = ALL_SERVICES,
    guard: Guard = Guard.NONE,
) -> Transition[RequesterState]:
    return Transition(
        Side.REQUESTER, action, frozenset(from_states), to_state, roles, needs, service_types, guard
    )


def _s(
    action: Action,
    from_states: Iterable[SupplierState],
    to_state: SupplierState,
    roles: frozenset[Role],
    needs: tuple[str, ...] = (),
    service_types: frozenset[ServiceType] = ALL_SERVICES,
) -> Transition[SupplierState]:
    return Transition(Side.SUPPLIER, action, frozenset(from_states), to_state, roles, needs, service_types)


# Requester states in which a lender is engaged but nothing has been shipped: cancellable with the
# lender's confirmation, and ended by the patron's need-before date.
_ASKING = (R.SENT, R.EXPECTS_TO_SUPPLY, R.CONDITIONAL)
# Lender states before shipment: a lender may still say no, offer a condition or accept a cancel.
_OPEN_BEFORE_SHIPMENT = (S.RECEIVED, S.WILL_SUPPLY, S.AWAITING_SHIPMENT, S.CONDITIONAL)
# Requester states while the loan is with the borrowing library or its patron.
_ON_LOAN = (R.RECEIVED, R.CHECKED_OUT, R.RENEW_PENDING, R.OVERDUE, R.RECALLED, R.RETURNED_BY_PATRON)

A = Action

REQUESTER_TRANSITIONS: tuple[Transition[RequesterState], ...] = (
    _r(A.VALIDATE, [R.SUBMITTED], R.VALIDATED, _SYS_OR_REQ),
    _r(A.REJECT, [R.SUBMITTED, R.VALIDATED], R.UNFILLED, _SYS_OR_REQ, needs=("reason",)),
    _r(A.FILL_LOCALLY, [R.VALIDATED], R.FILLED_LOCALLY, _SYS_OR_REQ),
    _r(A.START_SOURCING, [R.VALIDATED], R.SOURCING, _SYS_OR_REQ),
    _r(A.SEND, [R.SOURCING, R.END_OF_ROTA], R.SENT, _SYS_OR_REQ, guard=Guard.HAS_NEXT_LENDER),
    _r(A.SEND, [R.SOURCING], R.END_OF_ROTA, _SYS_OR_REQ, guard=Guard.NO_NEXT_LENDER),
    _r(A.WILL_SUPPLY, [R.SENT], R.EXPECTS_TO_SUPPLY, _SUP),
    _r(A.READY_TO_SHIP, [R.EXPECTS_TO_SUPPLY], R.EXPECTS_TO_SUPPLY, _SUP),
    _r(A.READY_TO_SHIP, [R.CANCEL_PENDING], R.CANCEL_PENDING, _SUP),
    _r(A.UNFILLED, _ASKING, R.SENT, _SUP, needs=("reason",), guard=Guard.HAS_NEXT_LENDER),
    _r(A.UNFILLED, _ASKING, R.END_OF_ROTA, _SUP, needs=("reason",), guard=Guard.NO_NEXT_LENDER),
    _r(A.UNFILLED, [R.CANCEL_PENDING], R.CANCELLED, _SUP, needs=("reason",)),
    _r(A.NO_ANSWER, [R.SENT], R.SENT, _SYS, guard=Guard.HAS_NEXT_LENDER),
    _r(A.NO_ANSWER, [R.SENT], R.END_OF_ROTA, _SYS, guard=Guard.NO_NEXT_LENDER),
    _r(A.NO_ANSWER, [R.CANCEL_PENDING], R.CANCELLED, _SYS),
    _r(A.OFFER_CONDITION, [R.SENT, R.EXPECTS_TO_SUPPLY], R.CONDITIONAL, _SUP, needs=("condition",)),
    _r(A.ACCEPT_CONDITION, [R.CONDITIONAL], R.EXPECTS_TO_SUPPLY, _REQ_OR_PATRON),
    _r(A.DECLINE_CONDITION, [R.CONDITIONAL], R.SENT, _REQ_OR_PATRON, guard=Guard.HAS_NEXT_LENDER),
    _r(A.DECLINE_CONDITION, [R.CONDITIONAL], R.END_OF_ROTA, _REQ_OR_PATRON, guard=Guard.NO_NEXT_LENDER),
    _r(
        A.SHIP,
        [R.SENT, R.EXPECTS_TO_SUPPLY, R.CANCEL_PENDING],
        R.SHIPPED,
        _SUP,
        service_types=frozenset({ServiceType.LOAN, ServiceType.COPY_OR_LOAN}),
    ),
    _r(
        A.DELIVER_COPY,
        [R.SENT, R.EXPECTS_TO_SUPPLY, R.CANCEL_PENDING],
        R.SHIPPED,
        _SUP,
        service_types=frozenset({ServiceType.COPY, ServiceType.COPY_OR_LOAN}),
    ),
    _r(A.RECEIVE, [R.SHIPPED], R.RECEIVED, _REQ, service_types=LOANS),
    _r(A.RECEIVE, [R.SHIPPED], R.DELIVERED, _REQ, service_types=COPIES),
    _r(A.COMPLETE, [R.DELIVERED], R.COMPLETED, _SYS_OR_REQ | {Role.PEER}, service_types=COPIES),
    _r(A.CHECK_OUT, [R.RECEIVED], R.CHECKED_OUT, _REQ, service_types=LOANS),
    _r(
        A.RETURN_BY_PATRON,
        [R.CHECKED_OUT, R.OVERDUE, R.RECALLED],
        R.RETURNED_BY_PATRON,
        _REQ,
        service_types=LOANS,
    ),
    _r(A.SHIP_RETURN, [R.RECEIVED, R.RETURNED_BY_PATRON], R.RETURN_SHIPPED, _REQ, service_types=LOANS),
    _r(A.CONFIRM_RETURN, [R.RETURN_SHIPPED], R.COMPLETED, _SUP, service_types=LOANS),
    _r(
        A.REQUEST_RENEWAL,
        [R.CHECKED_OUT],
        R.RENEW_PENDING,
        _REQ_OR_PATRON,
        service_types=LOANS,
        guard=Guard.RENEWALS_LEFT,
    ),
    _r(
        A.GRANT_RENEWAL,
        [R.RENEW_PENDING],
        R.CHECKED_OUT,
        _SUP,
        service_types=LOANS,
        guard=Guard.RENEWALS_LEFT,
    ),
    _r(A.REFUSE_RENEWAL, [R.RENEW_PENDING], R.CHECKED_OUT, _SUP, needs=("reason",), service_types=LOANS),
    _r(
        A.MARK_OVERDUE,
        [R.RECEIVED, R.CHECKED_OUT, R.RENEW_PENDING],
        R.OVERDUE,
        _SYS,
        service_types=LOANS,
    ),
    _r(A.MARK_OVERDUE, [R.RETURNED_BY_PATRON], R.RETURNED_BY_PATRON, _SYS, service_types=LOANS),
    _r(
        A.RECALL,
        [R.RECEIVED, R.CHECKED_OUT, R.RENEW_PENDING, R.OVERDUE],
        R.RECALLED,
        _SUP,
        needs=("reason",),
        service_types=LOANS,
    ),
    _r(
        A.RECALL,
        [R.RETURNED_BY_PATRON],
        R.RETURNED_BY_PATRON,
        _SUP,
        needs=("reason",),
        service_types=LOANS,
    ),
    _r(
        A.REPORT_LOST,
        [R.SHIPPED, *_ON_LOAN, R.RETURN_SHIPPED],
        R.LOST,
        _REQ | {Role.SUPPLIER_STAFF},
        needs=("reason",),
        service_types=LOANS,
    ),
    _r(
        A.CANCEL,
        [R.SUBMITTED, R.VALIDATED, R.SOURCING, R.END_OF_ROTA],
        R.CANCELLED,
        _REQ_OR_PATRON,
    ),
    _r(A.CANCEL, _ASKING, R.CANCEL_PENDING, _REQ_OR_PATRON),
    _r(A.CONFIRM_CANCEL, [R.CANCEL_PENDING], R.CANCELLED, _SUP),
    _r(A.REFUSE_CANCEL, [R.CANCEL_PENDING], R.EXPECTS_TO_SUPPLY, _SUP, needs=("reason",)),
    _r(
        A.NEED_BEFORE_PASSED,
        [R.SOURCING, *_ASKING, R.END_OF_ROTA],
        R.UNFILLED,
        _SYS,
    ),
    _r(A.GIVE_UP, [R.END_OF_ROTA], R.UNFILLED, _REQ, needs=("reason",)),
)

SUPPLIER_TRANSITIONS: tuple[Transition[SupplierState], ...] = (
    _s(A.WILL_SUPPLY, [S.RECEIVED], S.WILL_SUPPLY, _SUP),
    _s(A.READY_TO_SHIP, [S.WILL_SUPPLY], S.AWAITING_SHIPMENT, _SUP),
    _s(A.UNFILLED, _OPEN_BEFORE_SHIPMENT, S.UNFILLED, _SUP, needs=("reason",)),
    _s(A.NO_ANSWER, [S.RECEIVED], S.UNFILLED, _SYS),
    _s(
        A.OFFER_CONDITION,
        [S.RECEIVED, S.WILL_SUPPLY, S.AWAITING_SHIPMENT],
        S.CONDITIONAL,
        _SUP,
        ("condition",),
    ),
    _s(A.ACCEPT_CONDITION, [S.CONDITIONAL], S.AWAITING_SHIPMENT, _REQ_OR_PATRON),
    _s(A.DECLINE_CONDITION, [S.CONDITIONAL], S.CANCELLED, _REQ_OR_PATRON),
    _s(
        A.SHIP,
        [S.RECEIVED, S.WILL_SUPPLY, S.AWAITING_SHIPMENT],
        S.SHIPPED,
        _SUP,
        service_types=frozenset({ServiceType.LOAN, ServiceType.COPY_OR_LOAN}),
    ),
    _s(
        A.DELIVER_COPY,
        [S.RECEIVED, S.WILL_SUPPLY, S.AWAITING_SHIPMENT],
        S.COPY_COMPLETED,
        _SUP,
        service_types=frozenset({ServiceType.COPY, ServiceType.COPY_OR_LOAN}),
    ),
    _s(A.RECEIVE, [S.SHIPPED], S.AWAITING_RETURN, _REQ, service_types=LOANS),
    _s(A.SHIP_RETURN, [S.AWAITING_RETURN, S.OVERDUE, S.RECALLED], S.RETURNED, _REQ, service_types=LOANS),
    _s(A.CONFIRM_RETURN, [S.RETURNED], S.COMPLETED, _SUP, service_types=LOANS),
    _s(A.MARK_OVERDUE, [S.AWAITING_RETURN], S.OVERDUE, _SYS, service_types=LOANS),
    _s(A.RECALL, [S.AWAITING_RETURN, S.OVERDUE], S.RECALLED, _SUP, ("reason",), service_types=LOANS),
    _s(
        A.REPORT_LOST,
        [S.SHIPPED, S.AWAITING_RETURN, S.OVERDUE, S.RECALLED, S.RETURNED],
        S.COMPLETED_WITHOUT_RETURN,
        _REQ | {Role.SUPPLIER_STAFF},
        ("reason",),
        service_types=LOANS,
    ),
    _s(A.CONFIRM_CANCEL, _OPEN_BEFORE_SHIPMENT, S.CANCELLED, _SUP),
    _s(A.REFUSE_CANCEL, [S.RECEIVED, S.WILL_SUPPLY], S.WILL_SUPPLY, _SUP, ("reason",)),
    _s(A.REFUSE_CANCEL, [S.AWAITING_SHIPMENT], S.AWAITING_SHIPMENT, _SUP, ("reason",)),
    _s(A.NEED_BEFORE_PASSED, _OPEN_BEFORE_SHIPMENT, S.CANCELLED, _SYS),
)

# For each requester state, the states the open attempt (the last, non-terminal one) may be in; None
# means no open attempt. The state-machine tests check every reachable aggregate against this, so the
# two sides cannot drift apart.
EXPECTED_ATTEMPT_STATES: Mapping[RequesterState, frozenset[SupplierState | None]] = {
    R.SUBMITTED: frozenset({None}),
    R.VALIDATED: frozenset({None}),
    R.FILLED_LOCALLY: frozenset({None}),
    R.SOURCING: frozenset({None}),
    R.END_OF_ROTA: frozenset({None}),
    R.SENT: frozenset({S.RECEIVED}),
    R.EXPECTS_TO_SUPPLY: frozenset({S.WILL_SUPPLY, S.AWAITING_SHIPMENT}),
    R.CONDITIONAL: frozenset({S.CONDITIONAL}),
    R.CANCEL_PENDING: frozenset({S.RECEIVED, S.WILL_SUPPLY, S.AWAITING_SHIPMENT, S.CONDITIONAL}),
    R.SHIPPED: frozenset({S.SHIPPED, None}),  # None: a copy, whose attempt is already copy_completed
    R.RECEIVED: frozenset({S.AWAITING_RETURN}),
    R.CHECKED_OUT: frozenset({S.AWAITING_RETURN}),
    R.RENEW_PENDING: frozenset({S.AWAITING_RETURN}),
    R.OVERDUE: frozenset({S.OVERDUE}),
    R.RECALLED: frozenset({S.RECALLED}),
    R.RETURNED_BY_PATRON: frozenset({S.AWAITING_RETURN, S.OVERDUE, S.RECALLED}),
    R.RETURN_SHIPPED: frozenset({S.RETURNED}),
    R.DELIVERED: frozenset({None}),
    R.COMPLETED: frozenset({None}),
    R.CANCELLED: frozenset({None}),
    R.UNFILLED: frozenset({None}),
    R.LOST: frozenset({None}),
}

# --------------------------------------------------------------------------------------------------
# The request aggregate
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LenderTerms:
    """What the state machine needs to know about one lender on the rota (from its lending policy)."""

    isil: str
    loan_period_days: int = 42
    max_renewals: int = 1
    renewal_period_days: int = 28
    answer_deadline_working_days: int = 3
    replacement_price_dkk: float = 350.0
    fee_dkk: float = 0.0

    @classmethod
    def from_library(cls, library: Library) -> LenderTerms:
        """The terms from a library's lending policy."""
        p = library.policy
        return cls(
            isil=library.isil,
            loan_period_days=p.loan_period_days,
            max_renewals=p.max_renewals,
            renewal_period_days=p.renewal_period_days,
            answer_deadline_working_days=p.answer_deadline_working_days,
            replacement_price_dkk=p.replacement_price_dkk,
            fee_dkk=p.fee_dkk,
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    """One lender asked at one rota position, with its supplier-side state."""

    position: int
    isil: str
    state: SupplierState = SupplierState.RECEIVED
    condition: str | None = None
    fee_dkk: float | None = None
    # The day the lender wants an answer to its condition by (Rapido and Tipasa ask for one).
    reply_by: date | None = None

    @property
    def is_open(self) -> bool:
        """True until the attempt reaches a terminal supplier state."""
        return self.state not in SUPPLIER_TERMINAL


@dataclass(frozen=True, slots=True)
class ActionInput:
    """The fields an action may carry; a transition's `needs` names the ones it requires."""

    reason: str | None = None
    condition: str | None = None
    fee_dkk: float | None = None
    due_date: date | None = None
    reply_by: date | None = None


@dataclass(frozen=True, slots=True)
class RequestAggregate:
    """A whole ILL request as the state machines see it: requester state, rota and attempts.

    `lenders` is the rota in order (positions are indices into it); `position` is the rota position of
    the latest attempt, None before the first lender is asked. `delivered_as` records whether a
    CopyOrLoan request was met with a loan or a copy.
    """

    service_type: ServiceType
    state: RequesterState = RequesterState.SUBMITTED
    lenders: tuple[LenderTerms, ...] = ()
    position: int | None = None
    attempts: tuple[Attempt, ...] = ()
    delivered_as: ServiceType | None = None
    renewals_used: int = 0
    due_date: date | None = None
    need_before: date | None = None
    principles_version: str | None = None
    pickup_window_days: int = 14

    @property
    def effective_service(self) -> ServiceType:
        """Loan or Copy once the lender chose; the requested service before."""
        return self.delivered_as or self.service_type

    @property
    def open_attempt(self) -> Attempt | None:
        """The latest attempt if it is still open."""
        if self.attempts and self.attempts[-1].is_open:
            return self.attempts[-1]
        return None

    @property
    def next_position(self) -> int:
        """The rota position that would be asked next."""
        return 0 if self.position is None else self.position + 1

    @property
    def has_next_lender(self) -> bool:
        """True when the rota has a lender after the current position."""
        return self.next_position < len(self.lenders)

    @property
    def current_terms(self) -> LenderTerms | None:
        """The terms of the lender at the current position."""
        if self.position is None or self.position >= len(self.lenders):
            return None
        return self.lenders[self.position]

    @property
    def renewals_left(self) -> bool:
        """True while the current lender's policy allows another renewal."""
        terms = self.current_terms
        return terms is not None and self.renewals_used < terms.max_renewals

    @property
    def is_terminal(self) -> bool:
        """True when the request has ended."""
        return self.state in REQUESTER_TERMINAL


def with_rota(aggregate: RequestAggregate, lenders: Sequence[LenderTerms]) -> RequestAggregate:
    """Replace the rota (after a staff reorder or addition); lenders already asked cannot change."""
    asked = aggregate.lenders[: aggregate.next_position]
    if tuple(lenders[: len(asked)]) != asked:
        raise DomainError("the lenders already asked cannot be reordered or removed", field="rota")
    isils = [t.isil for t in lenders]
    if len(set(isils)) != len(isils):
        raise DomainError("a lender appears twice in the rota", field="rota")
    return replace(aggregate, lenders=tuple(lenders))


# --------------------------------------------------------------------------------------------------
# Events and effects
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    """One state change: the service stores it as an event row in the same transaction.

    `from_state` is None when a supplier attempt is created; `position` is the rota position of the
    attempt (supplier side) or of the request after the change (requester side).
    """

    side: Side
    action: Action
    from_state: str | None
    to_state: str
    by_role: Role
    reason: str | None
    at: datetime
    position: int | None = None
    isil: str | None = None


class DeadlineKind(StrEnum):
    """The timers the worker runs for a request."""

    ANSWER = "answer"
    PICKUP = "pickup"
    DUE = "due"


@dataclass(frozen=True, slots=True)
class NotifyPatron:
    """Tell the patron (e-mail or SMS through the notify area)."""

    kind: str


@dataclass(frozen=True, slots=True)
class NotifyLender:
    """Send the lender an ISO 18626 message (through the outbox) or show it in its staff queue."""

    isil: str
    message: str


@dataclass(frozen=True, slots=True)
class NotifyRequester:
    """Tell the borrowing library what the lender did (its staff queue or its ISO 18626 peer)."""

    kind: str


@dataclass(frozen=True, slots=True)
class MoveToNextLender:
    """The request moved on to the lender at `position`."""

    from_isil: str | None
    to_isil: str
    position: int


@dataclass(frozen=True, slots=True)
class EndRota:
    """Nobody on the rota can supply; staff may add lenders or give up."""

    reason: str


@dataclass(frozen=True, slots=True)
class ScheduleDeadline:
    """Start a timer: `working_days` on the lender's calendar (answer) or on a fixed date (due, pickup)."""

    kind: DeadlineKind
    isil: str | None = None
    working_days: int | None = None
    on: date | None = None


@dataclass(frozen=True, slots=True)
class CancelDeadline:
    """Stop a timer that no longer applies."""

    kind: DeadlineKind


@dataclass(frozen=True, slots=True)
class ChargeReplacement:
    """The borrowing library owes the lender its replacement price for a lost item."""

    isil: str
    amount_dkk: float


Effect = (
    NotifyPatron
    | NotifyLender
    | NotifyRequester
    | MoveToNextLender
    | EndRota
    | ScheduleDeadline
    | CancelDeadline
    | ChargeReplacement
)


@dataclass(frozen=True, slots=True)
class AllowedAction:
    """An action the role may take now, with the input fields it needs."""

    action: Action
    needs: tuple[str, ...] = ()


class IllegalTransition(DomainError):
    """The action is not allowed in the request's current state for this role (the API answers 409)."""

    def __init__(
        self,
        action: Action,
        role: Role,
        requester_state: RequesterState,
        supplier_state: SupplierState | None,
        allowed: tuple[AllowedAction, ...],
        why: str | None = None,
    ) -> None:
        lender = f", lender {supplier_state.value}" if supplier_state is not None else ""
        names = ", ".join(a.action.value for a in allowed) or "none"
        detail = f" ({why})" if why else ""
        super().__init__(
            f"{action.value} is not allowed for {role.value} when the request is "
            f"{requester_state.value}{lender}{detail}; allowed: {names}",
            field="action",
        )
        self.action = action
        self.role = role
        self.requester_state = requester_state
        self.supplier_state = supplier_state
        self.allowed = allowed


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of `apply_action`: the new aggregate, the events to store, the effects to carry out."""

    aggregate: RequestAggregate
    events: tuple[Event, ...]
    effects: tuple[Effect, ...]


# --------------------------------------------------------------------------------------------------
# Matching rows
# --------------------------------------------------------------------------------------------------


def _index_rows(
    rows: tuple[Transition[StateT], ...],
) -> dict[Action, tuple[Transition[StateT], ...]]:
    index: dict[Action, list[Transition[StateT]]] = {}
    for row in rows:
        index.setdefault(row.action, []).append(row)
    return {k: tuple(v) for k, v in index.items()}


_REQUESTER_BY_ACTION = _index_rows(REQUESTER_TRANSITIONS)
_SUPPLIER_BY_ACTION = _index_rows(SUPPLIER_TRANSITIONS)


def _guard_ok(guard: Guard, has_next_lender: bool | None, renewals_left: bool | None) -> bool:
    # None means "unknown": a caller asking about bare states sees every row the states allow.
    if guard is Guard.HAS_NEXT_LENDER:
        return has_next_lender is None or has_next_lender
    if guard is Guard.NO_NEXT_LENDER:
        return has_next_lender is None or not has_next_lender
    if guard is Guard.RENEWALS_LEFT:
        return renewals_left is None or renewals_left
    return True


# The tables are constants, so what they allow depends only on these few enum and flag arguments:
# answered once per combination (every answer to the API lists the allowed actions, which took a
# pass over every action and table row each time).
@lru_cache(maxsize=4096)
def _match(
    action: Action,
    request_state: RequesterState,
    attempt_state: SupplierState | None,
    service_type: ServiceType,
    has_next_lender: bool | None,
    renewals_left: bool | None,
) -> tuple[tuple[Transition[RequesterState], ...], Transition[SupplierState] | None] | None:
    """The rows an action would use in these states (ignoring the role), or None if it does not apply."""
    req_rows = tuple(
        row
        for row in _REQUESTER_BY_ACTION.get(action, ())
        if request_state in row.from_states
        and service_type in row.service_types
        and _guard_ok(row.guard, has_next_lender, renewals_left)
    )
    if not req_rows:
        return None
    sup_rows = _SUPPLIER_BY_ACTION.get(action, ())
    sup_row: Transition[SupplierState] | None = None
    # The supplier side moves only when the action has supplier rows and a lender's attempt is open;
    # a copy's attempt, for example, is already copy_completed when the requester receives it.
    if attempt_state is not None and sup_rows:
        found = [r for r in sup_rows if attempt_state in r.from_states and service_type in r.service_types]
        if not found:
            return None
        sup_row = found[0]
    return req_rows, sup_row


@lru_cache(maxsize=4096)
def allowed_actions(
    request_state: RequesterState,
    attempt_state: SupplierState | None,
    role: Role,
    service_type: ServiceType,
    *,
    has_next_lender: bool | None = None,
    renewals_left: bool | None = None,
) -> tuple[AllowedAction, ...]:
    """The actions `role` may take in these states, each with the input fields it needs.

    `service_type` is the effective service (Loan or Copy once a CopyOrLoan was met). Guards the
    caller does not know about (None) are taken as satisfied; `allowed_for` fills them in from an
    aggregate.
    """
    result: list[AllowedAction] = []
    for action in Action:
        matched = _match(action, request_state, attempt_state, service_type, has_next_lender, renewals_left)
        if matched is None:
            continue
        req_rows, sup_row = matched
        if not any(role in r.roles for r in req_rows):
            continue
        if sup_row is not None and role not in sup_row.roles:
            continue
        needs: list[str] = []
        for row in (*req_rows, *((sup_row,) if sup_row else ())):
            needs.extend(n for n in row.needs if n not in needs)
        result.append(AllowedAction(action, tuple(needs)))
    return tuple(result)


def allowed_for(aggregate: RequestAggregate, role: Role) -> tuple[AllowedAction, ...]:
    """The actions `role` may take on this request now."""
    attempt = aggregate.open_attempt
    return allowed_actions(
        aggregate.state,
        attempt.state if attempt else None,
        role,
        aggregate.effective_service,
        has_next_lender=aggregate.has_next_lender,
        renewals_left=aggregate.renewals_left,
    )


# --------------------------------------------------------------------------------------------------
# Applying an action
# --------------------------------------------------------------------------------------------------

_DEFAULT_REASONS: Mapping[Action, str] = {
    Action.NO_ANSWER: "no answer within the deadline",
    Action.NEED_BEFORE_PASSED: "the patron's need-before date passed",
    Action.DECLINE_CONDITION: "condition declined",
}


def apply_action(
    aggregate: RequestAggregate,
    action: Action,
    role: Role,
    *,
    at: datetime,
    data: ActionInput | None = None,
) -> Outcome:
    """Apply one action; raise `IllegalTransition` when the tables do not allow it, or `DomainError`
    (with `field`) when a field the action needs is missing."""
    data = data or ActionInput()
    attempt = aggregate.open_attempt
    attempt_state = attempt.state if attempt else None
    service = aggregate.effective_service
    matched = _match(
        action,
        aggregate.state,
        attempt_state,
        service,
        aggregate.has_next_lender,
        aggregate.renewals_left,
    )
    allowed = allowed_for(aggregate, role)
    if matched is None or action not in {a.action for a in allowed}:
        why = None
        if matched is not None:
            why = f"only {', '.join(sorted(r.value for r in matched[0][0].roles))} may"
        elif action is Action.GRANT_RENEWAL and aggregate.state is R.RENEW_PENDING:
            why = "no renewals left under the lender's policy"
        raise IllegalTransition(action, role, aggregate.state, attempt_state, allowed, why)
    req_rows, sup_row = matched
    req_row = next(r for r in req_rows if role in r.roles)
    for name in (*req_row.needs, *(sup_row.needs if sup_row else ())):
        value = getattr(data, name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise DomainError(f"{action.value} needs {name}", field=name)
    if action is Action.OFFER_CONDITION and data.reply_by is not None and data.reply_by < at.date():
        raise DomainError("the reply-by date of a condition must not be in the past", field="reply_by")

    reason = data.reason or _DEFAULT_REASONS.get(action)
    events: list[Event] = []
    effects: list[Effect] = []
    new = aggregate
    attempts = list(aggregate.attempts)

    # The lender's side first, so its event precedes the requester's in the log.
    if sup_row is not None and attempt is not None:
        updated = replace(attempt, state=sup_row.to_state)
        if action is Action.OFFER_CONDITION:
            updated = replace(updated, condition=data.condition, fee_dkk=data.fee_dkk, reply_by=data.reply_by)
        attempts[-1] = updated
        if sup_row.to_state is not attempt.state:
            events.append(
                Event(
                    Side.SUPPLIER,
                    action,
                    attempt.state.value,
                    sup_row.to_state.value,
                    role,
                    reason,
                    at,
                    attempt.position,
                    attempt.isil,
                )
            )
        if attempt.state is S.RECEIVED and sup_row.to_state is not S.RECEIVED:
            effects.append(CancelDeadline(DeadlineKind.ANSWER))

    to_state = req_row.to_state
    position = aggregate.position
    if to_state is R.SENT:
        # Every move to `sent` asks the next lender on the rota: a new attempt at the next position.
        previous = aggregate.current_terms
        position = aggregate.next_position
        terms = aggregate.lenders[position]
        attempts.append(Attempt(position=position, isil=terms.isil))
        effects.append(MoveToNextLender(previous.isil if previous else None, terms.isil, position))
        effects.append(NotifyLender(terms.isil, "Request"))
        effects.append(
            ScheduleDeadline(DeadlineKind.ANSWER, terms.isil, working_days=terms.answer_deadline_working_days)
        )
    new = replace(new, attempts=tuple(attempts), state=to_state, position=position)
    if to_state is not aggregate.state or position != aggregate.position:
        events.append(
            Event(
                Side.REQUESTER,
                action,
                aggregate.state.value,
                to_state.value,
                role,
                reason,
                at,
                position,
                new.current_terms.isil if new.current_terms else None,
            )
        )
    if to_state is R.SENT:
        events.append(
            Event(
                Side.SUPPLIER,
                action,
                None,
                S.RECEIVED.value,
                role,
                reason,
                at,
                position,
                attempts[-1].isil,
            )
        )

    new, more = _consequences(aggregate, new, action, to_state, data, at)
    effects.extend(more)
    return Outcome(new, tuple(events), tuple(effects))


def _consequences(
    old: RequestAggregate,
    new: RequestAggregate,
    action: Action,
    to_state: RequesterState,
    data: ActionInput,
    at: datetime,
) -> tuple[RequestAggregate, list[Effect]]:
    """The aggregate fields and effects each action brings besides its state change."""
    effects: list[Effect] = []
    terms = new.current_terms
    isil = terms.isil if terms else None
    today = at.date()

    if to_state is R.END_OF_ROTA and old.state is not R.END_OF_ROTA:
        effects.append(
            EndRota("every lender on the rota said no" if old.lenders else "no lender on the rota")
        )
        effects.append(NotifyRequester("end_of_rota"))
    if to_state in {R.UNFILLED, R.FILLED_LOCALLY} or (
        to_state is R.CANCELLED and old.state is not R.CANCELLED
    ):
        effects.append(NotifyPatron(to_state.value))

    if action is Action.SHIP and terms is not None:
        due = data.due_date or today + timedelta(days=terms.loan_period_days)
        new = replace(new, delivered_as=ServiceType.LOAN, due_date=due)
        effects.append(ScheduleDeadline(DeadlineKind.DUE, isil, on=due))
        effects.append(NotifyRequester("shipped"))
    elif action is Action.DELIVER_COPY:
        new = replace(new, delivered_as=ServiceType.COPY)
        effects.append(NotifyRequester("copy_delivered"))
    elif action is Action.OFFER_CONDITION:
        effects.append(NotifyRequester("condition_offered"))
    elif action is Action.ACCEPT_CONDITION and isil:
        effects.append(NotifyLender(isil, "ConditionAccepted"))
    elif action is Action.DECLINE_CONDITION and old.current_terms:
        effects.append(NotifyLender(old.current_terms.isil, "Cancel"))
    elif action is Action.RECEIVE:
        if new.effective_service is ServiceType.LOAN and isil:
            effects.append(NotifyLender(isil, "Received"))
            # The deadline first: the patron's notice states it ("Afhentes senest: <date>").
            effects.append(
                ScheduleDeadline(DeadlineKind.PICKUP, on=today + timedelta(days=new.pickup_window_days))
            )
            effects.append(NotifyPatron("ready_for_pickup"))
        else:
            effects.append(NotifyPatron("copy_delivered"))
    elif action is Action.CHECK_OUT:
        effects.append(CancelDeadline(DeadlineKind.PICKUP))
    elif action is Action.SHIP_RETURN and isil:
        effects.append(CancelDeadline(DeadlineKind.PICKUP))
        effects.append(CancelDeadline(DeadlineKind.DUE))
        effects.append(NotifyLender(isil, "ShippedReturn"))
    elif action is Action.CONFIRM_RETURN:
        effects.append(NotifyRequester("loan_completed"))
    elif action is Action.REQUEST_RENEWAL and isil:
        effects.append(NotifyLender(isil, "Renew"))
    elif action is Action.GRANT_RENEWAL and terms is not None:
        base = old.due_date or today
        due = data.due_date or base + timedelta(days=terms.renewal_period_days)
        new = replace(new, renewals_used=old.renewals_used + 1, due_date=due)
        effects.append(ScheduleDeadline(DeadlineKind.DUE, isil, on=due))
        effects.append(NotifyPatron("renewal_granted"))
    elif action is Action.REFUSE_RENEWAL:
        effects.append(NotifyPatron("renewal_refused"))
    elif action is Action.MARK_OVERDUE:
        effects.append(NotifyPatron("overdue"))
    elif action is Action.RECALL:
        effects.append(NotifyPatron("recalled"))
        effects.append(NotifyRequester("recalled"))
    elif action is Action.REPORT_LOST and terms is not None:
        effects.append(CancelDeadline(DeadlineKind.DUE))
        effects.append(ChargeReplacement(terms.isil, terms.replacement_price_dkk))
        effects.append(NotifyLender(terms.isil, "Lost"))
    elif action is Action.CANCEL and to_state is R.CANCEL_PENDING and isil:
        effects.append(NotifyLender(isil, "Cancel"))
    elif action is Action.REFUSE_CANCEL:
        effects.append(NotifyRequester("cancel_refused"))
    elif action is Action.NEED_BEFORE_PASSED and old.open_attempt is not None:
        effects.append(NotifyLender(old.open_attempt.isil, "Cancel"))
    return new, effects


# --------------------------------------------------------------------------------------------------
# Drawing the tables (docs/lending.md is generated from these)
# --------------------------------------------------------------------------------------------------


def transition_table_markdown(side: Side) -> str:
    """The transition table of one side as a Markdown table."""
    rows: Sequence[Transition[RequesterState]] | Sequence[Transition[SupplierState]]
    rows = REQUESTER_TRANSITIONS if side is Side.REQUESTER else SUPPLIER_TRANSITIONS
    lines = [
        "| action | from | to | roles | needs | service | guard |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        froms = ", ".join(sorted(s.value for s in row.from_states))
        roles = ", ".join(sorted(r.value for r in row.roles))
        needs = ", ".join(row.needs) or "–"
        services = "any" if row.service_types == ALL_SERVICES else ", ".join(sorted(row.service_types))
        guard = "–" if row.guard is Guard.NONE else row.guard.value
        lines.append(
            f"| `{row.action.value}` | {froms} | **{row.to_state.value}** | {roles} | {needs} "
            f"| {services} | {guard} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Messages between the two libraries of a request
# --------------------------------------------------------------------------------------------------

# Long enough for a real note between two ILL desks, short enough to stay a note.
MESSAGE_MAX_CHARS = 4000


@dataclass(frozen=True, slots=True)
class Message:
    """A note one library sends the other on a request: the borrowing library writes to the lender it
    asks now, a lender to the borrowing library. `read_at` is when the receiving library opened it."""

    id: int
    request_id: int
    from_isil: str
    to_isil: str
    author: str | None
    body: str
    created_at: datetime
    read_at: datetime | None = None

    @property
    def unread(self) -> bool:
        """True until the receiving library has opened the request."""
        return self.read_at is None


def message_body(text: str) -> str:
    """The message as it is stored: trimmed, not empty, at most MESSAGE_MAX_CHARS characters."""
    body = text.strip()
    if not body:
        raise DomainError("write the message first", field="body")
    if len(body) > MESSAGE_MAX_CHARS:
        raise DomainError(f"a message has at most {MESSAGE_MAX_CHARS} characters", field="body")
    return body


def message_recipient(
    sender_isil: str, requester_isil: str, current_lender_isil: str | None, via_isil: str | None = None
) -> str:
    """Who a library's message goes to: the borrowing library writes to the lender asked now (to the
    national library when that one mediates a foreign lender), the lender asked now to the borrowing
    library. A lender asked earlier no longer takes part (as in ReShare: the new lender joins the
    thread, the old one may read what it was sent but not write)."""
    lender = via_isil or current_lender_isil
    if sender_isil == requester_isil:
        if lender is None:
            raise DomainError("no lender is asked now, so there is nobody to write to", field="body")
        return lender
    if lender is not None and sender_isil in (current_lender_isil, via_isil):
        return requester_isil
    raise DomainError("only the borrowing library and the lender asked now write here", field="body")


__all__ = [
    "EXPECTED_ATTEMPT_STATES",
    "ISO18626_STATUS",
    "MESSAGE_MAX_CHARS",
    "REQUESTER_TERMINAL",
    "REQUESTER_TRANSITIONS",
    "SUPPLIER_TERMINAL",
    "SUPPLIER_TRANSITIONS",
    "Action",
    "ActionInput",
    "AllowedAction",
    "Attempt",
    "CancelDeadline",
    "ChargeReplacement",
    "DeadlineKind",
    "Effect",
    "EndRota",
    "Event",
    "Guard",
    "IllegalTransition",
    "LenderTerms",
    "Message",
    "MoveToNextLender",
    "NotifyLender",
    "NotifyPatron",
    "NotifyRequester",
    "Outcome",
    "RequestAggregate",
    "RequesterState",
    "Role",
    "ScheduleDeadline",
    "ServiceType",
    "Side",
    "SupplierState",
    "Transition",
    "allowed_actions",
    "allowed_for",
    "apply_action",
    "message_body",
    "message_recipient",
    "transition_table_markdown",
    "with_rota",
]


# --------------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LendingStatistics:
    """Who borrows and who lends, in what state, and how fast: anonymous by construction (counts and
    durations only), so erasing patrons' data must leave it unchanged."""

    requests: int
    by_state: Mapping[str, int]
    by_requester: Mapping[str, int]
    by_patron_category: Mapping[str, int]
    by_service: Mapping[str, int]
    attempts_by_lender_state: Mapping[tuple[str, str], int]
    supplied_by_lender: Mapping[str, int]
    # Whole seconds from placing to the end, over ended requests; and from asking a lender to its shipping.
    turnaround_seconds_total: int
    turnaround_ended: int
    shipping_seconds_by_lender: Mapping[str, int]
