"""Demo data of the bodies: the ILL specialists' network and the coordination forum with its working group.

Everything goes through the service layer, so the demo obeys the same rules as real use. The demo
mails nobody: the mails the seeding queues (to `.example` addresses) are taken out of the outbox again.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from fjernlaan.accounts.service import find_user
from fjernlaan.clock import COPENHAGEN, Clock, today
from fjernlaan.db.outbox import OutboxMessage
from fjernlaan.directory.demo import load_demo_libraries
from fjernlaan.directory.model import LibraryType
from fjernlaan.network import service
from fjernlaan.network.model import AttendanceMark, BodyKind, MeetingSession
from fjernlaan.network.store import BodyRow

MONTHS = (
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
)
NETWORK_NAME = "Fremtidens Fjernlån"
FORUM_NAME = "Koordinationsforum for lånesamarbejdet"
WORKING_GROUP_NAME = "Arbejdsgruppe om lånesamarbejdet"

_FIRST = (
    "Anne",
    "Mette",
    "Lars",
    "Jens",
    "Hanne",
    "Søren",
    "Birgitte",
    "Peter",
    "Lone",
    "Henrik",
    "Kirsten",
    "Morten",
    "Susanne",
    "Niels",
    "Marianne",
    "Rasmus",
    "Pia",
    "Jesper",
    "Tove",
    "Bo",
    "Karen",
    "Thomas",
    "Helle",
    "Ole",
    "Inger",
    "Mads",
    "Lene",
    "Anders",
    "Bente",
    "Kasper",
)
_LAST = (
    "Jensen",
    "Nielsen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
    "Jørgensen",
    "Petersen",
    "Madsen",
    "Kristensen",
    "Olsen",
    "Thomsen",
    "Møller",
    "Poulsen",
    "Johansen",
    "Knudsen",
    "Mortensen",
    "Holm",
    "Kjær",
    "Lauridsen",
    "Bækgaard",
)

# The forum's organisations, the Agency for Culture and Palaces in the chair.
FORUM_ORGANISATIONS: tuple[tuple[str, str, str], ...] = (
    ("Slots- og Kulturstyrelsen", "Charlotte Ærenlund", "formand"),
    ("KL", "Michael Brøndum", "repræsentant"),
    ("Det Kgl. Bibliotek", "Signe Løvholt", "repræsentant"),
    ("Nota", "Jakob Hvidtfeldt", "repræsentant"),
    ("Danmarks Forskningsbiblioteksforening", "Ida Skovgård", "repræsentant"),
    ("Pædagogiske LæringsCentre Danmark", "Rikke Dalsgård", "repræsentant"),
    ("Centralbibliotekerne", "Torben Østergaard", "repræsentant"),
    ("Bibliotekschefforeningen", "Vibeke Åkerlund", "repræsentant"),
    ("Danmarks Biblioteksforening", "Steen Frølund", "repræsentant"),
    ("Danskernes Digitale Bibliotek", "Camilla Bøgh", "repræsentant"),
)
EXTRA_ORGANISATIONS: tuple[tuple[str, str], ...] = (
    ("DBC", "Martin Kjærsgaard"),
    ("KOMBIT", "Louise Grønbæk"),
)
WORKING_GROUP_TASKS = (
    "Opdatere principperne og retningslinjerne for lånesamarbejdet",
    "Løfte personalets kompetencer i fjernlån",
    "Samle problemerne, der skal løftes til det politiske niveau",
    "Se på betjeningen af børn og unge under uddannelse",
)


class Report(Protocol):
    """Counts what the seeding created (fjernlaan.app.demo.DemoReport)."""

    def add(self, kind: str, n: int = 1) -> None:
        """Count n more created things of this kind."""


def _slug(text: str, sep: str = ".") -> str:
    table = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "é": "e"})
    words = "".join(c if c.isalnum() else " " for c in text.lower().translate(table)).split()
    return sep.join(words)


def _monday(day: date) -> date:
    """The Monday of `day`'s week: the demo's meetings start on Mondays."""
    return day - timedelta(days=day.weekday())


def _season_title(day: date) -> str:
    return f"{'Forårsmøde' if day.month < 7 else 'Efterårsmøde'} {day.year}"


def _at(day: date, hour: int) -> datetime:
    """`hour` o'clock on `day` in Copenhagen, aware."""
    return datetime.combine(day, time(hour), tzinfo=COPENHAGEN)


def _sessions(day: date) -> tuple[MeetingSession, ...]:
    east = datetime.combine(day, time(10))
    west = east + timedelta(days=1)
    return (
        MeetingSession(
            "east",
            "Øst",
            east,
            east + timedelta(hours=5, minutes=30),
            host_library="Det Kgl. Bibliotek",
            place="Søren Kierkegaards Plads 1, 1221 København K",
            room="Mødelokale Holberg",
            host_isil="DK-800010",
        ),
        MeetingSession(
            "west",
            "Vest",
            west,
            west + timedelta(hours=5, minutes=30),
            host_library="Vejle Bibliotekerne",
            place="Willy Sørensens Plads 1, 7100 Vejle",
            room="Store sal",
            host_isil="DK-763000",
        ),
    )


