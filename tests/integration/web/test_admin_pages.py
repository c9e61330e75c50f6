"""Library administration over HTTP (SQLite and PostgreSQL): who may see and change which library, the
national fields, validation errors shown at their field, CSRF, users and the network table.

Demo users: `gentofte` administers DK-715700, `kbh` is staff (no admin role) at DK-710100,
`koordinator` is a coordinator, `admin` a national admin.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from fjernlaan.accounts.service import authenticate
from fjernlaan.clock import FixedClock
from fjernlaan.db.uow import Database
from fjernlaan.directory import service as directory
from fjernlaan.directory.model import MaterialType
from fjernlaan.errors import NotAuthenticated

PASSWORDS = {
    "admin": "fjernlaan-admin",
    "koordinator": "fjernlaan-koordinator",
    "kbh": "fjernlaan-kbh",
    "gentofte": "fjernlaan-gentofte",
}
OWN = "DK-715700"  # Gentofte, administered by `gentofte`
OTHER = "DK-710100"  # København
POLICY = {
    "lending_enabled": "1",
    "answer_deadline_working_days": "4",
    "loan_period_days": "28",
    "max_renewals": "2",
    "renewal_period_days": "14",
    "min_title_age_days": "180",
    "pickup_window_days": "10",
    "fee_dkk": "25,50",
    "replacement_price_dkk": "400",
    "refused_material_types": ["film", "game"],
    "accepted_requester_types": ["public", "central", "national"],
}


def days_ahead(clock: FixedClock, n: int) -> str:
    """A day `n` days after the test's now, as the date field sends it."""
    return (clock.now().date() + timedelta(days=n)).isoformat()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def log_in(client: TestClient, username: str) -> str:
    """Log in through the form; returns a CSRF token for the next forms."""
    token = csrf_of(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORDS[username], "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/staff").text)


def post(client: TestClient, path: str, data: dict[str, object], token: str) -> object:
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def field_error(html: str, field: str) -> str:
    """The error message shown at the field (DKFDS: `<span id="field-x-error">`)."""
    match = re.search(
        rf'id="field-{re.escape(field)}-error"><span class="sr-only">[^<]*</span>([^<]+)<', html
    )
    assert match, f"no error at {field}"
    return match.group(1).strip()


def test_a_library_admin_changes_its_lending_policy_and_closures(
    client: TestClient, seeded: Database, clock: FixedClock
) -> None:
    token = log_in(client, "gentofte")
    page = client.get("/admin/library", headers={"accept-language": "da"})
    assert page.status_code == 200
    assert "Gentofte" in page.text and f'action="/admin/libraries/{OWN}/policy"' in page.text

    saved = post(client, f"/admin/libraries/{OWN}/policy", POLICY, token)
    assert (saved.status_code, saved.headers["location"]) == (303, "/admin/library")  # type: ignore[attr-defined]
    closure = {
        "starts": days_ahead(clock, 200),
        "ends": days_ahead(clock, 218),
        "reason": "Sommerlukket på Øster Allé",
    }
    assert post(client, f"/admin/libraries/{OWN}/closures", closure, token).status_code == 303  # type: ignore[attr-defined]

    with seeded.unit_of_work() as session:
        policy = directory.get_policy(session, OWN)
        closures = directory.list_closures(session, OWN)
    assert (policy.loan_period_days, policy.max_renewals, policy.fee_dkk) == (28, 2, 25.5)
    assert policy.answer_deadline_working_days == 4 and policy.min_title_age_days == 180
    assert policy.refused_material_types == {MaterialType.FILM, MaterialType.GAME}
    assert {c.reason for _id, c in closures} >= {"Sommerlukket på Øster Allé"}

    shown = client.get("/admin/library").text
    assert "Sommerlukket på Øster Allé" in shown and "Lending policy is saved" not in shown
    closure_id = next(i for i, c in closures if c.reason == "Sommerlukket på Øster Allé")
    removed = post(client, f"/admin/libraries/{OWN}/closures/{closure_id}/delete", {}, token)
    assert removed.status_code == 303  # type: ignore[attr-defined]
    with seeded.unit_of_work() as session:
        assert closure_id not in {i for i, _c in directory.list_closures(session, OWN)}


