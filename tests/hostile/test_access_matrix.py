"""Who may call what: every route of the app × every kind of caller.

`ACCESS` below is the one table of access rules. The routes come from the app itself
(`app.routes`), so a route added without a row here fails `test_every_route_has_an_access_rule`.

A caller *passes* a route when the answer is neither 401, 403 nor 404 (the hub answers 404 to staff
of an unrelated library, so they cannot even learn that a request exists) nor a redirect to the login
page; it may still be a 409 or 422 about the data. A caller who is *refused* gets 401, 403 or 404, or
for an HTML page the redirect to the login page. Never a 5xx.

The callers: anonymous; a patron logged in with card and PIN at `/patron/login` (a patron session:
the patron's own pages and the public ones, never a staff page or the API); staff of the requesting
library; staff of the lender; staff of an unrelated library; a library administrator; a coordinator
of the body; a national administrator; an external ISO 18626 peer with its bearer token (which
opens `/iso18626` only).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fjernlaan.accounts.model import Role
from fjernlaan.accounts.service import PatronIn, add_patron, add_user, find_user, issue_token, list_tokens
from fjernlaan.app.factory import create_app
from fjernlaan.catalogue.model import Holding, Record
from fjernlaan.catalogue.service import upsert_record
from fjernlaan.db.outbox import OutboxMessage
from fjernlaan.db.uow import Database
from fjernlaan.iso18626.peers import issue_peer_token
from fjernlaan.settings import Settings
from fjernlaan.web.csrf import SESSION_COOKIE
from hostile_support import days_ahead
from patron_helpers import csrf_from, log_in_patron

ROLES = (
    "anonymous",
    "patron",
    "requester_staff",
    "lender_staff",
    "unrelated_staff",
    "library_admin",
    "coordinator",
    "national_admin",
    "peer",
)
USERS = frozenset(ROLES) - {"anonymous", "patron", "peer"}

# Access rules: the roles that pass.
EVERYONE = frozenset(ROLES)
ANY_USER = USERS
NATIONAL_ADMIN = frozenset({"national_admin"})
COORDINATOR_ROLE = frozenset({"coordinator", "national_admin"})  # the role, for new bodies
BODY_COORDINATOR = frozenset({"coordinator", "national_admin"})  # coordinators of this body
LIBRARY_ADMIN = frozenset({"library_admin", "national_admin"})  # of the library in the path
REQUESTER_STAFF = frozenset({"requester_staff", "national_admin"})  # of the patron's library
REQUEST_PARTIES = frozenset({"requester_staff", "lender_staff", "national_admin"})
ANY_STAFF_OF_A_LIBRARY = frozenset(
    {"requester_staff", "lender_staff", "unrelated_staff", "library_admin"}
) | {"national_admin"}
PATRON = frozenset({"patron"})  # a patron session (card and PIN at /patron/login)
PUBLIC_PAGE = EVERYONE - {"peer"}  # a token that is not a user's is refused even here
ADMIN_PAGE = frozenset({"library_admin", "coordinator", "national_admin"})  # coordinators: read only
STAFF_PAGE = ANY_USER  # every user of the matrix works at a library (the coordinator at Vejle)
FORM = frozenset()  # HTML form posts: refused without a CSRF token, whoever posts (a 303 back)
FORM_AGAIN = frozenset({400, 401, 403, 404})  # ... or the form again with 400 "the form has expired"

REQUESTER = "DK-710100"  # København, demo user `kbh`
LENDER = "DK-714700"  # the only holder: first on the rota
ADMINS_LIBRARY = "DK-715700"  # Gentofte, demo library admin `gentofte`
CARD = "M4TR1X"
MANAGED = "matrixstaff"  # a staff user at ADMINS_LIBRARY
DEMO_PATRON_CARD, DEMO_PATRON_PIN = "1000000001", "1234"  # at REQUESTER


@dataclass(frozen=True)
class Call:
    """How a route is called in the matrix: its path filled in and a body that passes validation."""

    passes: frozenset[str]
    path: str | None = None  # default: the route's path with the world's ids filled in
    json: Any = None  # "{name}" strings in it are replaced by the world's ids
    form: dict[str, str] | None = None  # "{name}" in its values is replaced by the world's ids
    refusals: frozenset[int] = frozenset({401, 403, 404})
    fresh_closure: bool = False  # a new closure per call (a deletion must find one to delete)


def _meeting() -> dict[str, Any]:
    return {
        "title": "Matrixmøde",
        "sessions": [
            {"key": "a", "starts": days_ahead(30) + "T10:00:00", "ends": days_ahead(30) + "T12:00:00"}
        ],
    }


ACCESS: dict[tuple[str, str], Call] = {
    ("GET", "/openapi.json"): Call(EVERYONE),
    ("GET", "/docs"): Call(EVERYONE),
    ("GET", "/docs/oauth2-redirect"): Call(EVERYONE),
    ("GET", "/redoc"): Call(EVERYONE),
    ("GET", "/health"): Call(EVERYONE),
    ("MOUNT", "/static"): Call(EVERYONE, path="/static/fjernlaan.css"),
    # directory
    ("GET", "/api/v1/libraries"): Call(ANY_USER),
    ("POST", "/api/v1/libraries"): Call(
        NATIONAL_ADMIN, json={"isil": "DK-799990", "name": "Matrix", "type": "public"}
    ),
    ("GET", "/api/v1/libraries/{isil}"): Call(ANY_USER),
    ("PATCH", "/api/v1/libraries/{isil}"): Call(LIBRARY_ADMIN, json={"name": "Gentofte Bibliotekerne"}),
    ("GET", "/api/v1/libraries/{isil}/policy"): Call(ANY_USER),
    ("PUT", "/api/v1/libraries/{isil}/policy"): Call(LIBRARY_ADMIN, json={}),
    ("GET", "/api/v1/libraries/{isil}/closures"): Call(ANY_USER),
    ("POST", "/api/v1/libraries/{isil}/closures"): Call(
        LIBRARY_ADMIN, json={"starts": days_ahead(40), "ends": days_ahead(41), "reason": "Matrix"}
    ),
    ("DELETE", "/api/v1/libraries/{isil}/closures/{closure_id}"): Call(LIBRARY_ADMIN, fresh_closure=True),
    ("GET", "/api/v1/libraries/{isil}/working-days"): Call(
        ANY_USER, path=f"/api/v1/libraries/{ADMINS_LIBRARY}/working-days?start=" + days_ahead(1) + "&n=3"
    ),
    ("GET", "/api/v1/libraries/{isil}/iso18626-peer"): Call(
        NATIONAL_ADMIN, path="/api/v1/libraries/SE-L/iso18626-peer"
    ),
    ("PUT", "/api/v1/libraries/{isil}/iso18626-peer"): Call(
        NATIONAL_ADMIN, path="/api/v1/libraries/SE-L/iso18626-peer", json={"kind": "generic"}
    ),
    ("POST", "/api/v1/libraries/{isil}/iso18626-peer/token"): Call(
        NATIONAL_ADMIN, path="/api/v1/libraries/NO-0030100/iso18626-peer/token"
    ),
    # accounts
    ("GET", "/api/v1/me"): Call(ANY_USER),
    ("POST", "/api/v1/users"): Call(
        LIBRARY_ADMIN,
        json={
            "username": "matrix",
            "password": "matrix-pass-1",
            "role": "staff",
            "library_isil": ADMINS_LIBRARY,
        },
    ),
    ("POST", "/api/v1/patrons"): Call(
        REQUESTER_STAFF, json={"card_number": "M2", "name": "Matrix Ny", "home_library": REQUESTER}
    ),
    ("GET", "/api/v1/patrons/{isil}/{card_number}"): Call(
        REQUESTER_STAFF, path=f"/api/v1/patrons/{REQUESTER}/{CARD}"
    ),
    # lending
    ("POST", "/api/v1/requests"): Call(
        REQUESTER_STAFF, json={"record_id": "{record_pk}", "card_number": CARD, "requester_isil": REQUESTER}
    ),
    ("GET", "/api/v1/requests"): Call(ANY_USER),
    ("GET", "/api/v1/requests/{request_id}"): Call(REQUEST_PARTIES),
    # The lender answers; the requester's staff may not (409 names the actions their role may take).
    ("POST", "/api/v1/requests/{request_id}/actions/{action}"): Call(
        frozenset({"lender_staff"}),
        json={"condition": "kun på læsesal"},
        refusals=frozenset({401, 403, 404, 409}),
    ),
    ("POST", "/api/v1/requests/{request_id}/rota/order"): Call(REQUESTER_STAFF, json={"isils": [LENDER]}),
    ("POST", "/api/v1/requests/{request_id}/rota/lenders"): Call(
        REQUESTER_STAFF, json={"isil": "DK-800010", "reason": "Matrix"}
    ),
    # catalogue
    ("GET", "/api/v1/records"): Call(EVERYONE),
    ("GET", "/api/v1/records/{record_pk}"): Call(EVERYONE),
    ("GET", "/sru"): Call(EVERYONE, path="/sru?operation=explain"),
    ("POST", "/sru"): Call(EVERYONE, form={"operation": "explain"}),
    # operations
    ("GET", "/api/v1/outbox"): Call(NATIONAL_ADMIN),
    ("POST", "/api/v1/outbox/{message_id}/retry"): Call(NATIONAL_ADMIN),
    # ISO 18626: everyone gets a confirmation (ERROR unless the message is good and authenticated)
    ("POST", "/iso18626"): Call(EVERYONE),
    # network
    ("GET", "/api/v1/network/bodies"): Call(ANY_USER),
    ("POST", "/api/v1/network/bodies"): Call(COORDINATOR_ROLE, json={"name": "Matrixnet", "kind": "network"}),
    ("GET", "/api/v1/network/bodies/{body_id}"): Call(ANY_USER),
    ("POST", "/api/v1/network/people"): Call(
        COORDINATOR_ROLE, json={"name": "Matrix Person", "email": "matrix@example.dk"}
    ),
    ("GET", "/api/v1/network/people/{person_id}"): Call(COORDINATOR_ROLE),
    # Only a user linked to a person of the network: in the demo, København's ILL specialist.
    ("GET", "/api/v1/network/me"): Call(frozenset({"requester_staff"})),
    ("GET", "/api/v1/network/bodies/{body_id}/members"): Call(BODY_COORDINATOR),
    ("GET", "/api/v1/network/bodies/{body_id}/waiting-list"): Call(BODY_COORDINATOR),
    ("POST", "/api/v1/network/bodies/{body_id}/applications"): Call(
        BODY_COORDINATOR, json={"person": {"name": "Ansøger", "email": "ansoger@example.dk"}}
    ),
    ("POST", "/api/v1/network/bodies/{body_id}/members/{person_id}/resign"): Call(BODY_COORDINATOR, json={}),
    ("POST", "/api/v1/network/bodies/{body_id}/members/{person_id}/withdraw"): Call(
        BODY_COORDINATOR, json={"why": "Matrix"}
    ),
    ("GET", "/api/v1/network/bodies/{body_id}/meetings"): Call(ANY_USER),
    ("POST", "/api/v1/network/bodies/{body_id}/meetings"): Call(BODY_COORDINATOR, json=_meeting()),
    ("GET", "/api/v1/network/meetings/{meeting_id}"): Call(ANY_USER),
    ("POST", "/api/v1/network/meetings/{meeting_id}/agenda"): Call(BODY_COORDINATOR, json={"title": "Punkt"}),
    ("POST", "/api/v1/network/meetings/{meeting_id}/invitations"): Call(BODY_COORDINATOR, json={}),
    ("GET", "/api/v1/network/meetings/{meeting_id}/attendance"): Call(BODY_COORDINATOR),
    ("PUT", "/api/v1/network/meetings/{meeting_id}/attendance/{person_id}"): Call(
        BODY_COORDINATOR, json={"mark": "present"}
    ),
    ("POST", "/api/v1/network/meetings/{meeting_id}/close-attendance"): Call(BODY_COORDINATOR, json={}),
    # The world's minutes are published: any user reads them (drafts are the coordinators', tested in
    # tests/integration/network).
    ("GET", "/api/v1/network/meetings/{meeting_id}/minutes"): Call(ANY_USER),
    ("PUT", "/api/v1/network/meetings/{meeting_id}/minutes"): Call(
        BODY_COORDINATOR, json={"text_md": "Referat"}
    ),
    ("POST", "/api/v1/network/meetings/{meeting_id}/minutes/decisions"): Call(
        BODY_COORDINATOR, json={"text": "Besluttet"}
    ),
    ("POST", "/api/v1/network/meetings/{meeting_id}/minutes/action-items"): Call(
        BODY_COORDINATOR, json={"text": "Gør noget", "owner": "Matrix"}
    ),
    ("PATCH", "/api/v1/network/meetings/{meeting_id}/minutes/action-items/{number}"): Call(
        BODY_COORDINATOR, json={"status": "done"}
    ),
    ("POST", "/api/v1/network/meetings/{meeting_id}/minutes/publish"): Call(BODY_COORDINATOR, json={}),
    ("POST", "/api/v1/network/meetings/{meeting_id}/minutes/decisions/{number}/working-group"): Call(
        BODY_COORDINATOR, json={"representatives": [1]}
    ),
    ("GET", "/api/v1/network/bodies/{body_id}/tasks"): Call(ANY_USER),
    ("PATCH", "/api/v1/network/bodies/{body_id}/tasks/{number}"): Call(
        BODY_COORDINATOR, path="/api/v1/network/bodies/{group_id}/tasks/1", json={"status": "done"}
    ),
    ("GET", "/api/v1/network/bodies/{body_id}/minutes"): Call(ANY_USER),
    # public feeds (the person feed sits behind the person's unguessable token)
    ("GET", "/network/bodies/{body_id}/calendar.ics"): Call(EVERYONE),
    ("GET", "/network/people/{token}/calendar.ics"): Call(
        frozenset(), path="/network/people/" + "x" * 24 + "/calendar.ics"
    ),
    ("GET", "/network/bodies/{body_id}/minutes.atom"): Call(EVERYONE),
    # HTML pages: a login for anyone with an account; forms need the page's CSRF token besides
    ("GET", "/network"): Call(ANY_USER),
    ("GET", "/network/bodies/{body_id}"): Call(ANY_USER),
    ("POST", "/network/bodies/{body_id}/apply"): Call(FORM, form={"name": "x", "email": "x@example.dk"}),
    ("POST", "/network/bodies/{body_id}/members/{person_id}/{move}"): Call(FORM, form={}),
    ("GET", "/network/meetings/{meeting_id}"): Call(ANY_USER),
    ("POST", "/network/meetings/{meeting_id}/attendance"): Call(FORM, form={}),
    ("POST", "/network/meetings/{meeting_id}/{step}"): Call(FORM, form={}),
    ("GET", "/network/meetings/{meeting_id}/minutes"): Call(ANY_USER),
    ("POST", "/network/meetings/{meeting_id}/minutes/{step}"): Call(FORM, form={}),
    ("GET", "/network/bodies/{body_id}/minutes/{minutes_id}"): Call(PUBLIC_PAGE),  # published: public
    # Public pages: anyone, a patron in their session too; a token that is not a user's is refused.
    ("GET", "/"): Call(PUBLIC_PAGE),
    ("GET", "/login"): Call(PUBLIC_PAGE),
    ("POST", "/login"): Call(EVERYONE, form={"username": "nobody", "password": "wrong"}),
    ("POST", "/logout"): Call(EVERYONE, form={}),
    ("GET", "/libraries"): Call(ANY_USER),
    # Landing pages after login: staff's for any user; the patron's for a patron session only (staff
    # are sent to the patron login).
    ("GET", "/staff"): Call(ANY_USER),
    ("GET", "/patron"): Call(PATRON),
    # user administration (API): the user, their library's admin, a national admin; the target is a
    # staff user of the library admin's library (so only that admin and the national admin pass)
    ("GET", "/api/v1/users/{username}/tokens"): Call(LIBRARY_ADMIN),
    ("POST", "/api/v1/users/{username}/tokens"): Call(LIBRARY_ADMIN, json={"label": "Matrix", "days": 1}),
    # Revoking an already revoked token answers 204 again: the second call is not a refusal.
    ("DELETE", "/api/v1/users/{username}/tokens/{token_id}"): Call(LIBRARY_ADMIN),
    ("PATCH", "/api/v1/users/{username}"): Call(LIBRARY_ADMIN, json={"active": True}),
    ("DELETE", "/api/v1/users/{username}/sessions"): Call(LIBRARY_ADMIN),
    ("GET", "/api/v1/audit"): Call(LIBRARY_ADMIN),
    # patrons: only staff of the patron's home library (never a lender)
    ("PUT", "/api/v1/patrons/{isil}/{card_number}/pin"): Call(
        REQUESTER_STAFF, path=f"/api/v1/patrons/{REQUESTER}/{CARD}/pin", json={"pin": "4321"}
    ),
    ("GET", "/api/v1/patrons/{isil}/{card_number}/data"): Call(
        REQUESTER_STAFF, path=f"/api/v1/patrons/{REQUESTER}/{CARD}/data"
    ),
    # messages between the two libraries of a request
    ("GET", "/api/v1/requests/{request_id}/messages"): Call(REQUEST_PARTIES),
    ("POST", "/api/v1/requests/{request_id}/messages"): Call(
        frozenset({"requester_staff", "lender_staff"}), json={"body": "Hej fra Ærø"}
    ),
    # administration pages
    ("GET", "/admin/libraries"): Call(frozenset({"coordinator", "national_admin"})),
    ("GET", "/admin/libraries/{isil}"): Call(ADMIN_PAGE),
    ("GET", "/admin/libraries/{isil}/users"): Call(ADMIN_PAGE),
    ("GET", "/admin/libraries/{isil}/users/{username}"): Call(ADMIN_PAGE),
    # The caller's own library (the coordinator's is Vejle: read only).
    ("GET", "/admin/library"): Call(ADMIN_PAGE),
    ("GET", "/admin/library/users"): Call(ADMIN_PAGE),
    ("POST", "/admin/libraries/{isil}/closures"): Call(FORM, form={}),
    ("POST", "/admin/libraries/{isil}/closures/{closure_id}/delete"): Call(FORM, form={}, fresh_closure=True),
    ("POST", "/admin/libraries/{isil}/details"): Call(FORM, form={}),
    ("POST", "/admin/libraries/{isil}/policy"): Call(FORM, form={}),
    ("POST", "/admin/libraries/{isil}/users"): Call(FORM, form={}),
    ("POST", "/admin/libraries/{isil}/users/{username}/password"): Call(FORM, form={}),
    ("POST", "/admin/libraries/{isil}/users/{username}/active"): Call(FORM, form={"active": "0"}),
    ("POST", "/admin/libraries/{isil}/users/{username}/tokens/{token_id}/revoke"): Call(FORM, form={}),
    # the audit log: a national admin reads all, a library admin its library's users (as the API)
    ("GET", "/admin/audit"): Call(LIBRARY_ADMIN),
    # a user's own API tokens
    ("GET", "/account/tokens"): Call(ANY_USER),
    ("POST", "/account/tokens/{token_id}/revoke"): Call(FORM, form={}),
    # the patron's pages: a patron session (card and PIN), never a staff login
    ("GET", "/patron/login"): Call(EVERYONE),  # reads no token: a patron session is sent on to /patron
    ("POST", "/patron/login"): Call(EVERYONE, form={"card_number": "0", "pin": "0000"}),
    ("GET", "/patron/search"): Call(PATRON),
    ("GET", "/patron/data"): Call(PATRON),  # the patron's own data: no card number in the path
    ("GET", "/patron/ask/{record_id}"): Call(PATRON),
    ("POST", "/patron/ask/{record_id}"): Call(FORM, form={}, refusals=FORM_AGAIN),
    ("POST", "/patron/requests/{request_id}/cancel"): Call(FORM, form={}),
    # staff work pages
    ("GET", "/staff/labels"): Call(STAFF_PAGE),
    ("GET", "/staff/patron-pin"): Call(STAFF_PAGE),
    ("POST", "/staff/patron-pin"): Call(
        FORM, form={"card_number": CARD, "pin": "4321", "pin_again": "4321"}, refusals=FORM_AGAIN
    ),
    ("GET", "/staff/queues/{key}"): Call(STAFF_PAGE),
    ("POST", "/staff/queues/{key}/bulk"): Call(FORM, form={}),
    ("POST", "/staff/queues/{key}/scan"): Call(FORM, form={}),
    ("GET", "/staff/requests/new"): Call(STAFF_PAGE, path="/staff/requests/new?record={record_pk}"),
    ("POST", "/staff/requests/new"): Call(
        FORM, form={"record": "{record_pk}", "card_number": CARD}, refusals=FORM_AGAIN
    ),
    ("GET", "/staff/requests/{request_id}"): Call(REQUEST_PARTIES),
    ("POST", "/staff/requests/{request_id}/actions/{action}"): Call(FORM, form={}),
    ("POST", "/staff/requests/{request_id}/messages"): Call(FORM, form={}),
    ("POST", "/staff/requests/{request_id}/rota/lenders"): Call(FORM, form={}),
    ("POST", "/staff/requests/{request_id}/rota/move"): Call(FORM, form={}),
    ("GET", "/staff/search"): Call(STAFF_PAGE),
    ("GET", "/staff/slips"): Call(STAFF_PAGE),
}


def _app_routes(app: FastAPI) -> set[tuple[str, str]]:
    routes = set()
    for context in iter_route_contexts(app.routes):
        methods = getattr(context, "methods", None) or {"MOUNT"}
        routes |= {(method, context.path) for method in methods if method != "HEAD"}
    return routes


def test_every_route_has_an_access_rule() -> None:
    app = create_app(Settings(database_url="sqlite://", secret_key="routes-only"))
    routes = _app_routes(app)
    missing = sorted(routes - ACCESS.keys())
    assert not missing, f"routes without an access rule in ACCESS: {missing}"
    stale = sorted(ACCESS.keys() - routes)
    assert not stale, f"rules for routes that no longer exist: {stale}"


def _patron_session(app: FastAPI) -> str:
    # A client of its own logs in: the matrix's shared client must hold no session cookie, or every
    # role would pass the patron's pages with it. The patron role sends the cookie as a header.
    with TestClient(app) as own:
        answer = log_in_patron(own, DEMO_PATRON_CARD, DEMO_PATRON_PIN)
        assert answer.status_code == 303, answer.text
        cookie = own.cookies.get(SESSION_COOKIE)
    assert cookie, "the patron login set no session cookie"
    return cookie


@dataclass(frozen=True)
class World:
    """The module's hub: a request from København to one lender, a body with its coordinator."""

    client: TestClient
    credentials: dict[str, dict[str, str]]
    ids: dict[str, str]


