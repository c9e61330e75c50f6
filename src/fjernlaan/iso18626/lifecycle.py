"""How ISO 18626 statuses and actions move the lending state machines, in both directions (pure).

Two directions, four tables:

* **A peer borrows from the network** (the peer is the requesting agency, the hub the supplier).
  Its ``requestingAgencyMessage`` actions become requester-side lending actions with role ``peer``
  (:data:`PEER_REQUESTER_ACTIONS`); what our lenders do goes back to it as
  ``supplyingAgencyMessage``s (:data:`SUPPLIER_ACTION_MESSAGES`), the status being the ISO 18626 status
  of the attempt's new supplier state (:data:`fjernlaan.lending.model.ISO18626_STATUS`).
* **The network borrows from a peer** (the peer is the supplying agency of one attempt). Its
  ``supplyingAgencyMessage`` statuses become supplier-side lending actions with role ``peer``
  (:data:`PEER_SUPPLIER_STATUSES`, with ``RenewResponse``/``CancelResponse`` answers in
  :data:`PEER_SUPPLIER_ANSWERS`); what our borrowing library does goes to it as
  ``requestingAgencyMessage``s (:data:`REQUESTER_ACTION_MESSAGES`).

A rule is a *main* action and optional *bridge* actions applied first only when the main action is not
allowed yet and the bridge is (ISO 18626 has no word for some of our in-between states: a peer's
``Received`` also checks the loan out to its patron, its ``ShippedReturn`` first returns it from the
patron). An action that is neither allowed nor already done is refused with ``UnrecognisedDataValue``
and nothing changes; an ISO value the hub does not act on at all is ``UnsupportedActionType`` (actions)
or accepted as information (statuses that only inform, such as ``RequestReceived``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from fjernlaan.iso18626.model import Action as IsoAction
from fjernlaan.iso18626.model import ReasonForMessage, Status
from fjernlaan.lending.model import ISO18626_STATUS, Action, RequesterState, SupplierState

R = RequesterState
S = SupplierState


@dataclass(frozen=True, slots=True)
class Rule:
    """One ISO 18626 value's lending action: ``main``, after ``bridge`` steps when needed.

    ``done_in`` lists the states (requester states for requester actions, supplier states for supplier
    actions) in which the message is already applied: a repeat is accepted and changes nothing.
    ``after`` are actions applied right after ``main`` when they are allowed.
    """

    main: Action | None
    bridge: tuple[Action, ...] = ()
    after: tuple[Action, ...] = ()
    done_in: frozenset[str] = frozenset()
    note: str = ""


def _done(*states: RequesterState | SupplierState) -> frozenset[str]:
    return frozenset(s.value for s in states)


# --------------------------------------------------------------------------------------------------
# Direction (a): a peer borrows from the network
# --------------------------------------------------------------------------------------------------

#: The peer's requestingAgencyMessage action → our requester-side action (role ``peer``).
#: ``main`` None: accepted without a state change (StatusRequest is answered with a
#: supplyingAgencyMessage StatusRequestResponse; Notification is recorded in the log only).
PEER_REQUESTER_ACTIONS: Final[Mapping[IsoAction, Rule]] = {
    IsoAction.RECEIVED: Rule(
        Action.RECEIVE,
        # ISO 18626 has no later requester message for a copy: its receipt is the end.
        after=(Action.CHECK_OUT, Action.COMPLETE),
        done_in=_done(R.RECEIVED, R.CHECKED_OUT, R.DELIVERED, R.COMPLETED),
        note="a loan is also checked out: the peer's patron has it; a copy is completed",
    ),
    IsoAction.SHIPPED_RETURN: Rule(
        Action.SHIP_RETURN,
        bridge=(Action.RETURN_BY_PATRON,),
        done_in=_done(R.RETURN_SHIPPED, R.COMPLETED),
        note="first returned by the patron when still checked out",
    ),
    IsoAction.CANCEL: Rule(Action.CANCEL, done_in=_done(R.CANCEL_PENDING, R.CANCELLED)),
    IsoAction.RENEW: Rule(Action.REQUEST_RENEWAL, done_in=_done(R.RENEW_PENDING)),
    IsoAction.LOST: Rule(Action.REPORT_LOST, done_in=_done(R.LOST)),
    IsoAction.STATUS_REQUEST: Rule(None, note="answered with StatusRequestResponse"),
    IsoAction.NOTIFICATION: Rule(None, note="logged; no state change"),
}

#: Requesting-agency actions the hub does not act on (ERROR ``UnsupportedActionType``).
UNSUPPORTED_PEER_ACTIONS: Final = frozenset({IsoAction.HOLD_RETURN, IsoAction.SHIPPED_FORWARD})


@dataclass(frozen=True, slots=True)
class OutboundSupply:
    """The supplyingAgencyMessage one of our lender's actions sends to a peer requester."""

    reason: ReasonForMessage
    answer_yes_no: bool | None = None
    status: Status | None = None  # None: the ISO 18626 status of the attempt's new supplier state