def test_a_library_admin_cannot_see_or_change_another_library(
    client: TestClient, seeded: Database, clock: FixedClock
) -> None:
    token = log_in(client, "gentofte")
    with seeded.unit_of_work() as session:
        before = directory.get_policy(session, OTHER)
    assert client.get(f"/admin/libraries/{OTHER}").status_code == 403
    assert client.get(f"/admin/libraries/{OTHER}/users").status_code == 403
    assert client.get("/admin/libraries").status_code == 403  # the whole network is not theirs
    for path, data in (
        (f"/admin/libraries/{OTHER}/policy", POLICY),
        (
            f"/admin/libraries/{OTHER}/closures",
            {"starts": days_ahead(clock, 30), "ends": days_ahead(clock, 31)},
        ),
        (f"/admin/libraries/{OTHER}/details", {"name": "Overtaget"}),
        (f"/admin/libraries/{OTHER}/users", {"username": "ny", "password": "hemmeligt1", "role": "staff"}),
    ):
        assert post(client, path, data, token).status_code == 403, path  # type: ignore[attr-defined]
    with seeded.unit_of_work() as session:
        assert directory.get_policy(session, OTHER) == before
        assert directory.get_library(session, OTHER).name == "Københavns Biblioteker"


def test_staff_without_an_admin_role_can_neither_see_nor_change_library_administration(
    client: TestClient, seeded: Database
) -> None:
    token = log_in(client, "kbh")
    for path in ("/admin/library", f"/admin/libraries/{OTHER}", "/admin/libraries", "/admin/library/users"):
        assert client.get(path).status_code == 403, path
    assert post(client, f"/admin/libraries/{OTHER}/policy", POLICY, token).status_code == 403  # type: ignore[attr-defined]
    assert 'href="/admin/library"' not in client.get("/staff").text  # not in their menu either


def test_a_coordinator_sees_every_library_and_changes_none(client: TestClient, seeded: Database) -> None:
    token = log_in(client, "koordinator")
    network = client.get("/admin/libraries", params={"f_type": "central", "lang": "en"})
    assert network.status_code == 200
    assert "(6 rows)" in network.text and "Gentofte Bibliotekerne" in network.text
    detail = client.get(f"/admin/libraries/{OTHER}", params={"lang": "en"})
    assert detail.status_code == 200 and "Københavns Biblioteker" in detail.text
    assert '<form method="post" action="/admin/libraries' not in detail.text  # read only: no forms
    assert "not change them" in detail.text
    assert post(client, f"/admin/libraries/{OTHER}/policy", POLICY, token).status_code == 403  # type: ignore[attr-defined]
    users = client.get(f"/admin/libraries/{OWN}/users")
    assert users.status_code == 200 and "gentofte" in users.text and 'name="password"' not in users.text


