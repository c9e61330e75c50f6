"""REST routes of the union catalogue: `GET /api/v1/records` (search) and `GET /api/v1/records/{id}`.

The catalogue is public, as union catalogues are (bibliotek.dk shows holdings to anyone): no login.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from fjernlaan.catalogue import query as cq
from fjernlaan.catalogue import service
from fjernlaan.catalogue.model import Record
from fjernlaan.catalogue.query import And, Everything, Filters, Lookup, LookupKind, Sort, free_text
from fjernlaan.catalogue.search import FACETS, search
from fjernlaan.directory.model import MaterialType, Region
from fjernlaan.errors import DomainError
from fjernlaan.limits import INT_MAX
from fjernlaan.web.deps import SessionDep

router = APIRouter(prefix="/api/v1/records", tags=["catalogue"])


class RecordOut(BaseModel):
    """A record in the union catalogue."""

    id: int
    record_id: str
    source_library: str | None
    title: str
    subtitle: str | None
    creators: list[str]
    subjects: list[str]
    year: int | None
    publisher: str | None
    language: str | None
    material_type: MaterialType
    isbns: list[str]
    issns: list[str]
    oclc_numbers: list[str]


class HitOut(RecordOut):
    """A record in a result list, with how many libraries hold it and copies on the shelf."""

    libraries: int
    available: int


class FacetValue(BaseModel):
    """One facet value and how many matching records have it."""

    value: str
    count: int


class SearchPage(BaseModel):
    """One page of search results."""

    items: list[HitOut]
    total: int
    limit: int
    offset: int
    facets: dict[str, list[FacetValue]]


class HoldingOut(BaseModel):
    """A library's copies of the record."""

    library_isil: str
    copies: int
    available: int
    circulating: bool
    shelf_mark: str | None


class RecordDetail(RecordOut):
    """A record with every library's holding and the libraries' own record ids."""

    holdings: list[HoldingOut]
    sources: dict[str, str]


def _out(pk: int, record: Record) -> dict[str, object]:
    return {
        "id": pk,
        "record_id": record.record_id,
        "source_library": record.source_library,
        "title": record.title,
        "subtitle": record.subtitle,
        "creators": list(record.creators),
        "subjects": list(record.subjects),
        "year": record.year,
        "publisher": record.publisher,
        "language": record.language,
        "material_type": record.material_type,
        "isbns": list(record.isbns),
        "issns": list(record.issns),
        "oclc_numbers": list(record.oclc_numbers),
    }


@router.get("", response_model=SearchPage, summary="Search the union catalogue")
def search_records(
    session: SessionDep,
    q: Annotated[
        str | None, Query(max_length=500, description="free text over title, creators, subjects, ids")
    ] = None,
    isbn: Annotated[str | None, Query(max_length=40, description="exact ISBN (10 or 13, hyphens ok)")] = None,
    issn: Annotated[str | None, Query(max_length=20, description="exact ISSN")] = None,
    record_id: Annotated[
        str | None, Query(max_length=100, description="the hub's record id or a library's own id")
    ] = None,
    material_type: Annotated[
        list[MaterialType] | None, Query(max_length=50, description="repeat for several")
    ] = None,
    language: Annotated[
        list[Annotated[str, Query(max_length=3)]] | None,
        Query(max_length=50, description="ISO 639-2 code, e.g. dan; repeat for several"),
    ] = None,
    year_from: Annotated[int | None, Query(ge=1, le=9999)] = None,
    year_to: Annotated[int | None, Query(ge=1, le=9999)] = None,
    region: Annotated[Region | None, Query(description="held by a library in this region")] = None,
    held_by: Annotated[str | None, Query(max_length=16, description="held by this library (ISIL)")] = None,
    available: Annotated[bool, Query(description="only records with a copy on the shelf that lends")] = False,
    sort: Sort = Sort.RELEVANCE,
    facets: Annotated[
        list[Annotated[str, Query(max_length=40)]] | None,
        Query(max_length=20, description=f"facets to count: {', '.join(FACETS)}; repeat for several"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="hits per page, at most 100")] = 20,
    offset: Annotated[int, Query(ge=0, le=10000, description="hits to skip")] = 0,
) -> SearchPage:
    if year_from is not None and year_to is not None and year_from > year_to:
        raise DomainError("year_from must not be after year_to", field="year_from")
    for name in facets or ():
        if name not in FACETS:
            raise DomainError(f"unknown facet {name!r}; use {', '.join(FACETS)}", field="facets")
    for code in language or ():
        if len(code) != 3 or not code.isalpha():
            raise DomainError(f"language {code!r} is not a three-letter ISO 639-2 code", field="language")
    query: cq.Query = free_text(q) if q and q.strip() else Everything()
    for kind, value in ((LookupKind.ISBN, isbn), (LookupKind.ISSN, issn), (LookupKind.RECORD_ID, record_id)):
        if value:
            lookup = Lookup(kind, value)
            query = lookup if isinstance(query, Everything) else And(query, lookup)
    filters = Filters(
        material_types=tuple(material_type or ()),
        languages=tuple(c.lower() for c in language or ()),
        year_from=year_from,
        year_to=year_to,
        region=region,
        held_by=held_by.upper() if held_by else None,
        available_now=available,
    )
    result = search(
        session,
        query,
        filters,
        sort=sort,
        limit=limit,
        offset=offset,
        facets=facets or (),
        with_source=False,  # the list shows no MARC: do not read it
    )
    return SearchPage(
        items=[
            HitOut(**_out(h.record_pk, h.record), libraries=h.libraries, available=h.available)  # type: ignore[arg-type]
            for h in result.hits
        ],
        total=result.total,
        limit=limit,
        offset=offset,
        facets={k: [FacetValue(value=v, count=n) for v, n in vs] for k, vs in result.facets.items()},
    )


@router.get("/{record_pk}", response_model=RecordDetail, summary="One record with holdings per library")
def get_record(
    record_pk: Annotated[int, Path(ge=1, le=INT_MAX, description="the hub's record id")], session: SessionDep
) -> RecordDetail:
    record = service.get_record(session, record_pk)
    holdings = service.holdings_for_record(session, record_pk)
    return RecordDetail(
        **_out(record_pk, record),  # type: ignore[arg-type]
        holdings=[
            HoldingOut(
                library_isil=h.library_isil,
                copies=h.copies,
                available=h.available,
                circulating=h.circulating,
                shelf_mark=h.shelf_mark,
            )
            for h in holdings
        ],
        sources=dict(service.contributors(session, record_pk)),
    )
