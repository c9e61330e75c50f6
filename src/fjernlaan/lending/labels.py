"""The transport-label page (`/staff/labels?ids=1,2,3`): one printable label per request, or one per
bundle, for the national van scheme (kørselsordning).

A label names the destination's transport hub (its central library), the destination library with its
ISIL, the sending library, and each request number as a Code 128 barcode. Staff may bundle requests to
the same library; a bundle is measured and refused above 8.5 cm or 2 kg. Printing changes nothing, so
the page is a GET form (bookmarkable, and the browser's print dialog prints it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fjernlaan.accounts.model import Principal
from fjernlaan.directory import service as directory
from fjernlaan.errors import DomainError, PermissionDenied
from fjernlaan.lending import shipping
from fjernlaan.lending.transport import (
    MAX_BUNDLE_THICKNESS_CM,
    MAX_BUNDLE_WEIGHT_KG,
    Bundle,
    Label,
    Place,
    Shipment,
    bundle_label,
    parse_ids,
    parse_measure,
    single_label,
)
from fjernlaan.web import kit
from fjernlaan.web.barcode import code128_svg
from fjernlaan.web.deps import OptionalPrincipal, SessionDep
from fjernlaan.web.i18n import gettext

router = APIRouter(include_in_schema=False)
LABELS_PATH = "/staff/labels"
MAX_LABEL_REQUESTS = 100  # one batch of labels, as the bulk actions take at most 100 rows
kit.add_template_dir("lending", Path(__file__).parent / "templates" / "lending")


@dataclass(frozen=True)
class Group:
    """The shipments to one destination, with the bundle form's state for it."""

    destination: Place
    shipments: list[Shipment]
    bundled: set[int]
    thickness: str
    weight: str
    thickness_error: str | None = None
    weight_error: str | None = None


def _number(value: Decimal, lang: str) -> str:
    text = format(value.normalize(), "f")
    return text.replace(".", ",") if lang == "da" else text  # Danish writes 8,5


def _error_text(exc: DomainError, lang: str) -> str:
    code = exc.extra.get("code")
    if code == "over_limit" and exc.field == "thickness":
        return gettext(
            "The bundle is %(measured)s cm thick. The van takes at most %(limit)s cm: "
            "split it into two bundles.",
            lang,
        ) % {"measured": _number(exc.extra["measured"], lang), "limit": _number(exc.extra["limit"], lang)}
    if code == "over_limit":
        return gettext(
            "The bundle weighs %(measured)s kg. The van takes at most %(limit)s kg: "
            "split it into two bundles.",
            lang,
        ) % {"measured": _number(exc.extra["measured"], lang), "limit": _number(exc.extra["limit"], lang)}
    if code == "not_positive":
        return gettext("Write a number above 0.", lang)
    if code == "not_a_number":
        return gettext("Write a number, for example 4,5.", lang)
    return exc.message


def _places(session: SessionDep, isils: set[str]) -> tuple[dict[str, Place], dict[str, Place | None]]:
    """Names of the libraries involved, and each destination's transport hub (None: not in the van
    scheme, e.g. a library abroad)."""
    libraries = {isil: directory.get_library(session, isil) for isil in isils}
    hub_isils = {lib.transport_hub for lib in libraries.values() if lib.transport_hub}
    for isil in hub_isils - set(libraries):
        libraries[isil] = directory.get_library(session, isil)
    places = {isil: Place(isil, lib.name) for isil, lib in libraries.items()}
    hubs: dict[str, Place | None] = {
        isil: places[lib.transport_hub] if lib.transport_hub else None for isil, lib in libraries.items()
    }
    return places, hubs


def _login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


@router.get(LABELS_PATH, response_class=HTMLResponse, response_model=None)
def labels_page(request: Request, session: SessionDep, principal: OptionalPrincipal) -> Response:
    """Labels for the requests in `?ids=`; `bundle` (repeated) marks requests packed together, one
    bundle per destination, measured by `thickness-<ISIL>` (cm) and `weight-<ISIL>` (kg)."""
    if principal is None:
        return _login(request)
    if kit.role_of(principal) not in kit.STAFF_ROLES or not principal.library_isil:
        raise PermissionDenied("only staff of a library print its transport labels")
    lang = kit.request_language(request)
    params = request.query_params
    try:
        ids = parse_ids(params.get("ids", ""), limit=MAX_LABEL_REQUESTS)
    except DomainError as exc:
        return _render(request, principal, [], [], (), [("field-ids", exc.message)], status=400)
    found = shipping.shipments(session, principal.library_isil, ids)
    missing = tuple(i for i in ids if i not in {s.request_id for s in found})
    places, hubs = (
        _places(session, {principal.library_isil} | {s.destination_isil for s in found})
        if found
        else ({}, {})
    )
    chosen = {int(v) for v in params.getlist("bundle") if v.isdigit()}
    by_destination: dict[str, list[Shipment]] = defaultdict(list)
    for shipment in found:
        by_destination[shipment.destination_isil].append(shipment)
    groups: list[Group] = []
    labels: list[Label] = []
    errors: list[tuple[str, str]] = []
    for isil, group in by_destination.items():
        bundled = {s.request_id for s in group} & chosen
        thickness = params.get(f"thickness-{isil}", "")
        weight = params.get(f"weight-{isil}", "")
        problems: dict[str, str] = {}
        bundle: Bundle | None = None
        if bundled:
            measured: dict[str, Decimal] = {}
            for name, typed in (("thickness", thickness), ("weight", weight)):
                try:
                    measured[name] = parse_measure(typed, name)
                except DomainError as exc:
                    problems[name] = _error_text(exc, lang)
            if not problems:
                try:
                    bundle = Bundle(measured["thickness"], measured["weight"])
                except DomainError as exc:
                    problems[exc.field or "thickness"] = _error_text(exc, lang)
        groups.append(
            Group(
                places[isil],
                group,
                bundled,
                thickness,
                weight,
                problems.get("thickness"),
                problems.get("weight"),
            )
        )
        for name, message in problems.items():
            errors.append((f"field-{name}-{isil}", message))
        if bundle is not None:
            labels.append(bundle_label([s for s in group if s.request_id in bundled], places, hubs, bundle))
        labels.extend(single_label(s, places, hubs) for s in group if s.request_id not in bundled)
    if errors:
        labels = []  # nothing to print until the bundles are within the rule
    return _render(request, principal, groups, labels, missing, errors, status=422 if errors else 200)


def _render(
    request: Request,
    principal: Principal,
    groups: list[Group],
    labels: list[Label],
    missing: tuple[int, ...],
    errors: list[tuple[str, str]],
    *,
    status: int,
) -> Response:
    lang = kit.request_language(request)
    return kit.render(
        request,
        "lending/labels.html",
        principal,
        status_code=status,
        groups=groups,
        labels=labels,
        missing=missing,
        errors=errors,
        ids=request.query_params.get("ids", ""),
        barcode=code128_svg,
        max_thickness=_number(MAX_BUNDLE_THICKNESS_CM, lang),
        max_weight=_number(MAX_BUNDLE_WEIGHT_KG, lang),
        number=lambda value: _number(value, lang),
    )