def test_only_a_national_admin_sets_the_national_fields(client: TestClient, seeded: Database) -> None:
    gentofte = TestClient(client.app, raise_server_exceptions=False)
    own_token = log_in(gentofte, "gentofte")
    page = gentofte.get("/admin/library").text
    assert 'name="region"' not in page and 'name="transport_hub"' not in page  # shown, not editable
    assert "DK-715700" in page and 'name="name"' in page
    refused = post(
        gentofte, f"/admin/libraries/{OWN}/details", {"name": "Gentofte", "region": "odense"}, own_token
    )
    assert refused.status_code == 403  # type: ignore[attr-defined]
    renamed = post(
        gentofte,
        f"/admin/libraries/{OWN}/details",
        {"name": "Gentofte Bibliotekerne – Hovedbiblioteket", "email": "ill@gentofte.example"},
        own_token,
    )
    assert renamed.status_code == 303  # type: ignore[attr-defined]

    token = log_in(client, "admin")
    national = {
        "name": "Københavns Biblioteker",
        "email": "",
        "type": "public",
        "municipality_code": "101",
        "region": "roskilde",
        "central_isil": "DK-726500",
        "transport_hub": "DK-726500",
        "iso18626_endpoint": "",
        "iso18626_version": "",
        "active": "1",
    }
    assert 'name="transport_hub"' in client.get(f"/admin/libraries/{OTHER}").text
    assert post(client, f"/admin/libraries/{OTHER}/details", national, token).status_code == 303  # type: ignore[attr-defined]
    with seeded.unit_of_work() as session:
        copenhagen = directory.get_library(session, OTHER)
        gentofte_lib = directory.get_library(session, OWN)
    assert (copenhagen.region.value if copenhagen.region else None, copenhagen.transport_hub) == (
        "roskilde",
        "DK-726500",
    )
    assert gentofte_lib.name == "Gentofte Bibliotekerne – Hovedbiblioteket"
    assert gentofte_lib.region is not None and gentofte_lib.region.value == "gentofte"


def test_refused_values_come_back_at_their_fields_and_nothing_is_saved(
    client: TestClient, seeded: Database, clock: FixedClock
) -> None:
    token = log_in(client, "gentofte")
    with seeded.unit_of_work() as session:
        before = directory.get_policy(session, OWN)
    bad = {**POLICY, "loan_period_days": "0", "fee_dkk": "mange", "accepted_requester_types": []}
    answer = client.post(
        f"/admin/libraries/{OWN}/policy", data={**bad, "csrf_token": token}, headers={"accept-language": "da"}
    )
    assert answer.status_code == 422
    assert field_error(answer.text, "loan_period_days") == "Skriv et helt tal fra 1 til 365."
    assert "kroner" in field_error(answer.text, "fee_dkk")
    assert 'href="#field-loan_period_days"' in answer.text  # the summary links to the field
    assert 'value="mange"' in answer.text  # what was typed stays in the form
    with seeded.unit_of_work() as session:
        assert directory.get_policy(session, OWN) == before

    closure = client.post(
        f"/admin/libraries/{OWN}/closures",
        data={"starts": days_ahead(clock, 218), "ends": days_ahead(clock, 200), "csrf_token": token},
        headers={"accept-language": "en"},
    )
    assert closure.status_code == 422
    assert field_error(closure.text, "ends") == "Write the last closed day, on or after the first."
    details = client.post(
        f"/admin/libraries/{OWN}/details",
        data={"name": "", "email": "ikke en adresse", "csrf_token": token},
        headers={"accept-language": "en"},
    )
    assert details.status_code == 422
    assert "e-mail address" in field_error(details.text, "email")
    assert "name" in field_error(details.text, "name")


