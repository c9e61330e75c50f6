"""Every inbound message gets the matching confirmation: OK, ERROR with a useful value, or — for bytes we
cannot read at all — a requestConfirmation with BadlyFormedMessage."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from fjernlaan.iso18626.model import (
    Action,
    ErrorData,
    ErrorType,
    Iso18626Error,
    MessageStatus,
    ReasonForMessage,
    RequestConfirmation,
    RequestingAgencyMessageConfirmation,
    SupplyingAgencyMessageConfirmation,
    Version,
)
from fjernlaan.iso18626.reader import parse
from fjernlaan.iso18626.schema import validate
from fjernlaan.iso18626.writer import build, build_confirmation
from iso18626_examples import (
    BORROWER,
    LENDER,
    full_request,
    full_requesting_agency_message,
    full_supplying_agency_message,
)

RECEIVED = datetime(2025, 3, 4, 8, 30, tzinfo=UTC)
NOW = datetime(2025, 3, 4, 8, 30, 1, tzinfo=UTC)
INBOUND = {
    "request": (full_request, RequestConfirmation),
    "supplyingAgencyMessage": (full_supplying_agency_message, SupplyingAgencyMessageConfirmation),
    "requestingAgencyMessage": (full_requesting_agency_message, RequestingAgencyMessageConfirmation),
}


def _confirm(inbound: bytes, **kwargs: object) -> bytes:
    try:
        parsed: object = parse(inbound)
    except Iso18626Error as exc:
        parsed = exc
    return build_confirmation(parsed, timestamp_received=RECEIVED, timestamp=NOW, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("version", list(Version))
@pytest.mark.parametrize("kind", sorted(INBOUND))
def test_ok_confirmation_matches_the_message_and_echoes_its_ids(
    kind: str, version: Version, xsd_dir: Path
) -> None:
    make, confirmation_type = INBOUND[kind]
    data = _confirm(build(make(version), version))
    assert validate(data, version, xsd_dir=xsd_dir) == []
    confirmation = parse(data).message
    assert isinstance(confirmation, confirmation_type)
    assert confirmation.header.message_status is MessageStatus.OK
    assert confirmation.header.requesting_agency_request_id == "KBH-2025-000123"
    assert (confirmation.header.supplying_agency_id, confirmation.header.requesting_agency_id) == (
        LENDER,
        BORROWER,
    )
    assert confirmation.header.timestamp_received == RECEIVED
    assert confirmation.errors == ()


def test_confirmation_of_a_supplying_agency_message_repeats_the_reason() -> None:
    data = _confirm(build(full_supplying_agency_message(Version.V2017), Version.V2017))
    assert parse(data).message.reason_for_message is ReasonForMessage.STATUS_CHANGE  # type: ignore[union-attr]


def test_confirmation_of_a_requesting_agency_message_repeats_the_action() -> None:
    data = _confirm(build(full_requesting_agency_message(Version.V2017), Version.V2017))
    assert parse(data).message.action is Action.SHIPPED_RETURN  # type: ignore[union-attr]


def test_business_refusal_gives_error_with_the_callers_error_data(xsd_dir: Path) -> None:
    error = ErrorData(ErrorType.UNRECOGNISED_DATA_VALUE, "requestingAgencyRequestId: unknown request KBH-1")
    data = _confirm(build(full_requesting_agency_message(Version.V2017), Version.V2017), errors=(error,))
    confirmation = parse(data).message
    assert confirmation.header.message_status is MessageStatus.ERROR  # type: ignore[union-attr]
    assert confirmation.errors == (error,)  # type: ignore[union-attr]
    assert validate(data, Version.V2017, xsd_dir=xsd_dir) == []


def test_unknown_action_gets_an_error_confirmation_naming_the_action(xsd_dir: Path) -> None:
    inbound = build(full_requesting_agency_message(Version.V2017), Version.V2017).replace(
        b"<action>ShippedReturn</action>", b"<action>Teleport</action>"
    )
    data = _confirm(inbound)
    assert validate(data, Version.V2017, xsd_dir=xsd_dir) == []
    confirmation = parse(data).message
    assert isinstance(confirmation, RequestingAgencyMessageConfirmation)
    assert confirmation.header.message_status is MessageStatus.ERROR
    assert confirmation.header.requesting_agency_request_id == "KBH-2025-000123"
    assert confirmation.errors[0].type is ErrorType.UNSUPPORTED_ACTION_TYPE
    assert "Teleport" in (confirmation.errors[0].value or "")


def test_unknown_status_gets_a_supplying_agency_message_confirmation(xsd_dir: Path) -> None:
    inbound = build(full_supplying_agency_message(Version.V2021), Version.V2021).replace(
        b"<status>Loaned</status>", b"<status>Vanished</status>"
    )
    data = _confirm(inbound, version=Version.V2021)
    assert validate(data, Version.V2021, xsd_dir=xsd_dir) == []
    confirmation = parse(data).message
    assert isinstance(confirmation, SupplyingAgencyMessageConfirmation)
    assert confirmation.reason_for_message is ReasonForMessage.STATUS_CHANGE
    assert confirmation.errors[0].type is ErrorType.UNRECOGNISED_DATA_VALUE


@pytest.mark.parametrize("garbage", [b"", b"not xml at all", b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'])
def test_unreadable_bytes_get_a_request_confirmation_with_badly_formed_message(
    garbage: bytes, xsd_dir: Path
) -> None:
    data = _confirm(garbage)
    assert validate(data, Version.V2017, xsd_dir=xsd_dir) == []
    confirmation = parse(data).message
    assert isinstance(confirmation, RequestConfirmation)
    assert confirmation.header.message_status is MessageStatus.ERROR
    assert confirmation.errors[0].type is ErrorType.BADLY_FORMED_MESSAGE
    assert confirmation.errors[0].value


def test_truncated_supplying_agency_message_gets_its_own_confirmation_type() -> None:
    inbound = build(full_supplying_agency_message(Version.V2017), Version.V2017)
    confirmation = parse(_confirm(inbound[:600])).message
    assert isinstance(confirmation, SupplyingAgencyMessageConfirmation)


def test_in_2017_only_the_first_error_is_sent() -> None:
    extra = ErrorData(ErrorType.UNRECOGNISED_DATA_ELEMENT, "x")
    confirmation = parse(_confirm(b"garbage", errors=(extra,), version=Version.V2017)).message
    assert len(confirmation.errors) == 1  # type: ignore[union-attr]


def test_in_2021_every_error_is_sent() -> None:
    extra = ErrorData(ErrorType.UNRECOGNISED_DATA_ELEMENT, "x")
    confirmation = parse(_confirm(b"garbage", errors=(extra,), version=Version.V2021)).message
    assert len(confirmation.errors) == 2  # type: ignore[union-attr]
