"""Staff page of the catalogue: search with facets (material type, language, year range, the holding
libraries' region), each hit leading to "request for a patron"."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fjernlaan.catalogue import query as cq
from fjernlaan.catalogue.query import Everything, Filters, Sort, free_text
from fjernlaan.catalogue.search import search
from fjernlaan.catalogue.words import MATERIAL_WORDS
from fjernlaan.directory.model import MaterialType, Region
from fjernlaan.errors import NotFound
from fjernlaan.web import kit
from fjernlaan.web.deps import OptionalPrincipal, SessionDep
from fjernlaan.web.i18n import N_, gettext

router = APIRouter(include_in_schema=False)
kit.add_template_dir("catalogue", Path(__file__).parent / "templates" / "catalogue")
kit.add_nav_item(N_("Search"), "/staff/search", kit.STAFF_ROLES, order=20)

SEARCH_PAGE = "/staff/search"
PER_PAGE = 20
PAGE_FACETS = ("material_type", "language", "decade", "region")
FACET_WORDS = {
    "material_type": N_("Material type"),
    "language": N_("Language"),
    "decade": N_("Published"),
    "region": N_("Held in the region of"),
}
LANGUAGE_WORDS = {
    "dan": N_("Danish"),
    "eng": N_("English"),
    "ger": N_("German"),
    "swe": N_("Swedish"),
    "nor": N_("Norwegian"),
    "fre": N_("French"),
    "spa": N_("Spanish"),
    "ita": N_("Italian"),
}
REGION_WORDS = {
    "gentofte": "Gentofte",
    "roskilde": "Roskilde",
    "odense": "Odense",
    "vejle": "Vejle",
    "herning": "Herning",
    "aalborg": "Aalborg",
}
SORTS = (
    (Sort.RELEVANCE.value, N_("Best match")),
    (Sort.TITLE.value, N_("Title")),
    (Sort.YEAR_DESC.value, N_("Newest first")),
    (Sort.YEAR.value, N_("Oldest first")),
)


def _year(value: str | None) -> int | None:
    if value and value.strip().isdigit() and len(value.strip()) <= 4:
        year = int(value)
        return year if 1 <= year <= 9999 else None
    return None


def _params(request: Request) -> dict[str, Any]:
    """The search as asked for; anything malformed is dropped, not refused (it is a search box)."""
    q = request.query_params
    materials = [m for m in q.getlist("material_type") if m in MaterialType.__members__.values()]
    languages = [c.lower() for c in q.getlist("language") if len(c) == 3 and c.isalpha()]
    region = q.get("region") if q.get("region") in Region.__members__.values() else None
    year_from, year_to = _year(q.get("year_from")), _year(q.get("year_to"))
    if year_from is not None and year_to is not None and year_from > year_to:
        year_from, year_to = year_to, year_from
    sort = q.get("sort") if q.get("sort") in {s for s, _ in SORTS} else Sort.RELEVANCE.value
    page = int(q["page"]) if q.get("page", "").isdigit() and len(q["page"]) < 4 else 1
    return {
        "q": (q.get("q") or "").strip()[:500],
        "material_type": materials[:10],
        "language": languages[:10],
        "year_from": year_from,
        "year_to": year_to,
        "region": region,
        "available": q.get("available") == "1",
        "sort": sort,
        "page": max(page, 1),
    }


def _link(params: dict[str, Any], **changes: Any) -> str:
    """The search page with some parameters changed (a list value is repeated; None drops it)."""
    merged = {**params, **changes, "page": changes.get("page")}
    pairs: list[tuple[str, str]] = []
    for key, value in merged.items():
        if value is None or value == "" or value is False or value == []:
            continue
        if key == "sort" and value == Sort.RELEVANCE.value:
            continue
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, "1" if item is True else str(item)))
    return SEARCH_PAGE + ("?" + urlencode(pairs) if pairs else "")


@router.get(SEARCH_PAGE, response_class=HTMLResponse, response_model=None)
def search_page(request: Request, session: SessionDep, principal: OptionalPrincipal) -> Response:
    """Search the union catalogue with facets; each hit can be requested for a patron."""
    if principal is None:
        return RedirectResponse(f"/login?next={SEARCH_PAGE}", status_code=303)
    if kit.role_of(principal) not in kit.STAFF_ROLES:
        raise NotFound("no such page")
    params = _params(request)
    lang = kit.request_language(request)
    searched = any(params[k] for k in ("q", "material_type", "language", "year_from", "year_to", "region"))
    result = None
    if searched:
        query: cq.Query = free_text(params["q"]) if params["q"] else Everything()
        filters = Filters(
            material_types=tuple(MaterialType(m) for m in params["material_type"]),
            languages=tuple(params["language"]),
            year_from=params["year_from"],
            year_to=params["year_to"],
            region=Region(params["region"]) if params["region"] else None,
            available_now=params["available"],
        )
        result = search(
            session,
            query,
            filters,
            sort=Sort(params["sort"]),
            limit=PER_PAGE,
            offset=(params["page"] - 1) * PER_PAGE,
            facets=PAGE_FACETS,
            with_source=False,
        )
    pages = max((result.total + PER_PAGE - 1) // PER_PAGE, 1) if result else 1
    return kit.render(
        request,
        "catalogue/search.html",
        principal,
        params=params,
        result=result,
        pages=pages,
        link=lambda **changes: _link(params, **changes),
        facet_words=FACET_WORDS,
        language_words=LANGUAGE_WORDS,
        region_words=REGION_WORDS,
        sort_options=[(value, gettext(label, lang)) for value, label in SORTS],
        facet_order=PAGE_FACETS,
        material_words=MATERIAL_WORDS,
        material_types=[m.value for m in MaterialType],
    )