def test_a_form_without_the_csrf_token_changes_nothing(client: TestClient, seeded: Database) -> None:
    log_in(client, "gentofte")
    with seeded.unit_of_work() as session:
        before = directory.get_policy(session, OWN)
    answer = client.post(
        f"/admin/libraries/{OWN}/policy", data={**POLICY, "csrf_token": "forged"}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/library"
    with seeded.unit_of_work() as session:
        assert directory.get_policy(session, OWN) == before
    assert "alert-error" in client.get("/admin/library").text  # the user is told the form expired


def test_a_library_admin_adds_a_user_and_resets_a_password(client: TestClient, seeded: Database) -> None:
    token = log_in(client, "gentofte")
    new = {"username": "søs", "display_name": "Søs Ærø", "password": "kort", "role": "staff"}
    refused = client.post(
        f"/admin/libraries/{OWN}/users", data={**new, "csrf_token": token}, headers={"accept-language": "en"}
    )
    assert refused.status_code == 422
    assert "8 characters" in field_error(refused.text, "password")
    refused = client.post(
        f"/admin/libraries/{OWN}/users",
        data={**new, "password": "lange-ord-1", "csrf_token": token},
        headers={"accept-language": "en"},
    )
    assert refused.status_code == 422 and "lower-case letters" in field_error(refused.text, "username")
    taken = client.post(
        f"/admin/libraries/{OWN}/users",
        data={**new, "username": "kbh", "password": "lange-ord-1", "csrf_token": token},
        headers={"accept-language": "en"},
    )
    assert taken.status_code == 422 and "taken" in field_error(taken.text, "username")
    added = post(
        client, f"/admin/libraries/{OWN}/users", {**new, "username": "soes", "password": "lange-ord-1"}, token
    )
    assert added.status_code == 303  # type: ignore[attr-defined]
    listed = client.get("/admin/library/users").text
    assert "Søs Ærø" in listed and "/admin/libraries/DK-715700/users/soes" in listed

    reset = post(client, f"/admin/libraries/{OWN}/users/soes/password", {"password": "nyt-kodeord-2"}, token)
    assert reset.status_code == 303  # type: ignore[attr-defined]
    with seeded.unit_of_work() as session:
        assert authenticate(session, "soes", "nyt-kodeord-2").library_isil == OWN
        with pytest.raises(NotAuthenticated):
            authenticate(session, "soes", "lange-ord-1")
    # Not a user of this library: 404; a library admin resets no other library's passwords: 403.
    assert (
        post(
            client, f"/admin/libraries/{OWN}/users/kbh/password", {"password": "nyt-kodeord-2"}, token
        ).status_code
        == 404
    )  # type: ignore[attr-defined]
    assert (
        post(
            client, f"/admin/libraries/{OTHER}/users/kbh/password", {"password": "nyt-kodeord-2"}, token
        ).status_code
        == 403
    )  # type: ignore[attr-defined]


def test_the_network_table_filters_sorts_and_pages(client: TestClient, seeded: Database) -> None:
    log_in(client, "admin")
    page = client.get("/admin/libraries", params={"f_name": "gentofte", "lang": "en"}).text
    assert "Gentofte Bibliotekerne" in page and "Københavns Biblioteker" not in page
    first = client.get("/admin/libraries", params={"sort": "isil", "per_page": 5, "lang": "en"}).text
    assert 'aria-sort="ascending"' in first and "page=2" in first
    isils = re.findall(r"<td>((?:DK|SE|NO)-[0-9A-Z]+)</td>", first)
    assert isils == sorted(isils) and len(isils) == 5
    assert "Open requests" in first


def test_a_library_admin_deactivates_and_reactivates_a_user(client: TestClient, seeded: Database) -> None:
    from fjernlaan.accounts.model import Role
    from fjernlaan.accounts.service import add_user

    with seeded.unit_of_work() as session:
        add_user(session, username="gen-staff", password="gen-staff-1", role=Role.STAFF, library_isil=OWN)
    token = log_in(client, "gentofte")
    page = client.get(f"/admin/libraries/{OWN}/users/gen-staff")
    assert 'action="/admin/libraries/DK-715700/users/gen-staff/active"' in page.text
    # Without the CSRF token nothing changes.
    forged = client.post(
        f"/admin/libraries/{OWN}/users/gen-staff/active", data={"active": "0"}, follow_redirects=False
    )
    assert forged.status_code == 303
    with seeded.unit_of_work() as session:
        assert authenticate(session, "gen-staff", "gen-staff-1").library_isil == OWN
    off = post(client, f"/admin/libraries/{OWN}/users/gen-staff/active", {"active": "0"}, token)
    assert off.status_code == 303  # type: ignore[attr-defined]
    with seeded.unit_of_work() as session, pytest.raises(NotAuthenticated):
        authenticate(session, "gen-staff", "gen-staff-1")
    shown = client.get(f"/admin/libraries/{OWN}/users/gen-staff", params={"lang": "en"}).text
    assert "Deactivated" in shown and "Reactivate user" in shown
    on = post(client, f"/admin/libraries/{OWN}/users/gen-staff/active", {"active": "1"}, token)
    assert on.status_code == 303  # type: ignore[attr-defined]
    with seeded.unit_of_work() as session:
        assert authenticate(session, "gen-staff", "gen-staff-1").library_isil == OWN
    # Nobody deactivates themself (no button, and the post is refused); another library's user: 403.
    assert "/active" not in client.get(f"/admin/libraries/{OWN}/users/gentofte").text
    self_off = post(client, f"/admin/libraries/{OWN}/users/gentofte/active", {"active": "0"}, token)
    assert self_off.status_code == 422  # type: ignore[attr-defined]
    other = post(client, f"/admin/libraries/{OTHER}/users/kbh/active", {"active": "0"}, token)
    assert other.status_code == 403  # type: ignore[attr-defined]
    # A coordinator sees the user and changes nothing.
    coordinator = TestClient(client.app, raise_server_exceptions=False)
    coordinator_token = log_in(coordinator, "koordinator")
    assert "/active" not in coordinator.get(f"/admin/libraries/{OWN}/users/gen-staff").text
    refused = post(
        coordinator, f"/admin/libraries/{OWN}/users/gen-staff/active", {"active": "0"}, coordinator_token
    )
    assert refused.status_code == 403  # type: ignore[attr-defined]


def test_a_library_admin_revokes_a_users_api_token(client: TestClient, seeded: Database) -> None:
    from fjernlaan.accounts.service import issue_token, list_tokens
    from fjernlaan.clock import SYSTEM_CLOCK

    with seeded.unit_of_work() as session:
        issue_token(session, "gentofte", "skanner", now=SYSTEM_CLOCK.now(), days=30)
        issue_token(session, "kbh", "kbh-skanner", now=SYSTEM_CLOCK.now(), days=30)
    with seeded.unit_of_work() as session:
        [mine] = list_tokens(session, "gentofte")
        [theirs] = list_tokens(session, "kbh")
    token = log_in(client, "gentofte")
    page = client.get(f"/admin/libraries/{OWN}/users/gentofte", params={"lang": "en"}).text
    assert "skanner" in page and f"/users/gentofte/tokens/{mine.id}/revoke" in page
    assert (
        post(client, f"/admin/libraries/{OWN}/users/gentofte/tokens/{mine.id}/revoke", {}, "x").status_code
        == 303
    )  # type: ignore[attr-defined]
    with seeded.unit_of_work() as session:
        assert not list_tokens(session, "gentofte")[0].revoked  # a forged form changes nothing
    done = post(client, f"/admin/libraries/{OWN}/users/gentofte/tokens/{mine.id}/revoke", {}, token)
    assert done.status_code == 303  # type: ignore[attr-defined]
    with seeded.unit_of_work() as session:
        assert list_tokens(session, "gentofte")[0].revoked
    assert "Revoked" in client.get(f"/admin/libraries/{OWN}/users/gentofte", params={"lang": "en"}).text
    # Another library's user's token, or a token of another user: refused, and it still works.
    other = post(client, f"/admin/libraries/{OTHER}/users/kbh/tokens/{theirs.id}/revoke", {}, token)
    assert other.status_code == 403  # type: ignore[attr-defined]
    wrong = post(client, f"/admin/libraries/{OWN}/users/gentofte/tokens/{theirs.id}/revoke", {}, token)
    assert wrong.status_code == 404  # type: ignore[attr-defined]
    with seeded.unit_of_work() as session:
        assert not list_tokens(session, "kbh")[0].revoked
    # Staff without an admin role see no tokens of others.
    staff = TestClient(client.app, raise_server_exceptions=False)
    log_in(staff, "kbh")
    assert staff.get(f"/admin/libraries/{OTHER}/users/kbh").status_code == 403


def test_the_audit_log_page_is_scoped_as_the_api_and_paged(client: TestClient, seeded: Database) -> None:
    from fjernlaan.accounts.model import Actor
    from fjernlaan.accounts.service import audit, list_audit
    from fjernlaan.clock import SYSTEM_CLOCK

    now = SYSTEM_CLOCK.now()
    with seeded.unit_of_work() as session:
        for n in range(60):
            actor = Actor("gentofte", None, "library_admin", OWN, "10.0.0.1")
            audit(session, actor, "password_changed", now, target=f"user gentofte-{n}")
        audit(session, Actor("kbh", None, "staff", OTHER, "10.0.0.2"), "token_issued", now, target="user kbh")
    log_in(client, "gentofte")
    page = client.get("/admin/audit", params={"lang": "en"})
    assert page.status_code == 200 and "Audit log" in page.text
    assert "gentofte-59" in page.text and "token_issued" not in page.text  # own library's users only
    with seeded.unit_of_work() as session:
        _, total = list_audit(session, library_isil=OWN)  # what the API lists for this admin
    assert total >= 60 and f"({total} rows)" in page.text
    second = client.get("/admin/audit", params={"page": "2", "lang": "en"}).text
    assert "gentofte-0<" in second and "gentofte-59" not in second
    # Narrowing to another library does not widen a library admin's scope.
    narrowed = client.get("/admin/audit", params={"f_library": OTHER}).text
    assert "token_issued" not in narrowed
    national = TestClient(client.app, raise_server_exceptions=False)
    log_in(national, "admin")
    everything = national.get("/admin/audit", params={"f_action": "token_issued"}).text
    assert "user kbh" in everything and "gentofte-1" not in everything
    only = national.get("/admin/audit", params={"f_library": OTHER}).text
    assert "user kbh" in only and "gentofte-1" not in only
    for username in ("kbh", "koordinator"):
        other = TestClient(client.app, raise_server_exceptions=False)
        log_in(other, username)
        assert other.get("/admin/audit").status_code == 403
    anonymous = TestClient(client.app, raise_server_exceptions=False)
    assert anonymous.get("/admin/audit", follow_redirects=False).status_code == 303


def test_every_user_revokes_their_own_api_tokens_and_no_one_elses(
    client: TestClient, seeded: Database
) -> None:
    from fjernlaan.accounts.service import issue_token, list_tokens
    from fjernlaan.clock import SYSTEM_CLOCK

    with seeded.unit_of_work() as session:
        issue_token(session, "kbh", "min-skanner", now=SYSTEM_CLOCK.now(), days=30)
        issue_token(session, "gentofte", "gentofte-skanner", now=SYSTEM_CLOCK.now(), days=30)
    with seeded.unit_of_work() as session:
        [mine] = list_tokens(session, "kbh")
        [theirs] = list_tokens(session, "gentofte")
    token = log_in(client, "kbh")  # staff without an admin role
    page = client.get("/account/tokens", params={"lang": "en"}).text
    assert "min-skanner" in page and "gentofte-skanner" not in page
    assert f'action="/account/tokens/{mine.id}/revoke"' in page
    assert post(client, f"/account/tokens/{theirs.id}/revoke", {}, token).status_code == 404  # type: ignore[attr-defined]
    assert post(client, f"/account/tokens/{mine.id}/revoke", {}, "forged").status_code == 303  # type: ignore[attr-defined]
    with seeded.unit_of_work() as session:
        assert not list_tokens(session, "kbh")[0].revoked
    assert post(client, f"/account/tokens/{mine.id}/revoke", {}, token).status_code == 303  # type: ignore[attr-defined]
    with seeded.unit_of_work() as session:
        assert list_tokens(session, "kbh")[0].revoked and not list_tokens(session, "gentofte")[0].revoked
    assert "Revoked" in client.get("/account/tokens", params={"lang": "en"}).text
    anonymous = TestClient(client.app, raise_server_exceptions=False)
    assert anonymous.get("/account/tokens", follow_redirects=False).status_code == 303
