"""Library administration pages: a library's details, lending policy and closures.

`/admin/library` is the logged-in administrator's own library; `/admin/libraries/{isil}` any library
for coordinators (read only) and national admins. Who may change what:

* a library admin changes its own library's name, e-mail, lending policy and closures;
* the national fields (type, municipality, region, central library, transport hub, ISO 18626 endpoint
  and version, taking part) are a national admin's; a library admin sees them read only;
* coordinators see every library and change nothing; staff without an admin role see none of this.

Every form carries the CSRF token; a refused value comes back on the page, at its field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from fjernlaan.accounts.model import Principal, Role
from fjernlaan.directory import service
from fjernlaan.directory.model import (
    Iso18626Version,
    Library,
    LibraryType,
    MaterialType,
    Region,
    RequesterCategory,
)
from fjernlaan.directory.schemas import ClosureIn, LibraryPatch, PolicyBody
from fjernlaan.errors import DomainError, PermissionDenied
from fjernlaan.web import kit
from fjernlaan.web.deps import OptionalPrincipal, SessionDep
from fjernlaan.web.i18n import N_, gettext

router = APIRouter(include_in_schema=False)
kit.add_template_dir("directory", Path(__file__).parent / "templates" / "directory")
kit.add_nav_item(N_("Libraries"), "/libraries", kit.STAFF_ROLES, order=60)
kit.add_nav_item(N_("My library"), "/admin/library", {kit.LIBRARY_ADMIN}, order=80)

ADMIN_ROLES = (Role.LIBRARY_ADMIN, Role.COORDINATOR, Role.NATIONAL_ADMIN)
#: Fields only a national admin sets (the sec-http branch refuses them in the API too).
NATIONAL_FIELDS = (
    "type",
    "municipality_code",
    "region",
    "central_isil",
    "transport_hub",
    "iso18626_endpoint",
    "iso18626_version",
    "active",
)
LOCAL_FIELDS = ("name", "email")

#: The policy's whole-number fields: (name, label msgid, lowest, highest).
POLICY_NUMBERS: tuple[tuple[str, str, int, int], ...] = (
    ("answer_deadline_working_days", N_("Answer deadline (working days)"), 1, 60),
    ("loan_period_days", N_("Loan period (days)"), 1, 365),
    ("max_renewals", N_("Renewals at most"), 0, 20),
    ("renewal_period_days", N_("Days added by a renewal"), 1, 365),
    ("min_title_age_days", N_("Lend titles only when older than (days)"), 0, 3650),
    ("pickup_window_days", N_("Days the patron has to pick up"), 1, 90),
)
#: The policy's amounts in kroner: (name, label msgid, highest).
POLICY_AMOUNTS: tuple[tuple[str, str, int], ...] = (
    ("fee_dkk", N_("Fee per loan (kr.)"), 10_000),
    ("replacement_price_dkk", N_("Replacement price (kr.)"), 100_000),
)
MATERIAL_LABELS = {
    MaterialType.BOOK: N_("Books"),
    MaterialType.ARTICLE: N_("Articles"),
    MaterialType.JOURNAL: N_("Journals"),
    MaterialType.MUSIC: N_("Music"),
    MaterialType.AUDIOBOOK: N_("Audiobooks"),
    MaterialType.FILM: N_("Films"),
    MaterialType.GAME: N_("Games"),
    MaterialType.MAP: N_("Maps"),
    MaterialType.SHEET_MUSIC: N_("Sheet music"),
    MaterialType.OTHER: N_("Other material"),
}
TYPE_LABELS = {
    LibraryType.PUBLIC: N_("Public library"),
    LibraryType.CENTRAL: N_("Central library"),
    LibraryType.NATIONAL: N_("National library"),
    LibraryType.RESEARCH: N_("Research library"),
    LibraryType.SCHOOL: N_("School library"),
    LibraryType.SPECIAL: N_("Special library"),
    LibraryType.FOREIGN: N_("Library abroad"),
}
REGION_LABELS = {
    Region.GENTOFTE: "Gentofte",
    Region.ROSKILDE: "Roskilde",
    Region.ODENSE: "Odense",
    Region.VEJLE: "Vejle",
    Region.HERNING: "Herning",
    Region.AALBORG: "Aalborg",
}
REQUESTER_LABELS = {
    RequesterCategory(t.value): label
    for t, label in TYPE_LABELS.items()
    if t.value in {r.value for r in RequesterCategory}
}
CHECK_FIELD = N_("Check this field.")
FIELD_MESSAGES = {
    "name": N_("Write the library's name (at most 200 characters)."),
    "email": N_("Write an e-mail address such as fjernlaan@bibliotek.dk."),
    "type": N_("Choose a library type."),
    "municipality_code": N_("Write a three-digit municipality code, e.g. 101."),
    "region": N_("Choose a region."),
    "central_isil": N_("Write the ISIL of a library in the directory, e.g. DK-715700."),
    "transport_hub": N_("Write the ISIL of a library in the directory, e.g. DK-715700."),
    "iso18626_endpoint": N_("Write an address that starts with https://."),
    "iso18626_version": N_("Choose a version."),
    "active": N_("Choose whether the library takes part."),
    "starts": N_("Write the first closed day, e.g. 2027-07-05."),
    "ends": N_("Write the last closed day, on or after the first."),
    "reason": N_("Write at most 200 characters."),
}


@dataclass
class Forms:
    """What the detail page's forms show: typed values and errors (after a refused post)."""

    library: dict[str, Any] = field(default_factory=dict)
    library_errors: dict[str, str] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)
    policy_errors: dict[str, str] = field(default_factory=dict)
    closure: dict[str, str] = field(default_factory=dict)
    closure_errors: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[tuple[str, str]]:
        """All errors as (field id, message) for the error summary."""
        every = {**self.library_errors, **self.policy_errors, **self.closure_errors}
        return [(f"field-{name}", message) for name, message in every.items()]


