"""One test per input defect of issue 12 (defects 8 and 9) that the corpus does not already show, and
a structural check that keeps every field of the API bounded."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine, text

from fjernlaan.app.factory import create_app
from fjernlaan.app.migrate import upgrade
from fjernlaan.db.engine import make_engine
from fjernlaan.directory.service import import_libraries, parse_rows, to_csv
from fjernlaan.fields import Fee, Isil, Name, SaneDate, Text
from fjernlaan.limits import spreadsheet_safe, text_problem
from fjernlaan.network import atom, calendar_feed
from fjernlaan.network.model import Body, BodyKind, Meeting, MeetingSession, Minutes
from fjernlaan.settings import Settings
from support import BACKENDS, drop_postgres_schema, new_postgres_schema_engine, require_postgres


class _Probe(BaseModel):
    name: Name | None = None
    text: Text | None = None
    isil: Isil | None = None
    fee: Fee | None = None
    day: SaneDate | None = None


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "a\r\nBcc: x@example.dk"},
        {"name": "\u202eevil"},
        {"name": "x" * 201},
        {"text": "a\x00b"},
        {"text": "a\x0bb"},
        {"text": "x" * 10_001},
        {"isil": "dk-71"},
        {"fee": float("inf")},
        {"fee": float("nan")},
        {"fee": 1e308},
        {"day": date(9999, 12, 31)},
        {"day": date(1, 1, 1)},
    ],
)
def test_the_shared_types_refuse_what_nobody_should_store(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _Probe(**fields)


def test_the_shared_types_keep_what_is_fine() -> None:
    probe = _Probe(
        name="Ærø Bibliotek", text="Linje 1\nLinje 2\tmed tab", isil="se-l", fee=25.0, day=date(2027, 1, 4)
    )
    assert (probe.name, probe.isil, probe.fee) == ("Ærø Bibliotek", "SE-L", 25.0)
    assert text_problem("Å\u030a", one_line=True) is None


def _schemas_strings(
    schema: dict[str, Any], spec: dict[str, Any], seen: set[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return
        seen.add(name)
        yield from _schemas_strings(spec["components"]["schemas"][name], spec, seen)
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, ()):
            yield from _schemas_strings(option, spec, seen)
    if "items" in schema:
        yield from _schemas_strings(schema["items"], spec, seen)
    for prop, sub in schema.get("properties", {}).items():
        for where, leaf in _schemas_strings(sub, spec, seen):
            yield f"{prop}.{where}" if where else prop, leaf
    if schema.get("type") in ("string", "integer", "number", "array"):
        yield "", schema


def _unbounded(leaf: dict[str, Any]) -> bool:
    kind = leaf.get("type")
    if kind == "string":
        bounded = (
            "maxLength" in leaf or "enum" in leaf or leaf.get("format") in ("date", "date-time", "email")
        )
        return not bounded
    if kind in ("integer", "number"):
        return "maximum" not in leaf and "exclusiveMaximum" not in leaf
    if kind == "array":
        return "maxItems" not in leaf
    return False


def test_every_field_the_api_takes_is_bounded() -> None:
    # A string without a maximum length, a number without a maximum or a list without a maximum size
    # is how 10 MB names and 2**63 ids got in; a new field without one fails here.
    spec = create_app(Settings(database_url="sqlite://", secret_key="schema-only")).openapi()
    unbounded = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                for _, leaf in _schemas_strings(parameter["schema"], spec, set()):
                    if _unbounded(leaf):
                        unbounded.append(f"{method.upper()} {path} ?{parameter['name']}")
            for media in operation.get("requestBody", {}).get("content", {}).values():
                if "application/json" not in str(media) and "schema" not in media:
                    continue
                for where, leaf in _schemas_strings(media.get("schema", {}), spec, set()):
                    if where and _unbounded(leaf):
                        unbounded.append(f"{method.upper()} {path} body.{where}")
    assert not unbounded, "unbounded input fields:\n" + "\n".join(sorted(set(unbounded)))


def test_csv_export_escapes_spreadsheet_formulas() -> None:
    rows = [
        {
            "isil": "DK-799999",
            "name": '=HYPERLINK("http://evil")',
            "type": "public",
            "email": "@x",
            "active": True,
        },
        {"isil": "DK-799998", "name": "+1", "type": "public", "active": True},
        {"isil": "DK-799997", "name": "-1", "type": "public", "active": True},
        {"isil": "DK-799996", "name": "\tTab", "type": "public", "active": True},
        {"isil": "DK-799995", "name": "Ærø", "type": "public", "active": True},
    ]
    names = [row["name"] for row in csv.DictReader(io.StringIO(to_csv(rows)))]
    assert names == ['\'=HYPERLINK("http://evil")', "'+1", "'-1", "'\tTab", "Ærø"]
    assert spreadsheet_safe("DK-710100") == "DK-710100"


def test_a_bad_boolean_in_a_csv_import_is_refused_with_its_row(seeded: Any) -> None:
    text_ = "isil,name,type,active\nDK-799999,Bib,public,true\nDK-799998,Bib,public,maybe\n"
    with seeded.unit_of_work() as session:
        report = import_libraries(session, parse_rows(text_, "csv"))
    assert report.created == 1
    assert len(report.skipped) == 1
    position, reason = report.skipped[0]
    assert position == 2 and "active" in reason and "maybe" in reason


def _body(mandate: str) -> Body:
    return Body(id=7, name="Netværket", kind=BodyKind.NETWORK, mandate=mandate)


def test_a_control_character_stored_in_a_mandate_does_not_break_the_atom_feed() -> None:
    published = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    meeting = Meeting(
        id=1,
        body_id=7,
        title="Møde",
        sessions=(MeetingSession("a", "", datetime(2026, 3, 1, 10), datetime(2026, 3, 1, 12)),),
    )
    minutes = Minutes(id=3, meeting_id=1, body_id=7, text_md="Referat\x01", published_at=published)
    feed = atom.minutes_feed(
        _body("Mandat\x0b med \x00 tegn"),
        [(meeting, minutes)],
        base_url="https://hub.example",
        author="x",
        now=published,
    )
    parsed = etree.fromstring(feed)
    assert "Mandat med  tegn" in etree.tostring(parsed, encoding="unicode")


def test_a_meeting_stored_at_the_end_of_the_calendar_does_not_break_the_body_feed() -> None:
    last = MeetingSession("a", "", datetime(9999, 12, 31, 10), datetime(9999, 12, 31, 12))
    first = MeetingSession("b", "", datetime(1, 1, 2, 10), datetime(1, 1, 2, 12))
    real = MeetingSession("c", "Øst", datetime(2027, 3, 1, 10), datetime(2027, 3, 1, 12))
    meeting = Meeting(id=1, body_id=7, title="Møde", sessions=(first, real, last))
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    feed = calendar_feed.body_feed(_body(""), [meeting], domain="hub.example", stamp=stamp)
    assert feed.count(b"BEGIN:VEVENT") == 1
    assert b"DTSTART;TZID=Europe/Copenhagen:20270301T100000" in feed


@pytest.fixture(params=BACKENDS)
def engine_at_0009(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        upgrade(engine, "0009")
        yield engine
        engine.dispose()
        return
    url = require_postgres()
    engine, schema = new_postgres_schema_engine(url)
    upgrade(engine, "0009")
    yield engine
    engine.dispose()
    drop_postgres_schema(url, schema)


def test_the_migration_stores_isils_in_canonical_form(engine_at_0009: Engine) -> None:
    with engine_at_0009.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO libraries (isil, name, type, active, created_at, updated_at) "
                "VALUES ('SE-Lu', 'Lund', 'foreign', true, '2026-01-01', '2026-01-01'), "
                "('DK-710100', 'København', 'public', true, '2026-01-01', '2026-01-01')"
            )
        )
        connection.execute(text("UPDATE libraries SET central_isil = 'SE-Lu' WHERE isil = 'DK-710100'"))
    upgrade(engine_at_0009)
    with engine_at_0009.connect() as connection:
        isils = sorted(connection.scalars(text("SELECT isil FROM libraries")))
        central = connection.scalar(text("SELECT central_isil FROM libraries WHERE isil = 'DK-710100'"))
    assert isils == ["DK-710100", "SE-LU"]
    assert central == "SE-LU"
