"""Who may do what: roles, the acting principal, and the access rules every route declares.

The types the HTTP kit needs too (`Role`, `Principal`, `PatronPrincipal`, `Actor`, `require_role`) are
defined in `fjernlaan.identity`, below the areas, and re-exported here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from fjernlaan.errors import DomainError, PermissionDenied
from fjernlaan.identity import PATRON_ROLE as PATRON_ROLE
from fjernlaan.identity import Actor as Actor
from fjernlaan.identity import PatronPrincipal as PatronPrincipal
from fjernlaan.identity import Principal as Principal
from fjernlaan.identity import Role as Role
from fjernlaan.identity import require_role as require_role


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


PIN_MIN_DIGITS = 4
PIN_MAX_DIGITS = 12


def check_pin(pin: str) -> str:
    """The PIN if it is acceptable: digits only, PIN_MIN_DIGITS to PIN_MAX_DIGITS of them."""
    value = pin.strip()
    if not value.isascii() or not value.isdigit() or not PIN_MIN_DIGITS <= len(value) <= PIN_MAX_DIGITS:
        raise DomainError(f"a PIN is {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits", field="pin")
    return value


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
