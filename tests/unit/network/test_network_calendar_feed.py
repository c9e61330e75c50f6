"""iCalendar output: invitations and feeds parse back with `icalendar` and carry the right events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from fjernlaan.network.calendar_feed import body_feed, meeting_invitation, person_feed, session_uid
from fjernlaan.network.model import (
    AgendaItem,
    Body,
    Meeting,
    MeetingSession,
    Membership,
    NotifyTemplate,
    Person,
    apply,
    invitations,
    numbered_agenda,
    resign,
)

PersonFactory = Callable[..., Person]
STAMP = datetime(2025, 2, 1, 8, 0, tzinfo=UTC)
CPH = ZoneInfo("Europe/Copenhagen")
DOMAIN = "fjernlaan.example"


def spring_meeting(body: Body, meeting_id: int = 7, revision: int = 0) -> Meeting:
    east = MeetingSession(
        "east",
        "Øst",
        datetime(2025, 3, 4, 10),
        datetime(2025, 3, 4, 15, 30),
        host_library="Det Kgl. Bibliotek",
        place="Søren Kierkegaards Plads 1, København K",
        room="Blixen",
    )
    # summer time by then: the West session is after the switch on 30 March
    west = MeetingSession(
        "west",
        "Vest",
        datetime(2025, 4, 1, 10),
        datetime(2025, 4, 1, 15, 30),
        host_library="Aarhus Bibliotekerne",
        place="Dokk1, Hack Kampmanns Plads 2, Aarhus",
        room="Lokale 1.3",
    )
    agenda = numbered_agenda(
        [
            "Velkomst og præsentation",
            AgendaItem(
                2,
                "Nyt fra Slots- og Kulturstyrelsen",
                presenter="Åse Ørsted",
                papers=("Bilag 1: Årsrapport",),
            ),
        ]
    )
    return Meeting(
        id=meeting_id,
        body_id=body.id,
        title="Forårsmøde",
        sessions=(east, west),
        agenda=agenda,
        revision=revision,
    )


def events(data: bytes) -> list[Any]:
    calendar = icalendar.Calendar.from_ical(data)
    return [c for c in calendar.walk("VEVENT")]


def test_invitation_is_a_request_with_one_event_per_session(network: Body, person: PersonFactory) -> None:
    data = meeting_invitation(
        network,
        spring_meeting(network),
        [person(1), person(2)],
        organizer=person(1000),
        domain=DOMAIN,
        stamp=STAMP,
    )

    calendar = icalendar.Calendar.from_ical(data)
    assert calendar["METHOD"] == "REQUEST"
    assert calendar["VERSION"] == "2.0"
    assert [str(e["UID"]) for e in events(data)] == [
        f"fjernlaan-meeting-7-east@{DOMAIN}",
        f"fjernlaan-meeting-7-west@{DOMAIN}",
    ]


def test_invitation_times_are_copenhagen_local_with_a_timezone_definition(
    network: Body, person: PersonFactory
) -> None:
    data = meeting_invitation(
        network, spring_meeting(network), [person(1)], organizer=person(1000), domain=DOMAIN, stamp=STAMP
    )

    east, west = events(data)
    assert east.decoded("DTSTART") == datetime(2025, 3, 4, 10, tzinfo=CPH)
    assert east.decoded("DTSTART").utcoffset().total_seconds() == 3600
    assert west.decoded("DTSTART").utcoffset().total_seconds() == 7200
    assert west.decoded("DTEND") == datetime(2025, 4, 1, 15, 30, tzinfo=CPH)
    assert b"TZID=Europe/Copenhagen" in data
    calendar = icalendar.Calendar.from_ical(data)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Copenhagen"]


def test_invitation_location_names_host_library_place_and_room_in_danish(
    network: Body, person: PersonFactory
) -> None:
    data = meeting_invitation(
        network, spring_meeting(network), [person(1)], organizer=person(1000), domain=DOMAIN, stamp=STAMP
    )

    east, west = events(data)
    assert str(east["LOCATION"]) == "Det Kgl. Bibliotek, Søren Kierkegaards Plads 1, København K, Blixen"
    assert str(west["LOCATION"]) == "Aarhus Bibliotekerne, Dokk1, Hack Kampmanns Plads 2, Aarhus, Lokale 1.3"
    assert str(east["SUMMARY"]) == "Fremtidens Fjernlån: Forårsmøde (Øst)"


def test_invitation_carries_the_same_agenda_in_every_session(network: Body, person: PersonFactory) -> None:
    data = meeting_invitation(
        network, spring_meeting(network), [person(1)], organizer=person(1000), domain=DOMAIN, stamp=STAMP
    )

    east, west = events(data)
    expected = (
        "1. Velkomst og præsentation\n"
        "2. Nyt fra Slots- og Kulturstyrelsen (Åse Ørsted)\n"
        "   - Bilag 1: Årsrapport"
    )
    assert str(east["DESCRIPTION"]) == expected
    assert str(west["DESCRIPTION"]) == expected


def test_invitation_names_organizer_and_attendees(network: Body, person: PersonFactory) -> None:
    data = meeting_invitation(
        network,
        spring_meeting(network),
        [person(1), person(2)],
        organizer=person(1000),
        domain=DOMAIN,
        stamp=STAMP,
    )

    east = events(data)[0]
    organizer = east["ORGANIZER"]
    assert str(organizer) == "mailto:person1000@bibliotek.dk"
    assert organizer.params["CN"] == "Bibliotekar Ærøskøbing 1000"
    attendees = east["ATTENDEE"]
    assert [str(a) for a in attendees] == ["mailto:person1@bibliotek.dk", "mailto:person2@bibliotek.dk"]
    assert all(a.params["RSVP"] == "TRUE" and a.params["ROLE"] == "REQ-PARTICIPANT" for a in attendees)


def test_invitation_can_be_limited_to_the_members_session(network: Body, person: PersonFactory) -> None:
    data = meeting_invitation(
        network,
        spring_meeting(network),
        [person(1)],
        organizer=person(1000),
        domain=DOMAIN,
        session_keys=["west"],
        stamp=STAMP,
    )

    assert [str(e["UID"]) for e in events(data)] == [f"fjernlaan-meeting-7-west@{DOMAIN}"]
    with pytest.raises(ValueError):
        meeting_invitation(
            network,
            spring_meeting(network),
            [],
            organizer=person(1000),
            domain=DOMAIN,
            session_keys=["north"],
            stamp=STAMP,
        )


def test_updated_meeting_keeps_its_uids_and_raises_the_sequence(network: Body, person: PersonFactory) -> None:
    first = events(
        meeting_invitation(
            network, spring_meeting(network), [], organizer=person(1000), domain=DOMAIN, stamp=STAMP
        )
    )
    moved = events(
        meeting_invitation(
            network,
            spring_meeting(network, revision=1),
            [],
            organizer=person(1000),
            domain=DOMAIN,
            stamp=STAMP,
        )
    )

    assert [e["UID"] for e in first] == [e["UID"] for e in moved]
    assert [e["SEQUENCE"] for e in moved] == [1, 1]


def test_body_feed_publishes_every_session_without_attendees(network: Body) -> None:
    meetings = [spring_meeting(network, 7), spring_meeting(network, 8)]

    data = body_feed(network, meetings, domain=DOMAIN, stamp=STAMP)

    calendar = icalendar.Calendar.from_ical(data)
    assert calendar["METHOD"] == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Fremtidens Fjernlån"
    found = events(data)
    assert len(found) == 4
    assert {str(e["UID"]) for e in found} == {session_uid(m, s, DOMAIN) for m in meetings for s in m.sessions}
    assert all("ATTENDEE" not in e for e in found)


def test_person_feed_gathers_meetings_of_several_bodies(
    network: Body, forum: Body, person: PersonFactory
) -> None:
    forum_meeting = Meeting(
        id=9,
        body_id=forum.id,
        title="Forummøde",
        sessions=(
            MeetingSession("main", "Plenum", datetime(2025, 5, 6, 13), datetime(2025, 5, 6, 16), "KB"),
        ),
    )

    data = person_feed(
        person(1), [(network, spring_meeting(network)), (forum, forum_meeting)], domain=DOMAIN, stamp=STAMP
    )

    summaries = [str(e["SUMMARY"]) for e in events(data)]
    assert summaries == [
        "Fremtidens Fjernlån: Forårsmøde (Øst)",
        "Fremtidens Fjernlån: Forårsmøde (Vest)",
        "Koordinationsforum: Forummøde",
    ]
    # the same session has the same UID in every feed, so calendars do not show it twice
    assert str(events(data)[0]["UID"]) == f"fjernlaan-meeting-7-east@{DOMAIN}"


def test_feed_refuses_a_meeting_of_another_body(network: Body, forum: Body) -> None:
    with pytest.raises(ValueError):
        body_feed(forum, [spring_meeting(network)], domain=DOMAIN, stamp=STAMP)


def test_invitation_mails_go_to_active_members_only(network: Body, person: PersonFactory) -> None:
    memberships: tuple[Membership, ...] = ()
    for n in (1, 2, 3):
        memberships = apply(network, memberships, person(n), datetime(2025, 1, 2).date()).memberships
    memberships = resign(network, memberships, 2, datetime(2025, 2, 1).date()).memberships

    mails = invitations(network, spring_meeting(network), memberships)

    assert [m.person.id for m in mails] == [1, 3]
    assert {m.template for m in mails} == {NotifyTemplate.MEETING_INVITATION}
    assert mails[0].context["meeting_id"] == "7"
