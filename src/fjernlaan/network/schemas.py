"""The bodies' data as it crosses the edge: API bodies and answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Self

from pydantic import AliasChoices, BaseModel, ConfigDict, EmailStr, Field, model_validator

from fjernlaan.fields import Id, Isil, LongText, Name, SaneDate, SaneDateTime, ShortText, Text
from fjernlaan.network import model as m

_LIST_MAX = 1000  # ids or items in one body

_IN = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    """An answer read from a domain object: each field from the attribute of the same name (nested
    answers likewise), so a domain type has one conversion, not a copy of its fields per answer."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, obj: object) -> Self:
        """The API view of a domain object."""
        return cls.model_validate(obj)


class BodyIn(BaseModel):
    """A new body."""

    model_config = _IN

    name: Name
    kind: m.BodyKind
    capacity: int | None = Field(default=None, ge=1, le=10_000)
    absence_limit: int | None = Field(default=None, ge=1, le=1000)
    meetings_per_year: int | None = Field(default=None, ge=0, le=52)
    parent_id: Id | None = None
    mandate: Text = ""
    email: EmailStr | None = None
    newsletter: ShortText | None = None
    coordinator_user_ids: list[Id] = Field(default=[], max_length=_LIST_MAX)


class BodyOut(_Out):
    """A body."""

    id: int
    name: str
    kind: m.BodyKind
    capacity: int | None
    absence_limit: int | None
    meetings_per_year: int | None
    coordinator_user_ids: list[int] = Field(
        validation_alias=AliasChoices("coordinator_user_ids", "coordinator_ids")
    )
    parent_id: int | None
    mandate: str
    email: str | None
    newsletter: str | None


class PersonIn(BaseModel):
    """A new person."""

    model_config = _IN

    name: Name
    email: EmailStr
    organisation: ShortText = ""
    role: ShortText = ""
    library_isil: Isil | None = None
    user_id: Id | None = None
    language: str = Field(default="da", pattern="^(da|en)$", max_length=2)


class PersonOut(_Out):
    """A person."""

    id: int
    name: str
    email: str
    organisation: str
    role: str
    library_isil: str | None


class StatusChangeOut(_Out):
    """One step of a membership's history."""

    at: date
    from_status: m.MembershipStatus | None
    to_status: m.MembershipStatus
    why: str


class MembershipOut(_Out):
    """A person's standing with a body."""

    id: int | None
    body_id: int
    person: PersonOut
    status: m.MembershipStatus
    applied_on: date
    application_no: int
    joined_on: date | None
    history: list[StatusChangeOut]


class ApplicationIn(BaseModel):
    """An application: an existing person by id, or a new person."""

    model_config = _IN

    person_id: Id | None = None
    person: PersonIn | None = None
    applied_on: SaneDate | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ApplicationIn:
        if (self.person_id is None) == (self.person is None):
            raise ValueError("give either person_id or person")
        return self


class MembershipMoveOut(_Out):
    """The outcome of a membership move: the membership and anyone promoted from the waiting list."""

    membership: MembershipOut
    promoted: list[MembershipOut]


class LeaveIn(BaseModel):
    """Why the person leaves (required when a coordinator withdraws someone)."""

    model_config = _IN

    why: Annotated[Text, Field(max_length=1000)] = ""


class SessionIn(BaseModel):
    """One sitting of a meeting; times without an offset are Copenhagen wall-clock times."""

    model_config = _IN

    key: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    label: Annotated[ShortText, Field(max_length=100)] = ""
    starts: SaneDateTime
    ends: SaneDateTime
    host_library: ShortText = ""
    place: ShortText = ""
    room: ShortText = ""
    host_isil: Isil | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> SessionIn:
        if self.ends <= self.starts:
            raise ValueError("ends: a session must end after it starts")
        return self

    def to_domain(self) -> m.MeetingSession:
        """The model's session."""
        return m.MeetingSession(
            key=self.key,
            label=self.label,
            starts=self.starts,
            ends=self.ends,
            host_library=self.host_library,
            place=self.place,
            room=self.room,
            host_isil=self.host_isil,
        )


class AgendaItemIn(BaseModel):
    """An agenda item (numbered in order when `number` is left out)."""

    model_config = _IN

    title: Annotated[Name, Field(max_length=300)]
    presenter: ShortText = ""
    papers: list[Annotated[ShortText, Field(max_length=500)]] = Field(default=[], max_length=100)
    description: Text = ""
    number: int | None = Field(default=None, ge=1, le=1000)


