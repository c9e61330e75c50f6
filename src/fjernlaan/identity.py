"""Who calls: the staff principal, the patron principal, the actor of the audit log and the roles.

These are the types the HTTP kit (`fjernlaan.web`) needs to say who is calling, so they live below
the areas: the kit imports them from here, never from `accounts`. The accounts area stores users,
sessions and tokens and turns them into these (`fjernlaan.accounts.principals`); `accounts.model`
re-exports them with the rest of its rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fjernlaan.errors import PermissionDenied


class Role(StrEnum):
    """Staff roles, from least to most reach."""

    STAFF = "staff"  # ILL staff of one library
    LIBRARY_ADMIN = "library_admin"  # administers one library's settings and staff
    COORDINATOR = "coordinator"  # runs the network's bodies and sees national statistics
    NATIONAL_ADMIN = "national_admin"  # administers the whole hub


@dataclass(frozen=True, slots=True)
class Principal:
    """The user behind a call: a staff member, coordinator or national administrator."""

    user_id: int
    username: str
    role: Role
    library_isil: str | None

    @property
    def is_national_admin(self) -> bool:
        """True for hub-wide administrators."""
        return self.role is Role.NATIONAL_ADMIN

    def works_at(self, isil: str) -> bool:
        """True when the principal belongs to this library."""
        return self.library_isil is not None and self.library_isil.upper() == isil.upper()


PATRON_ROLE = "patron"


@dataclass(frozen=True, slots=True)
class PatronPrincipal:
    """A patron logged in with library card and PIN (self-service): role `patron`, tied to the patron
    and their home library. It is not a `Principal`, so no staff rule (`require_staff_of`, …) can
    ever let a patron through: staff routes see an anonymous caller."""

    patron_id: int
    card_number: str
    name: str
    library_isil: str
    language: str = "da"

    @property
    def role(self) -> str:
        """Always `patron` (what the page kit's menu keys on)."""
        return PATRON_ROLE

    @property
    def username(self) -> str:
        """What the page header shows: the patron's name."""
        return self.name


def require_role(principal: Principal, *roles: Role) -> None:
    """Refuse unless the principal has one of the roles (national admins always pass)."""
    if principal.is_national_admin or principal.role in roles:
        return
    allowed = ", ".join(r.value for r in roles) or "national_admin"
    raise PermissionDenied(f"this needs one of the roles: {allowed}; you are {principal.role.value}")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, for the audit log: a user (from a request, with the address it came from), or the
    hub itself (the CLI, the worker) with no user."""

    username: str
    user_id: int | None = None
    role: str | None = None
    library_isil: str | None = None
    ip: str | None = None

    @classmethod
    def of(cls, principal: Principal, ip: str | None = None) -> Actor:
        """The actor behind a principal."""
        return cls(
            username=principal.username,
            user_id=principal.user_id,
            role=principal.role.value,
            library_isil=principal.library_isil,
            ip=ip,
        )
