"""The pure rules behind the message thread and a condition's reply-by date."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fjernlaan.errors import DomainError
from fjernlaan.lending.model import (
    MESSAGE_MAX_CHARS,
    Action,
    ActionInput,
    RequesterState,
    Role,
    ServiceType,
    SupplierState,
    apply_action,
    message_body,
    message_recipient,
)
from lending_helpers import AT, aggregate_in

BORROWER, LENDER, NATIONAL = "DK-710100", "DK-715700", "DK-800010"


def test_the_borrowing_library_writes_to_the_lender_asked_now_and_back() -> None:
    assert message_recipient(BORROWER, BORROWER, LENDER) == LENDER
    assert message_recipient(LENDER, BORROWER, LENDER) == BORROWER
    # A foreign lender is reached through the national library, which reads and writes for it.
    assert message_recipient(BORROWER, BORROWER, "SE-L", NATIONAL) == NATIONAL
    assert message_recipient(NATIONAL, BORROWER, "SE-L", NATIONAL) == BORROWER


@pytest.mark.parametrize(
    ("sender", "current"),
    [(BORROWER, None), ("DK-714700", LENDER), (LENDER, None)],
    ids=["nobody-asked", "former-or-other-lender", "lender-no-longer-asked"],
)
def test_nobody_outside_the_two_libraries_writes(sender: str, current: str | None) -> None:
    with pytest.raises(DomainError):
        message_recipient(sender, BORROWER, current)


def test_a_message_is_trimmed_not_empty_and_bounded() -> None:
    assert message_body("  Hej Århus  \n") == "Hej Århus"
    with pytest.raises(DomainError, match="write the message"):
        message_body(" \n ")
    with pytest.raises(DomainError, match=str(MESSAGE_MAX_CHARS)):
        message_body("æ" * (MESSAGE_MAX_CHARS + 1))


def test_a_condition_keeps_its_reply_by_date_which_must_not_be_past() -> None:
    sent = aggregate_in(RequesterState.SENT, SupplierState.RECEIVED, ServiceType.LOAN)
    reply_by = AT.date() + timedelta(days=3)
    data = ActionInput(condition="kun læsesal", fee_dkk=25.0, reply_by=reply_by)
    outcome = apply_action(sent, Action.OFFER_CONDITION, Role.SUPPLIER_STAFF, at=AT, data=data)
    attempt = outcome.aggregate.attempts[-1]
    assert (attempt.condition, attempt.fee_dkk, attempt.reply_by) == ("kun læsesal", 25.0, reply_by)
    late = ActionInput(condition="kun læsesal", reply_by=AT.date() - timedelta(days=1))
    with pytest.raises(DomainError, match="reply-by") as refused:
        apply_action(sent, Action.OFFER_CONDITION, Role.SUPPLIER_STAFF, at=AT, data=late)
    assert refused.value.field == "reply_by"
