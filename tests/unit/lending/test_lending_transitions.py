"""The request's two state machines: every row walked, illegal actions refused, the rules of DESIGN.md §4."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from fjernlaan.errors import DomainError
from fjernlaan.lending.model import (
    EXPECTED_ATTEMPT_STATES,
    ISO18626_STATUS,
    REQUESTER_TERMINAL,
    REQUESTER_TRANSITIONS,
    SUPPLIER_TRANSITIONS,
    Action,
    ActionInput,
    CancelDeadline,
    ChargeReplacement,
    DeadlineKind,
    EndRota,
    IllegalTransition,
    LenderTerms,
    MoveToNextLender,
    NotifyLender,
    RequestAggregate,
    RequesterState,
    Role,
    ScheduleDeadline,
    ServiceType,
    Side,
    SupplierState,
    allowed_actions,
    allowed_for,
    apply_action,
    transition_table_markdown,
    with_rota,
)
from lending_helpers import AT, FULL_INPUT, LENDERS, aggregate_in, consistent, setups_for

R = RequesterState
S = SupplierState


def act(
    agg: RequestAggregate, action: Action, role: Role, data: ActionInput = FULL_INPUT
) -> RequestAggregate:
    return apply_action(agg, action, role, at=AT, data=data).aggregate


def some_role(agg: RequestAggregate, action: Action) -> Role:
    for role in Role:
        if action in {a.action for a in allowed_for(agg, role)}:
            return role
    raise AssertionError(f"nobody may {action} in {agg.state}")


def sent_request(service: ServiceType = ServiceType.LOAN, lenders: tuple[LenderTerms, ...] = LENDERS):
    agg = RequestAggregate(service)
    agg = act(agg, Action.VALIDATE, Role.SYSTEM)
    agg = act(agg, Action.START_SOURCING, Role.SYSTEM)
    agg = with_rota(agg, lenders)
    return act(agg, Action.SEND, Role.SYSTEM)


# --- every row walked ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "row",
    REQUESTER_TRANSITIONS,
    ids=[
        f"{r.action.value}:{'|'.join(sorted(r.from_states))}->{r.to_state.value}"
        for r in REQUESTER_TRANSITIONS
    ],
)
def test_every_requester_row_moves_the_request_to_its_target(row):
    for from_state in row.from_states:
        fired = False
        for agg in setups_for(row):
            if agg.state is not from_state:
                continue
            role = next(iter(sorted(row.roles)))
            if row.action not in {a.action for a in allowed_for(agg, role)}:
                continue
            outcome = apply_action(agg, row.action, role, at=AT, data=FULL_INPUT)
            assert outcome.aggregate.state is row.to_state
            fired = True
        assert fired, f"{row.action} never fired from {from_state}"


@pytest.mark.parametrize(
    "row",
    SUPPLIER_TRANSITIONS,
    ids=[
        f"{r.action.value}:{'|'.join(sorted(r.from_states))}->{r.to_state.value}"
        for r in SUPPLIER_TRANSITIONS
    ],
)
def test_every_supplier_row_moves_the_attempt_to_its_target(row):
    for from_state in row.from_states:
        fired = False
        for agg in setups_for(row):
            attempt = agg.open_attempt
            if attempt is None or attempt.state is not from_state:
                continue
            role = next(iter(sorted(row.roles)))
            if row.action not in {a.action for a in allowed_for(agg, role)}:
                continue
            after = apply_action(agg, row.action, role, at=AT, data=FULL_INPUT).aggregate
            same_attempt = next(a for a in after.attempts if a.position == attempt.position)
            assert same_attempt.state is row.to_state
            fired = True
        assert fired, f"{row.action} never fired on a lender in {from_state}"


def test_each_action_and_state_has_at_most_one_row_per_side():
    for rows in (REQUESTER_TRANSITIONS, SUPPLIER_TRANSITIONS):
        seen: set[tuple[object, ...]] = set()
        for row in rows:
            for state in row.from_states:
                for service in row.service_types:
                    key = (row.action, state, service, row.guard)
                    assert key not in seen, key
                    seen.add(key)


def test_every_supplier_state_has_an_iso18626_status():
    assert set(ISO18626_STATUS) == set(SupplierState)
    assert ISO18626_STATUS[S.SHIPPED] == "Loaned"
    assert ISO18626_STATUS[S.CONDITIONAL] == "RetryPossible"
    assert ISO18626_STATUS[S.COMPLETED_WITHOUT_RETURN] == "CompletedWithoutReturn"


def test_every_open_state_has_a_next_step_for_someone():
    for state, attempt_states in EXPECTED_ATTEMPT_STATES.items():
        if state in REQUESTER_TERMINAL:
            continue
        for att in attempt_states:
            for service in ServiceType:
                if not consistent(state, att, service):
                    continue
                for last in (False, True):
                    agg = aggregate_in(state, att, service, last_lender=last)
                    options = [a for role in Role for a in allowed_for(agg, role)]
                    assert options, f"dead end: {state} / {att} / {service}"


def test_terminal_states_allow_nothing():
    for state in REQUESTER_TERMINAL:
        agg = aggregate_in(state, None, ServiceType.LOAN)
        assert all(allowed_for(agg, role) == () for role in Role)


# --- illegal actions are refused -----------------------------------------------------------------


def test_every_disallowed_action_is_refused_with_the_current_state_and_the_allowed_actions():
    for state, attempt_states in EXPECTED_ATTEMPT_STATES.items():
        for att in attempt_states:
            for service in ServiceType:
                if not consistent(state, att, service):
                    continue
                agg = aggregate_in(state, att, service)
                for role in Role:
                    allowed = allowed_for(agg, role)
                    for action in set(Action) - {a.action for a in allowed}:
                        with pytest.raises(IllegalTransition) as err:
                            apply_action(agg, action, role, at=AT, data=FULL_INPUT)
                        assert err.value.requester_state is state
                        assert err.value.supplier_state is att
                        assert err.value.allowed == allowed


def test_shipping_a_request_that_was_never_sent_is_refused():
    with pytest.raises(IllegalTransition) as err:
        apply_action(RequestAggregate(ServiceType.LOAN), Action.SHIP, Role.SUPPLIER_STAFF, at=AT)
    assert "submitted" in str(err.value)


def test_the_patron_cannot_act_for_the_lender():
    agg = sent_request()
    with pytest.raises(IllegalTransition) as err:
        apply_action(agg, Action.WILL_SUPPLY, Role.PATRON, at=AT)
    assert Action.CANCEL in {a.action for a in err.value.allowed}
    assert "only peer, supplier_staff may" in str(err.value)


def test_allowed_actions_name_the_fields_they_need():
    allowed = allowed_actions(R.SENT, S.RECEIVED, Role.SUPPLIER_STAFF, ServiceType.LOAN)
    needs = {a.action: a.needs for a in allowed}
    assert needs[Action.UNFILLED] == ("reason",)
    assert needs[Action.OFFER_CONDITION] == ("condition",)
    assert needs[Action.SHIP] == ()


def test_a_missing_field_is_a_domain_error_naming_the_field():
    agg = sent_request()
    with pytest.raises(DomainError) as err:
        apply_action(agg, Action.UNFILLED, Role.SUPPLIER_STAFF, at=AT, data=ActionInput(reason=" "))
    assert err.value.field == "reason"
    assert not isinstance(err.value, IllegalTransition)


# --- the rules of the lifecycle --------------------------------------------------------------------


def test_a_loan_runs_from_submission_to_completion_with_one_event_per_change():
    agg = sent_request()
    path = [
        (Action.WILL_SUPPLY, Role.SUPPLIER_STAFF, R.EXPECTS_TO_SUPPLY),
        (Action.READY_TO_SHIP, Role.SUPPLIER_STAFF, R.EXPECTS_TO_SUPPLY),
        (Action.SHIP, Role.SUPPLIER_STAFF, R.SHIPPED),
        (Action.RECEIVE, Role.REQUESTER_STAFF, R.RECEIVED),
        (Action.CHECK_OUT, Role.REQUESTER_STAFF, R.CHECKED_OUT),
        (Action.RETURN_BY_PATRON, Role.REQUESTER_STAFF, R.RETURNED_BY_PATRON),
        (Action.SHIP_RETURN, Role.REQUESTER_STAFF, R.RETURN_SHIPPED),
        (Action.CONFIRM_RETURN, Role.SUPPLIER_STAFF, R.COMPLETED),
    ]
    for action, role, expected in path:
        agg = act(agg, action, role)
        assert agg.state is expected
    assert agg.attempts[-1].state is S.COMPLETED


def test_a_copy_is_shipped_delivered_and_completed():
    agg = sent_request(ServiceType.COPY)
    agg = act(agg, Action.DELIVER_COPY, Role.PEER)
    assert (agg.state, agg.attempts[-1].state) == (R.SHIPPED, S.COPY_COMPLETED)
    agg = act(agg, Action.RECEIVE, Role.REQUESTER_STAFF)
    assert agg.state is R.DELIVERED
    agg = act(agg, Action.COMPLETE, Role.SYSTEM)
    assert agg.state is R.COMPLETED


def test_copy_or_loan_follows_the_loan_path_when_the_lender_ships():
    agg = act(sent_request(ServiceType.COPY_OR_LOAN), Action.SHIP, Role.SUPPLIER_STAFF)
    assert agg.effective_service is ServiceType.LOAN
    assert act(agg, Action.RECEIVE, Role.REQUESTER_STAFF).state is R.RECEIVED


def test_copy_or_loan_follows_the_copy_path_when_the_lender_sends_a_copy():
    agg = act(sent_request(ServiceType.COPY_OR_LOAN), Action.DELIVER_COPY, Role.SUPPLIER_STAFF)
    assert agg.effective_service is ServiceType.COPY
    assert act(agg, Action.RECEIVE, Role.REQUESTER_STAFF).state is R.DELIVERED


def test_a_copy_request_cannot_be_shipped_as_a_loan():
    agg = sent_request(ServiceType.COPY)
    assert Action.SHIP not in {a.action for a in allowed_for(agg, Role.SUPPLIER_STAFF)}


def test_unfilled_moves_the_request_to_the_next_lender():
    agg = sent_request()
    outcome = apply_action(
        agg, Action.UNFILLED, Role.SUPPLIER_STAFF, at=AT, data=ActionInput(reason="udlånt")
    )
    after = outcome.aggregate
    assert (after.state, after.position) == (R.SENT, 1)
    assert [a.state for a in after.attempts] == [S.UNFILLED, S.RECEIVED]
    assert MoveToNextLender("DK-710100", "DK-775100", 1) in outcome.effects
    assert NotifyLender("DK-775100", "Request") in outcome.effects
    assert ScheduleDeadline(DeadlineKind.ANSWER, "DK-775100", working_days=3) in outcome.effects
    assert [(e.side, e.from_state, e.to_state) for e in outcome.events] == [
        (Side.SUPPLIER, "received", "unfilled"),
        (Side.REQUESTER, "sent", "sent"),
        (Side.SUPPLIER, None, "received"),
    ]
    assert outcome.events[0].reason == "udlånt"


def test_unfilled_at_the_last_position_ends_the_rota():
    agg = sent_request(lenders=LENDERS[:1])
    outcome = apply_action(agg, Action.UNFILLED, Role.PEER, at=AT, data=ActionInput(reason="not held"))
    assert outcome.aggregate.state is R.END_OF_ROTA
    assert any(isinstance(e, EndRota) for e in outcome.effects)


def test_staff_can_add_a_lender_after_the_end_of_the_rota_and_send_again():
    agg = act(sent_request(lenders=LENDERS[:1]), Action.UNFILLED, Role.PEER)
    agg = with_rota(agg, (*LENDERS[:1], LenderTerms("DK-820010")))
    agg = act(agg, Action.SEND, Role.REQUESTER_STAFF)
    assert (agg.state, agg.attempts[-1].isil) == (R.SENT, "DK-820010")


def test_lenders_already_asked_cannot_be_taken_off_the_rota():
    agg = sent_request()
    with pytest.raises(DomainError):
        with_rota(agg, LENDERS[1:])


def test_no_answer_by_the_deadline_counts_as_unfilled():
    outcome = apply_action(sent_request(), Action.NO_ANSWER, Role.SYSTEM, at=AT)
    assert outcome.aggregate.attempts[0].state is S.UNFILLED
    assert outcome.events[0].reason == "no answer within the deadline"
    assert outcome.aggregate.position == 1


def test_an_accepted_condition_continues_with_the_same_lender():
    agg = act(sent_request(), Action.OFFER_CONDITION, Role.SUPPLIER_STAFF)
    assert agg.state is R.CONDITIONAL
    assert agg.attempts[-1].condition == "kun til læsesalsbrug"
    assert agg.attempts[-1].fee_dkk == 25.0
    agg = act(agg, Action.ACCEPT_CONDITION, Role.PATRON)
    assert (agg.state, agg.attempts[-1].state, agg.position) == (R.EXPECTS_TO_SUPPLY, S.AWAITING_SHIPMENT, 0)


def test_a_declined_condition_moves_on_to_the_next_lender():
    agg = act(sent_request(), Action.OFFER_CONDITION, Role.SUPPLIER_STAFF)
    agg = act(agg, Action.DECLINE_CONDITION, Role.REQUESTER_STAFF)
    assert (agg.state, agg.position) == (R.SENT, 1)
    assert agg.attempts[0].state is S.CANCELLED


def test_cancelling_before_any_lender_is_asked_needs_no_confirmation():
    agg = act(RequestAggregate(ServiceType.LOAN), Action.CANCEL, Role.PATRON)
    assert agg.state is R.CANCELLED


def test_cancelling_after_sending_waits_for_the_lender_to_confirm():
    agg = act(sent_request(), Action.CANCEL, Role.PATRON)
    assert (agg.state, agg.attempts[-1].state) == (R.CANCEL_PENDING, S.RECEIVED)
    confirmed = act(agg, Action.CONFIRM_CANCEL, Role.SUPPLIER_STAFF)
    assert (confirmed.state, confirmed.attempts[-1].state) == (R.CANCELLED, S.CANCELLED)


def test_a_refused_cancellation_returns_to_expects_to_supply():
    agg = act(sent_request(), Action.CANCEL, Role.REQUESTER_STAFF)
    agg = act(agg, Action.REFUSE_CANCEL, Role.SUPPLIER_STAFF)
    assert (agg.state, agg.attempts[-1].state) == (R.EXPECTS_TO_SUPPLY, S.WILL_SUPPLY)


def test_a_shipped_loan_can_no_longer_be_cancelled():
    agg = act(sent_request(), Action.SHIP, Role.SUPPLIER_STAFF)
    assert Action.CANCEL not in {a.action for role in Role for a in allowed_for(agg, role)}


def shipped_and_checked_out(lenders: tuple[LenderTerms, ...] = LENDERS) -> RequestAggregate:
    agg = act(sent_request(lenders=lenders), Action.SHIP, Role.SUPPLIER_STAFF, ActionInput())
    agg = act(agg, Action.RECEIVE, Role.REQUESTER_STAFF)
    return act(agg, Action.CHECK_OUT, Role.REQUESTER_STAFF)


def test_shipping_sets_the_due_date_from_the_lenders_loan_period():
    agg = act(sent_request(), Action.SHIP, Role.SUPPLIER_STAFF, ActionInput())
    assert agg.due_date == date(2026, 4, 13)  # 42 days after 2 March


def test_a_granted_renewal_extends_the_due_date_within_the_policys_maximum():
    agg = shipped_and_checked_out()
    agg = act(agg, Action.REQUEST_RENEWAL, Role.PATRON)
    assert agg.state is R.RENEW_PENDING
    agg = act(agg, Action.GRANT_RENEWAL, Role.SUPPLIER_STAFF, ActionInput())
    assert (agg.state, agg.renewals_used, agg.due_date) == (R.CHECKED_OUT, 1, date(2026, 5, 11))
    # DK-710100 allows one renewal: a second is not even offered
    assert Action.REQUEST_RENEWAL not in {a.action for a in allowed_for(agg, Role.PATRON)}


def test_a_lender_cannot_grant_more_renewals_than_its_policy_allows():
    agg = replace(shipped_and_checked_out(), state=R.RENEW_PENDING, renewals_used=1)
    with pytest.raises(IllegalTransition) as err:
        apply_action(agg, Action.GRANT_RENEWAL, Role.SUPPLIER_STAFF, at=AT)
    assert "no renewals left" in str(err.value)
    assert Action.REFUSE_RENEWAL in {a.action for a in err.value.allowed}


def test_a_refused_renewal_keeps_the_due_date():
    agg = act(shipped_and_checked_out(), Action.REQUEST_RENEWAL, Role.PATRON)
    refused = act(agg, Action.REFUSE_RENEWAL, Role.SUPPLIER_STAFF)
    assert (refused.state, refused.due_date, refused.renewals_used) == (R.CHECKED_OUT, agg.due_date, 0)


def test_an_overdue_loan_marks_both_sides_overdue():
    agg = act(shipped_and_checked_out(), Action.MARK_OVERDUE, Role.SYSTEM)
    assert (agg.state, agg.attempts[-1].state) == (R.OVERDUE, S.OVERDUE)


def test_a_recalled_loan_is_returned_and_completed():
    agg = act(shipped_and_checked_out(), Action.RECALL, Role.SUPPLIER_STAFF)
    assert (agg.state, agg.attempts[-1].state) == (R.RECALLED, S.RECALLED)
    agg = act(agg, Action.RETURN_BY_PATRON, Role.REQUESTER_STAFF)
    agg = act(agg, Action.SHIP_RETURN, Role.REQUESTER_STAFF)
    assert agg.attempts[-1].state is S.RETURNED
    assert act(agg, Action.CONFIRM_RETURN, Role.SUPPLIER_STAFF).state is R.COMPLETED


def test_a_lost_loan_is_completed_without_return_and_billed_at_the_replacement_price():
    lenders = (LenderTerms("DK-710100", replacement_price_dkk=499.95),)
    outcome = apply_action(
        shipped_and_checked_out(lenders), Action.REPORT_LOST, Role.REQUESTER_STAFF, at=AT, data=FULL_INPUT
    )
    assert outcome.aggregate.state is R.LOST
    assert outcome.aggregate.attempts[-1].state is S.COMPLETED_WITHOUT_RETURN
    assert ChargeReplacement("DK-710100", 499.95) in outcome.effects
    assert CancelDeadline(DeadlineKind.DUE) in outcome.effects


def test_the_need_before_date_ends_the_request_and_withdraws_it_from_the_lender():
    outcome = apply_action(sent_request(), Action.NEED_BEFORE_PASSED, Role.SYSTEM, at=AT)
    assert outcome.aggregate.state is R.UNFILLED
    assert outcome.aggregate.attempts[-1].state is S.CANCELLED
    assert NotifyLender("DK-710100", "Cancel") in outcome.effects


def test_a_request_the_requester_holds_is_filled_locally():
    agg = act(RequestAggregate(ServiceType.LOAN), Action.VALIDATE, Role.SYSTEM)
    assert act(agg, Action.FILL_LOCALLY, Role.SYSTEM).state is R.FILLED_LOCALLY


def test_sending_with_an_empty_rota_ends_the_rota_at_once():
    agg = act(
        act(RequestAggregate(ServiceType.LOAN), Action.VALIDATE, Role.SYSTEM),
        Action.START_SOURCING,
        Role.SYSTEM,
    )
    assert act(agg, Action.SEND, Role.SYSTEM).state is R.END_OF_ROTA


def test_danish_reasons_survive_in_events():
    outcome = apply_action(
        sent_request(),
        Action.UNFILLED,
        Role.SUPPLIER_STAFF,
        at=AT,
        data=ActionInput(reason="på værksted, åbner igen"),
    )
    assert outcome.events[0].reason == "på værksted, åbner igen"


# --- docs ------------------------------------------------------------------------------------------


def test_the_docs_draw_both_transition_tables_as_the_code_has_them():
    docs = Path(__file__).resolve().parents[3] / "docs" / "lending.md"
    text = docs.read_text(encoding="utf-8")
    assert transition_table_markdown(Side.REQUESTER) in text
    assert transition_table_markdown(Side.SUPPLIER) in text
