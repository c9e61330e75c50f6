"""The ISO 18626 lifecycle tables: every row names legal lending actions, and the docs show them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from fjernlaan.iso18626 import lifecycle
from fjernlaan.iso18626.model import Action as IsoAction
from fjernlaan.iso18626.model import ReasonForMessage, Status
from fjernlaan.lending import model as lm

ROOT = Path(__file__).resolve().parents[3]
R = lm.RequesterState
S = lm.SupplierState


def test_every_requesting_agency_action_is_mapped_or_unsupported() -> None:
    mapped = set(lifecycle.PEER_REQUESTER_ACTIONS) | lifecycle.UNSUPPORTED_PEER_ACTIONS
    assert mapped == set(IsoAction)


def test_every_status_has_a_rule() -> None:
    assert set(lifecycle.PEER_SUPPLIER_STATUSES) == set(Status)


def test_every_supplier_state_has_a_status() -> None:
    assert {lifecycle.status_of(s) for s in S} <= set(Status)


@pytest.mark.parametrize("iso_action", sorted(lifecycle.PEER_REQUESTER_ACTIONS))
def test_a_peer_requesters_action_is_a_requester_action_the_peer_role_may_take(iso_action: IsoAction) -> None:
    rule = lifecycle.PEER_REQUESTER_ACTIONS[iso_action]
    for action in (*rule.bridge, *([rule.main] if rule.main else []), *rule.after):
        rows = [r for r in lm.REQUESTER_TRANSITIONS if r.action is action]
        assert rows and any(lm.Role.PEER in r.roles for r in rows), action


@pytest.mark.parametrize("status", sorted(lifecycle.PEER_SUPPLIER_STATUSES))
def test_a_peer_suppliers_status_is_a_supplier_side_action(status: Status) -> None:
    rule = lifecycle.PEER_SUPPLIER_STATUSES[status]
    for action in (*rule.bridge, *([rule.main] if rule.main else [])):
        rows = [r for r in lm.SUPPLIER_TRANSITIONS if r.action is action]
        roles = {role for r in rows for role in r.roles}
        assert rows and (lm.Role.PEER in roles or lm.Role.SYSTEM in roles), action


@pytest.mark.parametrize("status", sorted(lifecycle.PEER_SUPPLIER_STATUSES))
def test_a_status_already_reached_is_listed_as_done_in_the_state_it_names(status: Status) -> None:
    rule = lifecycle.PEER_SUPPLIER_STATUSES[status]
    if rule.main is None:
        pytest.skip("informational status")
    reached = {r.to_state.value for r in lm.SUPPLIER_TRANSITIONS if r.action is rule.main}
    assert reached & rule.done_in


@pytest.mark.parametrize("action", sorted(lifecycle.REQUESTER_ACTION_MESSAGES))
def test_our_requester_actions_that_reach_a_peer_are_requester_actions(action: lm.Action) -> None:
    assert any(r.action is action for r in lm.REQUESTER_TRANSITIONS)


@pytest.mark.parametrize("action", sorted(lifecycle.SUPPLIER_ACTION_MESSAGES))
def test_our_lenders_actions_that_reach_a_peer_are_lender_or_worker_actions(action: lm.Action) -> None:
    rows = [r for r in (*lm.REQUESTER_TRANSITIONS, *lm.SUPPLIER_TRANSITIONS) if r.action is action]
    assert any(lm.Role.SUPPLIER_STAFF in r.roles or lm.Role.SYSTEM in r.roles for r in rows)


def test_shipping_tells_the_peer_loaned() -> None:
    assert lifecycle.supply_message_for(lm.Action.SHIP, R.EXPECTS_TO_SUPPLY, R.SHIPPED, S.SHIPPED) == (
        ReasonForMessage.STATUS_CHANGE,
        Status.LOANED,
        None,
    )


def test_will_supply_is_the_request_response_expect_to_supply() -> None:
    assert lifecycle.supply_message_for(
        lm.Action.WILL_SUPPLY, R.SENT, R.EXPECTS_TO_SUPPLY, S.WILL_SUPPLY
    ) == (
        ReasonForMessage.REQUEST_RESPONSE,
        Status.EXPECT_TO_SUPPLY,
        None,
    )


def test_one_lenders_unfilled_is_not_told_while_the_rota_goes_on() -> None:
    assert lifecycle.supply_message_for(lm.Action.UNFILLED, R.SENT, R.SENT, S.UNFILLED) is None


def test_the_end_of_the_rota_tells_the_peer_unfilled() -> None:
    assert lifecycle.supply_message_for(lm.Action.UNFILLED, R.SENT, R.END_OF_ROTA, S.UNFILLED) == (
        ReasonForMessage.STATUS_CHANGE,
        Status.UNFILLED,
        None,
    )


def test_a_confirmed_cancel_answers_the_cancel_with_yes() -> None:
    assert lifecycle.supply_message_for(
        lm.Action.CONFIRM_CANCEL, R.CANCEL_PENDING, R.CANCELLED, S.CANCELLED
    ) == (ReasonForMessage.CANCEL_RESPONSE, Status.CANCELLED, True)


def test_a_granted_renewal_is_a_renew_response_yes_still_loaned() -> None:
    assert lifecycle.supply_message_for(
        lm.Action.GRANT_RENEWAL, R.RENEW_PENDING, R.CHECKED_OUT, S.AWAITING_RETURN
    ) == (ReasonForMessage.RENEW_RESPONSE, Status.LOANED, True)


def test_renew_answers_take_precedence_over_the_status() -> None:
    rule = lifecycle.supplier_rule(ReasonForMessage.RENEW_RESPONSE, False, Status.LOANED)
    assert rule.main is lm.Action.REFUSE_RENEWAL


def test_a_notification_changes_nothing() -> None:
    assert lifecycle.supplier_rule(ReasonForMessage.NOTIFICATION, None, Status.LOANED).main is None


def _received(service_type: lm.ServiceType, attempt_state: lm.SupplierState) -> lm.RequestAggregate:
    """A shipped request after the peer's Received: the main action, then each follow-up allowed."""
    at = datetime(2026, 3, 2, 10, tzinfo=UTC)
    aggregate = lm.RequestAggregate(
        service_type=service_type,
        state=R.SHIPPED,
        lenders=(lm.LenderTerms("DK-715700"),),
        position=0,
        attempts=(lm.Attempt(0, "DK-715700", attempt_state),),
        delivered_as=service_type,
    )
    rule = lifecycle.PEER_REQUESTER_ACTIONS[IsoAction.RECEIVED]
    assert rule.main is not None
    after = lm.apply_action(aggregate, rule.main, lm.Role.PEER, at=at).aggregate
    for step in rule.after:
        if step in {a.action for a in lm.allowed_for(after, lm.Role.PEER)}:
            after = lm.apply_action(after, step, lm.Role.PEER, at=at).aggregate
    return after


def test_the_received_rule_walks_a_shipped_loan_to_checked_out() -> None:
    assert _received(lm.ServiceType.LOAN, S.SHIPPED).state is R.CHECKED_OUT


def test_the_received_rule_walks_a_delivered_copy_to_completed() -> None:
    # A peer sends nothing after Received for a copy, so its receipt ends the request.
    assert _received(lm.ServiceType.COPY, S.COPY_COMPLETED).state is R.COMPLETED


def test_the_docs_show_the_generated_lifecycle_tables() -> None:
    text = (ROOT / "docs" / "iso18626.md").read_text(encoding="utf-8")
    start = text.index("<!-- lifecycle-table:start -->\n") + len("<!-- lifecycle-table:start -->\n")
    end = text.index("\n<!-- lifecycle-table:end -->")
    assert text[start:end] == lifecycle.lifecycle_markdown()
