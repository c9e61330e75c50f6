"""The bodies' use cases on a real database (SQLite and PostgreSQL), with mails read back from a real
SMTP server: the waiting list, automatic withdrawal, invitations, minutes, the feeds, working groups."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
from lxml import etree
from sqlalchemy import select

from fjernlaan.app.worker import run_once
from fjernlaan.db.outbox import OutboxMessage
from fjernlaan.db.uow import Database
from fjernlaan.errors import Conflict
from fjernlaan.network import service
from fjernlaan.network.model import ActionItemStatus, AttendanceMark, BodyKind, MembershipStatus
from fjernlaan.settings import Settings
from network_helpers import JOINED, NOW, fill, make_network, make_person, meeting_on
from support import RecordingSmtpHandler

ATOM = "{http://www.w3.org/2005/Atom}"
Smtp = tuple[RecordingSmtpHandler, Settings]


def _mails_to(handler: RecordingSmtpHandler, address: str) -> list[str]:
    return [str(msg["Subject"]) for msg in handler.messages if msg["To"] == address]


def test_the_41st_applicant_waits_and_is_promoted_when_a_member_resigns(
    db: Database, smtp_server: Smtp
) -> None:
    handler, settings = smtp_server
    with db.unit_of_work() as session:
        body = make_network(session)
        members = fill(session, body, 40)
        late = make_person(session, 41)
        change = service.apply(session, body, late, JOINED + timedelta(days=3))
        assert change.subject is not None and change.subject.status is MembershipStatus.WAITING
    with db.unit_of_work() as session:
        change = service.resign(session, body, members[4], date(2025, 2, 1), "skifter job")
        assert [p.person.id for p in change.promoted] == [late]
        assert service.membership_of(session, body, late).status is MembershipStatus.ACTIVE
        assert service.membership_of(session, body, late).joined_on == date(2025, 2, 1)
        assert len(service.list_members(session, body)[0]) == 40
    run_once(db, settings, NOW)
    subjects = _mails_to(handler, "person41@bibliotek.example")
    assert subjects == [
        "Du er på ventelisten til Fremtidens Fjernlån",
        "Der er plads til dig i Fremtidens Fjernlån",
    ]
    assert _mails_to(handler, "person5@bibliotek.example")[-1].startswith("Din udmeldelse")


def test_the_waiting_list_keeps_the_order_of_application(db: Database) -> None:
    with db.unit_of_work() as session:
        body = make_network(session, capacity=2)
        fill(session, body, 4)
        waiting, total = service.list_members(session, body, status=MembershipStatus.WAITING)
    assert total == 2
    assert [w.person.email for w in waiting] == ["person3@bibliotek.example", "person4@bibliotek.example"]


def test_the_history_records_every_move_of_a_membership(db: Database) -> None:
    with db.unit_of_work() as session:
        body = make_network(session, capacity=1)
        first, second = fill(session, body, 2)
        service.resign(session, body, first, date(2025, 3, 1))
        history = service.membership_of(session, body, second).history
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, MembershipStatus.WAITING),
        (MembershipStatus.WAITING, MembershipStatus.ACTIVE),
    ]


def test_resigning_twice_is_a_conflict(db: Database) -> None:
    with db.unit_of_work() as session:
        body = make_network(session)
        [pid] = fill(session, body, 1)
        service.resign(session, body, pid, date(2025, 3, 1))
        with pytest.raises(Conflict):
            service.resign(session, body, pid, date(2025, 3, 2))


def _three_meetings(session: object, body: int) -> list[int]:
    days = [date(2025, 3, 10), date(2025, 9, 8), date(2026, 3, 9)]
    return [meeting_on(session, body, d, f"Møde {i}").id for i, d in enumerate(days, start=1)]  # type: ignore[arg-type]


def test_a_member_absent_from_three_consecutive_meetings_is_withdrawn_and_the_waiting_list_moves(
    db: Database, smtp_server: Smtp
) -> None:
    handler, settings = smtp_server
    with db.unit_of_work() as session:
        body = make_network(session, capacity=3)
        absent, present, other, waiting = fill(session, body, 4)
        meetings = _three_meetings(session, body)
        for meeting in meetings:
            service.mark_attendance(session, meeting, present, AttendanceMark.PRESENT)
            service.mark_attendance(session, meeting, other, AttendanceMark.PRESENT)
            service.mark_attendance(session, meeting, absent, AttendanceMark.ABSENT)
            closing = service.close_attendance(
                session, meeting, service.get_meeting(session, meeting).ends_on
            )
        assert [w.person.id for w in closing.withdrawals] == [absent]
        assert [p.person.id for p in closing.promotions] == [waiting]
        assert service.membership_of(session, body, absent).status is MembershipStatus.WITHDRAWN
        assert service.membership_of(session, body, present).status is MembershipStatus.ACTIVE
    run_once(db, settings, NOW)
    assert "Du er udmeldt af Fremtidens Fjernlån på grund af fravær" in _mails_to(
        handler, "person1@bibliotek.example"
    )
    assert "Der er plads til dig i Fremtidens Fjernlån" in _mails_to(handler, "person4@bibliotek.example")


def test_the_coordinators_agreement_for_the_third_absence_keeps_the_member(db: Database) -> None:
    with db.unit_of_work() as session:
        body = make_network(session)
        [member] = fill(session, body, 1)
        first, second, third = _three_meetings(session, body)
        for meeting in (first, second):
            service.mark_attendance(session, meeting, member, AttendanceMark.ABSENT)
            service.close_attendance(session, meeting, service.get_meeting(session, meeting).ends_on)
        service.mark_attendance(session, third, member, AttendanceMark.ABSENT_WITH_AGREEMENT, "barsel")
        closing = service.close_attendance(session, third, service.get_meeting(session, third).ends_on)
        assert closing.withdrawals == ()
        assert service.membership_of(session, body, member).status is MembershipStatus.ACTIVE


def test_a_member_without_a_mark_counts_as_absent(db: Database) -> None:
    with db.unit_of_work() as session:
        body = make_network(session)
        [member] = fill(session, body, 1)
        for meeting in _three_meetings(session, body):
            closing = service.close_attendance(
                session, meeting, service.get_meeting(session, meeting).ends_on
            )
        assert [w.person.id for w in closing.withdrawals] == [member]


def test_attendance_cannot_change_after_it_is_closed(db: Database) -> None:
    with db.unit_of_work() as session:
        body = make_network(session)
        [member] = fill(session, body, 1)
        meeting = _three_meetings(session, body)[0]
        service.close_attendance(session, meeting, date(2025, 3, 12))
        with pytest.raises(Conflict):
            service.mark_attendance(session, meeting, member, AttendanceMark.PRESENT)
        with pytest.raises(Conflict):
            service.close_attendance(session, meeting, date(2025, 3, 12))


def test_invitations_reach_the_smtp_server_with_a_valid_ics(db: Database, smtp_server: Smtp) -> None:
    handler, settings = smtp_server
    with db.unit_of_work() as session:
        body = make_network(session)
        fill(session, body, 3)
        meeting = meeting_on(session, body, date(2026, 9, 14), "Efterårsmøde")
        assert service.send_invitations(session, meeting.id, now=NOW, base_url="https://hub.example") == 3
        # Sending again for the same revision queues nothing new.
        service.send_invitations(session, meeting.id, now=NOW, base_url="https://hub.example")
    run_once(db, settings, NOW)
    invitations = [msg for msg in handler.messages if str(msg["Subject"]).startswith("Invitation")]
    assert len(invitations) == 3
    message = next(msg for msg in invitations if msg["To"] == "person2@bibliotek.example")
    assert "Søren Ærø Åkjær 2" in message.get_body().get_content()
    [part] = list(message.iter_attachments())
    assert part.get_content_type() == "text/calendar"
    calendar = icalendar.Calendar.from_ical(part.get_payload(decode=True))
    assert str(calendar["METHOD"]) == "REQUEST"
    events = calendar.walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in events] == [
        "Fremtidens Fjernlån: Efterårsmøde (Øst)",
        "Fremtidens Fjernlån: Efterårsmøde (Vest)",
    ]
    assert "Det Kgl. Bibliotek" in str(events[0]["LOCATION"])
    assert events[0]["DTSTART"].dt.hour == 10
    assert [str(a) for a in events[0].get("ATTENDEE") if True] or events[0]["ATTENDEE"]
    assert "mailto:person2@bibliotek.example" in str(events[0]["ATTENDEE"])


def _published(db: Database) -> tuple[int, int, int]:
    with db.unit_of_work() as session:
        body = make_network(session)
        fill(session, body, 2)
        meeting = meeting_on(session, body, date(2025, 9, 8), "Efterårsmøde 2025")
        service.write_minutes(session, meeting.id, "Mødet drøftede **fjernlån** af e-bøger.", "Åse Ærø")
        service.add_decision(
            session, meeting.id, text="Netværket foreslår nye retningslinjer.", agenda_item=3
        )
        service.add_action_item(
            session, meeting.id, text="Skriv udkast", owner="Vejle Bibliotekerne", due=date(2025, 11, 1)
        )
        minutes = service.publish_minutes(
            session, meeting.id, base_url="https://hub.example", now=datetime(2025, 9, 20, 8, tzinfo=UTC)
        )
        return body, meeting.id, minutes.id


def test_published_minutes_reach_every_active_member(db: Database, smtp_server: Smtp) -> None:
    handler, settings = smtp_server
    _published(db)
    run_once(db, settings, NOW)
    minutes_mails = [msg for msg in handler.messages if str(msg["Subject"]).startswith("Referat")]
    assert sorted(str(msg["To"]) for msg in minutes_mails) == [
        "person1@bibliotek.example",
        "person2@bibliotek.example",
    ]
    text = minutes_mails[0].get_body().get_content()
    assert "fjernlån" in text and "Skriv udkast (Vejle Bibliotekerne, frist 2025-11-01)" in text


def test_the_atom_feed_is_xml_and_lists_the_published_minutes(db: Database) -> None:
    body, _, minutes_id = _published(db)
    with db.unit_of_work() as session:
        feed = etree.fromstring(service.minutes_atom(session, body, now=NOW, base_url="https://hub.example"))
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1
    assert entries[0].findtext(f"{ATOM}title") == "Referat: Efterårsmøde 2025 (2025-09-08)"
    assert "Netværket foreslår nye retningslinjer." in (entries[0].findtext(f"{ATOM}content") or "")
    link = entries[0].find(f"{ATOM}link")
    assert link is not None and link.get("href", "").endswith(f"/minutes/{minutes_id}")


def test_unpublished_minutes_stay_out_of_the_feed(db: Database) -> None:
    with db.unit_of_work() as session:
        body = make_network(session)
        meeting = meeting_on(session, body, date(2025, 9, 8))
        service.write_minutes(session, meeting.id, "Udkast")
        feed = etree.fromstring(service.minutes_atom(session, body, now=NOW))
    assert feed.findall(f"{ATOM}entry") == []


def test_published_minutes_cannot_be_rewritten(db: Database) -> None:
    _, meeting, _ = _published(db)
    with db.unit_of_work() as session, pytest.raises(Conflict):
        service.write_minutes(session, meeting, "Ny tekst")


def test_action_items_can_be_followed_up_after_publishing(db: Database) -> None:
    _, meeting, _ = _published(db)
    with db.unit_of_work() as session:
        minutes = service.set_action_item_status(session, meeting, 1, ActionItemStatus.DONE)
    assert minutes.action_items[0].status is ActionItemStatus.DONE


def test_a_working_group_created_from_a_decision_has_its_members_and_tasks(
    db: Database, smtp_server: Smtp
) -> None:
    handler, settings = smtp_server
    with db.unit_of_work() as session:
        forum = service.create_body(session, name="Koordinationsforum", kind=BodyKind.FORUM).id
        dbc = make_person(session, 1, organisation="DBC")
        kombit = make_person(session, 2, organisation="KOMBIT")
        meeting = meeting_on(session, forum, date(2025, 11, 3), "Forummøde")
        service.add_decision(
            session,
            meeting.id,
            text="Forummet nedsætter en arbejdsgruppe om lånesamarbejdet.",
            working_group_name="Arbejdsgruppe om lånesamarbejdet",
            working_group_organisations=["DBC", "KOMBIT"],
        )
        service.publish_minutes(session, meeting.id, now=NOW)
        creation = service.create_working_group(
            session,
            meeting.id,
            1,
            representatives=[dbc, kombit],
            tasks=["Opdatér principperne", service.TaskIn("Løft kompetencerne", "KOMBIT")],
            today=NOW.date(),
        )
        group = creation.body.id
        stored = service.get_body(session, group)
        members, _ = service.list_members(session, group)
        tasks = service.working_group_tasks(session, group)
        assert service.working_group_of(session, meeting.id, 1) == group
    assert stored.kind is BodyKind.WORKING_GROUP and stored.parent_id == forum
    assert sorted(x.person.organisation for x in members) == ["DBC", "KOMBIT"]
    assert [(t.number, t.text, t.owner_organisation) for t in tasks] == [
        (1, "Opdatér principperne", None),
        (2, "Løft kompetencerne", "KOMBIT"),
    ]
    run_once(db, settings, NOW)
    assert _mails_to(handler, "person1@bibliotek.example") == [
        "Du er udpeget til Arbejdsgruppe om lånesamarbejdet"
    ]


def test_a_decision_sets_up_its_working_group_only_once(db: Database) -> None:
    with db.unit_of_work() as session:
        forum = service.create_body(session, name="Koordinationsforum", kind=BodyKind.FORUM).id
        dbc = make_person(session, 1, organisation="DBC")
        meeting = meeting_on(session, forum, date(2025, 11, 3))
        service.add_decision(
            session,
            meeting.id,
            text="Nedsæt gruppe",
            working_group_name="Gruppe",
            working_group_organisations=["DBC"],
        )
        service.publish_minutes(session, meeting.id, now=NOW)
        service.create_working_group(session, meeting.id, 1, representatives=[dbc], today=NOW.date())
        with pytest.raises(Conflict):
            service.create_working_group(session, meeting.id, 1, representatives=[dbc], today=NOW.date())


def test_the_body_and_person_calendars_parse_and_hold_every_session(db: Database) -> None:
    with db.unit_of_work() as session:
        body = make_network(session)
        [pid] = fill(session, body, 1)
        meeting_on(session, body, date(2026, 3, 9))
        meeting_on(session, body, date(2026, 9, 14))
        body_ics = icalendar.Calendar.from_ical(service.body_calendar(session, body, now=NOW))
        token = service.person_row(session, pid).feed_token
        person_ics = icalendar.Calendar.from_ical(service.person_calendar(session, token, now=NOW))
    assert len(body_ics.walk("VEVENT")) == 4
    assert len(person_ics.walk("VEVENT")) == 4


def test_import_members_skips_bad_rows_and_keeps_danish_letters(db: Database) -> None:
    rows = [
        {
            "name": "Åse Ørum",
            "email": "aase@bibliotek.example",
            "organisation": "Læsø Bibliotek",
            "role": "",
            "library_isil": "",
        },
        {"name": "", "email": "tom@bibliotek.example", "organisation": "", "role": "", "library_isil": ""},
        {"name": "Bo Bæk", "email": "ikke-en-adresse", "organisation": "", "role": "", "library_isil": ""},
        {
            "name": "Åse Ørum",
            "email": "AASE@bibliotek.example",
            "organisation": "",
            "role": "",
            "library_isil": "",
        },
    ]
    with db.unit_of_work() as session:
        body = make_network(session)
        report = service.import_members(session, body, rows, JOINED)
        members, _ = service.list_members(session, body)
    assert report.read == 4 and report.active == 1
    assert [p for p, _ in report.skipped] == [2, 3, 4]
    assert "name" in report.skipped[0][1]
    assert members[0].person.name == "Åse Ørum" and members[0].person.organisation == "Læsø Bibliotek"


def test_every_membership_mail_has_its_own_idempotency_key(db: Database) -> None:
    with db.unit_of_work() as session:
        body = make_network(session, capacity=1)
        first, _ = fill(session, body, 2)
        service.resign(session, body, first, date(2025, 3, 1))
        service.apply(session, body, first, date(2025, 3, 2))
        keys = list(session.scalars(select(OutboxMessage.idempotency_key)))
    # accepted, waiting, resigned, promoted, waiting again: five distinct mails.
    assert len(keys) == len(set(keys)) == 5