class MeetingIn(BaseModel):
    """A new meeting: sessions and one agenda."""

    model_config = _IN

    title: Name
    sessions: list[SessionIn] = Field(min_length=1, max_length=50)
    agenda: list[AgendaItemIn] = Field(default=[], max_length=200)


class SessionOut(_Out):
    """A session of a meeting."""

    key: str
    label: str
    starts: datetime
    ends: datetime
    host_library: str
    place: str
    room: str
    location: str


class AgendaItemOut(_Out):
    """An agenda item."""

    number: int
    title: str
    presenter: str
    papers: list[str]
    description: str


class MeetingOut(_Out):
    """A meeting with its sessions and agenda."""

    id: int
    body_id: int
    title: str
    held_on: date
    attendance_closed: bool
    revision: int
    sessions: list[SessionOut]
    # in item-number order
    agenda: list[AgendaItemOut] = Field(validation_alias=AliasChoices("ordered_agenda", "agenda"))


class AttendanceIn(BaseModel):
    """A member's mark for a meeting."""

    model_config = _IN

    mark: m.AttendanceMark
    note: Annotated[Text, Field(max_length=1000)] = ""


class AttendanceOut(_Out):
    """A member's mark for a meeting."""

    meeting_id: int
    person_id: int
    mark: m.AttendanceMark
    note: str


class CloseAttendanceIn(BaseModel):
    """Closing attendance; `today` defaults to today in Denmark."""

    model_config = _IN

    today: SaneDate | None = None


class ClosingOut(_Out):
    """What closing attendance did."""

    meeting: MeetingOut
    attendance: list[AttendanceOut]
    withdrawn: list[MembershipOut]
    promoted: list[MembershipOut]


class InvitationsOut(_Out):
    """How many invitations were queued."""

    queued: int


class MinutesIn(BaseModel):
    """The minutes' text (Markdown)."""

    model_config = _IN

    text_md: LongText
    author: ShortText | None = None


class DecisionIn(BaseModel):
    """A decision; naming a working group (and its organisations) lets it set one up."""

    model_config = _IN

    text: Annotated[Text, Field(min_length=1)]
    number: int | None = Field(default=None, ge=1, le=1000)
    agenda_item: int | None = Field(default=None, ge=1, le=1000)
    working_group_name: Name | None = None
    working_group_mandate: Text = ""
    working_group_organisations: list[Name] = Field(default=[], max_length=200)


class ActionItemIn(BaseModel):
    """An action item."""

    model_config = _IN

    text: Annotated[Text, Field(min_length=1)]
    owner: Name
    due: SaneDate | None = None
    number: int | None = Field(default=None, ge=1, le=1000)


class StatusIn(BaseModel):
    """A new status for an action item or task."""

    model_config = _IN

    status: m.ActionItemStatus


class DecisionOut(_Out):
    """A decision."""

    number: int
    text: str
    agenda_item: int | None
    working_group_name: str | None
    working_group_mandate: str
    working_group_organisations: list[str]


class ActionItemOut(_Out):
    """An action item."""

    number: int
    text: str
    owner: str
    due: date | None
    status: m.ActionItemStatus


class MinutesOut(_Out):
    """Minutes with decisions and action items."""

    id: int
    meeting_id: int
    body_id: int
    text_md: str
    author: str
    published_at: datetime | None
    decisions: list[DecisionOut]
    action_items: list[ActionItemOut]


class TaskIn(BaseModel):
    """A task for a working group."""

    model_config = _IN

    text: Annotated[Text, Field(min_length=1)]
    owner_organisation: Name | None = None
    due: SaneDate | None = None


class TaskOut(_Out):
    """A working group's task."""

    number: int
    text: str
    owner_organisation: str | None
    due: date | None
    status: m.ActionItemStatus


class WorkingGroupIn(BaseModel):
    """Set up the working group a decision calls for: its representatives (people ids) and tasks."""

    model_config = _IN

    representatives: list[Id] = Field(min_length=1, max_length=_LIST_MAX)
    tasks: list[TaskIn] = Field(default=[], max_length=_LIST_MAX)
    coordinator_user_ids: list[Id] = Field(default=[], max_length=_LIST_MAX)


class WorkingGroupOut(_Out):
    """A new working group with its members and task list."""

    body: BodyOut
    members: list[MembershipOut]
    tasks: list[TaskOut]
    unrepresented_organisations: list[str]


class MyBodyOut(_Out):
    """One of the caller's bodies with their membership."""

    body: BodyOut
    membership: MembershipOut


class MeOut(_Out):
    """The caller as a member: their person, bodies, upcoming meetings and calendar feed."""

    person: PersonOut
    bodies: list[MyBodyOut]
    upcoming_meetings: list[MeetingOut]
    calendar_url: str
