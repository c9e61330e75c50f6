"""Search through REST and SRU on both databases: ranking, filters, facets, paging, Danish folding, errors."""

from __future__ import annotations

from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import text

from fjernlaan.catalogue.model import Holding, Record
from fjernlaan.catalogue.service import upsert_record
from fjernlaan.db.uow import Database
from fjernlaan.directory.model import MaterialType

SRU1 = {"srw": "http://www.loc.gov/zing/srw/", "diag": "http://www.loc.gov/zing/srw/diagnostic/"}
SRU2 = {
    "sru": "http://docs.oasis-open.org/ns/search-ws/sruResponse",
    "diag": "http://docs.oasis-open.org/ns/search-ws/diagnostic",
}


def _catalogue(db: Database) -> dict[str, int]:
    records = [
        (
            Record(
                "1",
                "Århus i gamle dage",
                "DK-710100",
                creators=("Ørsted, Hans",),
                year=1950,
                language="dan",
                subjects=("Lokalhistorie",),
                isbns=("9788702173437",),
            ),
            [Holding("DK-775100", copies=2, available=0)],
        ),
        (
            Record("2", "Aarhus guide", "DK-710100", creators=("Smith, John",), year=2010, language="eng"),
            [Holding("DK-710100", copies=1, available=1)],
        ),
        (
            Record(
                "3",
                "Guide til Aarhus og Århus-egnen",
                "DK-710100",
                year=2020,
                language="dan",
                material_type=MaterialType.MAP,
            ),
            [Holding("DK-785100", copies=1, available=1)],
        ),
        (
            Record(
                "4",
                "Kærlighed og æbler",
                "DK-710100",
                creators=("Blixen, Karen",),
                year=1999,
                language="dan",
                subjects=("Aarhus",),
            ),
            [Holding("DK-710100", copies=1, available=1)],
        ),
    ]
    pks = {}
    with db.unit_of_work() as session:
        for record, holdings in records:
            pks[record.record_id] = upsert_record(session, record, holdings).record_pk
    return pks


def test_aarhus_and_aarhus_with_aa_find_the_same_records(client: TestClient, seeded: Database) -> None:
    _catalogue(seeded)
    one = client.get("/api/v1/records", params={"q": "Århus"}).json()
    two = client.get("/api/v1/records", params={"q": "AARHUS"}).json()
    assert one["total"] == two["total"] == 4
    assert [i["id"] for i in one["items"]] == [i["id"] for i in two["items"]]


def test_ae_and_oe_fold_like_the_danish_letters(client: TestClient, seeded: Database) -> None:
    _catalogue(seeded)
    assert client.get("/api/v1/records", params={"q": "kaerlighed aebler"}).json()["total"] == 1
    assert client.get("/api/v1/records", params={"q": "oersted"}).json()["items"][0]["creators"] == [
        "Ørsted, Hans"
    ]


def test_a_title_match_ranks_above_a_subject_match(client: TestClient, seeded: Database) -> None:
    pks = _catalogue(seeded)
    items = client.get("/api/v1/records", params={"q": "aarhus"}).json()["items"]
    assert items[-1]["id"] == pks["4"]


def test_filters_narrow_by_type_language_year_region_and_availability(
    client: TestClient, seeded: Database
) -> None:
    pks = _catalogue(seeded)

    def ids(**params: object) -> set[int]:
        return {
            i["id"] for i in client.get("/api/v1/records", params={"q": "aarhus", **params}).json()["items"]
        }

    assert ids(material_type="map") == {pks["3"]}
    assert ids(language="eng") == {pks["2"]}
    assert ids(year_from=2000, year_to=2015) == {pks["2"]}
    assert ids(region="aalborg") == {pks["3"]}
    assert pks["1"] not in ids(available=True)


def test_facets_count_the_matching_records(client: TestClient, seeded: Database) -> None:
    _catalogue(seeded)
    body = client.get(
        "/api/v1/records", params={"q": "aarhus", "facets": ["language", "material_type"]}
    ).json()
    assert {f["value"]: f["count"] for f in body["facets"]["language"]} == {"dan": 3, "eng": 1}


def test_paging_walks_the_whole_result_once(client: TestClient, seeded: Database) -> None:
    _catalogue(seeded)
    seen = [
        i["id"]
        for offset in (0, 2)
        for i in client.get("/api/v1/records", params={"q": "aarhus", "limit": 2, "offset": offset}).json()[
            "items"
        ]
    ]
    assert len(seen) == len(set(seen)) == 4


