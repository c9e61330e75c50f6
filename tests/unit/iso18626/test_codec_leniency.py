"""Lenient where peers are sloppy and the meaning is clear; strict where meaning is at stake."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from fjernlaan.iso18626.model import (
    Action,
    ErrorType,
    Iso18626Error,
    RequestingAgencyMessage,
    ServiceType,
    Status,
    SupplyingAgencyMessage,
    Version,
)
from fjernlaan.iso18626.reader import parse
from fjernlaan.iso18626.writer import build
from iso18626_examples import full_requesting_agency_message, full_supplying_agency_message, minimal_request

SAM = build(full_supplying_agency_message(Version.V2017), Version.V2017)
RAM = build(full_requesting_agency_message(Version.V2017), Version.V2017)


def _error(data: bytes) -> Iso18626Error:
    with pytest.raises(Iso18626Error) as caught:
        parse(data)
    return caught.value


def _sam_with_status(status: str) -> bytes:
    return SAM.replace(b"<status>Loaned</status>", f"<status>{status}</status>".encode())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-12-12T20:12:00+0000", datetime(2024, 12, 12, 20, 12, tzinfo=UTC)),
        ("2024-12-12T21:12:00+0100", datetime(2024, 12, 12, 20, 12, tzinfo=UTC)),
        ("2024-12-12T21:12:00+01", datetime(2024, 12, 12, 20, 12, tzinfo=UTC)),
        ("2024-12-12T20:12:00", datetime(2024, 12, 12, 20, 12, tzinfo=UTC)),
        ("2024-12-12T20:12:00.123456789Z", datetime(2024, 12, 12, 20, 12, 0, 123456, tzinfo=UTC)),
    ],
)
def test_timestamps_without_colon_or_offset_are_read_as_aware_datetimes(
    text: str, expected: datetime
) -> None:
    data = RAM.replace(b"2025-03-04T09:30:00+01:00", text.encode())
    timestamp = parse(data).message.header.timestamp  # type: ignore[union-attr]
    assert timestamp == expected
    assert timestamp.tzinfo is not None


def test_offsets_are_kept_not_just_the_instant() -> None:
    timestamp = parse(RAM).message.header.timestamp  # type: ignore[union-attr]
    assert timestamp.utcoffset() == timezone(timedelta(hours=1)).utcoffset(None)


def test_a_placeholder_instead_of_a_timestamp_is_badly_formed() -> None:
    error = _error(RAM.replace(b"2025-03-04T09:30:00+01:00", b"_TIMESTAMP_"))
    assert error.error_type is ErrorType.BADLY_FORMED_MESSAGE
    assert "timestamp" in error.value


def test_empty_multiple_item_request_id_means_none() -> None:
    data = RAM.replace(b"<multipleItemRequestId>multi-1</multipleItemRequestId>", b"<multipleItemRequestId/>")
    assert parse(data).message.header.multiple_item_request_id is None  # type: ignore[union-attr]


def test_unqualified_version_attribute_1_0_is_accepted() -> None:
    data = RAM.replace(b'ill:version="1.2"', b'version="1.0"')
    parsed = parse(data)
    assert parsed.version_attribute == "1.0"
    assert parsed.version is Version.V2017


def test_unknown_schema_location_is_ignored() -> None:
    data = RAM.replace(
        b"http://illtransactions.org/schemas/ISO-18626-v1_2.xsd", b"https://example.org/v1_1.xsd"
    )
    assert isinstance(parse(data).message, RequestingAgencyMessage)


def test_bare_message_without_wrapper_is_accepted() -> None:
    inner = RAM.split(b"<requestingAgencyMessage>", 1)[1].split(b"</requestingAgencyMessage>")[0]
    bare = (
        b'<requestingAgencyMessage xmlns="http://illtransactions.org/2013/iso18626">'
        + inner
        + b"</requestingAgencyMessage>"
    )
    parsed = parse(bare)
    assert parsed.message == full_requesting_agency_message(Version.V2017)
    assert not parsed.wrapped


def test_elements_without_namespace_are_accepted() -> None:
    data = RAM.replace(b'xmlns="http://illtransactions.org/2013/iso18626" ', b"")
    assert parse(data).message == full_requesting_agency_message(Version.V2017)


def test_wrong_case_in_a_code_is_read_as_the_code() -> None:
    assert parse(_sam_with_status("loaned")).message.status_info.status is Status.LOANED  # type: ignore[union-attr]


def test_unknown_status_is_an_unrecognised_data_value() -> None:
    error = _error(_sam_with_status("WeCouldLoan"))
    assert error.error_type is ErrorType.UNRECOGNISED_DATA_VALUE
    assert "WeCouldLoan" in error.value and "status" in error.value
    assert error.message_kind == "supplyingAgencyMessage"


def test_unknown_action_is_an_unsupported_action_type() -> None:
    error = _error(RAM.replace(b"<action>ShippedReturn</action>", b"<action>Teleport</action>"))
    assert error.error_type is ErrorType.UNSUPPORTED_ACTION_TYPE
    assert "Teleport" in error.value


def test_unknown_reason_for_message_is_an_unsupported_reason_for_message_type() -> None:
    error = _error(SAM.replace(b"<reasonForMessage>StatusChange<", b"<reasonForMessage>Gossip<"))
    assert error.error_type is ErrorType.UNSUPPORTED_REASON_FOR_MESSAGE_TYPE


def test_unknown_service_type_is_an_unrecognised_data_value() -> None:
    data = build(minimal_request(Version.V2021), Version.V2021).replace(b">Copy<", b">Borrow<")
    assert _error(data).error_type is ErrorType.UNRECOGNISED_DATA_VALUE


def test_service_type_is_read() -> None:
    data = build(minimal_request(Version.V2021), Version.V2021)
    assert parse(data).message.service_info.service_type is ServiceType.COPY  # type: ignore[union-attr]


def test_missing_action_is_badly_formed() -> None:
    error = _error(RAM.replace(b"<action>ShippedReturn</action>", b""))
    assert error.error_type is ErrorType.BADLY_FORMED_MESSAGE
    assert "action" in error.value


def test_missing_requesting_agency_request_id_is_badly_formed() -> None:
    data = RAM.replace(b"<requestingAgencyRequestId>KBH-2025-000123</requestingAgencyRequestId>", b"")
    assert _error(data).error_type is ErrorType.BADLY_FORMED_MESSAGE


def test_y_n_other_than_y_or_n_is_an_unrecognised_data_value() -> None:
    error = _error(SAM.replace(b"<answerYesNo>Y</answerYesNo>", b"<answerYesNo>Maybe</answerYesNo>"))
    assert error.error_type is ErrorType.UNRECOGNISED_DATA_VALUE


def test_a_monetary_value_that_is_not_a_decimal_is_badly_formed() -> None:
    error = _error(
        SAM.replace(b"<monetaryValue>25</monetaryValue>", b"<monetaryValue>25 kr</monetaryValue>", 1)
    )
    assert error.error_type is ErrorType.BADLY_FORMED_MESSAGE


def test_unknown_element_is_skipped_and_reported_by_default() -> None:
    data = RAM.replace(b"<note>", b"<vendorExtension>x</vendorExtension><note>")
    parsed = parse(data)
    assert parsed.message == full_requesting_agency_message(Version.V2017)
    assert parsed.unknown_elements == ("requestingAgencyMessage/vendorExtension",)


def test_unknown_element_is_an_unrecognised_data_element_when_strict() -> None:
    data = RAM.replace(b"<note>", b"<vendorExtension>x</vendorExtension><note>")
    with pytest.raises(Iso18626Error) as caught:
        parse(data, strict_elements=True)
    assert caught.value.error_type is ErrorType.UNRECOGNISED_DATA_ELEMENT
    assert caught.value.value == "requestingAgencyMessage/vendorExtension"


def test_missing_last_change_is_tolerated_on_the_way_in() -> None:
    data = SAM.replace(b"<lastChange>2025-03-04T09:30:00+01:00</lastChange>", b"")
    message = parse(data).message
    assert isinstance(message, SupplyingAgencyMessage)
    assert message.status_info.last_change is None


def test_version_hint_overrides_detection() -> None:
    parsed = parse(RAM, version_hint=Version.V2021)
    assert (parsed.version, parsed.version_source) == (Version.V2021, "hint")


def test_version_is_detected_from_structure_before_the_attribute() -> None:
    # A 2021-shaped supplyingAgencyMessage (no multipleItemRequestId) labelled 1.2, as mod-rs sends.
    data = build(full_supplying_agency_message(Version.V2021), Version.V2021).replace(b'"2021-2"', b'"1.2"')
    parsed = parse(data)
    assert (parsed.version, parsed.version_source) == (Version.V2021, "structure")


def _request_valid_in_both_versions() -> bytes:
    request = minimal_request(Version.V2021)
    request = replace(request, header=replace(request.header, multiple_item_request_id="m-1"))
    return build(request, Version.V2021)


def test_version_attribute_breaks_a_tie() -> None:
    data = _request_valid_in_both_versions()
    parsed = parse(data)
    assert (parsed.version, parsed.version_source) == (Version.V2021, "attribute")


def test_without_any_evidence_we_assume_2017() -> None:
    data = _request_valid_in_both_versions().replace(b' ill:version="2021-2"', b"")
    parsed = parse(data)
    assert (parsed.version, parsed.version_source) == (Version.V2017, "default")


def test_2021_only_action_is_read() -> None:
    data = build(full_requesting_agency_message(Version.V2021), Version.V2021)
    assert parse(data).message.action is Action.LOST  # type: ignore[union-attr]