# --- who may do what ------------------------------------------------------------------------------


def may_view(principal: Principal, isil: str) -> bool:
    """Coordinators and national admins see every library; a library admin only its own."""
    if principal.role in (Role.COORDINATOR, Role.NATIONAL_ADMIN):
        return True
    return principal.role is Role.LIBRARY_ADMIN and principal.works_at(isil)


def may_edit(principal: Principal, isil: str) -> bool:
    """A library's own admin and national admins change its policy, closures, name and e-mail."""
    return principal.is_national_admin or (principal.role is Role.LIBRARY_ADMIN and principal.works_at(isil))


def require_view(principal: Principal, isil: str) -> None:
    """Refuse (403) a caller who may not see this library's administration."""
    if not may_view(principal, isil):
        raise PermissionDenied(
            f"only the administrators of {isil}, coordinators and national admins see this"
        )


def require_edit(principal: Principal, isil: str) -> None:
    """Refuse (403) a caller who may not change this library."""
    if not may_edit(principal, isil):
        raise PermissionDenied(f"only an administrator of {isil} or a national admin may change it")


def back_to(principal: Principal, isil: str) -> str:
    """The page a form returns to: the admin's own library page, or the library's page in the network."""
    if principal.role is Role.LIBRARY_ADMIN and principal.works_at(isil):
        return "/admin/library"
    return f"/admin/libraries/{isil}"