#: Our lender's action (on a request a peer placed) → the supplyingAgencyMessage to that peer.
#: Unfilled, no answer and a declined condition move the rota on: the peer hears ``Unfilled`` only
#: when the rota ends (see :func:`supply_message_for`).
SUPPLIER_ACTION_MESSAGES: Final[Mapping[Action, OutboundSupply]] = {
    Action.WILL_SUPPLY: OutboundSupply(ReasonForMessage.REQUEST_RESPONSE),
    Action.READY_TO_SHIP: OutboundSupply(ReasonForMessage.STATUS_CHANGE),
    Action.OFFER_CONDITION: OutboundSupply(ReasonForMessage.REQUEST_RESPONSE),
    Action.SHIP: OutboundSupply(ReasonForMessage.STATUS_CHANGE),
    Action.DELIVER_COPY: OutboundSupply(ReasonForMessage.STATUS_CHANGE),
    Action.CONFIRM_RETURN: OutboundSupply(ReasonForMessage.STATUS_CHANGE),
    Action.MARK_OVERDUE: OutboundSupply(ReasonForMessage.STATUS_CHANGE),
    Action.RECALL: OutboundSupply(ReasonForMessage.STATUS_CHANGE),
    Action.GRANT_RENEWAL: OutboundSupply(ReasonForMessage.RENEW_RESPONSE, True),
    Action.REFUSE_RENEWAL: OutboundSupply(ReasonForMessage.RENEW_RESPONSE, False),
    Action.CONFIRM_CANCEL: OutboundSupply(ReasonForMessage.CANCEL_RESPONSE, True, Status.CANCELLED),
    Action.REFUSE_CANCEL: OutboundSupply(ReasonForMessage.CANCEL_RESPONSE, False),
    Action.REPORT_LOST: OutboundSupply(ReasonForMessage.STATUS_CHANGE),
}

#: Requester states that end the request for the peer: it hears Unfilled (or Cancelled).
_ENDED_FOR_PEER: Final[Mapping[RequesterState, Status]] = {
    R.END_OF_ROTA: Status.UNFILLED,
    R.UNFILLED: Status.UNFILLED,
    R.CANCELLED: Status.CANCELLED,
}


def status_of(state: SupplierState) -> Status:
    """The ISO 18626 status a supplier state is reported as (from the lending model's table)."""
    return Status(ISO18626_STATUS[state])


def supply_message_for(
    action: Action,
    old_state: RequesterState,
    new_state: RequesterState,
    attempt_state: SupplierState | None,
) -> tuple[ReasonForMessage, Status, bool | None] | None:
    """The supplyingAgencyMessage (reason, status, answerYesNo) a peer requester gets when ``action``
    moved its request from ``old_state`` to ``new_state``; None when it hears nothing.

    ``attempt_state`` is the supplier state of the attempt the action changed (None when none).
    """
    if new_state is not old_state and new_state in _ENDED_FOR_PEER:
        if action is Action.CONFIRM_CANCEL or old_state is R.CANCEL_PENDING:
            return ReasonForMessage.CANCEL_RESPONSE, _ENDED_FOR_PEER[new_state], True
        if action is Action.CANCEL:
            # A cancel before any lender was asked: the peer's own Cancel, answered at once.
            return ReasonForMessage.CANCEL_RESPONSE, Status.CANCELLED, True
        return ReasonForMessage.STATUS_CHANGE, _ENDED_FOR_PEER[new_state], None
    rule = SUPPLIER_ACTION_MESSAGES.get(action)
    if rule is None or attempt_state is None:
        return None
    return rule.reason, rule.status or status_of(attempt_state), rule.answer_yes_no


