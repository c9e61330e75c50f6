"""Who may do what."""

from __future__ import annotations

import pytest

from fjernlaan.accounts.model import (
    Principal,
    Role,
    check_new_user,
    require_library_admin,
    require_role,
    require_staff_of,
)
from fjernlaan.errors import PermissionDenied


def principal(role: Role, isil: str | None = "DK-710100") -> Principal:
    return Principal(user_id=1, username="u", role=role, library_isil=isil)


def test_library_admin_administers_own_library() -> None:
    require_library_admin(principal(Role.LIBRARY_ADMIN), "DK-710100")


def test_library_admin_of_a_may_not_administer_b() -> None:
    with pytest.raises(PermissionDenied):
        require_library_admin(principal(Role.LIBRARY_ADMIN), "DK-715700")


def test_staff_may_not_administer_even_own_library() -> None:
    with pytest.raises(PermissionDenied):
        require_library_admin(principal(Role.STAFF), "DK-710100")


def test_national_admin_administers_every_library() -> None:
    require_library_admin(principal(Role.NATIONAL_ADMIN, None), "DK-715700")


def test_staff_acts_only_for_own_library() -> None:
    require_staff_of(principal(Role.STAFF), "dk-710100")
    with pytest.raises(PermissionDenied):
        require_staff_of(principal(Role.STAFF), "DK-715700")


def test_coordinator_role_is_required_for_coordination() -> None:
    require_role(principal(Role.COORDINATOR, None), Role.COORDINATOR)
    with pytest.raises(PermissionDenied) as raised:
        require_role(principal(Role.STAFF), Role.COORDINATOR)
    assert "coordinator" in raised.value.message


def test_staff_user_must_belong_to_a_library() -> None:
    with pytest.raises(PermissionDenied):
        check_new_user(Role.STAFF, None)