def _login(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


# --- the page -------------------------------------------------------------------------------------


def _policy_values(library: Library) -> dict[str, Any]:
    body = PolicyBody.from_domain(library.policy)
    values: dict[str, Any] = body.model_dump()
    for name, _label, _high in POLICY_AMOUNTS:
        values[name] = _amount(values[name])
    return values


def _amount(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")


def _library_values(library: Library) -> dict[str, Any]:
    return {
        "name": library.name,
        "email": library.email or "",
        "type": library.type.value,
        "municipality_code": "" if library.municipality_code is None else str(library.municipality_code),
        "region": library.region.value if library.region else "",
        "central_isil": library.central_isil or "",
        "transport_hub": library.transport_hub or "",
        "iso18626_endpoint": library.iso18626_endpoint or "",
        "iso18626_version": library.iso18626_version.value if library.iso18626_version else "",
        "active": "1" if library.active else "0",
    }


def detail_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    isil: str,
    forms: Forms | None = None,
    *,
    status: int = 200,
) -> Response:
    """The administration page of one library (details, policy, closures), with any refused form."""
    require_view(principal, isil)
    library = service.get_library(session, isil)
    forms = forms or Forms()
    lang = kit.request_language(request)
    return kit.render(
        request,
        "directory/library.html",
        principal,
        status_code=status,
        library=library,
        closures=service.list_closures(session, library.isil),
        library_values={**_library_values(library), **forms.library},
        library_errors=forms.library_errors,
        policy_values={**_policy_values(library), **forms.policy},
        policy_errors=forms.policy_errors,
        closure_values=forms.closure,
        closure_errors=forms.closure_errors,
        errors=forms.errors,
        can_edit=may_edit(principal, library.isil),
        can_edit_national=principal.is_national_admin,
        own=principal.works_at(library.isil) and principal.role is Role.LIBRARY_ADMIN,
        base=f"/admin/libraries/{library.isil}",
        policy_numbers=POLICY_NUMBERS,
        policy_amounts=POLICY_AMOUNTS,
        materials=[(m.value, gettext(label, lang)) for m, label in MATERIAL_LABELS.items()],
        requesters=[(r.value, gettext(label, lang)) for r, label in REQUESTER_LABELS.items()],
        types=[(t.value, gettext(label, lang)) for t, label in TYPE_LABELS.items()],
        regions=[("", gettext("No region", lang)), *((r.value, label) for r, label in REGION_LABELS.items())],
        versions=[("", gettext("None", lang)), *((v.value, v.value) for v in Iso18626Version)],
        type_label=gettext(TYPE_LABELS[library.type], lang),
        region_label=REGION_LABELS.get(library.region, "") if library.region else "",
    )


def _admin(principal: Principal | None) -> Principal:
    if principal is None:  # the routes redirect before this; mypy wants it said
        raise PermissionDenied("log in first")
    if principal.role not in ADMIN_ROLES:
        raise PermissionDenied("only administrators and coordinators see library administration")
    return principal


@router.get("/libraries", response_class=HTMLResponse, response_model=None)
def libraries_page(request: Request, session: SessionDep, principal: OptionalPrincipal) -> Response:
    """Every library of the network, for staff."""
    if principal is None:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    items, total = service.list_libraries(session, limit=1000)
    return kit.render(request, "directory/libraries.html", principal, libraries=items, total=total)


@router.get("/admin/library", response_class=HTMLResponse, response_model=None)
def own_library(request: Request, session: SessionDep, principal: OptionalPrincipal) -> Response:
    """The administrator's own library."""
    if principal is None:
        return _login(request)
    admin = _admin(principal)
    if not admin.library_isil:
        return RedirectResponse("/admin/libraries", status_code=303)
    return detail_page(request, session, admin, admin.library_isil)


@router.get("/admin/libraries/{isil}", response_class=HTMLResponse, response_model=None)
def library_detail(
    request: Request, isil: str, session: SessionDep, principal: OptionalPrincipal
) -> Response:
    """One library's administration page (coordinators and national admins; its own admin)."""
    if principal is None:
        return _login(request)
    return detail_page(request, session, _admin(principal), service.get_library(session, isil).isil)


def _checked_form(
    request: Request, principal: Principal | None, csrf_token: str, isil: str, session: SessionDep
) -> tuple[Principal, str] | Response:
    """Log-in, role, library and CSRF checks every post runs first; the library's canonical ISIL."""
    if principal is None:
        return _login(request)
    admin = _admin(principal)
    canonical = service.get_library(session, isil).isil
    require_edit(admin, canonical)
    if not kit.check_csrf(request, csrf_token):
        response = RedirectResponse(back_to(admin, canonical), status_code=303)
        kit.flash(
            response,
            gettext("The form has expired. Please try again.", kit.request_language(request)),
            "error",
        )
        return response
    return admin, canonical


def _saved(request: Request, principal: Principal, isil: str, message: str) -> RedirectResponse:
    response = RedirectResponse(back_to(principal, isil), status_code=303)
    kit.flash(response, gettext(message, kit.request_language(request)), "success")
    return response


# --- library details ------------------------------------------------------------------------------


@router.post("/admin/libraries/{isil}/details", response_model=None)
async def save_details(
    request: Request, isil: str, session: SessionDep, principal: OptionalPrincipal
) -> Response:
    """Name and e-mail (the library's admin); the national fields too (a national admin only)."""
    # Read raw: FastAPI's Form() turns an empty field into "not sent", and clearing a field (an
    # e-mail, an ISO 18626 address) or sending a national field at all must be seen as such.
    form = await request.form()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    return await run_in_threadpool(_save_details, request, isil, session, principal, fields)


def _save_details(
    request: Request, isil: str, session: SessionDep, principal: Principal | None, form: dict[str, str]
) -> Response:
    checked = _checked_form(request, principal, form.get("csrf_token", ""), isil, session)
    if isinstance(checked, Response):
        return checked
    admin, canonical = checked
    national = [name for name in NATIONAL_FIELDS if name in form]
    if national and not admin.is_national_admin:
        # The page shows these read only; a post that carries them anyway is refused whole.
        raise PermissionDenied(f"only a national admin sets {', '.join(national)}")
    allowed = LOCAL_FIELDS + (NATIONAL_FIELDS if admin.is_national_admin else ())
    values = {name: form.get(name, "").strip() for name in allowed if name in form}
    data: dict[str, Any] = {name: (value or None) for name, value in values.items()}
    if "active" in data:
        data["active"] = values["active"] == "1"
    lang = kit.request_language(request)
    errors: dict[str, str] = {}
    if "name" in values and not values["name"]:
        errors["name"] = gettext(FIELD_MESSAGES["name"], lang)
    try:
        patch = LibraryPatch.model_validate(data)
    except ValidationError as exc:
        for item in exc.errors():
            name = str(item["loc"][0]) if item["loc"] else "name"
            errors.setdefault(name, gettext(FIELD_MESSAGES.get(name, CHECK_FIELD), lang))
    if not errors:
        try:
            service.update_library(session, canonical, patch)
        except DomainError as exc:
            name = exc.field or "name"
            errors[name] = gettext(FIELD_MESSAGES.get(name, CHECK_FIELD), lang)
    if errors:
        session.rollback()
        return detail_page(
            request, session, admin, canonical, Forms(library=values, library_errors=errors), status=422
        )
    session.commit()
    return _saved(request, admin, canonical, N_("The library's details are saved."))


# --- lending policy -------------------------------------------------------------------------------


@router.post("/admin/libraries/{isil}/policy", response_model=None)
def save_policy(
    request: Request,
    isil: str,
    session: SessionDep,
    principal: OptionalPrincipal,
    csrf_token: Annotated[str, Form()] = "",
    lending_enabled: Annotated[str, Form()] = "",
    answer_deadline_working_days: Annotated[str, Form()] = "",
    loan_period_days: Annotated[str, Form()] = "",
    max_renewals: Annotated[str, Form()] = "",
    renewal_period_days: Annotated[str, Form()] = "",
    min_title_age_days: Annotated[str, Form()] = "",
    pickup_window_days: Annotated[str, Form()] = "",
    fee_dkk: Annotated[str, Form()] = "",
    replacement_price_dkk: Annotated[str, Form()] = "",
    refused_material_types: Annotated[list[str] | None, Form()] = None,
    accepted_requester_types: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Replace the library's lending policy."""
    checked = _checked_form(request, principal, csrf_token, isil, session)
    if isinstance(checked, Response):
        return checked
    admin, canonical = checked
    lang = kit.request_language(request)
    typed = {
        "answer_deadline_working_days": answer_deadline_working_days,
        "loan_period_days": loan_period_days,
        "max_renewals": max_renewals,
        "renewal_period_days": renewal_period_days,
        "min_title_age_days": min_title_age_days,
        "pickup_window_days": pickup_window_days,
        "fee_dkk": fee_dkk,
        "replacement_price_dkk": replacement_price_dkk,
    }
    refused = [MaterialType(m) for m in refused_material_types or [] if m in {t.value for t in MaterialType}]
    accepted = [
        RequesterCategory(r)
        for r in accepted_requester_types or []
        if r in {c.value for c in RequesterCategory}
    ]
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"lending_enabled": lending_enabled == "1"}
    for name, _label, low, high in POLICY_NUMBERS:
        text = typed[name].strip()
        if not text.isdigit() or not low <= int(text) <= high:
            errors[name] = gettext("Write a whole number from %(low)d to %(high)d.", lang) % {
                "low": low,
                "high": high,
            }
        else:
            values[name] = int(text)
    for name, _label, high in POLICY_AMOUNTS:
        text = typed[name].strip().replace(" ", "").replace(",", ".")
        try:
            amount = float(text)
        except ValueError:
            amount = -1.0
        if not 0 <= amount <= high:
            errors[name] = gettext("Write an amount in kroner from 0 to %(high)d.", lang) % {"high": high}
        else:
            values[name] = amount
    if not accepted:
        errors["accepted_requester_types"] = gettext("Choose at least one kind of library.", lang)
    if errors:
        shown = {**typed, "lending_enabled": lending_enabled == "1"}
        shown |= {"refused_material_types": refused, "accepted_requester_types": accepted}
        return detail_page(
            request, session, admin, canonical, Forms(policy=shown, policy_errors=errors), status=422
        )
    body = PolicyBody(**values, refused_material_types=refused, accepted_requester_types=accepted)
    service.set_policy(session, canonical, body.to_domain())
    session.commit()
    return _saved(request, admin, canonical, N_("The lending policy is saved."))


# --- closures -------------------------------------------------------------------------------------


@router.post("/admin/libraries/{isil}/closures", response_model=None)
def add_closure(
    request: Request,
    isil: str,
    session: SessionDep,
    principal: OptionalPrincipal,
    csrf_token: Annotated[str, Form()] = "",
    starts: Annotated[str, Form()] = "",
    ends: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Add a closure (both days included)."""
    checked = _checked_form(request, principal, csrf_token, isil, session)
    if isinstance(checked, Response):
        return checked
    admin, canonical = checked
    lang = kit.request_language(request)
    typed = {"starts": starts.strip(), "ends": ends.strip(), "reason": reason.strip()}
    errors: dict[str, str] = {}
    days: dict[str, date] = {}
    for name in ("starts", "ends"):
        try:
            days[name] = date.fromisoformat(typed[name])
        except ValueError:
            errors[name] = gettext(FIELD_MESSAGES[name], lang)
    if not errors and days["ends"] < days["starts"]:
        errors["ends"] = gettext(FIELD_MESSAGES["ends"], lang)
    if len(typed["reason"]) > 200:
        errors["reason"] = gettext(FIELD_MESSAGES["reason"], lang)
    if errors:
        return detail_page(
            request, session, admin, canonical, Forms(closure=typed, closure_errors=errors), status=422
        )
    service.add_closure(
        session, canonical, ClosureIn(starts=days["starts"], ends=days["ends"], reason=typed["reason"])
    )
    session.commit()
    return _saved(request, admin, canonical, N_("The closure is added."))


@router.post("/admin/libraries/{isil}/closures/{closure_id}/delete", response_model=None)
def remove_closure(
    request: Request,
    isil: str,
    closure_id: int,
    session: SessionDep,
    principal: OptionalPrincipal,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Remove one of the library's closures."""
    checked = _checked_form(request, principal, csrf_token, isil, session)
    if isinstance(checked, Response):
        return checked
    admin, canonical = checked
    service.delete_closure(session, canonical, closure_id)
    session.commit()
    return _saved(request, admin, canonical, N_("The closure is removed."))