# --------------------------------------------------------------------------------------------------
# Direction (b): the network borrows from a peer
# --------------------------------------------------------------------------------------------------

#: The peer supplier's status → our supplier-side action on its attempt (role ``peer``; Overdue is the
#: worker's own action, applied as ``system``). ``main`` None: informational, accepted, no change.
PEER_SUPPLIER_STATUSES: Final[Mapping[Status, Rule]] = {
    Status.REQUEST_RECEIVED: Rule(None, note="the peer has the request"),
    Status.EXPECT_TO_SUPPLY: Rule(
        Action.WILL_SUPPLY, done_in=_done(S.WILL_SUPPLY, S.AWAITING_SHIPMENT, S.SHIPPED, S.AWAITING_RETURN)
    ),
    Status.WILL_SUPPLY: Rule(
        Action.READY_TO_SHIP,
        bridge=(Action.WILL_SUPPLY,),
        done_in=_done(S.AWAITING_SHIPMENT, S.SHIPPED, S.AWAITING_RETURN),
    ),
    Status.LOANED: Rule(Action.SHIP, done_in=_done(S.SHIPPED, S.AWAITING_RETURN, S.RETURNED)),
    Status.COPY_COMPLETED: Rule(Action.DELIVER_COPY, done_in=_done(S.COPY_COMPLETED)),
    Status.UNFILLED: Rule(Action.UNFILLED, done_in=_done(S.UNFILLED), note="the rota moves on"),
    Status.RETRY_POSSIBLE: Rule(Action.OFFER_CONDITION, done_in=_done(S.CONDITIONAL)),
    Status.OVERDUE: Rule(Action.MARK_OVERDUE, done_in=_done(S.OVERDUE), note="as system"),
    Status.RECALLED: Rule(Action.RECALL, done_in=_done(S.RECALLED)),
    Status.LOAN_COMPLETED: Rule(Action.CONFIRM_RETURN, done_in=_done(S.COMPLETED)),
    Status.COMPLETED_WITHOUT_RETURN: Rule(Action.REPORT_LOST, done_in=_done(S.COMPLETED_WITHOUT_RETURN)),
    Status.CANCELLED: Rule(Action.CONFIRM_CANCEL, done_in=_done(S.CANCELLED)),
    Status.HOLD_RETURN: Rule(None, note="informational (2021)"),
    Status.RELEASE_HOLD_RETURN: Rule(None, note="informational (2021)"),
}

#: Answers by reasonForMessage and answerYesNo; they take precedence over the status table.
PEER_SUPPLIER_ANSWERS: Final[Mapping[tuple[ReasonForMessage, bool], Rule]] = {
    (ReasonForMessage.RENEW_RESPONSE, True): Rule(Action.GRANT_RENEWAL, note="due date from statusInfo"),
    (ReasonForMessage.RENEW_RESPONSE, False): Rule(Action.REFUSE_RENEWAL),
    (ReasonForMessage.CANCEL_RESPONSE, True): Rule(Action.CONFIRM_CANCEL, done_in=_done(S.CANCELLED)),
    (ReasonForMessage.CANCEL_RESPONSE, False): Rule(Action.REFUSE_CANCEL),
}


def supplier_rule(reason: ReasonForMessage, answer_yes_no: bool | None, status: Status) -> Rule:
    """The rule for an inbound supplyingAgencyMessage from a peer lender."""
    if answer_yes_no is not None and (reason, answer_yes_no) in PEER_SUPPLIER_ANSWERS:
        return PEER_SUPPLIER_ANSWERS[(reason, answer_yes_no)]
    if reason is ReasonForMessage.NOTIFICATION:
        return Rule(None, note="notification: logged, no state change")
    return PEER_SUPPLIER_STATUSES[status]


