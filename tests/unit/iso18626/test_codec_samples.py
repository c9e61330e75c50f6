"""Every sample message from crosslink and mod-rs parses, or is refused with the error the standard names."""

from __future__ import annotations

from pathlib import Path

import pytest

from fjernlaan.iso18626.model import (
    Action,
    ErrorType,
    Iso18626Error,
    ReasonForMessage,
    Request,
    RequestingAgencyMessage,
    Status,
    SupplyingAgencyMessage,
    Version,
)
from fjernlaan.iso18626.reader import parse
from fjernlaan.iso18626.schema import validate
from fjernlaan.iso18626.writer import build

# file -> ("ok", message kind, detected version) or ("error", ErrorType, message kind)
EXPECTED: dict[str, tuple[str, object, object]] = {
    "crosslink__broker_test_testdata_reqmsg-invalid-action.xml": (
        "error",
        ErrorType.UNSUPPORTED_ACTION_TYPE,
        "requestingAgencyMessage",
    ),
    "crosslink__broker_test_testdata_reqmsg-notification.xml": (
        "ok",
        "requestingAgencyMessage",
        Version.V2017,
    ),
    "crosslink__broker_test_testdata_reqmsg-ok.xml": ("ok", "requestingAgencyMessage", Version.V2017),
    "crosslink__broker_test_testdata_request-retry-1.xml": ("ok", "request", Version.V2017),
    "crosslink__broker_test_testdata_request-willsupply-loaned.xml": ("ok", "request", Version.V2017),
    "crosslink__broker_test_testdata_supmsg-invalid-status.xml": (
        "error",
        ErrorType.UNRECOGNISED_DATA_VALUE,
        "supplyingAgencyMessage",
    ),
    "crosslink__broker_test_testdata_supmsg-notification.xml": (
        "ok",
        "supplyingAgencyMessage",
        Version.V2017,
    ),
    "crosslink__broker_test_testdata_supmsg-ok.xml": ("ok", "supplyingAgencyMessage", Version.V2017),
    "crosslink__illmock_examples_req.xml": ("ok", "request", Version.V2017),
    # template placeholders: <timestamp>_TIMESTAMP_</timestamp>
    "modrs__it_cancelResponseReplyNoTemplate.xml": (
        "error",
        ErrorType.BADLY_FORMED_MESSAGE,
        "supplyingAgencyMessage",
    ),
    "modrs__it_illmockrequest.xml": ("ok", "request", Version.V2017),
    # 2021 shapes (no supplyingAgencyId, authorId, code-first item id) under version="1.2"
    "modrs__it_patronRequest.xml": ("ok", "request", Version.V2021),
    "modrs__it_unfilledNotification.xml": ("error", ErrorType.BADLY_FORMED_MESSAGE, "supplyingAgencyMessage"),
    "modrs__unit_requestConfirmation.xml": ("ok", "requestConfirmation", Version.V2017),
    "modrs__unit_requestingAgencyMessageConfirmation.xml": (
        "ok",
        "requestingAgencyMessageConfirmation",
        Version.V2017,
    ),
    "modrs__unit_supplyingAgencyMessageConfirmation.xml": (
        "ok",
        "supplyingAgencyMessageConfirmation",
        Version.V2017,
    ),
}


def test_the_expectation_table_covers_every_sample_file(samples_dir: Path) -> None:
    assert sorted(p.name for p in samples_dir.glob("*.xml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_parses_or_is_refused_as_expected(name: str, samples_dir: Path) -> None:
    outcome, a, b = EXPECTED[name]
    data = (samples_dir / name).read_bytes()
    if outcome == "ok":
        parsed = parse(data)
        assert (parsed.kind, parsed.version) == (a, b)
    else:
        with pytest.raises(Iso18626Error) as caught:
            parse(data)
        assert (caught.value.error_type, caught.value.message_kind) == (a, b)


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e[0] == "ok"))
def test_what_we_read_from_a_sample_we_can_write_back_schema_valid(name: str, samples_dir: Path) -> None:
    parsed = parse((samples_dir / name).read_bytes())
    assert validate(build(parsed.message, parsed.version), parsed.version, xsd_dir=samples_dir.parent) == []


def test_crosslink_loaned_message_is_read_into_typed_fields(samples_dir: Path) -> None:
    message = parse((samples_dir / "crosslink__broker_test_testdata_supmsg-ok.xml").read_bytes()).message
    assert isinstance(message, SupplyingAgencyMessage)
    assert message.header.supplying_agency_id is not None
    assert message.header.supplying_agency_id.as_tuple() == ("ISIL", "SUP_B")
    assert message.header.multiple_item_request_id is None  # sent empty
    assert message.message_info.reason_for_message is ReasonForMessage.STATUS_CHANGE
    assert message.status_info.status is Status.LOANED
    assert message.delivery_info is not None and message.delivery_info.item_ids == ("12345",)
    # nanoseconds from Go are truncated to microseconds
    assert message.header.timestamp.microsecond == 629597


def test_mod_rs_patron_request_keeps_record_ids_with_their_scheme(samples_dir: Path) -> None:
    message = parse((samples_dir / "modrs__it_patronRequest.xml").read_bytes()).message
    assert isinstance(message, Request)
    assert message.header.supplying_agency_id is None
    assert message.bibliographic_info.isbn == "12321312"
    first = message.bibliographic_info.record_ids[0]
    assert (first.code, first.identifier, first.code_scheme) == (
        "TitelId",
        "in00000000002",
        "ZFL",
    )
    assert message.patron_info is not None and message.patron_info.patron_id == "patronId_holder"


def test_refused_sample_still_yields_the_header_ids_for_the_confirmation(samples_dir: Path) -> None:
    with pytest.raises(Iso18626Error) as caught:
        parse((samples_dir / "crosslink__broker_test_testdata_reqmsg-invalid-action.xml").read_bytes())
    context = caught.value.context
    assert context is not None
    assert context.requesting_agency_request_id == "reqid"
    assert context.supplying_agency_id is not None and context.supplying_agency_id.value == "SLNP_TWO_A"
    assert "WeCancelThisMessage" in caught.value.value


def test_crosslink_cancel_sample_is_a_cancel(samples_dir: Path) -> None:
    message = parse((samples_dir / "crosslink__broker_test_testdata_reqmsg-ok.xml").read_bytes()).message
    assert isinstance(message, RequestingAgencyMessage) and message.action is Action.CANCEL
