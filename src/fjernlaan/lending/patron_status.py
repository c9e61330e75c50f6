"""What a patron is told about their request, and where they may collect it (pure domain).

Patrons never see staff states ("expects_to_supply", "end_of_rota"): eight plain statuses cover the
whole lifecycle, each with the one date that matters to the patron at that point, when it is known.
The words are English msgids; pages translate them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from fjernlaan.directory.model import Library, LibraryType
from fjernlaan.lending.model import RequesterState


class PatronStatus(StrEnum):
    """The statuses a patron sees (the value is the English msgid shown)."""

    SUBMITTED = "Submitted"
    BEING_PROCESSED = "Being processed"
    ON_ITS_WAY = "On its way"
    READY_FOR_PICKUP = "Ready for pickup"
    ON_LOAN = "On loan to you"
    RETURNED = "Returned"
    NOT_AVAILABLE = "Not available"
    CANCELLED = "Cancelled"


R = RequesterState

#: Every requester state's patron word (a test checks that no state is left out).
PATRON_STATUS: Mapping[RequesterState, PatronStatus] = MappingProxyType(
    {
        R.SUBMITTED: PatronStatus.SUBMITTED,
        R.VALIDATED: PatronStatus.SUBMITTED,
        R.SOURCING: PatronStatus.BEING_PROCESSED,
        R.SENT: PatronStatus.BEING_PROCESSED,
        R.EXPECTS_TO_SUPPLY: PatronStatus.BEING_PROCESSED,
        R.CONDITIONAL: PatronStatus.BEING_PROCESSED,
        # Staff may still add lenders at the end of the rota: for the patron it is still being worked on.
        R.END_OF_ROTA: PatronStatus.BEING_PROCESSED,
        # The patron asked to cancel; the lender has not confirmed yet.
        R.CANCEL_PENDING: PatronStatus.BEING_PROCESSED,
        R.SHIPPED: PatronStatus.ON_ITS_WAY,
        R.RECEIVED: PatronStatus.READY_FOR_PICKUP,
        R.DELIVERED: PatronStatus.READY_FOR_PICKUP,
        # The own library has a copy on the shelf: the patron collects it there.
        R.FILLED_LOCALLY: PatronStatus.READY_FOR_PICKUP,
        R.CHECKED_OUT: PatronStatus.ON_LOAN,
        R.RENEW_PENDING: PatronStatus.ON_LOAN,
        R.OVERDUE: PatronStatus.ON_LOAN,
        R.RECALLED: PatronStatus.ON_LOAN,
        R.RETURNED_BY_PATRON: PatronStatus.RETURNED,
        R.RETURN_SHIPPED: PatronStatus.RETURNED,
        R.COMPLETED: PatronStatus.RETURNED,
        R.UNFILLED: PatronStatus.NOT_AVAILABLE,
        R.LOST: PatronStatus.NOT_AVAILABLE,
        R.CANCELLED: PatronStatus.CANCELLED,
    }
)


class DateKind(StrEnum):
    """What the date shown beside a status means (English msgids)."""

    NEEDED_BY = "Needed by"
    PICK_UP_BY = "Pick up by"
    RETURN_BY = "Return by"


#: Notes for the states a status word alone would hide (English msgids).
PATRON_NOTES: Mapping[RequesterState, str] = MappingProxyType(
    {
        R.CANCEL_PENDING: "Cancellation asked for",
        R.OVERDUE: "Overdue: please return it",
        R.RECALLED: "Recalled: please return it soon",
        R.RENEW_PENDING: "Renewal asked for",
        R.FILLED_LOCALLY: "Your own library has a copy",
    }
)


@dataclass(frozen=True, slots=True)
class PatronView:
    """A request's status as its patron sees it: the word, an optional note, the date that matters."""

    status: PatronStatus
    note: str | None
    date_kind: DateKind | None
    date: date | None


def patron_view(
    state: RequesterState, *, need_before: date | None, pickup_due: date | None, due_date: date | None
) -> PatronView:
    """The patron's view of a request in `state`, with the expected date where one is known: the
    need-before date while it is being found, the last pickup day when ready, the due date on loan."""
    status = PATRON_STATUS[state]
    kind: DateKind | None = None
    when: date | None = None
    if status in (PatronStatus.SUBMITTED, PatronStatus.BEING_PROCESSED) and need_before is not None:
        kind, when = DateKind.NEEDED_BY, need_before
    elif status is PatronStatus.READY_FOR_PICKUP and pickup_due is not None:
        kind, when = DateKind.PICK_UP_BY, pickup_due
    elif status is PatronStatus.ON_LOAN and due_date is not None:
        kind, when = DateKind.RETURN_BY, due_date
    return PatronView(status, PATRON_NOTES.get(state), kind, when)


_PICKUP_TYPES = frozenset({LibraryType.PUBLIC, LibraryType.CENTRAL})


def pickup_libraries(home: Library, libraries: Iterable[Library]) -> list[Library]:
    """Where a patron may collect: their own library first, then the other active public and central
    libraries of the same region, by name. The regional van route (kørselsordning) brings an item
    there at no extra cost; no library's policy has a pickup setting yet, so this is the rule."""
    others = [
        lib
        for lib in libraries
        if lib.isil != home.isil
        and lib.active
        and lib.type in _PICKUP_TYPES
        and home.region is not None
        and lib.region == home.region
    ]
    return [home, *sorted(others, key=lambda lib: (lib.name, lib.isil))]
