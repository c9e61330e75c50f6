"""SRU 2.0 at `/sru` (answering SRU 1.1/1.2 requests in their own namespace): explain and searchRetrieve.

Queries are CQL (`catalogue.cqlquery`); records come as MARCXML or Dublin Core, packed as XML or as
an escaped string. Every problem is an SRU diagnostic in an HTTP 200 answer, as the standard asks.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from lxml import etree
from sqlalchemy.orm import Session

from fjernlaan.catalogue.cqlquery import INDEXES, CqlDiagnostic, translate
from fjernlaan.catalogue.model import Record
from fjernlaan.catalogue.search import search
from fjernlaan.web.deps import ReadOnlySessionDep

router = APIRouter(tags=["sru"])

SRU2_NS = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
SRU1_NS = "http://www.loc.gov/zing/srw/"
DIAG2_NS = "http://docs.oasis-open.org/ns/search-ws/diagnostic"
DIAG1_NS = "http://www.loc.gov/zing/srw/diagnostic/"
ZEEREX_NS = "http://explain.z3950.org/dtd/2.0/"
MARC_NS = "http://www.loc.gov/MARC21/slim"
DC_NS = "http://purl.org/dc/elements/1.1/"
SRW_DC_NS = "info:srw/schema/1/dc-schema"

MARCXML_SCHEMA = "info:srw/schema/1/marcxml-v1.1"
DC_SCHEMA = "info:srw/schema/1/dc-v1.1"
_SCHEMAS = {
    "marcxml": MARCXML_SCHEMA,
    "marc21": MARCXML_SCHEMA,
    "marc21xml": MARCXML_SCHEMA,
    MARCXML_SCHEMA: MARCXML_SCHEMA,
    "info:srw/schema/1/marcxml-v1.2": MARCXML_SCHEMA,
    "dc": DC_SCHEMA,
    DC_SCHEMA: DC_SCHEMA,
}
DEFAULT_MAXIMUM = 10
MAXIMUM = 100
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class _Diagnostic(Exception):
    def __init__(self, code: int, message: str, details: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


class _Answer:
    """Builds a response in the namespace of the SRU version asked for."""

    def __init__(self, version: str) -> None:
        self.v2 = not version.startswith("1.")
        self.version = "2.0" if self.v2 else "1.2"
        self.ns = SRU2_NS if self.v2 else SRU1_NS
        self.diag_ns = DIAG2_NS if self.v2 else DIAG1_NS

    def root(self, name: str) -> etree._Element:
        root = etree.Element(f"{{{self.ns}}}{name}", nsmap={"sru" if self.v2 else "srw": self.ns})
        self.add(root, "version", self.version)
        return root

    def add(self, parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        element = etree.SubElement(parent, f"{{{self.ns}}}{name}")
        if text is not None:
            element.text = text
        return element

    def diagnostics(self, parent: etree._Element, problem: _Diagnostic) -> None:
        holder = self.add(parent, "diagnostics")
        diag = etree.SubElement(holder, f"{{{self.diag_ns}}}diagnostic", nsmap={"diag": self.diag_ns})
        etree.SubElement(diag, f"{{{self.diag_ns}}}uri").text = f"info:srw/diagnostic/1/{problem.code}"
        if problem.details:
            etree.SubElement(diag, f"{{{self.diag_ns}}}details").text = problem.details
        etree.SubElement(diag, f"{{{self.diag_ns}}}message").text = problem.message


def _xml(root: etree._Element) -> Response:
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return Response(content=body, media_type="application/xml; charset=utf-8")


def _int(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _Diagnostic(6, f"{name} must be a whole number", name) from None
    if value < (1 if name == "startRecord" else 0):
        raise _Diagnostic(6, f"{name} is out of range", name)
    return value


def _marcxml(record: Record) -> etree._Element:
    if record.marcxml:
        try:
            return etree.fromstring(record.marcxml.encode("utf-8"), _SAFE_XML)
        except etree.XMLSyntaxError:
            pass
    # Records without a stored source (e.g. generated demo titles): a minimal MARC21 record.
    root = etree.Element(f"{{{MARC_NS}}}record", nsmap={"marc": MARC_NS})
    etree.SubElement(root, f"{{{MARC_NS}}}leader").text = "00000nam a2200000 a 4500"
    etree.SubElement(root, f"{{{MARC_NS}}}controlfield", tag="001").text = record.record_id

    def datafield(tag: str, code: str, value: str) -> None:
        field = etree.SubElement(root, f"{{{MARC_NS}}}datafield", tag=tag, ind1=" ", ind2=" ")
        etree.SubElement(field, f"{{{MARC_NS}}}subfield", code=code).text = value

    for isbn in record.isbns:
        datafield("020", "a", isbn)
    for issn in record.issns:
        datafield("022", "a", issn)
    if record.creators:
        datafield("100", "a", record.creators[0])
    datafield("245", "a", record.title)
    if record.publisher or record.year:
        field = etree.SubElement(root, f"{{{MARC_NS}}}datafield", tag="260", ind1=" ", ind2=" ")
        if record.publisher:
            etree.SubElement(field, f"{{{MARC_NS}}}subfield", code="b").text = record.publisher
        if record.year:
            etree.SubElement(field, f"{{{MARC_NS}}}subfield", code="c").text = str(record.year)
    for subject in record.subjects:
        datafield("650", "a", subject)
    for creator in record.creators[1:]:
        datafield("700", "a", creator)
    return root


def _dc(record: Record, pk: int) -> etree._Element:
    root = etree.Element(f"{{{SRW_DC_NS}}}dc", nsmap={"srw_dc": SRW_DC_NS, "dc": DC_NS})

    def add(name: str, value: str | None) -> None:
        if value:
            etree.SubElement(root, f"{{{DC_NS}}}{name}").text = value

    add("title", " : ".join(t for t in (record.title, record.subtitle) if t))
    for creator in record.creators:
        add("creator", creator)
    for subject in record.subjects:
        add("subject", subject)
    add("publisher", record.publisher)
    add("date", str(record.year) if record.year else None)
    add("type", record.material_type.value)
    add("language", record.language)
    add("identifier", f"rec.id:{pk}")
    for isbn in record.isbns:
        add("identifier", f"URN:ISBN:{isbn}")
    for issn in record.issns:
        add("identifier", f"URN:ISSN:{issn}")
    return root


def _explain(answer: _Answer, request: Request) -> etree._Element:
    root = answer.root("explainResponse")
    record = answer.add(root, "record")
    answer.add(record, "recordSchema", "http://explain.z3950.org/dtd/2.0/")
    answer.add(record, "recordXMLEscaping" if answer.v2 else "recordPacking", "xml")
    data = answer.add(record, "recordData")
    z = f"{{{ZEEREX_NS}}}"
    explain = etree.SubElement(data, f"{z}explain", nsmap={"zr": ZEEREX_NS})
    server = etree.SubElement(explain, f"{z}serverInfo", protocol="SRU", version=answer.version)
    etree.SubElement(server, f"{z}host").text = request.url.hostname or "localhost"
    etree.SubElement(server, f"{z}port").text = str(request.url.port or 80)
    etree.SubElement(server, f"{z}database").text = "sru"
    database = etree.SubElement(explain, f"{z}databaseInfo")
    etree.SubElement(database, f"{z}title", lang="en", primary="true").text = "fjernlaan union catalogue"
    etree.SubElement(database, f"{z}title", lang="da").text = "fjernlaan samkatalog"
    index_info = etree.SubElement(explain, f"{z}indexInfo")
    for name, identifier in (
        ("cql", "info:srw/cql-context-set/1/cql-v1.2"),
        ("dc", "info:srw/cql-context-set/1/dc-v1.1"),
        ("bath", "http://zing.z3950.org/cql/bath/2.0/"),
        ("rec", "info:srw/cql-context-set/2/rec-1.1"),
    ):
        etree.SubElement(index_info, f"{z}set", name=name, identifier=identifier)
    for full in INDEXES:
        prefix, _, name = full.partition(".")
        index = etree.SubElement(index_info, f"{z}index", search="true", sort="false")
        etree.SubElement(index, f"{z}title").text = full
        etree.SubElement(etree.SubElement(index, f"{z}map"), f"{z}name", set=prefix).text = name
    schemas = etree.SubElement(explain, f"{z}schemaInfo")
    for name, identifier, title in (
        ("marcxml", MARCXML_SCHEMA, "MARCXML (MarcXchange for danMARC2 records)"),
        ("dc", DC_SCHEMA, "Dublin Core"),
    ):
        schema = etree.SubElement(schemas, f"{z}schema", identifier=identifier, name=name, retrieve="true")
        etree.SubElement(schema, f"{z}title").text = title
    config = etree.SubElement(explain, f"{z}configInfo")
    etree.SubElement(config, f"{z}default", type="numberOfRecords").text = str(DEFAULT_MAXIMUM)
    etree.SubElement(config, f"{z}setting", type="maximumRecords").text = str(MAXIMUM)
    etree.SubElement(config, f"{z}supports", type="sort").text = "dc.title dc.creator dc.date"
    return root


def _search_retrieve(answer: _Answer, params: Mapping[str, str], session: Session) -> etree._Element:
    root = answer.root("searchRetrieveResponse")
    try:
        query_text = params.get("query")
        if query_text is None or not query_text.strip():
            raise _Diagnostic(7, "mandatory parameter not supplied", "query")
        start = _int(params, "startRecord", 1)
        maximum = min(_int(params, "maximumRecords", DEFAULT_MAXIMUM), MAXIMUM)
        schema_name = params.get("recordSchema") or "marcxml"
        schema = _SCHEMAS.get(schema_name.lower()) or _SCHEMAS.get(schema_name)
        if schema is None:
            raise _Diagnostic(66, "unknown schema for retrieval; use marcxml or dc", schema_name)
        packing_name = "recordXMLEscaping" if answer.v2 else "recordPacking"
        packing = params.get(packing_name) or (params.get("recordPacking") if answer.v2 else None) or "xml"
        if answer.v2 and packing in ("packed", "unpacked"):
            packing = params.get("recordXMLEscaping") or "xml"
        if packing not in ("xml", "string"):
            raise _Diagnostic(71, "unsupported record packing; use xml or string", packing)
        try:
            translated = translate(query_text)
        except CqlDiagnostic as exc:
            raise _Diagnostic(exc.code, exc.message, exc.details) from exc
        result = search(session, translated.query, sort=translated.sort, limit=maximum, offset=start - 1)
    except _Diagnostic as problem:
        answer.add(root, "numberOfRecords", "0")
        answer.diagnostics(root, problem)
        return root
    answer.add(root, "numberOfRecords", str(result.total))
    if result.total and start > result.total:
        answer.diagnostics(root, _Diagnostic(61, "first record position out of range", str(start)))
        return root
    if result.hits:
        records = answer.add(root, "records")
        for position, hit in enumerate(result.hits, start=start):
            element = answer.add(records, "record")
            answer.add(element, "recordSchema", schema)
            answer.add(element, packing_name, packing)
            data = answer.add(element, "recordData")
            content = _marcxml(hit.record) if schema == MARCXML_SCHEMA else _dc(hit.record, hit.record_pk)
            if packing == "string":
                data.text = etree.tostring(content, encoding="unicode")
            else:
                data.append(content)
            answer.add(element, "recordPosition", str(position))
    following = start + len(result.hits)
    if following <= result.total and result.hits:
        answer.add(root, "nextRecordPosition", str(following))
    return root


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if request.method == "POST":
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


@router.api_route("/sru", methods=["GET", "POST"], summary="SRU 2.0 (and 1.2): explain and searchRetrieve")
async def sru(request: Request, session: ReadOnlySessionDep) -> Response:
    params = await _params(request)
    version = params.get("version") or "2.0"
    answer = _Answer(version)
    operation = params.get("operation") or ("searchRetrieve" if "query" in params else "explain")
    if version not in ("1.1", "1.2", "2.0"):
        root = answer.root("explainResponse" if operation == "explain" else "searchRetrieveResponse")
        answer.diagnostics(root, _Diagnostic(5, "unsupported version; use 1.2 or 2.0", "2.0"))
        return _xml(root)
    if operation == "explain":
        return _xml(_explain(answer, request))
    if operation == "searchRetrieve":
        # The search talks to the database: in the thread pool, never blocking the event loop.
        return _xml(await run_in_threadpool(_search_retrieve, answer, params, session))
    root = answer.root("searchRetrieveResponse")
    answer.diagnostics(
        root, _Diagnostic(4, "unsupported operation; use explain or searchRetrieve", operation)
    )
    return _xml(root)