@pytest.fixture(scope="module")
def world(hostile_db: Database, hostile_app: FastAPI) -> Iterator[World]:
    with hostile_db.unit_of_work() as session:
        add_user(session, username="lender", password="matrix-pass-1", role=Role.STAFF, library_isil=LENDER)
        record = Record(record_id="matrix-1", title="Matrixbogen", year=2001, creators=("Ærø, Søren",))
        upserted = upsert_record(session, record, [Holding(LENDER, copies=1, available=1)])
        add_patron(session, PatronIn(card_number=CARD, name="Søren Ærø", home_library=REQUESTER))
        # A staff user of the library admin's library: the user the user-administration routes manage.
        add_user(
            session, username=MANAGED, password="matrix-pass-1", role=Role.STAFF, library_isil=ADMINS_LIBRARY
        )
        issue_token(session, MANAGED, "matrix")
        token_id = list_tokens(session, MANAGED)[0].id
        peer_token = issue_peer_token(session, "SE-L")
        users = {
            "requester_staff": "kbh",
            "lender_staff": "lender",
            "unrelated_staff": "skole",
            "library_admin": "gentofte",
            "coordinator": "koordinator",
            "national_admin": "admin",
        }
        credentials = {
            role: {"Authorization": f"Bearer {issue_token(session, name, 'matrix')}"}
            for role, name in users.items()
        }
        coordinator = find_user(session, "koordinator")
        assert coordinator is not None
        coordinator_id = coordinator.id
    credentials["anonymous"] = {}
    credentials["patron"] = {"Cookie": f"{SESSION_COOKIE}={_patron_session(hostile_app)}"}
    credentials["peer"] = {"Authorization": f"Bearer {peer_token}"}
    record_pk = upserted.record_pk
    with TestClient(hostile_app, raise_server_exceptions=False) as client:
        admin = credentials["national_admin"]
        kbh = credentials["requester_staff"]
        placed = client.post(
            "/api/v1/requests", json={"record_id": record_pk, "card_number": CARD}, headers=kbh
        )
        assert placed.status_code == 201, placed.text
        assert placed.json()["current_lender_isil"] == LENDER
        body = client.post(
            "/api/v1/network/bodies",
            json={"name": "Matrixnetværket", "kind": "network", "coordinator_user_ids": [coordinator_id]},
            headers=admin,
        ).json()
        person = client.post(
            "/api/v1/network/people",
            json={"name": "Medlem", "email": "medlem@example.dk", "organisation": "Matrixbiblioteket"},
            headers=admin,
        ).json()
        client.post(
            f"/api/v1/network/bodies/{body['id']}/applications",
            json={"person_id": person["id"]},
            headers=admin,
        )
        meeting = client.post(
            f"/api/v1/network/bodies/{body['id']}/meetings", json=_meeting(), headers=admin
        ).json()
        # Minutes with an action item and a decision that set up a working group with a task, published:
        # every route of the minutes, the tasks and the published page has something to act on.
        minutes_path = f"/api/v1/network/meetings/{meeting['id']}/minutes"
        client.put(minutes_path, json={"text_md": "Referat"}, headers=admin)
        client.post(
            f"{minutes_path}/action-items", json={"text": "Gør noget", "owner": "Matrix"}, headers=admin
        )
        client.post(
            f"{minutes_path}/decisions",
            json={
                "text": "Nedsæt en gruppe",
                "working_group_name": "WG",
                "working_group_organisations": ["Matrixbiblioteket"],
            },
            headers=admin,
        )
        published = client.post(f"{minutes_path}/publish", json={}, headers=admin)
        assert published.status_code == 200, published.text
        group = client.post(
            f"{minutes_path}/decisions/1/working-group",
            json={
                "representatives": [person["id"]],
                "tasks": [{"text": "Opgave"}],
                "coordinator_user_ids": [coordinator_id],
            },
            headers=admin,
        )
        assert group.status_code in (200, 201), group.text
        # The minutes' mails to the members are in the outbox: one to retry.
        with hostile_db.engine.connect() as connection:
            outbox_id = connection.scalar(select(func.min(OutboxMessage.id)))
        assert outbox_id is not None
        ids = {
            "isil": ADMINS_LIBRARY,
            "closure_id": "0",
            "request_id": str(placed.json()["id"]),
            "action": "will_supply",
            "record_pk": str(record_pk),
            "message_id": str(outbox_id),
            "body_id": str(body["id"]),
            "person_id": str(person["id"]),
            "meeting_id": str(meeting["id"]),
            "number": "1",
            "minutes_id": str(published.json()["id"]),
            "group_id": str(group.json()["body"]["id"]),
            "move": "resign",
            "step": "invitations",
            "username": MANAGED,
            "token_id": str(token_id),
            "key": "to_answer",
            "record_id": str(record_pk),
        }
        yield World(client=client, credentials=credentials, ids=ids)


