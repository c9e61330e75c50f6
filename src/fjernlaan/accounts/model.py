"""Who may do what: roles, the acting principal, and the access rules every route declares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from fjernlaan.errors import DomainError, PermissionDenied


class Role(StrEnum):
    """Staff roles, from least to most reach."""

    STAFF = "staff"  # ILL staff of one library
    LIBRARY_ADMIN = "library_admin"  # administers one library's settings and staff
    COORDINATOR = "coordinator"  # runs the network's bodies and sees national statistics
    NATIONAL_ADMIN = "national_admin"  # administers the whole hub


class PatronCategory(StrEnum):
    """Patron categories some lending policies and statistics distinguish."""

    CHILD = "child"
    STUDENT = "student"
    ADULT = "adult"


@dataclass(frozen=True, slots=True)
class Patron:
    """A patron as read for a use case (the stored row's values, detached from the database)."""

    id: int
    card_number: str
    name: str
    email: str | None
    category: str
    home_library_isil: str
    language: str


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
PIN_MIN_DIGITS = 4
PIN_MAX_DIGITS = 12


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


def check_pin(pin: str) -> str:
    """The PIN if it is acceptable: digits only, PIN_MIN_DIGITS to PIN_MAX_DIGITS of them."""
    value = pin.strip()
    if not value.isascii() or not value.isdigit() or not PIN_MIN_DIGITS <= len(value) <= PIN_MAX_DIGITS:
        raise DomainError(f"a PIN is {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits", field="pin")
    return value


def require_role(principal: Principal, *roles: Role) -> None:
    """Refuse unless the principal has one of the roles (national admins always pass)."""
    if principal.is_national_admin or principal.role in roles:
        return
    allowed = ", ".join(r.value for r in roles) or "national_admin"
    raise PermissionDenied(f"this needs one of the roles: {allowed}; you are {principal.role.value}")


def require_library_admin(principal: Principal, isil: str) -> None:
    """Refuse unless the principal administers this library (or the whole hub)."""
    if principal.is_national_admin:
        return
    if principal.role is Role.LIBRARY_ADMIN and principal.works_at(isil):
        return
    raise PermissionDenied(f"only an administrator of {isil} or a national administrator may change it")


def require_staff_of(principal: Principal, isil: str) -> None:
    """Refuse unless the principal works at this library (or administers the hub)."""
    if principal.is_national_admin or principal.works_at(isil):
        return
    raise PermissionDenied(f"only staff of {isil} may do this")


def check_new_user(role: Role, library_isil: str | None) -> None:
    """Staff and library administrators belong to a library; the others may not need one."""
    if role in (Role.STAFF, Role.LIBRARY_ADMIN) and not library_isil:
        raise PermissionDenied(f"a {role.value} user must belong to a library")


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


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """An API token as its owner and administrators see it (never the token itself)."""

    id: int
    username: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool

    def usable_at(self, now: datetime) -> bool:
        """True when the token still works at ``now``."""
        return not self.revoked and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit log."""

    id: int
    at: datetime
    username: str | None
    user_id: int | None
    role: str | None
    library_isil: str | None
    ip: str | None
    action: str
    target: str | None
    via: str
    detail: dict[str, Any]


def can_manage_user(principal: Principal, user_role: Role, user_library: str | None) -> bool:
    """A national admin manages everyone; a library admin manages the staff and library admins of
    their own library; every user manages themself (their tokens)."""
    if principal.is_national_admin:
        return True
    if principal.role is Role.LIBRARY_ADMIN and user_role in (Role.STAFF, Role.LIBRARY_ADMIN):
        return user_library is not None and principal.works_at(user_library)
    return False


def require_user_admin(
    principal: Principal, username: str, user_role: Role, user_library: str | None
) -> None:
    """Refuse unless the principal may manage this user (see :func:`can_manage_user`)."""
    if not can_manage_user(principal, user_role, user_library):
        raise PermissionDenied(
            f"only an administrator of {username}'s library or a national administrator may"
        )


@dataclass(frozen=True, slots=True)
class UserSummary:
    """A user as a library's administration page lists them (never the password hash)."""

    username: str
    display_name: str
    email: str | None
    role: Role
    library_isil: str | None
    active: bool


def can_manage_users_of(principal: Principal, library_isil: str) -> bool:
    """A national admin manages every library's users; a library admin those of its own library."""
    if principal.is_national_admin:
        return True
    return principal.role is Role.LIBRARY_ADMIN and principal.works_at(library_isil)
