"""Hostile XML is refused with BadlyFormedMessage and never expanded, fetched or followed."""

from __future__ import annotations

import pytest

from fjernlaan.iso18626.model import ErrorType, Iso18626Error, Version
from fjernlaan.iso18626.reader import parse, sniff_message_kind
from fjernlaan.iso18626.writer import build
from iso18626_examples import full_requesting_agency_message

RAM = build(full_requesting_agency_message(Version.V2017), Version.V2017)


def _refused(data: bytes, **kwargs: int) -> Iso18626Error:
    with pytest.raises(Iso18626Error) as caught:
        parse(data, **kwargs)
    assert caught.value.error_type is ErrorType.BADLY_FORMED_MESSAGE
    return caught.value


def _with_doctype(doctype: str, note: str) -> bytes:
    body = RAM.split(b"?>", 1)[1].replace(b"<note>", b"<note>" + note.encode() + b" ", 1)
    return b'<?xml version="1.0" encoding="UTF-8"?>' + doctype.encode() + body


def test_external_entity_to_a_local_file_is_refused_not_read() -> None:
    data = _with_doctype('<!DOCTYPE ISO18626Message [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;")
    error = _refused(data)
    assert "root:" not in error.value
    assert "DOCTYPE" in error.value


def test_billion_laughs_is_refused_without_expanding() -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    error = _refused(_with_doctype(f"<!DOCTYPE ISO18626Message [{entities}]>", "&lol9;"))
    assert len(error.value) < 500


def test_external_dtd_is_refused_and_not_fetched() -> None:
    # Port 9 (discard) on localhost: were it fetched, the test would hang or fail on a network error.
    _refused(_with_doctype('<!DOCTYPE ISO18626Message SYSTEM "http://127.0.0.1:9/iso.dtd">', ""))


def test_parameter_entity_from_the_network_is_refused() -> None:
    _refused(_with_doctype('<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>', ""))


def test_message_over_the_size_limit_is_refused_before_parsing() -> None:
    error = _refused(RAM + b" " * 100, max_bytes=len(RAM) + 99)
    assert "limit" in error.value


def test_default_size_limit_is_one_megabyte() -> None:
    padded = RAM.replace(b"<note>", b"<note>" + b"x" * 1_000_001, 1)
    _refused(padded)


def test_message_nested_too_deep_is_refused() -> None:
    deep = b"<a>" * 40 + b"</a>" * 40
    data = RAM.replace(b"<note>", b"<note>" + deep, 1)
    assert "deeper" in _refused(data).value


def test_depth_limit_is_configurable() -> None:
    _refused(RAM, max_depth=3)


def test_not_xml_is_badly_formed() -> None:
    _refused(b"this is not xml")


def test_empty_body_is_badly_formed() -> None:
    _refused(b"")


def test_truncated_message_is_badly_formed_but_its_kind_is_sniffed() -> None:
    error = _refused(RAM[: len(RAM) // 2])
    assert error.message_kind == "requestingAgencyMessage"


def test_unknown_root_element_is_badly_formed() -> None:
    _refused(b'<lendMeABook xmlns="http://illtransactions.org/2013/iso18626"/>')


def test_wrapper_with_two_messages_is_badly_formed() -> None:
    inner = RAM.split(b"<requestingAgencyMessage>", 1)[1].split(b"</ISO18626Message>")[0]
    twice = RAM.replace(b"</ISO18626Message>", b"<requestingAgencyMessage>" + inner + b"</ISO18626Message>")
    _refused(twice)


def test_sniffing_only_reads_the_start_of_the_bytes() -> None:
    assert sniff_message_kind(b" " * 5000 + b"<request>") is None
    assert sniff_message_kind(b"<ill:supplyingAgencyMessage>") == "supplyingAgencyMessage"


def test_parse_refuses_text_instead_of_bytes() -> None:
    with pytest.raises(TypeError):
        parse(RAM.decode())  # type: ignore[arg-type]
