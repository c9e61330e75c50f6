"""iCalendar (RFC 5545) for the bodies' meetings: the invitation mailed to members, a feed per body and
a feed per person.

Every session of a meeting is one VEVENT whose UID depends only on the meeting id, the session key and
the hub's domain, so the invitation, the body feed and the person feed describe the same event and a
calendar that imported one updates it from the others. Times are Europe/Copenhagen with a VTIMEZONE.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from fjernlaan.limits import date_problem
from fjernlaan.network.model import Body, Meeting, MeetingSession, Person

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
PRODID = "-//fjernlaan//network meetings//DA"


def session_uid(meeting: Meeting, session: MeetingSession, domain: str) -> str:
    """The stable UID of one session of a meeting."""
    return f"fjernlaan-meeting-{meeting.id}-{session.key}@{domain}"


def _local(moment: datetime) -> datetime:
    # Naive times in the model are Copenhagen wall-clock times.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=COPENHAGEN)
    return moment.astimezone(COPENHAGEN)


def _agenda_text(meeting: Meeting) -> str:
    lines: list[str] = []
    for item in meeting.ordered_agenda:
        line = f"{item.number}. {item.title}"
        if item.presenter:
            line += f" ({item.presenter})"
        lines.append(line)
        lines.extend(f"   - {paper}" for paper in item.papers)
    return "\n".join(lines)


def _mailto(person: Person, role: str | None = None) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{person.email}")
    address.params["CN"] = person.name
    if role is not None:
        address.params["ROLE"] = role
        address.params["PARTSTAT"] = "NEEDS-ACTION"
        address.params["RSVP"] = "TRUE"
    return address


def _event(
    body: Body,
    meeting: Meeting,
    session: MeetingSession,
    *,
    domain: str,
    stamp: datetime,
    organizer: Person | None = None,
    attendees: Iterable[Person] = (),
    url: str | None = None,
) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", session_uid(meeting, session, domain))
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("sequence", meeting.revision)
    event.add("dtstart", _local(session.starts))
    event.add("dtend", _local(session.ends))
    summary = f"{body.name}: {meeting.title}"
    if len(meeting.sessions) > 1 and session.label:
        summary += f" ({session.label})"
    event.add("summary", summary)
    if session.location:
        event.add("location", session.location)
    agenda = _agenda_text(meeting)
    if agenda:
        event.add("description", agenda)
    event.add("status", "CONFIRMED")
    if url:
        event.add("url", url)
    if organizer is not None:
        event.add("organizer", _mailto(organizer))
    for person in attendees:
        event.add("attendee", _mailto(person, "REQ-PARTICIPANT"))
    return event


def _calendar(method: str, name: str | None) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
        cal.add("x-wr-timezone", "Europe/Copenhagen")
    return cal


def _in_range(session: MeetingSession) -> bool:
    # A session stored before the input limits (e.g. on 9999-12-31) is left out of the feeds: its time
    # zone cannot be computed, and one such row would break the feed for good.
    return date_problem(session.starts.date()) is None and date_problem(session.ends.date()) is None


def _finish(cal: icalendar.Calendar, days: Sequence[date]) -> bytes:
    if days:
        # A VTIMEZONE covering just the span of the events keeps the file small.
        # Clamped: a meeting stored near the end of the calendar (year 9999, before the input limits)
        # would otherwise overflow the date and break the feed for good.
        margin = timedelta(days=366)
        first = max(min(days), date.min + margin) - margin
        last = min(max(days), date.max - margin) + margin
        cal.add_missing_timezones(first_date=first, last_date=last)
    data: bytes = cal.to_ical()
    return data


def meeting_invitation(
    body: Body,
    meeting: Meeting,
    attendees: Sequence[Person],
    *,
    organizer: Person,
    domain: str,
    stamp: datetime,
    session_keys: Sequence[str] | None = None,
    url: str | None = None,
) -> bytes:
    """The invitation attached to the meeting mail: METHOD:REQUEST with one VEVENT per session.

    `session_keys` restricts the invitation to some sessions (e.g. only the one a member signed up
    for: strict iTIP clients prefer one UID per REQUEST). An update is the same call after
    raising `Meeting.revision`.
    """
    chosen = [s for s in meeting.sessions if session_keys is None or s.key in session_keys]
    if session_keys is not None and len(chosen) != len(set(session_keys)):
        raise ValueError(f"unknown session key in {list(session_keys)!r}")
    moment = stamp
    cal = _calendar("REQUEST", None)
    for session in chosen:
        cal.add_component(
            _event(
                body,
                meeting,
                session,
                domain=domain,
                stamp=moment,
                organizer=organizer,
                attendees=attendees,
                url=url,
            )
        )
    return _finish(cal, [s.starts.date() for s in chosen])


def body_feed(body: Body, meetings: Iterable[Meeting], *, domain: str, stamp: datetime) -> bytes:
    """The body's calendar feed (.ics): every session of every meeting, without attendees; `stamp` is
    the DTSTAMP (the moment the feed is served, from the caller's clock)."""
    moment = stamp
    cal = _calendar("PUBLISH", body.name)
    days: list[date] = []
    for meeting in meetings:
        if meeting.body_id != body.id:
            raise ValueError(f"meeting {meeting.id} belongs to another body")
        for session in meeting.sessions:
            if not _in_range(session):
                continue
            cal.add_component(_event(body, meeting, session, domain=domain, stamp=moment))
            days.append(session.starts.date())
    return _finish(cal, days)


def person_feed(
    person: Person,
    meetings: Iterable[tuple[Body, Meeting]],
    *,
    domain: str,
    stamp: datetime,
) -> bytes:
    """A person's calendar feed (.ics): the meetings of the bodies they sit on (the service picks them)."""
    moment = stamp
    cal = _calendar("PUBLISH", f"{person.name}: møder")
    days: list[date] = []
    for body, meeting in meetings:
        if meeting.body_id != body.id:
            raise ValueError(f"meeting {meeting.id} belongs to another body")
        for session in meeting.sessions:
            if not _in_range(session):
                continue
            cal.add_component(_event(body, meeting, session, domain=domain, stamp=moment))
            days.append(session.starts.date())
    return _finish(cal, days)
