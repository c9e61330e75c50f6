"""National admins set peers up through the API and the CLI; secrets are write-only."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from fjernlaan.db.uow import Database
from fjernlaan.iso18626 import peers, store


def test_a_national_admin_sets_credentials_that_are_shown_only_as_set(
    client: TestClient, token_for: Callable[[str], dict[str, str]]
) -> None:
    body = {"account_id": "lund-1", "security_code": "lange-hemmelige-kode", "kind": "reshare"}
    put = client.put("/api/v1/libraries/SE-L/iso18626-peer", json=body, headers=token_for("admin"))
    assert put.status_code == 200, put.text
    shown = client.get("/api/v1/libraries/SE-L/iso18626-peer", headers=token_for("admin")).json()
    assert shown["account_id"] == "lund-1" and shown["has_security_code"] is True
    assert shown["kind"] == "reshare" and shown["version"] == "2021"
    assert "lange-hemmelige-kode" not in str(shown)


def test_a_put_without_the_security_code_keeps_it(
    client: TestClient, token_for: Callable[[str], dict[str, str]]
) -> None:
    client.put(
        "/api/v1/libraries/SE-L/iso18626-peer",
        json={"security_code": "lange-hemmelige-kode"},
        headers=token_for("admin"),
    )
    put = client.put(
        "/api/v1/libraries/SE-L/iso18626-peer", json={"version_override": "2017"}, headers=token_for("admin")
    )
    assert put.json()["has_security_code"] is True and put.json()["version"] == "2017"


def test_the_token_a_peer_issued_to_us_is_write_only(
    client: TestClient, token_for: Callable[[str], dict[str, str]]
) -> None:
    put = client.put(
        "/api/v1/libraries/SE-L/iso18626-peer",
        json={"outbound_token": "lund.issued~token+1=="},
        headers=token_for("admin"),
    )
    assert put.status_code == 200, put.text
    shown = client.get("/api/v1/libraries/SE-L/iso18626-peer", headers=token_for("admin")).json()
    assert shown["has_outbound_token"] is True
    assert "lund.issued~token+1" not in str(shown) and "lund.issued~token+1" not in put.text


def test_a_put_with_a_null_outbound_token_clears_it_and_one_without_keeps_it(
    client: TestClient, token_for: Callable[[str], dict[str, str]]
) -> None:
    url, admin = "/api/v1/libraries/SE-L/iso18626-peer", token_for("admin")
    client.put(url, json={"outbound_token": "lund-token-1"}, headers=admin)
    assert client.put(url, json={"kind": "generic"}, headers=admin).json()["has_outbound_token"] is True
    assert client.put(url, json={"outbound_token": None}, headers=admin).json()["has_outbound_token"] is False


def test_an_outbound_token_a_header_cannot_carry_is_refused_and_changes_nothing(
    client: TestClient, token_for: Callable[[str], dict[str, str]]
) -> None:
    url, admin = "/api/v1/libraries/SE-L/iso18626-peer", token_for("admin")
    for bad in ("to ord", "linje\nskift", "", "æøå-token", "x" * 501):
        put = client.put(url, json={"outbound_token": bad, "kind": "reshare"}, headers=admin)
        assert put.status_code == 422, (bad, put.text)
        assert "outbound token" in put.text or "outbound_token" in put.text  # the field is named
    shown = client.get(url, headers=admin).json()
    assert shown["has_outbound_token"] is False and shown["kind"] == "generic"


def test_a_new_bearer_token_is_issued_once_and_stored_hashed(
    client: TestClient, seeded: Database, token_for: Callable[[str], dict[str, str]]
) -> None:
    issued = client.post("/api/v1/libraries/SE-L/iso18626-peer/token", headers=token_for("admin"))
    assert issued.status_code == 201
    token = issued.json()["token"]
    with seeded.unit_of_work() as session:
        peer = store.get_peer(session, "SE-L")
        assert peer is not None and peer.token_hash is not None and token not in peer.token_hash


def test_only_national_admins_see_peer_settings(
    client: TestClient, token_for: Callable[[str], dict[str, str]]
) -> None:
    assert client.get("/api/v1/libraries/SE-L/iso18626-peer").status_code == 401


def test_the_demo_gives_the_foreign_libraries_peer_credentials(seeded: Database) -> None:
    with seeded.unit_of_work() as session:
        lund, oslo = peers.peer_view(session, "SE-L"), peers.peer_view(session, "NO-0030100")
    assert lund.has_security_code and oslo.has_security_code
    assert oslo.profile.unfilled_only_at_end_of_rota and not lund.profile.unfilled_only_at_end_of_rota
