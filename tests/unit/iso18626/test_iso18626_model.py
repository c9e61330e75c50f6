"""The vocabularies match the official schemas; what a version cannot carry is refused, not dropped."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import pytest
from lxml import etree

from fjernlaan.iso18626 import schema
from fjernlaan.iso18626.model import (
    Action,
    ErrorType,
    Iso18626BuildError,
    MessageStatus,
    PatronInfo,
    PreferredEdition,
    ReasonForMessage,
    Request,
    RequestSubType,
    RequestType,
    ServiceType,
    Status,
    Version,
    actions_for,
    iter_values,
    statuses_for,
    unrepresentable,
)
from fjernlaan.iso18626.schema import XsdUnavailableError, find_xsd_dir, validate
from fjernlaan.iso18626.writer import build
from iso18626_examples import full_request, full_requesting_agency_message, full_supplying_agency_message

XS = "{http://www.w3.org/2001/XMLSchema}"


def _enumeration(xsd: Path, type_name: str) -> set[str]:
    tree = etree.parse(str(xsd))
    simple = tree.find(f"{XS}simpleType[@name='{type_name}']")
    assert simple is not None, type_name
    return {e.get("value") or "" for e in simple.iter(f"{XS}enumeration")}


CLOSED = [
    ("type_errorType", ErrorType),
    ("type_messageStatus", MessageStatus),
    ("type_reasonForMessage", ReasonForMessage),
    ("type_requestType", RequestType),
    ("type_requestSubType", RequestSubType),
    ("type_serviceType", ServiceType),
]


@pytest.mark.parametrize("version", list(Version))
@pytest.mark.parametrize(("type_name", "enum"), CLOSED)
def test_closed_vocabularies_equal_the_schemas(
    version: Version, type_name: str, enum: type, xsd_dir: Path
) -> None:
    assert _enumeration(xsd_dir / version.schema_file, type_name) == {m.value for m in enum}


@pytest.mark.parametrize("version", list(Version))
def test_status_values_per_version_equal_the_schemas(version: Version, xsd_dir: Path) -> None:
    assert _enumeration(xsd_dir / version.schema_file, "type_status") == {
        s.value for s in statuses_for(version)
    }


@pytest.mark.parametrize("version", list(Version))
def test_action_values_per_version_equal_the_schemas(version: Version, xsd_dir: Path) -> None:
    assert _enumeration(xsd_dir / version.schema_file, "type_action") == {
        a.value for a in actions_for(version)
    }


def test_preferred_edition_equals_the_2021_schema(xsd_dir: Path) -> None:
    assert _enumeration(xsd_dir / Version.V2021.schema_file, "type_preferredEdition") == set(PreferredEdition)


def test_renew_is_an_action_in_both_versions_and_hold_return_only_in_2021() -> None:
    assert Action.RENEW in actions_for(Version.V2017)
    assert Action.HOLD_RETURN not in actions_for(Version.V2017)
    assert Status.RELEASE_HOLD_RETURN not in statuses_for(Version.V2017)


def test_a_2021_message_with_2021_only_data_cannot_be_built_as_2017() -> None:
    with pytest.raises(Iso18626BuildError) as caught:
        build(full_request(Version.V2021), Version.V2017)
    assert any("consortial_id" in p for p in caught.value.problems)
    assert any("author_id" in p for p in caught.value.problems)


def test_a_2021_only_action_cannot_be_sent_to_a_2017_peer() -> None:
    assert unrepresentable(full_requesting_agency_message(Version.V2021), Version.V2017)


def test_a_supplying_agency_message_without_last_change_is_not_sent() -> None:
    message = full_supplying_agency_message(Version.V2017)
    message = replace(message, status_info=replace(message.status_info, last_change=None))
    assert "status_info.last_change is required" in unrepresentable(message, Version.V2017)


def test_a_2021_request_needs_service_info() -> None:
    assert "2021 request needs service_info" in unrepresentable(
        replace(full_request(Version.V2021), service_info=None), Version.V2021
    )


def test_patron_info_is_the_only_field_marked_personal_data() -> None:
    marked = [f.name for f in fields(Request) if f.metadata.get("personal_data")]
    assert marked == ["patron_info"]
    assert PatronInfo.PERSONAL_DATA


def test_without_personal_data_drops_every_patron_value() -> None:
    request = full_request(Version.V2017)
    stripped = request.without_personal_data()
    assert stripped.patron_info is None
    assert "Ærø" not in list(iter_values(stripped))
    assert stripped.bibliographic_info == request.bibliographic_info


def test_bibliographic_info_finds_isbn_and_issn() -> None:
    bib = full_request(Version.V2017).bibliographic_info
    assert (bib.isbn, bib.issn) == ("9788702173413", "0105-0931")


def test_the_xsd_folder_is_found_by_walking_up_from_the_package(
    monkeypatch: pytest.MonkeyPatch, xsd_dir: Path
) -> None:
    monkeypatch.delenv(schema.XSD_DIR_ENV, raising=False)
    assert find_xsd_dir().resolve() == xsd_dir.resolve()


def test_the_xsd_folder_can_be_set_by_environment(monkeypatch: pytest.MonkeyPatch, xsd_dir: Path) -> None:
    monkeypatch.setenv(schema.XSD_DIR_ENV, str(xsd_dir))
    data = build(full_request(Version.V2017), Version.V2017)
    assert validate(data, Version.V2017) == []


def test_without_an_xsd_validation_is_unavailable_but_building_works(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(schema.XSD_DIR_ENV, str(tmp_path))
    data = build(full_request(Version.V2017), Version.V2017)
    with pytest.raises(XsdUnavailableError, match=schema.XSD_DIR_ENV):
        validate(data, Version.V2017)


def test_validation_reports_what_is_wrong(xsd_dir: Path) -> None:
    data = build(full_request(Version.V2017), Version.V2017)
    errors = validate(data, Version.V2021, xsd_dir=xsd_dir)
    assert errors and all(e.startswith("line ") for e in errors)


def test_validation_of_unreadable_bytes_reports_instead_of_raising(xsd_dir: Path) -> None:
    assert validate(b"<oops", Version.V2017, xsd_dir=xsd_dir)


def test_the_schemas_are_not_copied_into_the_project() -> None:
    repo = Path(__file__).resolve().parents[3]
    assert not list((repo / "src").rglob("*.xsd"))