def test_exact_isbn_lookup_takes_a_hyphenated_isbn10(client: TestClient, seeded: Database) -> None:
    pks = _catalogue(seeded)
    body = client.get("/api/v1/records", params={"isbn": "87-02-17343-3"}).json()
    assert [i["id"] for i in body["items"]] == [pks["1"]]


def test_a_record_shows_its_holdings_per_library(client: TestClient, seeded: Database) -> None:
    pks = _catalogue(seeded)
    body = client.get(f"/api/v1/records/{pks['1']}").json()
    assert body["title"] == "Århus i gamle dage"
    assert body["holdings"] == [
        {"library_isil": "DK-775100", "copies": 2, "available": 0, "circulating": True, "shelf_mark": None}
    ]


def test_a_missing_record_is_a_problem_with_its_field(client: TestClient, seeded: Database) -> None:
    response = client.get("/api/v1/records/999999")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == "record_id"


def test_bad_search_parameters_are_problems_naming_the_field(client: TestClient, seeded: Database) -> None:
    response = client.get("/api/v1/records", params={"year_from": 2000, "year_to": 1990})
    assert (response.status_code, response.json()["field"]) == (422, "year_from")
    response = client.get("/api/v1/records", params={"limit": 0})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "limit"


def _sru(client: TestClient, **params: object) -> etree._Element:
    response = client.get("/sru", params=params)
    assert response.status_code == 200
    return etree.fromstring(response.content)


def test_sru_explain_lists_the_indexes(client: TestClient, seeded: Database) -> None:
    root = _sru(client, operation="explain", version="2.0")
    names = root.xpath("//zr:index/zr:title/text()", namespaces={"zr": "http://explain.z3950.org/dtd/2.0/"})
    assert {"dc.title", "bath.isbn", "rec.id"} <= set(names)


def test_sru_search_retrieve_returns_marcxml_records(client: TestClient, seeded: Database) -> None:
    _catalogue(seeded)
    root = _sru(
        client, operation="searchRetrieve", version="1.2", query='dc.title = "århus"', maximumRecords=1
    )
    assert root.findtext("srw:numberOfRecords", namespaces=SRU1) == "3"
    assert len(root.findall("srw:records/srw:record", namespaces=SRU1)) == 1
    assert root.findtext("srw:nextRecordPosition", namespaces=SRU1) == "2"
    assert root.xpath("//marc:record", namespaces={"marc": "http://www.loc.gov/MARC21/slim"})


def test_sru_2_returns_dublin_core_with_danish_letters(client: TestClient, seeded: Database) -> None:
    _catalogue(seeded)
    root = _sru(client, query="dc.creator = oersted and bath.isbn = 9788702173437", recordSchema="dc")
    assert root.findtext("sru:numberOfRecords", namespaces=SRU2) == "1"
    titles = root.xpath("//dc:title/text()", namespaces={"dc": "http://purl.org/dc/elements/1.1/"})
    assert titles == ["Århus i gamle dage"]


def test_sru_bad_cql_is_diagnostic_10(client: TestClient, seeded: Database) -> None:
    root = _sru(client, query="dc.title = (", version="1.2")
    assert (
        root.findtext("srw:diagnostics/diag:diagnostic/diag:uri", namespaces=SRU1)
        == "info:srw/diagnostic/1/10"
    )


def test_sru_unknown_index_is_diagnostic_16(client: TestClient, seeded: Database) -> None:
    root = _sru(client, query="foo.bar = x")
    uri = root.findtext("sru:diagnostics/diag:diagnostic/diag:uri", namespaces=SRU2)
    assert uri == "info:srw/diagnostic/1/16"


def test_sru_unknown_schema_is_diagnostic_66(client: TestClient, seeded: Database) -> None:
    root = _sru(client, query="x", recordSchema="mods")
    assert (
        root.findtext("sru:diagnostics/diag:diagnostic/diag:uri", namespaces=SRU2)
        == "info:srw/diagnostic/1/66"
    )


def test_sru_answers_while_a_writer_holds_the_database(client: TestClient, seeded: Database) -> None:
    # SRU only reads: it must not queue behind (or, on the event loop, stall) a writer. The writer
    # here keeps its transaction open until SRU has answered.
    _catalogue(seeded)
    with seeded.unit_of_work() as writer:
        writer.execute(text("UPDATE records SET title = title WHERE id = -1"))
        root = _sru(client, query='dc.title = "århus"', maximumRecords=1)
    assert root.findtext("sru:numberOfRecords", namespaces=SRU2) == "3"