def _path(template: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        template = template.replace("{" + name + "}", value)
    return template


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return int(ids[value[1:-1]])
    return value


CASES = [(route, role) for route in ACCESS for role in ROLES]


@pytest.mark.parametrize(("route", "role"), CASES, ids=[f"{m} {p} as {r}" for (m, p), r in CASES])
def test_role_route_matrix(route: tuple[str, str], role: str, world: World) -> None:
    method, template = route
    call = ACCESS[route]
    ids = world.ids
    if call.fresh_closure:
        closure = world.client.post(
            f"/api/v1/libraries/{ADMINS_LIBRARY}/closures",
            json={"starts": days_ahead(50), "ends": days_ahead(51)},
            headers=world.credentials["national_admin"],
        )
        ids = {**ids, "closure_id": str(closure.json()["id"])}
    path = _path(call.path or template, ids)
    headers = world.credentials[role]
    kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
    if call.json is not None:
        kwargs["json"] = _fill(call.json, ids)
    elif call.form is not None:
        kwargs["data"] = {name: _path(value, ids) for name, value in call.form.items()}
    response = world.client.request("GET" if method == "MOUNT" else method, path, **kwargs)
    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    to_login = response.status_code in (302, 303) and "/login" in response.headers.get("location", "")
    form_refused = method == "POST" and call.passes is FORM and response.status_code == 303
    refused = response.status_code in call.refusals or to_login or form_refused
    if role in call.passes:
        assert not refused, (
            f"{role} should pass {method} {path}: {response.status_code} {response.text[:300]}"
        )
    else:
        assert refused, (
            f"{role} should be refused {method} {path}: {response.status_code} {response.text[:300]}"
        )


def test_unrelated_staff_cannot_learn_that_a_request_exists(world: World) -> None:
    path = f"/api/v1/requests/{world.ids['request_id']}"
    assert world.client.get(path, headers=world.credentials["unrelated_staff"]).status_code == 404


def test_a_patron_cannot_cancel_another_patrons_request(world: World, hostile_app: FastAPI) -> None:
    # The matrix posts forms without a CSRF token; here the demo patron sends a good one, for the
    # world's request (another patron's): the same 404 as for no request, and the request stands.
    path = f"/api/v1/requests/{world.ids['request_id']}"
    before = world.client.get(path, headers=world.credentials["requester_staff"]).json()["state"]
    with TestClient(hostile_app, raise_server_exceptions=False) as own:
        assert log_in_patron(own, DEMO_PATRON_CARD, DEMO_PATRON_PIN).status_code == 303
        token = csrf_from(own, "/patron")
        answer = own.post(
            f"/patron/requests/{world.ids['request_id']}/cancel",
            data={"csrf_token": token},
            follow_redirects=False,
        )
    assert answer.status_code == 404, answer.text[:300]
    after = world.client.get(path, headers=world.credentials["requester_staff"]).json()
    assert after["state"] == before != "cancelled"
