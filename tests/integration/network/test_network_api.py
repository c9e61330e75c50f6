"""The bodies over HTTP on the seeded demo network: role checks, the waiting list, withdrawal for
absence, minutes and feeds, working groups, problem+json answers, and the pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import icalendar
from fastapi.testclient import TestClient
from lxml import etree

from fjernlaan.app.worker import run_once
from fjernlaan.clock import SYSTEM_CLOCK
from fjernlaan.db.uow import Database
from fjernlaan.network import service
from fjernlaan.network.demo import FORUM_NAME, NETWORK_NAME, WORKING_GROUP_NAME
from fjernlaan.settings import Settings
from support import RecordingSmtpHandler

Headers = Callable[[str], dict[str, str]]
ATOM = "{http://www.w3.org/2005/Atom}"
API = "/api/v1/network"


def _body_id(client: TestClient, headers: dict[str, str], name: str) -> int:
    page = client.get(f"{API}/bodies", headers=headers).json()
    return next(b["id"] for b in page["items"] if b["name"] == name)


def _new_network(client: TestClient, headers: dict[str, str], capacity: int = 2) -> int:
    answer = client.post(
        f"{API}/bodies",
        headers=headers,
        json={"name": "Testnetværk Æbleø", "kind": "network", "capacity": capacity, "absence_limit": 3},
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _applicant(n: int) -> dict[str, object]:
    return {
        "person": {"name": f"Åse Ørsted {n}", "email": f"aase{n}@bibliotek.example", "organisation": "Tårnby"}
    }


def test_the_demo_seeds_the_network_and_the_forum_with_its_working_group(seeded: Database) -> None:
    with seeded.unit_of_work() as session:
        bodies = {b.name: b for b in service.list_bodies(session)[0]}
        network = bodies[NETWORK_NAME]
        assert service.list_members(session, network.id)[1] == 38 + 2
        assert service.list_members(session, network.id, status=service.m.MembershipStatus.WAITING)[1] == 3
        meetings, _ = service.list_meetings(session, network.id)
        assert sum(1 for x in meetings if x.attendance_closed) == 2
        assert len(service.published_minutes(session, network.id)) == 2
        forum = bodies[FORUM_NAME]
        organisations = {x.person.organisation for x in service.list_members(session, forum.id)[0]}
        assert {"Slots- og Kulturstyrelsen", "KL", "Nota", "Danskernes Digitale Bibliotek"} <= organisations
        group = bodies[WORKING_GROUP_NAME]
        assert group.parent_id == forum.id
        members = {x.person.organisation for x in service.list_members(session, group.id)[0]}
        assert {"DBC", "KOMBIT"} | organisations == members
        assert len(service.working_group_tasks(session, group.id)) == 4


def test_the_demo_coordinator_coordinates_the_network_and_the_forum(
    client: TestClient, token_for: Headers
) -> None:
    koordinator = token_for("koordinator")
    for name in (NETWORK_NAME, FORUM_NAME):
        body = _body_id(client, koordinator, name)
        assert client.get(f"{API}/bodies/{body}/waiting-list", headers=koordinator).status_code == 200


def test_the_41st_applicant_waits_and_is_promoted_when_a_member_resigns_over_http(
    client: TestClient, token_for: Headers
) -> None:
    koordinator = token_for("koordinator")
    body = _body_id(client, koordinator, NETWORK_NAME)
    # The demo network is full with three waiting: a newcomer is fourth in line.
    answer = client.post(f"{API}/bodies/{body}/applications", headers=koordinator, json=_applicant(1))
    assert answer.status_code == 201, answer.text
    assert answer.json()["membership"]["status"] == "waiting"
    waiting = client.get(f"{API}/bodies/{body}/waiting-list", headers=koordinator).json()
    assert waiting["total"] == 4 and waiting["items"][-1]["person"]["name"] == "Åse Ørsted 1"
    first_in_line = waiting["items"][0]["person"]["id"]
    member = client.get(f"{API}/bodies/{body}/members?limit=1", headers=koordinator).json()["items"][0]
    resigned = client.post(
        f"{API}/bodies/{body}/members/{member['person']['id']}/resign",
        headers=koordinator,
        json={"why": "ny stilling"},
    )
    assert resigned.status_code == 200, resigned.text
    assert [p["person"]["id"] for p in resigned.json()["promoted"]] == [first_in_line]


def test_a_member_absent_three_times_is_withdrawn_over_http_but_not_with_agreement(
    client: TestClient, token_for: Headers
) -> None:
    koordinator = token_for("koordinator")
    body = _new_network(client, koordinator, capacity=10)
    absent = client.post(f"{API}/bodies/{body}/applications", headers=koordinator, json=_applicant(1)).json()
    excused = client.post(f"{API}/bodies/{body}/applications", headers=koordinator, json=_applicant(2)).json()
    absent_id, excused_id = absent["membership"]["person"]["id"], excused["membership"]["person"]["id"]
    # Joined today; meetings must come after the joining day, so plan them from next year on.
    year = date.today().year + 1
    for i, month in enumerate((3, 9, 12)):
        meeting = client.post(
            f"{API}/bodies/{body}/meetings",
            headers=koordinator,
            json={
                "title": f"Møde {i + 1}",
                "sessions": [
                    {
                        "key": "main",
                        "starts": f"{year}-{month:02d}-02T10:00",
                        "ends": f"{year}-{month:02d}-02T15:00",
                    }
                ],
                "agenda": [{"title": "Velkomst"}],
            },
        ).json()
        client.put(
            f"{API}/meetings/{meeting['id']}/attendance/{absent_id}",
            headers=koordinator,
            json={"mark": "absent"},
        )
        mark = "absent_with_agreement" if i == 2 else "absent"
        client.put(
            f"{API}/meetings/{meeting['id']}/attendance/{excused_id}",
            headers=koordinator,
            json={"mark": mark},
        )
        closing = client.post(
            f"{API}/meetings/{meeting['id']}/close-attendance",
            headers=koordinator,
            json={"today": f"{year}-{month:02d}-03"},
        )
        assert closing.status_code == 200, closing.text
    assert [w["person"]["id"] for w in closing.json()["withdrawn"]] == [absent_id]
    active = client.get(f"{API}/bodies/{body}/members", headers=koordinator).json()["items"]
    assert [x["person"]["id"] for x in active] == [excused_id]


def test_staff_get_403_on_coordinator_actions(client: TestClient, token_for: Headers) -> None:
    kbh = token_for("kbh")
    body = _body_id(client, kbh, NETWORK_NAME)
    answers = [
        client.post(f"{API}/bodies", headers=kbh, json={"name": "X", "kind": "network"}),
        client.post(f"{API}/bodies/{body}/applications", headers=kbh, json=_applicant(9)),
        client.get(f"{API}/bodies/{body}/waiting-list", headers=kbh),
        client.post(f"{API}/bodies/{body}/members/1/withdraw", headers=kbh, json={"why": "nej"}),
    ]
    for answer in answers:
        assert answer.status_code == 403, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_member_sees_their_own_bodies_and_calendar(client: TestClient, token_for: Headers) -> None:
    me = client.get(f"{API}/me", headers=token_for("kbh"))
    assert me.status_code == 200, me.text
    assert [b["body"]["name"] for b in me.json()["bodies"]] == [NETWORK_NAME]
    path = me.json()["calendar_url"].split("8000", 1)[1]
    feed = client.get(path)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert icalendar.Calendar.from_ical(feed.content).walk("VEVENT")


def test_bad_input_gets_problem_details(client: TestClient, token_for: Headers) -> None:
    koordinator = token_for("koordinator")
    body = _new_network(client, koordinator)
    bad_capacity = client.post(
        f"{API}/bodies", headers=koordinator, json={"name": "X", "kind": "network", "capacity": 0}
    )
    assert bad_capacity.status_code == 422 and bad_capacity.json()["errors"][0]["field"] == "capacity"
    bad_email = client.post(
        f"{API}/bodies/{body}/applications",
        headers=koordinator,
        json={"person": {"name": "A", "email": "nej"}},
    )
    assert bad_email.status_code == 422 and "person.email" in bad_email.json()["detail"]
    assert client.get(f"{API}/bodies/99999", headers=koordinator).status_code == 404
    pid = client.post(f"{API}/bodies/{body}/applications", headers=koordinator, json=_applicant(1)).json()
    again = client.post(
        f"{API}/bodies/{body}/applications",
        headers=koordinator,
        json={"person_id": pid["membership"]["person"]["id"]},
    )
    assert again.status_code == 409 and again.json()["field"] == "person_id"
    no_reason = client.post(
        f"{API}/bodies/{body}/members/{pid['membership']['person']['id']}/withdraw",
        headers=koordinator,
        json={},
    )
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "why"


def test_invitations_and_minutes_over_http_reach_the_smtp_server(
    client: TestClient,
    token_for: Headers,
    seeded: Database,
    smtp_server: tuple[RecordingSmtpHandler, Settings],
) -> None:
    handler, settings = smtp_server
    koordinator = token_for("koordinator")
    body = _new_network(client, koordinator)
    client.post(f"{API}/bodies/{body}/applications", headers=koordinator, json=_applicant(1))
    meeting = client.post(
        f"{API}/bodies/{body}/meetings",
        headers=koordinator,
        json={
            "title": "Forårsmøde",
            "sessions": [
                {
                    "key": "east",
                    "label": "Øst",
                    "starts": "2027-03-01T10:00",
                    "ends": "2027-03-01T15:00",
                    "host_library": "Det Kgl. Bibliotek",
                },
                {
                    "key": "west",
                    "label": "Vest",
                    "starts": "2027-03-02T10:00",
                    "ends": "2027-03-02T15:00",
                    "host_library": "Vejle Bibliotekerne",
                },
            ],
            "agenda": [
                {"title": "Velkomst", "presenter": "Koordinator"},
                {"title": "Fjernlån af e-bøger", "papers": ["bilag.pdf"]},
            ],
        },
    ).json()
    assert client.post(f"{API}/meetings/{meeting['id']}/invitations", headers=koordinator).json() == {
        "queued": 1
    }
    client.put(
        f"{API}/meetings/{meeting['id']}/minutes", headers=koordinator, json={"text_md": "Referat med æøå."}
    )
    client.post(
        f"{API}/meetings/{meeting['id']}/minutes/decisions", headers=koordinator, json={"text": "Vi gør det."}
    )
    client.post(
        f"{API}/meetings/{meeting['id']}/minutes/action-items",
        headers=koordinator,
        json={"text": "Skriv notat", "owner": "Tårnby", "due": "2027-04-01"},
    )
    published = client.post(f"{API}/meetings/{meeting['id']}/minutes/publish", headers=koordinator)
    assert published.status_code == 200 and published.json()["published_at"]
    assert (
        client.post(f"{API}/meetings/{meeting['id']}/minutes/publish", headers=koordinator).status_code == 409
    )
    run_once(seeded, settings, SYSTEM_CLOCK.now())
    subjects = sorted(
        str(msg["Subject"]) for msg in handler.messages if msg["To"] == "aase1@bibliotek.example"
    )
    assert subjects[0].startswith("Invitation: Testnetværk Æbleø, Forårsmøde")
    assert subjects[1].startswith("Referat: Testnetværk Æbleø, Forårsmøde")
    invitation = next(msg for msg in handler.messages if str(msg["Subject"]).startswith("Invitation"))
    [part] = list(invitation.iter_attachments())
    events = icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")
    assert len(events) == 2
    feed = client.get(f"/network/bodies/{body}/minutes.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    entries = etree.fromstring(feed.content).findall(f"{ATOM}entry")
    assert len(entries) == 1 and "Referat med æøå." in (entries[0].findtext(f"{ATOM}content") or "")
    calendar = client.get(f"/network/bodies/{body}/calendar.ics")
    assert len(icalendar.Calendar.from_ical(calendar.content).walk("VEVENT")) == 2


def test_a_working_group_from_a_decision_over_http(client: TestClient, token_for: Headers) -> None:
    koordinator = token_for("koordinator")
    forum = client.post(f"{API}/bodies", headers=koordinator, json={"name": "Forum", "kind": "forum"}).json()[
        "id"
    ]
    people = [
        client.post(
            f"{API}/people",
            headers=koordinator,
            json={"name": n, "email": f"{o.lower()}@org.example", "organisation": o},
        ).json()["id"]
        for n, o in (("Bent Ødegård", "DBC"), ("Lise Ærø", "KOMBIT"))
    ]
    meeting = client.post(
        f"{API}/bodies/{forum}/meetings",
        headers=koordinator,
        json={
            "title": "Forummøde",
            "sessions": [{"key": "main", "starts": "2026-01-05T13:00", "ends": "2026-01-05T16:00"}],
        },
    ).json()["id"]
    client.post(
        f"{API}/meetings/{meeting}/minutes/decisions",
        headers=koordinator,
        json={
            "text": "Nedsæt gruppe",
            "working_group_name": "Gruppe",
            "working_group_organisations": ["DBC", "KOMBIT", "KL"],
        },
    )
    early = client.post(
        f"{API}/meetings/{meeting}/minutes/decisions/1/working-group",
        headers=koordinator,
        json={"representatives": people},
    )
    assert early.status_code == 409  # the minutes are not published yet
    client.post(f"{API}/meetings/{meeting}/minutes/publish", headers=koordinator)
    answer = client.post(
        f"{API}/meetings/{meeting}/minutes/decisions/1/working-group",
        headers=koordinator,
        json={
            "representatives": people,
            "tasks": [{"text": "Opdatér principperne"}, {"text": "Løft kompetencerne"}],
        },
    )
    assert answer.status_code == 201, answer.text
    group = answer.json()
    assert group["body"]["kind"] == "working_group" and group["body"]["parent_id"] == forum
    assert sorted(x["person"]["organisation"] for x in group["members"]) == ["DBC", "KOMBIT"]
    assert [t["text"] for t in group["tasks"]] == ["Opdatér principperne", "Løft kompetencerne"]
    assert group["unrepresented_organisations"] == ["KL"]


# --- pages ---------------------------------------------------------------------------------------


def _login(client: TestClient, username: str, password: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_the_member_pages_render_in_danish(client: TestClient) -> None:
    _login(client, "kbh", "fjernlaan-kbh")
    home = client.get("/network")
    assert home.status_code == 200
    assert "Mine netværk og fora" in home.text and NETWORK_NAME in home.text
    body_id = int(re.search(r'/network/bodies/(\d+)">Fremtidens Fjernlån', home.text).group(1))  # type: ignore[union-attr]
    body = client.get(f"/network/bodies/{body_id}")
    assert body.status_code == 200 and "Medlemmer" in body.text and "Venteliste" not in body.text
    minutes_link = re.search(r'href="(/network/bodies/\d+/minutes/\d+)"', body.text)
    assert minutes_link is not None
    minutes = client.get(minutes_link.group(1))
    assert minutes.status_code == 200 and "Beslutninger" in minutes.text
    assert "Networks and forums" in client.get("/network?lang=en").text


def test_a_coordinator_admits_and_marks_attendance_through_the_forms(client: TestClient) -> None:
    _login(client, "koordinator", "fjernlaan-koordinator")
    home = client.get("/network")
    body_id = int(re.search(r'/network/bodies/(\d+)">Fremtidens Fjernlån', home.text).group(1))  # type: ignore[union-attr]
    page = client.get(f"/network/bodies/{body_id}")
    assert "Venteliste (3)" in page.text
    answer = client.post(
        f"/network/bodies/{body_id}/apply",
        data={
            "name": "Ærlige Åge",
            "email": "aage@bibliotek.example",
            "organisation": "Læsø",
            "csrf_token": _csrf(page.text),
        },
    )
    assert answer.status_code == 200 and "Venteliste (4)" in answer.text and "Ærlige Åge" in answer.text
    refused = client.post(
        f"/network/bodies/{body_id}/apply",
        data={"name": "X", "email": "x@bibliotek.example", "csrf_token": "forkert"},
    )
    assert "Formularen er udløbet" in refused.text and "x@bibliotek.example" not in refused.text
    meeting_link = re.findall(r'href="/network/meetings/(\d+)"', page.text)[-1]
    meeting = client.get(f"/network/meetings/{meeting_link}")
    assert meeting.status_code == 200 and "Fremmøde" in meeting.text and "Afslut fremmøde" in meeting.text
    person = re.search(r'name="mark_(\d+)"', meeting.text)
    assert person is not None
    marked = client.post(
        f"/network/meetings/{meeting_link}/attendance",
        data={f"mark_{person.group(1)}": "absent_with_agreement", "csrf_token": _csrf(meeting.text)},
    )
    assert marked.status_code == 200 and 'value="absent_with_agreement" selected' in marked.text
    editor = client.get(f"/network/meetings/{meeting_link}/minutes")
    assert editor.status_code == 200 and "Skriv referat" in editor.text
