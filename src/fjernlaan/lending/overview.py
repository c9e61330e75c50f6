"""The whole network for coordinators and national admins (`/admin/libraries`): every library with its
type, region, transport hub, whether it lends, and how many requests it has open.

The page spans two areas (the directory's libraries, lending's open requests), so it sits here, with
lending, which already reads the directory through its service. Libraries number in the hundreds, so
the table is filtered, sorted and paged in memory after two queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fjernlaan.accounts.model import Role
from fjernlaan.directory import service as directory
from fjernlaan.directory.model import LibraryType, Region
from fjernlaan.errors import PermissionDenied
from fjernlaan.lending import shipping
from fjernlaan.web import kit
from fjernlaan.web.deps import OptionalPrincipal, SessionDep
from fjernlaan.web.i18n import N_

router = APIRouter(include_in_schema=False)
NETWORK_PATH = "/admin/libraries"
kit.add_template_dir("lending", Path(__file__).parent / "templates" / "lending")
kit.add_nav_item(N_("Network"), NETWORK_PATH, {kit.COORDINATOR, kit.NATIONAL_ADMIN}, order=80)

TYPE_CHOICES = (
    (LibraryType.PUBLIC.value, N_("Public library")),
    (LibraryType.CENTRAL.value, N_("Central library")),
    (LibraryType.NATIONAL.value, N_("National library")),
    (LibraryType.RESEARCH.value, N_("Research library")),
    (LibraryType.SCHOOL.value, N_("School library")),
    (LibraryType.SPECIAL.value, N_("Special library")),
    (LibraryType.FOREIGN.value, N_("Library abroad")),
)
REGION_CHOICES = tuple((r.value, r.value.capitalize()) for r in Region)
LENDING_CHOICES = (("yes", N_("Lends")), ("no", N_("Does not lend")))
COLUMNS = [
    kit.Column("name", N_("Library"), filter="text"),
    kit.Column("isil", N_("ISIL")),
    kit.Column("type", N_("Type"), filter="select", choices=TYPE_CHOICES),
    kit.Column("region", N_("Region"), filter="select", choices=REGION_CHOICES),
    kit.Column("transport_hub", N_("Transport hub")),
    kit.Column("lending", N_("Lending"), filter="select", choices=LENDING_CHOICES),
    kit.Column("open_requests", N_("Open requests"), numeric=True),
]


@dataclass(frozen=True)
class LibraryLine:
    """One row of the network table."""

    isil: str
    name: str
    type: str
    region: str
    transport_hub: str
    transport_hub_name: str
    lending: str
    open_requests: int


def network_lines(session: SessionDep) -> list[LibraryLine]:
    """Every library with what the network table shows (two queries)."""
    libraries = directory.all_libraries(session)
    names = {lib.isil: lib.name for lib in libraries}
    counts = shipping.open_request_counts(session)
    return [
        LibraryLine(
            isil=lib.isil,
            name=lib.name,
            type=lib.type.value,
            region=lib.region.value if lib.region else "",
            transport_hub=lib.transport_hub or "",
            transport_hub_name=names.get(lib.transport_hub or "", ""),
            lending="yes" if lib.active and lib.policy.lending_enabled else "no",
            open_requests=counts.get(lib.isil, 0),
        )
        for lib in libraries
    ]


def _matches(line: LibraryLine, filters: dict[str, str]) -> bool:
    for key, value in filters.items():
        if key == "name":
            needle = value.casefold()
            if needle not in line.name.casefold() and needle not in line.isil.casefold():
                return False
        elif getattr(line, key) != value:
            return False
    return True


@router.get(NETWORK_PATH, response_class=HTMLResponse, response_model=None)
def network_page(request: Request, session: SessionDep, principal: OptionalPrincipal) -> Response:
    """All libraries, with filters, sorting and paging (coordinators and national admins)."""
    if principal is None:
        return RedirectResponse(f"/login?next={NETWORK_PATH}", status_code=303)
    if principal.role not in (Role.COORDINATOR, Role.NATIONAL_ADMIN):
        raise PermissionDenied("only coordinators and national admins see the whole network")
    query = kit.TableQuery.from_request(request, COLUMNS, default_sort="name", per_page=25)
    lines = [line for line in network_lines(session) if _matches(line, dict(query.filters))]
    key = query.sort or "name"
    lines.sort(key=lambda line: (getattr(line, key), line.isil), reverse=query.descending)
    table = kit.Table(
        COLUMNS, lines[query.offset : query.offset + query.limit], len(lines), query, "libraries"
    )
    return kit.render(
        request,
        "lending/network.html",
        principal,
        table=table,
        type_labels=dict(TYPE_CHOICES),
        can_edit=principal.is_national_admin,
    )