#: Our borrowing library's action (on an attempt at a peer) → the requestingAgencyMessage to it.
#: ``Lost`` exists only in 2021: 2017 peers get a Notification saying so.
REQUESTER_ACTION_MESSAGES: Final[Mapping[Action, IsoAction]] = {
    Action.RECEIVE: IsoAction.RECEIVED,
    Action.SHIP_RETURN: IsoAction.SHIPPED_RETURN,
    Action.CANCEL: IsoAction.CANCEL,
    Action.DECLINE_CONDITION: IsoAction.CANCEL,
    Action.NEED_BEFORE_PASSED: IsoAction.CANCEL,
    Action.REQUEST_RENEWAL: IsoAction.RENEW,
    Action.REPORT_LOST: IsoAction.LOST,
    Action.ACCEPT_CONDITION: IsoAction.NOTIFICATION,
}


# --------------------------------------------------------------------------------------------------
# The table in docs/iso18626.md
# --------------------------------------------------------------------------------------------------


def _rule_cell(rule: Rule) -> str:
    if rule.main is None:
        return "– (no change)"
    parts = []
    if rule.bridge:
        parts.append("(" + ", ".join(f"`{a.value}`" for a in rule.bridge) + " first if needed) ")
    parts.append(f"`{rule.main.value}`")
    if rule.after:
        parts.append(" then " + ", ".join(f"`{a.value}`" for a in rule.after))
    return "".join(parts)


def lifecycle_markdown() -> str:
    """The four mapping tables as Markdown (docs/iso18626.md embeds this; a test keeps them equal)."""
    lines = [
        "### A peer borrows from the network: its messages",
        "",
        "| requestingAgencyMessage action | our requester-side action (role `peer`) | note |",
        "|---|---|---|",
    ]
    for iso_action, rule in PEER_REQUESTER_ACTIONS.items():
        lines.append(f"| {iso_action.value} | {_rule_cell(rule)} | {rule.note or '–'} |")
    for iso_action in sorted(UNSUPPORTED_PEER_ACTIONS):
        lines.append(f"| {iso_action.value} | ERROR UnsupportedActionType | – |")
    lines += [
        "",
        "### A peer borrows from the network: what it hears from us",
        "",
        "| our lender's action | reasonForMessage | status | answerYesNo |",
        "|---|---|---|---|",
    ]
    for action, out in SUPPLIER_ACTION_MESSAGES.items():
        status = out.status.value if out.status else "of the attempt's new state"
        answer = "–" if out.answer_yes_no is None else ("Y" if out.answer_yes_no else "N")
        lines.append(f"| `{action.value}` | {out.reason.value} | {status} | {answer} |")
    for state, status in _ENDED_FOR_PEER.items():
        lines.append(
            f"| request reaches `{state.value}` | StatusChange (CancelResponse) | {status.value} | – |"
        )
    lines += [
        "",
        "### The network borrows from a peer: its messages",
        "",
        "| supplyingAgencyMessage | our supplier-side action on its attempt (role `peer`) | note |",
        "|---|---|---|",
    ]
    for (reason, yes), rule in PEER_SUPPLIER_ANSWERS.items():
        lines.append(
            f"| {reason.value}, answerYesNo {'Y' if yes else 'N'} | {_rule_cell(rule)} | {rule.note or '–'} |"
        )
    for status, rule in PEER_SUPPLIER_STATUSES.items():
        lines.append(f"| status {status.value} | {_rule_cell(rule)} | {rule.note or '–'} |")
    lines += [
        "",
        "### The network borrows from a peer: what it hears from us",
        "",
        "| our requester's action | requestingAgencyMessage action |",
        "|---|---|",
        "| `send` (the attempt at the peer starts) | a `request` |",
    ]
    for action, iso_action in REQUESTER_ACTION_MESSAGES.items():
        lines.append(f"| `{action.value}` | {iso_action.value} |")
    lines += [
        "",
        "### Our supplier states as ISO 18626 statuses",
        "",
        "| supplier state | status |",
        "|---|---|",
    ]
    for supplier_state in SupplierState:
        lines.append(f"| {supplier_state.value} | {status_of(supplier_state).value} |")
    return "\n".join(lines)
