"""Lending's data as it crosses the edge: what the API accepts and answers."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fjernlaan.accounts.model import PatronCategory
from fjernlaan.fields import CardNumber, Count, Fee, Id, Isil, Name, SaneDate, ShortText, Text
from fjernlaan.lending.model import Action, RequesterState, Role, ServiceType, SupplierState


class CitationIn(BaseModel):
    """A free-form citation for an item the catalogue does not have; staff then source it by hand."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Annotated[Text, Field(min_length=1, max_length=2000)]
    author: Annotated[Text, Field(max_length=500)] | None = None
    year: int | None = Field(default=None, ge=1, le=9999)
    publisher: Annotated[Text, Field(max_length=500)] | None = None
    isbn: Annotated[ShortText, Field(max_length=32)] | None = None
    issn: Annotated[ShortText, Field(max_length=16)] | None = None
    notes: Annotated[Text, Field(max_length=2000)] | None = None


class PlacedBy(StrEnum):
    """Who asked: library staff for a patron, or the patron (through the library's own channels)."""

    STAFF = "staff"
    PATRON = "patron"


class PlaceRequestIn(BaseModel):
    """`POST /api/v1/requests`: a record id from the catalogue, or a citation; the patron by id or card."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    record_id: Id | None = Field(default=None, description="the catalogue's record id")
    citation: CitationIn | None = None
    patron_id: Id | None = None
    card_number: CardNumber | None = None
    requester_isil: Isil | None = Field(
        default=None, description="the borrowing library (default: the caller's library)"
    )
    pickup_isil: Isil | None = Field(
        default=None, description="where the patron collects (default: requester)"
    )
    need_before: SaneDate | None = Field(
        default=None, description="the patron's need-before date (default: the principles' need_before_days)"
    )
    service_type: ServiceType = ServiceType.LOAN
    patron_category: PatronCategory | None = Field(
        default=None, description="default: the patron's registered category"
    )
    placed_by: PlacedBy = PlacedBy.STAFF

    @model_validator(mode="after")
    def _one_item_and_one_patron(self) -> PlaceRequestIn:
        if (self.record_id is None) == (self.citation is None):
            raise ValueError("give either record_id or citation")
        if self.patron_id is None and self.card_number is None:
            raise ValueError("give the patron's patron_id or card_number")
        return self


class ActionIn(BaseModel):
    """The body of `POST /api/v1/requests/{id}/actions/{action}`; each action needs some fields."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Annotated[Text, Field(max_length=2000)] | None = None
    condition: Annotated[Text, Field(max_length=2000)] | None = None
    fee_dkk: Fee | None = None
    due_date: SaneDate | None = None
    reply_by: SaneDate | None = Field(default=None, description="offer_condition: answer wanted by this day")
    as_role: Role | None = Field(
        default=None,
        description=(
            "act as `patron` (requester staff passing on the patron's own wish) or, for national "
            "administrators, as `requester_staff` or `supplier_staff`"
        ),
    )


class RotaOrderIn(BaseModel):
    """Staff's order for the lenders not asked yet: the named ones first, in this order."""

    model_config = ConfigDict(extra="forbid")

    isils: list[Isil] = Field(min_length=1, max_length=1000)


class AddLenderIn(BaseModel):
    """A lender staff add by hand (at the end, or at a rota position not yet asked)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    isil: Isil
    reason: Annotated[Name, Field(max_length=500)]
    position: Count | None = None


class PatronOut(BaseModel):
    """The patron, shown to the borrowing library only (never to a lender)."""

    id: int
    name: str
    card_number: str
    email: str | None
    language: str


class RotaEntryOut(BaseModel):
    """A lender on the rota, why it is there, and its attempt if it was asked."""

    position: int
    isil: str
    tier: str | None
    score: float | None
    via_isil: str | None
    reasons: list[str]
    attempt_state: SupplierState | None = None


class ExclusionOut(BaseModel):
    """A holding library that is not asked, and why."""

    isil: str
    reasons: list[str]


class AttemptOut(BaseModel):
    """One lender asked: the supplier side."""

    position: int
    isil: str
    state: SupplierState
    condition: str | None
    fee_dkk: float | None
    reply_by: date | None = None
    answer_due: date | None
    created_at: datetime


class EventOut(BaseModel):
    """One step of the timeline."""

    at: datetime
    side: str
    action: str
    from_state: str | None
    to_state: str
    by_role: str
    by_user: str | None
    by_isil: str | None
    reason: str | None
    position: int | None
    isil: str | None


class AllowedActionOut(BaseModel):
    """An action the caller may take now, with the fields its body needs."""

    action: Action
    needs: list[str]
    path: str


class RequestOut(BaseModel):
    """A request with both sides, the rota with reasons, the timeline and what the caller may do."""

    id: int
    state: RequesterState
    service_type: ServiceType
    delivered_as: ServiceType | None
    title: str
    record_id: int | None
    citation: dict[str, object]
    needs_sourcing: bool
    requester_isil: str
    pickup_isil: str
    patron_category: str
    patron: PatronOut | None = Field(description="only the borrowing library sees the patron")
    principles_version: str
    position: int | None
    current_lender_isil: str | None
    current_attempt_state: SupplierState | None
    need_before: date | None
    answer_due: date | None
    due_date: date | None
    pickup_due: date | None
    renewals_used: int
    replacement_charge_dkk: float | None
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    viewer_role: Role
    rota: list[RotaEntryOut]
    excluded: list[ExclusionOut]
    attempts: list[AttemptOut]
    events: list[EventOut]
    allowed_actions: list[AllowedActionOut]
    can_edit_rota: bool


class RequestSummary(BaseModel):
    """A request in a list (no patron data: lists serve both sides)."""

    id: int
    state: RequesterState
    service_type: ServiceType
    title: str
    requester_isil: str
    current_lender_isil: str | None
    need_before: date | None
    next_deadline: date | None
    attention: str | None
    principles_version: str
    created_at: datetime
    updated_at: datetime


class MessageIn(BaseModel):
    """A message to the other library of the request."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=4000)


class MessageOut(BaseModel):
    """A message between the two libraries; `read_at` is when the receiving library opened it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    request_id: int
    from_isil: str
    to_isil: str
    author: str | None
    body: str
    created_at: datetime
    read_at: datetime | None
