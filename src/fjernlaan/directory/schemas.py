"""The directory's data as it crosses the edge: API bodies, CSV and JSON import/export rows."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from fjernlaan.directory.model import (
    Iso18626Version,
    LendingPolicy,
    LibraryType,
    MaterialType,
    Region,
    RequesterCategory,
    normalise_isil,
)
from fjernlaan.fields import Fee, Isil, Name, SaneDate, ShortText


def _isil(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    return normalise_isil(value)


class LibraryFields(BaseModel):
    """Fields a library has apart from its ISIL (shared by create and update)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name | None = None
    type: LibraryType | None = None
    municipality_code: int | None = Field(default=None, ge=100, le=999)
    region: Region | None = None
    central_isil: Isil | None = None
    transport_hub: Isil | None = None
    email: EmailStr | None = None
    iso18626_endpoint: str | None = Field(default=None, max_length=500, pattern=r"^https?://\S+$")
    iso18626_version: Iso18626Version | None = None
    active: bool | None = None

    @field_validator("central_isil", "transport_hub", mode="before")
    @classmethod
    def _valid_isil(cls, value: str | None) -> str | None:
        return _isil(value)

    @field_validator("email", "iso18626_endpoint", "iso18626_version", "region", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value


class LibraryCreate(LibraryFields):
    """A new library."""

    isil: Isil
    name: Name
    type: LibraryType
    active: bool = True

    @field_validator("isil", mode="before")
    @classmethod
    def _valid_own_isil(cls, value: str) -> str:
        return normalise_isil(value)

    @model_validator(mode="after")
    def _danish_types_need_danish_isil(self) -> LibraryCreate:
        if self.type is LibraryType.FOREIGN and self.isil.startswith("DK-"):
            raise ValueError("a foreign library cannot have a Danish (DK-) ISIL")
        if self.type is not LibraryType.FOREIGN and not self.isil.startswith("DK-"):
            raise ValueError(f"a {self.type.value} library needs a Danish ISIL (DK- + six digits)")
        return self


class LibraryPatch(LibraryFields):
    """A change to some fields of a library (absent fields stay as they are)."""


class LibraryOut(BaseModel):
    """A library as the API shows it."""

    isil: str
    name: str
    type: LibraryType
    municipality_code: int | None
    region: Region | None
    central_isil: str | None
    transport_hub: str | None
    email: str | None
    iso18626_endpoint: str | None
    iso18626_version: Iso18626Version | None
    active: bool


class PolicyBody(BaseModel):
    """A lending policy (DESIGN.md §3); every field has the national default."""

    model_config = ConfigDict(extra="forbid")

    lending_enabled: bool = True
    refused_material_types: list[MaterialType] = Field(default_factory=list, max_length=50)
    min_title_age_days: int = Field(default=0, ge=0, le=3650)
    loan_period_days: int = Field(default=42, ge=1, le=365)
    max_renewals: int = Field(default=1, ge=0, le=20)
    renewal_period_days: int = Field(default=28, ge=1, le=365)
    answer_deadline_working_days: int = Field(default=3, ge=1, le=60)
    accepted_requester_types: list[RequesterCategory] = Field(
        default_factory=lambda: list(RequesterCategory), max_length=50
    )
    fee_dkk: Fee = 0.0
    replacement_price_dkk: Fee = 350.0
    pickup_window_days: int = Field(default=14, ge=1, le=90)

    def to_domain(self) -> LendingPolicy:
        """The domain policy."""
        return LendingPolicy(
            lending_enabled=self.lending_enabled,
            refused_material_types=frozenset(self.refused_material_types),
            min_title_age_days=self.min_title_age_days,
            loan_period_days=self.loan_period_days,
            max_renewals=self.max_renewals,
            renewal_period_days=self.renewal_period_days,
            answer_deadline_working_days=self.answer_deadline_working_days,
            accepted_requester_types=frozenset(self.accepted_requester_types),
            fee_dkk=self.fee_dkk,
            replacement_price_dkk=self.replacement_price_dkk,
            pickup_window_days=self.pickup_window_days,
        )

    @classmethod
    def from_domain(cls, policy: LendingPolicy) -> PolicyBody:
        """The API view of a domain policy."""
        return cls(
            lending_enabled=policy.lending_enabled,
            refused_material_types=sorted(policy.refused_material_types),
            min_title_age_days=policy.min_title_age_days,
            loan_period_days=policy.loan_period_days,
            max_renewals=policy.max_renewals,
            renewal_period_days=policy.renewal_period_days,
            answer_deadline_working_days=policy.answer_deadline_working_days,
            accepted_requester_types=sorted(policy.accepted_requester_types),
            fee_dkk=policy.fee_dkk,
            replacement_price_dkk=policy.replacement_price_dkk,
            pickup_window_days=policy.pickup_window_days,
        )


class ClosureIn(BaseModel):
    """A closure to add."""

    model_config = ConfigDict(extra="forbid")

    starts: SaneDate
    ends: SaneDate
    reason: ShortText = ""

    @model_validator(mode="after")
    def _ordered(self) -> ClosureIn:
        if self.ends < self.starts:
            raise ValueError("ends must not be before starts")
        return self


class ClosureOut(ClosureIn):
    """A stored closure."""

    id: int


class WorkingDayAnswer(BaseModel):
    """The answer to "which date is n working days after this one for this library?"."""

    isil: str
    start: date
    working_days: int
    date: date