def _person(session: Session, name: str, email: str, organisation: str, role: str, isil: str | None) -> int:
    known = service.person_by_email(session, email)
    if known is not None:
        return known.id
    return service.create_person(
        session, name=name, email=email, organisation=organisation, role=role, library_isil=isil
    ).id


def _user_id(session: Session, username: str) -> int | None:
    user = find_user(session, username)
    return user.id if user is not None else None


def _seed_ill_network(session: Session, report: Report, coordinators: list[int], now: date) -> None:
    # Dated back from `now`: founded almost three years ago, two meetings held, the next one ahead.
    body = service.create_body(
        session,
        name=NETWORK_NAME,
        kind=BodyKind.NETWORK,
        capacity=40,
        absence_limit=3,
        meetings_per_year=2,
        mandate=(
            "Netværk for fjernlånsspecialister på danske biblioteker. Mødes to gange om året med samme "
            "dagsorden i Øst og Vest; referatet bringes i nyhedsbrevet For biblioteker."
        ),
        email="fremtidens-fjernlaan@netvaerk.example",
        newsletter="For biblioteker",
        coordinator_user_ids=coordinators,
    )
    report.add("network bodies")
    libraries = [
        lib for lib in load_demo_libraries() if lib.type in (LibraryType.PUBLIC, LibraryType.CENTRAL)
    ]
    people: list[int] = []
    for n, lib in enumerate(libraries[:41]):
        name = f"{_FIRST[n % len(_FIRST)]} {_LAST[(n * 7) % len(_LAST)]}"
        domain = (lib.email or "bibliotek.example").rpartition("@")[2]
        people.append(
            _person(session, name, f"{_slug(name)}@{domain}", lib.name, "fjernlånsspecialist", lib.isil)
        )
    # Two members represent organisations rather than libraries; with them the network's 40 seats are
    # full, so the last three applicants wait.
    org_members = [
        _person(
            session,
            "Henriette Vestergård",
            "henriette.vestergaard@slks.example",
            "Slots- og Kulturstyrelsen",
            "konsulent",
            None,
        ),
        _person(session, "Poul Brix", "poul.brix@dbc.example", "DBC", "fagkonsulent", None),
    ]
    founding = [*people[:38], *org_members]
    for i, pid in enumerate(founding):
        service.apply(session, body.id, pid, now - timedelta(days=1040) + timedelta(days=i // 10))
    for i, pid in enumerate(people[38:41]):
        service.apply(session, body.id, pid, now - timedelta(days=550) + timedelta(days=7 * i))
    report.add("network members", len(founding))
    report.add("network waiting", 3)
    for username, index in (("kbh", 0),):
        user_id = _user_id(session, username)
        if user_id is not None:
            service.link_user(session, people[index], user_id)

    agenda = [
        "Velkomst og nyt fra netværket",
        "Nyt fra Slots- og Kulturstyrelsen om lånesamarbejdet",
        "Kørselsordningen: erfaringer fra centralbibliotekerne",
        "Fjernlån af e-bøger og digitale materialer",
        "Erfaringsudveksling: svære fjernlån",
        "Eventuelt",
    ]
    held = [
        (day, _season_title(day))
        for day in (_monday(now - timedelta(days=390)), _monday(now - timedelta(days=210)))
    ]
    absences = [
        {5: AttendanceMark.ABSENT, 12: AttendanceMark.ABSENT, 20: AttendanceMark.ABSENT_WITH_AGREEMENT},
        {5: AttendanceMark.ABSENT, 30: AttendanceMark.ABSENT},
    ]
    for (day, title), marks in zip(held, absences, strict=True):
        meeting = service.create_meeting(
            session, body.id, title=title, sessions=_sessions(day), agenda=agenda
        )
        for i, pid in enumerate(founding):
            mark = marks.get(i, AttendanceMark.PRESENT)
            note = "afbud aftalt med koordinatoren" if mark is AttendanceMark.ABSENT_WITH_AGREEMENT else ""
            service.mark_attendance(session, meeting.id, pid, mark, note)
        service.close_attendance(session, meeting.id, meeting.ends_on)
        service.write_minutes(
            session,
            meeting.id,
            f"# {title}\n\nMødet blev holdt i Øst (Det Kgl. Bibliotek) og Vest (Vejle Bibliotekerne) "
            "med samme "
            "dagsorden.\n\n## Kørselsordningen\n\nCentralbibliotekerne fortalte om erfaringerne med "
            "pakkestørrelser (højst 8,5 cm og 2 kg).\n\n## Fjernlån af e-bøger\n\nNetværket drøftede, "
            "hvordan e-bøger kan indgå i lånesamarbejdet.",
            "Koordinator, Vejle CB",
        )
        service.add_decision(
            session,
            meeting.id,
            text="Netværket samler eksempler på svære fjernlån til næste møde.",
            agenda_item=5,
        )
        service.add_action_item(
            session,
            meeting.id,
            text="Udsende skabelon til eksempler",
            owner="Vejle Bibliotekerne",
            due=day + timedelta(days=30),
        )
        service.publish_minutes(session, meeting.id, now=_at(day + timedelta(days=14), 9))
        report.add("network meetings")
    upcoming = _monday(now + timedelta(days=24))
    service.create_meeting(
        session, body.id, title=_season_title(upcoming), sessions=_sessions(upcoming), agenda=agenda
    )
    report.add("network meetings")


def _seed_forum(session: Session, report: Report, coordinators: list[int], now: date) -> None:
    forum = service.create_body(
        session,
        name=FORUM_NAME,
        kind=BodyKind.FORUM,
        meetings_per_year=2,
        mandate="Koordinerer lånesamarbejdet mellem landets biblioteker på tværs af sektorer.",
        coordinator_user_ids=coordinators,
    )
    report.add("network bodies")
    reps: dict[str, int] = {}
    for organisation, name, role in FORUM_ORGANISATIONS:
        pid = _person(
            session, name, f"{_slug(name)}@{_slug(organisation, '-')[:30]}.example", organisation, role, None
        )
        service.apply(session, forum.id, pid, now - timedelta(days=995))
        reps[organisation] = pid
    for organisation, name in EXTRA_ORGANISATIONS:
        reps[organisation] = _person(
            session,
            name,
            f"{_slug(name)}@{_slug(organisation, '-')}.example",
            organisation,
            "repræsentant",
            None,
        )
    report.add("network members", len(FORUM_ORGANISATIONS))
    held = _monday(now - timedelta(days=42))
    meeting = service.create_meeting(
        session,
        forum.id,
        title=f"Forummøde {MONTHS[held.month - 1]} {held.year}",
        sessions=(
            MeetingSession(
                "main",
                "",
                datetime.combine(held, time(13)),
                datetime.combine(held, time(16)),
                host_library="Slots- og Kulturstyrelsen",
                place="H.C. Andersens Boulevard 2, København",
                room="Mødelokale 1",
            ),
        ),
        agenda=[
            "Velkomst og godkendelse af dagsorden",
            "Gennemgang af lånesamarbejdet: principper og retningslinjer",
            "Nedsættelse af arbejdsgruppe om lånesamarbejdet",
            "Eventuelt",
        ],
    )
    organisations = ["DBC", "KOMBIT", *(o for o, _, _ in FORUM_ORGANISATIONS)]
    service.write_minutes(
        session,
        meeting.id,
        "Forummet gennemgik lånesamarbejdet. Principperne fra 2012 trænger til en opdatering, og flere "
        "biblioteker oplever problemer, som skal løftes til det politiske niveau.",
        "Slots- og Kulturstyrelsen",
    )
    service.add_decision(
        session,
        meeting.id,
        text=(
            "Forummet nedsætter en arbejdsgruppe om lånesamarbejdet med DBC, KOMBIT og forummets "
            "organisationer."
        ),
        agenda_item=3,
        working_group_name=WORKING_GROUP_NAME,
        working_group_mandate="Arbejdsgruppen forbereder en revision af lånesamarbejdet.",
        working_group_organisations=organisations,
    )
    published = held + timedelta(days=10)
    service.publish_minutes(session, meeting.id, now=_at(published, 9))
    service.create_working_group(
        session,
        meeting.id,
        1,
        representatives=[reps[o] for o in organisations],
        tasks=list(WORKING_GROUP_TASKS),
        coordinator_user_ids=coordinators,
        today=published,
    )
    report.add("network bodies")


def seed_network(session: Session, report: Report, clock: Clock) -> None:
    """The ILL specialists' network and the coordination forum (idempotent: existing bodies are kept),
    dated relative to the clock's today: past meetings with minutes, the next meeting ahead."""
    now = today(clock)
    before = session.scalar(select(func.max(OutboxMessage.id))) or 0
    coordinator = _user_id(session, "koordinator")
    coordinators = [coordinator] if coordinator is not None else []
    names = set(session.scalars(select(BodyRow.name)))
    if NETWORK_NAME not in names:
        _seed_ill_network(session, report, coordinators, now)
    if FORUM_NAME not in names:
        _seed_forum(session, report, coordinators, now)
    # Demo people have .example addresses: nobody to mail.
    session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.id > before, OutboxMessage.idempotency_key.startswith("network:")
        )
    )
    session.flush()
