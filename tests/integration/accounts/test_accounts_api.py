"""Users, tokens, sessions and patrons."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

Headers = Callable[[str], dict[str, str]]


def test_me_tells_the_caller_who_they_are(client: TestClient, token_for: Headers) -> None:
    body = client.get("/api/v1/me", headers=token_for("gentofte")).json()
    assert body == {
        "user_id": body["user_id"],
        "username": "gentofte",
        "role": "library_admin",
        "library_isil": "DK-715700",
    }


def test_library_admin_adds_staff_to_own_library(client: TestClient, token_for: Headers) -> None:
    body = {
        "username": "gentofte2",
        "password": "hemmeligt-ord",
        "role": "staff",
        "library_isil": "DK-715700",
    }
    assert client.post("/api/v1/users", json=body, headers=token_for("gentofte")).status_code == 201


def test_library_admin_may_not_add_staff_to_another_library(client: TestClient, token_for: Headers) -> None:
    body = {"username": "spion", "password": "hemmeligt-ord", "role": "staff", "library_isil": "DK-710100"}
    assert client.post("/api/v1/users", json=body, headers=token_for("gentofte")).status_code == 403


def test_only_national_admins_create_coordinators(client: TestClient, token_for: Headers) -> None:
    body = {"username": "ny-koordinator", "password": "hemmeligt-ord", "role": "coordinator"}
    assert client.post("/api/v1/users", json=body, headers=token_for("gentofte")).status_code == 403
    assert client.post("/api/v1/users", json=body, headers=token_for("admin")).status_code == 201


def test_a_taken_username_is_409(client: TestClient, token_for: Headers) -> None:
    body = {"username": "kbh", "password": "hemmeligt-ord", "role": "staff", "library_isil": "DK-710100"}
    assert client.post("/api/v1/users", json=body, headers=token_for("admin")).status_code == 409


def test_staff_registers_a_patron_with_danish_name(client: TestClient, token_for: Headers) -> None:
    body = {
        "card_number": "1234",
        "name": "Søren Ærø Åberg",
        "email": "s@example.dk",
        "category": "adult",
        "home_library": "DK-710100",
    }
    created = client.post("/api/v1/patrons", json=body, headers=token_for("kbh"))
    assert created.status_code == 201
    fetched = client.get("/api/v1/patrons/DK-710100/1234", headers=token_for("kbh")).json()
    assert fetched["name"] == "Søren Ærø Åberg"


def test_another_librarys_staff_cannot_see_a_patron(client: TestClient, token_for: Headers) -> None:
    body = {"card_number": "99", "name": "Privat Person", "home_library": "DK-710100"}
    client.post("/api/v1/patrons", json=body, headers=token_for("kbh"))
    assert client.get("/api/v1/patrons/DK-710100/99", headers=token_for("gentofte")).status_code == 403


def test_a_patron_category_outside_the_list_is_refused(client: TestClient, token_for: Headers) -> None:
    body = {"card_number": "5", "name": "X", "category": "senior", "home_library": "DK-710100"}
    answer = client.post("/api/v1/patrons", json=body, headers=token_for("kbh"))
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "category"


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the login form carries a CSRF token"
    return match.group(1)


def test_login_with_the_demo_admin_opens_a_session(client: TestClient) -> None:
    form = client.get("/login")
    assert form.status_code == 200
    answer = client.post(
        "/login",
        data={"username": "admin", "password": "fjernlaan-admin", "csrf_token": _csrf(form.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert client.get("/api/v1/me").json()["username"] == "admin"
    assert "Københavns Biblioteker" in client.get("/libraries").text


def test_login_with_a_wrong_password_is_refused(client: TestClient) -> None:
    form = client.get("/login")
    answer = client.post(
        "/login", data={"username": "admin", "password": "forkert", "csrf_token": _csrf(form.text)}
    )
    assert answer.status_code == 401
    assert "Forkert brugernavn eller adgangskode" in answer.text


def test_login_without_the_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    answer = client.post(
        "/login", data={"username": "admin", "password": "fjernlaan-admin", "csrf_token": "x"}
    )
    assert answer.status_code == 400


def test_the_login_page_switches_to_english(client: TestClient) -> None:
    assert "Log in" in client.get("/login", params={"lang": "en"}).text
    assert "Log ind" in client.get("/login", params={"lang": "da"}).text


def test_login_never_redirects_to_another_host(client: TestClient) -> None:
    form = client.get("/login")
    answer = client.post(
        "/login",
        data={
            "username": "admin",
            "password": "fjernlaan-admin",
            "csrf_token": _csrf(form.text),
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/staff"  # an outside `next` lands on the staff page
