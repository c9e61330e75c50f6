"""Revocation (issue 12, defect 5): login sessions end at logout and on expiry, tokens expire and are
revoked, deactivated users are locked out at once; every staff and admin action is audited."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from fjernlaan.accounts import service
from fjernlaan.accounts.store import AuditRow
from fjernlaan.clock import FixedClock
from fjernlaan.db.uow import Database
from fjernlaan.web.deps import SESSION_COOKIE

Headers = Callable[[str], dict[str, str]]


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def _login(client: TestClient, username: str, password: str) -> str:
    form = client.get("/login")
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": _csrf(form.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie
    return cookie


def _me(client: TestClient, cookie: str) -> int:
    # A fresh request carrying only the given cookie (as a thief who copied it would).
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    status = client.get("/api/v1/me").status_code
    client.cookies.clear()
    return status


def _audit(db: Database, action: str) -> list[AuditRow]:
    with db.unit_of_work() as session:
        rows = list(session.scalars(select(AuditRow).where(AuditRow.action == action).order_by(AuditRow.id)))
        session.expunge_all()
        return rows


def test_a_session_cookie_stops_working_at_logout(client: TestClient, seeded: Database) -> None:
    cookie = _login(client, "kbh", "fjernlaan-kbh")
    assert _me(client, cookie) == 200
    client.cookies.set(SESSION_COOKIE, cookie)
    page = client.get("/login")
    client.post("/logout", data={"csrf_token": _csrf(page.text)}, follow_redirects=False)
    # The browser forgot it; a copy kept elsewhere is refused too, because the server ended it.
    assert _me(client, cookie) == 401
    [logout] = _audit(seeded, "logout")
    assert logout.username == "kbh" and logout.ip == "testclient"


def test_a_session_ends_when_it_expires(client: TestClient, clock: FixedClock) -> None:
    cookie = _login(client, "kbh", "fjernlaan-kbh")
    clock.advance(hours=7, minutes=59)
    assert _me(client, cookie) == 200
    # The server's expiry counts, whatever the (signed) cookie or the browser say.
    clock.advance(minutes=1)
    assert _me(client, cookie) == 401


def test_a_token_expires(client: TestClient, clock: FixedClock, token_for: Headers) -> None:
    issued = client.post(
        "/api/v1/users/kbh/tokens", json={"label": "kort", "days": 1}, headers=token_for("kbh")
    )
    assert issued.status_code == 201
    token = {"Authorization": f"Bearer {issued.json()['token']}"}
    clock.advance(hours=23, minutes=59)
    assert client.get("/api/v1/me", headers=token).status_code == 200
    # Even the cache, which just saw it valid, refuses it once it has expired.
    clock.advance(minutes=1)
    answer = client.get("/api/v1/me", headers=token)
    assert answer.status_code == 401 and "expired" in answer.text
    # The default lifetime is the hub's setting (365 days).
    listed = client.get("/api/v1/users/kbh/tokens", headers=token_for("kbh")).json()
    assert [t["usable"] for t in listed if t["label"] == "kort"] == [False]


def test_tokens_are_listed_and_revoked_through_the_api(client: TestClient, seeded: Database) -> None:
    with seeded.unit_of_work() as session:
        first = service.issue_token(session, "kbh", "første")
        second = service.issue_token(session, "kbh", "anden")
    kbh = {"Authorization": f"Bearer {first}"}
    issued = client.post("/api/v1/users/kbh/tokens", json={"label": "ny", "days": 30}, headers=kbh)
    assert issued.status_code == 201
    assert issued.json()["token"].startswith("fjl_")
    listed = client.get("/api/v1/users/kbh/tokens", headers=kbh).json()
    assert [t["label"] for t in listed] == ["ny", "anden", "første"]
    assert all(t["usable"] and t["expires_at"] for t in listed)
    second_id = next(t["id"] for t in listed if t["label"] == "anden")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    assert client.delete(f"/api/v1/users/kbh/tokens/{second_id}", headers=kbh).status_code == 204
    # Revoked: refused at once, though it was used (and cached) a moment ago.
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code == 401
    assert [t["revoked"] for t in client.get("/api/v1/users/kbh/tokens", headers=kbh).json()] == [
        False,
        True,
        False,
    ]
    [revoked] = _audit(seeded, "token_revoked")
    assert revoked.username == "kbh" and revoked.target == f"user kbh token {second_id}"


def test_only_the_user_and_their_administrators_see_their_tokens(
    client: TestClient, token_for: Headers
) -> None:
    assert client.get("/api/v1/users/kbh/tokens", headers=token_for("gentofte")).status_code == 403
    assert client.get("/api/v1/users/kbh/tokens", headers=token_for("dtu")).status_code == 403
    assert client.get("/api/v1/users/kbh/tokens", headers=token_for("admin")).status_code == 200
    assert client.get("/api/v1/users/nobody/tokens", headers=token_for("admin")).status_code == 404


def test_a_deactivated_user_is_locked_out_at_once(
    client: TestClient, seeded: Database, token_for: Headers
) -> None:
    kbh = token_for("kbh")
    assert client.get("/api/v1/me", headers=kbh).status_code == 200  # cached as valid
    cookie = _login(client, "kbh", "fjernlaan-kbh")
    assert _me(client, cookie) == 200
    answer = client.patch("/api/v1/users/kbh", json={"active": False}, headers=token_for("admin"))
    assert answer.status_code == 200 and answer.json()["active"] is False
    assert client.get("/api/v1/me", headers=kbh).status_code == 401
    assert _me(client, cookie) == 401
    form = client.get("/login")
    refused = client.post(
        "/login", data={"username": "kbh", "password": "fjernlaan-kbh", "csrf_token": _csrf(form.text)}
    )
    assert refused.status_code == 401
    # Reactivated: the token works again; the session ended for good.
    client.patch("/api/v1/users/kbh", json={"active": True}, headers=token_for("admin"))
    assert client.get("/api/v1/me", headers=kbh).status_code == 200
    assert _me(client, cookie) == 401
    assert [r.target for r in _audit(seeded, "user_deactivated")] == ["user kbh"]


def test_a_library_admin_deactivates_only_their_own_staff(client: TestClient, token_for: Headers) -> None:
    assert (
        client.patch("/api/v1/users/kbh", json={"active": False}, headers=token_for("gentofte")).status_code
        == 403
    )
    assert (
        client.patch("/api/v1/users/kbh", json={"active": False}, headers=token_for("kbh")).status_code == 403
    )
    assert (
        client.patch("/api/v1/users/admin", json={"active": False}, headers=token_for("admin")).status_code
        == 422
    )


def test_logins_and_failed_logins_are_audited_with_the_address(client: TestClient, seeded: Database) -> None:
    form = client.get("/login")
    client.post("/login", data={"username": "admin", "password": "forkert", "csrf_token": _csrf(form.text)})
    _login(client, "admin", "fjernlaan-admin")
    [failed] = _audit(seeded, "login_failed")
    assert (failed.username, failed.user_id, failed.ip) == ("admin", None, "testclient")
    [login] = _audit(seeded, "login")
    assert (login.username, login.role, login.ip) == ("admin", "national_admin", "testclient")


def test_staff_and_admin_writes_are_audited_in_the_same_transaction(
    client: TestClient, seeded: Database, token_for: Headers
) -> None:
    policy = client.get("/api/v1/libraries/DK-715700/policy", headers=token_for("gentofte")).json()
    assert (
        client.put(
            "/api/v1/libraries/DK-715700/policy", json=policy, headers=token_for("gentofte")
        ).status_code
        == 200
    )
    assert (
        client.patch(
            "/api/v1/libraries/DK-715700",
            json={"email": "fjernlaan@gentofte.dk"},
            headers=token_for("gentofte"),
        ).status_code
        == 200
    )
    new_user = {
        "username": "ny-kollega",
        "password": "hemmeligt-ord",
        "role": "staff",
        "library_isil": "DK-715700",
    }
    assert client.post("/api/v1/users", json=new_user, headers=token_for("gentofte")).status_code == 201
    # Refused writes leave no entry: the entry commits with the action or not at all.
    assert client.post("/api/v1/users", json=new_user, headers=token_for("gentofte")).status_code == 409
    [put] = _audit(seeded, "put_policy")
    assert (put.username, put.library_isil, put.ip) == ("gentofte", "DK-715700", "testclient")
    assert put.via == "PUT /api/v1/libraries/DK-715700/policy" and put.target == "isil=DK-715700"
    [patch] = _audit(seeded, "patch_library")
    assert any(c.startswith("change libraries:DK-715700") for c in patch.detail["changes"])
    [added] = _audit(seeded, "add_user")
    assert any(c.startswith("add users:") for c in added.detail["changes"])


def test_admins_read_the_audit_log_and_library_admins_only_their_librarys(
    client: TestClient, token_for: Headers
) -> None:
    client.patch(
        "/api/v1/libraries/DK-715700", json={"email": "a@gentofte.dk"}, headers=token_for("gentofte")
    )
    client.patch("/api/v1/libraries/DK-710100", json={"email": "a@kk.dk"}, headers=token_for("admin"))
    everything = client.get("/api/v1/audit", headers=token_for("admin")).json()
    assert {e["username"] for e in everything["items"]} >= {"gentofte", "admin"}
    assert everything["items"][0]["at"] >= everything["items"][-1]["at"]
    own = client.get("/api/v1/audit", headers=token_for("gentofte")).json()
    assert own["total"] >= 1
    assert {e["library_isil"] for e in own["items"]} == {"DK-715700"}
    assert client.get("/api/v1/audit", headers=token_for("kbh")).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401
