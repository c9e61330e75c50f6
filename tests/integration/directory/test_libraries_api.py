"""The directory's REST API, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

Headers = Callable[[str], dict[str, str]]


def test_the_demo_directory_lists_more_than_110_libraries(client: TestClient, token_for: Headers) -> None:
    answer = client.get("/api/v1/libraries", params={"limit": 1000}, headers=token_for("kbh"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["total"] >= 110
    copenhagen = next(lib for lib in body["items"] if lib["isil"] == "DK-710100")
    assert copenhagen["type"] == "public"
    assert copenhagen["region"] == "gentofte"
    assert copenhagen["central_isil"] == "DK-715700"
    assert copenhagen["name"] == "Københavns Biblioteker"


def test_lists_are_paged_with_limit_and_offset(client: TestClient, token_for: Headers) -> None:
    first = client.get("/api/v1/libraries", params={"limit": 10}, headers=token_for("kbh")).json()
    second = client.get(
        "/api/v1/libraries", params={"limit": 10, "offset": 10}, headers=token_for("kbh")
    ).json()
    assert len(first["items"]) == 10
    assert first["limit"] == 10 and second["offset"] == 10
    assert {lib["isil"] for lib in first["items"]}.isdisjoint({lib["isil"] for lib in second["items"]})


def test_a_limit_over_1000_is_refused_naming_the_field(client: TestClient, token_for: Headers) -> None:
    answer = client.get("/api/v1/libraries", params={"limit": 1001}, headers=token_for("kbh"))
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["errors"][0]["field"] == "limit"


def test_filter_by_type_and_region(client: TestClient, token_for: Headers) -> None:
    body = client.get(
        "/api/v1/libraries", params={"type": "central", "region": "aalborg"}, headers=token_for("kbh")
    ).json()
    assert [lib["isil"] for lib in body["items"]] == ["DK-785100"]


def test_anonymous_callers_get_401(client: TestClient) -> None:
    answer = client.get("/api/v1/libraries")
    assert answer.status_code == 401
    assert answer.json()["status"] == 401


def test_a_wrong_token_gets_401(client: TestClient) -> None:
    answer = client.get("/api/v1/libraries", headers={"Authorization": "Bearer fjl_not-a-token"})
    assert answer.status_code == 401
    assert "token" in answer.json()["detail"]


def test_unknown_isil_is_404(client: TestClient, token_for: Headers) -> None:
    answer = client.get("/api/v1/libraries/DK-999999", headers=token_for("kbh"))
    assert answer.status_code == 404
    assert "DK-999999" in answer.json()["detail"]


def test_malformed_isil_in_the_path_is_422_naming_isil(client: TestClient, token_for: Headers) -> None:
    answer = client.get("/api/v1/libraries/DK-12", headers=token_for("kbh"))
    assert answer.status_code == 422
    assert answer.json()["field"] == "isil"


def test_creating_a_library_with_a_malformed_isil_is_422_naming_the_field(
    client: TestClient, token_for: Headers
) -> None:
    answer = client.post(
        "/api/v1/libraries", json={"isil": "DK-12", "name": "X", "type": "public"}, headers=token_for("admin")
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "isil"


def test_national_admin_adds_a_library(client: TestClient, token_for: Headers) -> None:
    body = {"isil": "DK-899999", "name": "Ærøskøbing Særsamling", "type": "special", "email": "a@b.dk"}
    answer = client.post("/api/v1/libraries", json=body, headers=token_for("admin"))
    assert answer.status_code == 201
    assert answer.headers["location"] == "/api/v1/libraries/DK-899999"
    fetched = client.get("/api/v1/libraries/DK-899999", headers=token_for("kbh")).json()
    assert fetched["name"] == "Ærøskøbing Særsamling"


def test_adding_an_existing_isil_is_409(client: TestClient, token_for: Headers) -> None:
    body = {"isil": "DK-710100", "name": "Dublet", "type": "public"}
    assert client.post("/api/v1/libraries", json=body, headers=token_for("admin")).status_code == 409


def test_staff_may_not_add_libraries(client: TestClient, token_for: Headers) -> None:
    body = {"isil": "DK-899998", "name": "X", "type": "special"}
    assert client.post("/api/v1/libraries", json=body, headers=token_for("kbh")).status_code == 403


def test_a_central_isil_that_is_not_in_the_directory_is_refused(
    client: TestClient, token_for: Headers
) -> None:
    body = {"isil": "DK-899997", "name": "X", "type": "public", "central_isil": "DK-111111"}
    answer = client.post("/api/v1/libraries", json=body, headers=token_for("admin"))
    assert answer.status_code == 422
    assert answer.json()["field"] == "central_isil"


def test_library_admin_changes_own_library(client: TestClient, token_for: Headers) -> None:
    answer = client.patch(
        "/api/v1/libraries/DK-715700",
        json={"email": "fjernlaan@gentofte.example"},
        headers=token_for("gentofte"),
    )
    assert answer.status_code == 200
    assert answer.json()["email"] == "fjernlaan@gentofte.example"


def test_library_admin_of_a_gets_403_on_library_b(client: TestClient, token_for: Headers) -> None:
    answer = client.patch(
        "/api/v1/libraries/DK-710100", json={"name": "Overtaget"}, headers=token_for("gentofte")
    )
    assert answer.status_code == 403


def test_staff_gets_403_on_admin_of_own_library(client: TestClient, token_for: Headers) -> None:
    answer = client.patch("/api/v1/libraries/DK-710100", json={"name": "X"}, headers=token_for("kbh"))
    assert answer.status_code == 403


def test_staff_gets_403_on_another_librarys_policy(client: TestClient, token_for: Headers) -> None:
    answer = client.put("/api/v1/libraries/DK-715700/policy", json={}, headers=token_for("kbh"))
    assert answer.status_code == 403


def test_library_admin_may_not_move_own_library_to_another_region(
    client: TestClient, token_for: Headers
) -> None:
    answer = client.patch(
        "/api/v1/libraries/DK-715700", json={"region": "aalborg"}, headers=token_for("gentofte")
    )
    assert answer.status_code == 403


def test_unknown_fields_in_a_patch_are_refused(client: TestClient, token_for: Headers) -> None:
    answer = client.patch(
        "/api/v1/libraries/DK-715700", json={"colour": "red"}, headers=token_for("gentofte")
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "colour"


def test_library_admin_replaces_own_policy(client: TestClient, token_for: Headers) -> None:
    policy = {"loan_period_days": 28, "refused_material_types": ["music"], "min_title_age_days": 365}
    answer = client.put("/api/v1/libraries/DK-715700/policy", json=policy, headers=token_for("gentofte"))
    assert answer.status_code == 200
    stored = client.get("/api/v1/libraries/DK-715700/policy", headers=token_for("kbh")).json()
    assert stored["loan_period_days"] == 28
    assert stored["refused_material_types"] == ["music"]
    assert stored["answer_deadline_working_days"] == 3


def test_a_policy_with_a_negative_loan_period_is_refused(client: TestClient, token_for: Headers) -> None:
    answer = client.put(
        "/api/v1/libraries/DK-715700/policy", json={"loan_period_days": -1}, headers=token_for("gentofte")
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "loan_period_days"


def test_a_closure_moves_the_librarys_deadlines(client: TestClient, token_for: Headers) -> None:
    before = client.get(
        "/api/v1/libraries/DK-715700/working-days",
        params={"start": "2026-03-02", "n": 3},
        headers=token_for("kbh"),
    ).json()
    assert before["date"] == "2026-03-05"
    added = client.post(
        "/api/v1/libraries/DK-715700/closures",
        json={"starts": "2026-03-03", "ends": "2026-03-04", "reason": "Flytning"},
        headers=token_for("gentofte"),
    )
    assert added.status_code == 201
    after = client.get(
        "/api/v1/libraries/DK-715700/working-days",
        params={"start": "2026-03-02", "n": 3},
        headers=token_for("kbh"),
    ).json()
    assert after["date"] == "2026-03-09"
    closure_id = added.json()["id"]
    removed = client.delete(
        f"/api/v1/libraries/DK-715700/closures/{closure_id}", headers=token_for("gentofte")
    )
    assert removed.status_code == 204


def test_a_closure_ending_before_it_starts_is_refused(client: TestClient, token_for: Headers) -> None:
    answer = client.post(
        "/api/v1/libraries/DK-715700/closures",
        json={"starts": "2026-03-04", "ends": "2026-03-03"},
        headers=token_for("gentofte"),
    )
    assert answer.status_code == 422


def test_health_reports_the_database(client: TestClient) -> None:
    answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


def test_openapi_is_served_at_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/api/v1/libraries" in spec["paths"]
