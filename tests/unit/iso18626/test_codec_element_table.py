"""The codec's element table against the official XSDs of both versions.

The reader knows, at each place, the union of the child elements the 2017 and 2021 schemas allow
there (:data:`fjernlaan.iso18626.reader.ELEMENT_TABLE`); everything else is an unknown element. The
writer writes, in each version, only elements that version's schema has at that place, with a value
of the schema's type there. Skipped when ../shared/reference/iso18626 is not available.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from fjernlaan.iso18626.model import NAMESPACE, Version
from fjernlaan.iso18626.reader import ELEMENT_TABLE
from fjernlaan.iso18626.writer import build
from iso18626_examples import all_examples

XS = "{http://www.w3.org/2001/XMLSchema}"
NS = "{" + NAMESPACE + "}"

#: At each place (an element name, or a named complexType), each child element with its XSD type(s).
Places = dict[str, dict[str, set[str]]]


@cache
def xsd_places(path: Path) -> Places:
    """Every place the schema defines, with the children it allows there (a child declared inline
    has the type ``(complex)`` or ``(simple)``)."""
    root = etree.parse(str(path)).getroot()
    elements = {e.get("name"): e for e in root.findall(f"{XS}element")}
    types = {t.get("name"): t for t in root.findall(f"{XS}complexType")}
    places: Places = defaultdict(lambda: defaultdict(set))
    walked: set[tuple[str, int]] = set()

    def declared(node: etree._Element) -> tuple[str, etree._Element]:
        ref = node.get("ref")
        return (ref, elements[ref]) if ref else (node.get("name"), node)

    def type_of(decl: etree._Element) -> str:
        if decl.get("type"):
            return str(decl.get("type"))
        return "(complex)" if decl.find(f"{XS}complexType") is not None else "(simple)"

    def walk(name: str, decl: etree._Element) -> None:
        type_name = decl.get("type")
        content = types.get(type_name) if type_name else decl.find(f"{XS}complexType")
        if content is None or (name, id(content)) in walked:
            return
        walked.add((name, id(content)))
        for node in content.iter(f"{XS}element"):
            child_name, child = declared(node)
            for place in (name, type_name):
                if place:
                    places[place][child_name].add(type_of(child))
            walk(child_name, child)

    for name, decl in elements.items():
        walk(name, decl)
    return places


@pytest.fixture(scope="module")
def schemas(xsd_dir: Path) -> dict[Version, Places]:
    return {version: xsd_places(xsd_dir / version.schema_file) for version in Version}


@pytest.mark.parametrize("place", sorted(ELEMENT_TABLE))
def test_the_element_table_is_what_the_two_schemas_allow_at_each_place(
    schemas: dict[Version, Places], place: str
) -> None:
    known = ELEMENT_TABLE[place]
    by_version = {version: set(schemas[version].get(place, {})) for version in Version}
    assert any(by_version.values()), f"{place} is in neither schema"
    for version, allowed in by_version.items():
        assert allowed <= known, f"{version.value} allows {sorted(allowed - known)} in {place}"
    in_neither = known - set().union(*by_version.values())
    assert not in_neither, f"{sorted(in_neither)} in {place}: in neither schema"


def _written(element: etree._Element) -> Iterator[tuple[str, etree._Element]]:
    """Every element below ``element`` with the local name of its parent."""
    for child in element:
        assert isinstance(child.tag, str) and child.tag.startswith(NS), child.tag
        yield str(element.tag)[len(NS) :], child
        yield from _written(child)


@pytest.mark.parametrize("version", list(Version))
def test_every_element_the_writer_writes_is_in_that_versions_schema_at_that_place(
    schemas: dict[Version, Places], version: Version
) -> None:
    places = schemas[version]
    for name, message in all_examples(version).items():
        root = etree.fromstring(build(message, version))
        for parent, child in _written(root):
            local = str(child.tag)[len(NS) :]
            types = places.get(parent, {}).get(local)
            assert types, f"{name}: {version.value} has no {local} in {parent}"
            has_children = len(child) > 0
            # An element written with children is of a complex type, one written with text of a
            # simple one (a scheme/value pair is text with an attribute).
            complex_types = {t for t in types if t == "(complex)" or t in places}
            assert has_children == bool(complex_types), f"{name}: {parent}/{local} written as {types}"
