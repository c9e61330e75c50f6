"""The staff's work queues as data: one place says which requests each queue holds, what a scan of a
request's barcode does there, and how the queue is sorted. The dashboard's counts, the queue pages,
the scan box and the bulk actions all read `QUEUES`.

Each queue is a set of requester states (`RequesterState`) seen from one party's library: the borrowing
library (`Party.REQUESTER`, the request's `requester_isil`) or the lender asked now (`Party.LENDER`, its
`current_lender_isil`). The supplier side needs no join: in each requester state the open attempt can
only be in the states `EXPECTED_ATTEMPT_STATES` lists (the state-machine tests hold the two sides to
it), so "sent" means the lender's attempt is `received`, "expects to supply" that it is `will_supply`
or `awaiting_shipment`, "return shipped" that it is `returned`.

Pure: no database, no framework (the labels are English msgids, translated by the pages).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from fjernlaan.lending.model import Action, RequesterState, ServiceType

R = RequesterState


def N_(message: str) -> str:  # noqa: N802 (gettext convention: pybabel extracts N_)
    """Mark a msgid for the catalogue; the pages translate it when they show it."""
    return message


class QueueGroup(StrEnum):
    """Where a queue sits on the dashboard."""

    LENDING = "lending"
    BORROWING = "borrowing"
    ATTENTION = "attention"


class Party(StrEnum):
    """Whose library the queue is about: the borrowing library or the lender asked now."""

    REQUESTER = "requester"
    LENDER = "lender"


class Deadline(StrEnum):
    """The date a queue is about (a column of the request row), shown and sorted by."""

    ANSWER = "answer_due"
    PICKUP = "pickup_due"
    DUE = "due_date"
    NEED_BEFORE = "need_before"


# The step a scan or a bulk action takes besides the lending actions: mark the pull slip printed
# (the item was pulled without printing one, or the slip was printed elsewhere).
MARK_PULLED = "mark_pulled"


@dataclass(frozen=True, slots=True)
class Queue:
    """One work queue.

    `states` and `party` say which requests are in it; `slip_printed` narrows the lender's
    "expects to supply" requests to those whose pull slip is (True) or is not (False) printed.
    `action` is what scanning a request's barcode (and the bulk action) does here: a lending action,
    `MARK_PULLED`, or None where the step needs a decision or input on the request page; a copy takes
    `copy_action` instead when it is set. `deadline` is the date shown, and the default sort is by it
    (soonest first), else by request number.
    """

    key: str
    label: str
    group: QueueGroup
    party: Party
    states: frozenset[RequesterState]
    action: Action | str | None = None
    action_label: str | None = None
    copy_action: Action | None = None
    slip_printed: bool | None = None
    deadline: Deadline | None = None
    hint: str = ""

    def step_for(self, service: ServiceType) -> Action | str | None:
        """The step a scan takes on a request delivered (or to be delivered) as `service`."""
        if service is ServiceType.COPY and self.copy_action is not None:
            return self.copy_action
        return self.action

    @property
    def prints_slips(self) -> bool:
        """True for the queue whose selected requests can get pull slips printed."""
        return self.slip_printed is False


QUEUES: tuple[Queue, ...] = (
    # Lending: the lender asked now.
    Queue(
        "to_answer",
        N_("To answer"),
        QueueGroup.LENDING,
        Party.LENDER,
        frozenset({R.SENT}),
        Action.WILL_SUPPLY,
        N_("Will supply"),
        deadline=Deadline.ANSWER,
        hint=N_("New requests to us: answer before the deadline, most urgent first."),
    ),
    Queue(
        "to_pull",
        N_("To pull"),
        QueueGroup.LENDING,
        Party.LENDER,
        frozenset({R.EXPECTS_TO_SUPPLY}),
        MARK_PULLED,
        N_("Mark pulled"),
        slip_printed=False,
        hint=N_("We will supply: print the pull slips and fetch the items from the shelf."),
    ),
    Queue(
        "to_ship",
        N_("To ship"),
        QueueGroup.LENDING,
        Party.LENDER,
        frozenset({R.EXPECTS_TO_SUPPLY}),
        Action.SHIP,
        N_("Ship"),
        copy_action=Action.DELIVER_COPY,
        slip_printed=True,
        hint=N_("Pulled: scan each item's slip as it goes into the van."),
    ),
    Queue(
        "returns_to_receive",
        N_("Returns to receive"),
        QueueGroup.LENDING,
        Party.LENDER,
        frozenset({R.RETURN_SHIPPED}),
        Action.CONFIRM_RETURN,
        N_("Check in"),
        hint=N_("Our items on their way back: scan to check them in."),
    ),
    # Borrowing: the patron's library.
    Queue(
        "in_transit",
        N_("In transit to us"),
        QueueGroup.BORROWING,
        Party.REQUESTER,
        frozenset({R.SHIPPED}),
        Action.RECEIVE,
        N_("Receive"),
        hint=N_("Shipped by the lender: scan on arrival; the patron is told it is ready."),
    ),
    Queue(
        "awaiting_pickup",
        N_("Waiting for the patron"),
        QueueGroup.BORROWING,
        Party.REQUESTER,
        frozenset({R.RECEIVED, R.DELIVERED}),
        Action.CHECK_OUT,
        N_("Check out"),
        copy_action=Action.COMPLETE,
        deadline=Deadline.PICKUP,
        hint=N_("Arrived: scan when the patron collects it, before the pickup deadline."),
    ),
    Queue(
        "on_loan",
        N_("On loan"),
        QueueGroup.BORROWING,
        Party.REQUESTER,
        frozenset({R.CHECKED_OUT, R.RENEW_PENDING, R.RECALLED}),
        Action.RETURN_BY_PATRON,
        N_("Returned by the patron"),
        deadline=Deadline.DUE,
        hint=N_("With our patrons: scan when the patron brings it back."),
    ),
    Queue(
        "overdue",
        N_("Overdue"),
        QueueGroup.BORROWING,
        Party.REQUESTER,
        frozenset({R.OVERDUE}),
        Action.RETURN_BY_PATRON,
        N_("Returned by the patron"),
        deadline=Deadline.DUE,
        hint=N_("Past the due date: remind the patron; scan when it comes back."),
    ),
    Queue(
        "returns_to_ship",
        N_("Returns to ship"),
        QueueGroup.BORROWING,
        Party.REQUESTER,
        frozenset({R.RETURNED_BY_PATRON}),
        Action.SHIP_RETURN,
        N_("Ship return"),
        hint=N_("Back from the patron: scan as each goes back to its lender."),
    ),
    # Needs attention: a decision for staff (on the request page).
    Queue(
        "end_of_rota",
        N_("End of rota"),
        QueueGroup.ATTENTION,
        Party.REQUESTER,
        frozenset({R.END_OF_ROTA}),
        deadline=Deadline.NEED_BEFORE,
        hint=N_("Every lender said no: add a lender or give up."),
    ),
    Queue(
        "conditional",
        N_("Conditional answers"),
        QueueGroup.ATTENTION,
        Party.REQUESTER,
        frozenset({R.CONDITIONAL}),
        deadline=Deadline.NEED_BEFORE,
        hint=N_("A lender offers a condition: accept or decline it."),
    ),
    Queue(
        "renewal_asked",
        N_("Renewal asked"),
        QueueGroup.ATTENTION,
        Party.LENDER,
        frozenset({R.RENEW_PENDING}),
        Action.GRANT_RENEWAL,
        N_("Grant renewal"),
        deadline=Deadline.DUE,
        hint=N_("A borrowing library asks to renew our item."),
    ),
    Queue(
        "cancel_asked",
        N_("Cancellation asked"),
        QueueGroup.ATTENTION,
        Party.LENDER,
        frozenset({R.CANCEL_PENDING}),
        Action.CONFIRM_CANCEL,
        N_("Confirm cancellation"),
        hint=N_("The borrowing library wants to cancel before we ship."),
    ),
)

QUEUE_BY_KEY: dict[str, Queue] = {q.key: q for q in QUEUES}

# Bulk actions take at most this many requests at a time (as WorldShare's batch processing).
BULK_LIMIT = 100

# A request's barcode, as printed on pull slips: "FJL-" and the request number (Code 128 carries both).
BARCODE_PREFIX = "FJL-"
_BARCODE = re.compile(r"^\s*(?:FJL-?)?0*(\d{1,12})\s*$", re.IGNORECASE)


def barcode_of(request_id: int) -> str:
    """The barcode printed for a request: `FJL-<number>`."""
    return f"{BARCODE_PREFIX}{request_id}"


def request_id_of(barcode: str) -> int | None:
    """The request number in a scanned or typed barcode (`FJL-42`, `fjl42` or `42`); None otherwise."""
    match = _BARCODE.match(barcode)
    if match is None:
        return None
    number = int(match.group(1))
    return number if number > 0 else None


__all__ = [
    "BARCODE_PREFIX",
    "BULK_LIMIT",
    "MARK_PULLED",
    "QUEUES",
    "QUEUE_BY_KEY",
    "Deadline",
    "Party",
    "Queue",
    "QueueGroup",
    "barcode_of",
    "request_id_of",
]
