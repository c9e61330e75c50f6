"""What we build parses back to the same message, in the version we built it for, and is schema-valid."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fjernlaan.iso18626.model import Message, Version
from fjernlaan.iso18626.reader import parse
from fjernlaan.iso18626.schema import validate
from fjernlaan.iso18626.writer import build, build_validated
from iso18626_examples import all_examples, full_request, messages

EXAMPLES = [(version, name) for version in Version for name in all_examples(version)]


@pytest.mark.parametrize(("version", "name"), EXAMPLES)
def test_every_message_type_round_trips_in_both_versions(version: Version, name: str) -> None:
    message = all_examples(version)[name]
    parsed = parse(build(message, version))
    assert parsed.message == message
    assert parsed.version is version


@pytest.mark.parametrize(("version", "name"), EXAMPLES)
def test_every_message_we_build_is_valid_against_the_official_xsd(
    version: Version, name: str, xsd_dir: Path
) -> None:
    assert validate(build(all_examples(version)[name], version), version, xsd_dir=xsd_dir) == []


@pytest.mark.parametrize(("version", "name"), EXAMPLES)
def test_the_outbox_checks_the_tree_it_built_and_sends_the_same_bytes(
    version: Version, name: str, xsd_dir: Path
) -> None:
    message = all_examples(version)[name]
    assert build_validated(message, version, xsd_dir=xsd_dir) == (build(message, version), [])


@pytest.mark.parametrize("version", list(Version))
def test_danish_letters_in_title_and_note_survive_the_round_trip(version: Version) -> None:
    data = build(full_request(version), version)
    parsed = parse(data).message
    assert "Låneren ønsker".encode() in data  # written as UTF-8, not as character references
    assert parsed.bibliographic_info.title == "Kongens Fald"  # type: ignore[union-attr]
    assert parsed.service_info.note == "Låneren ønsker bogen på dansk; æøå ÆØÅ"  # type: ignore[union-attr]
    assert parsed.patron_info.surname == "Ærø"  # type: ignore[union-attr]


@pytest.mark.parametrize("version", list(Version))
def test_we_write_the_iso18626message_wrapper_with_the_qualified_version_attribute(version: Version) -> None:
    data = build(full_request(version), version)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert f'ill:version="{version.version_attribute}"'.encode() in data


@pytest.mark.parametrize("version", list(Version))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_valid_messages_round_trip_and_validate(
    version: Version, data: st.DataObject, xsd_dir: Path
) -> None:
    message: Message = data.draw(messages(version))
    xml = build(message, version)
    parsed = parse(xml)
    assert parsed.message == message
    assert parsed.version is version
    assert validate(xml, version, xsd_dir=xsd_dir) == []
