"""The national van scheme (kørselsordning) as the labels see it: who a parcel goes to, through which
central-library hub, and the bundle rule (at most 8.5 cm thick and 2 kg).

Pure: no framework, no database. The label page and its tests share these rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from fjernlaan.errors import DomainError

#: The van scheme's limits for one bundle (DESIGN.md §2: "bundles max 8.5 cm and 2 kg").
MAX_BUNDLE_THICKNESS_CM = Decimal("8.5")
MAX_BUNDLE_WEIGHT_KG = Decimal("2")
#: A bundle label lists at most this many requests (more would not fit on the label, nor in 8.5 cm).
MAX_REQUESTS_PER_BUNDLE = 20


class ShipmentKind(StrEnum):
    """Which way a parcel goes."""

    LOAN = "loan"  # the lender sends the item to the borrowing library
    RETURN = "return"  # the borrowing library sends the item back to the lender


@dataclass(frozen=True, slots=True)
class Shipment:
    """One request's item on its way from `sender_isil` to `destination_isil`."""

    request_id: int
    kind: ShipmentKind
    sender_isil: str
    destination_isil: str
    already_shipped: bool = False


@dataclass(frozen=True, slots=True)
class Place:
    """A library as a label names it; `hub` is its transport hub (a central library), None outside the
    van scheme (a foreign library: sent by post)."""

    isil: str
    name: str


@dataclass(frozen=True, slots=True)
class Bundle:
    """A bundle's measured thickness and weight; refused above the van scheme's limits."""

    thickness_cm: Decimal
    weight_kg: Decimal

    def __post_init__(self) -> None:
        for field, value, limit, unit in (
            ("thickness", self.thickness_cm, MAX_BUNDLE_THICKNESS_CM, "cm"),
            ("weight", self.weight_kg, MAX_BUNDLE_WEIGHT_KG, "kg"),
        ):
            if value <= 0:
                raise DomainError(
                    f"the {field} must be more than 0 {unit}", field=field, extra={"code": "not_positive"}
                )
            if value > limit:
                # The page words this in the user's language from the code and the numbers.
                raise DomainError(
                    f"the bundle's {field} is {value} {unit}; the van takes at most {limit} {unit}: "
                    "split it into two bundles",
                    field=field,
                    extra={"code": "over_limit", "measured": value, "limit": limit},
                )


@dataclass(frozen=True, slots=True)
class Label:
    """One transport label: to the destination library through its hub, from the sender, with the
    request numbers inside (one for a single item, several for a bundle)."""

    destination: Place
    hub: Place | None
    sender: Place
    request_ids: tuple[int, ...]
    bundle: Bundle | None = None

    @property
    def is_bundle(self) -> bool:
        """True when the label is for several requests in one bundle."""
        return len(self.request_ids) > 1


_NUMBER = re.compile(r"^\d{1,3}(?:[.,]\d{1,3})?$")


def parse_measure(text: str, field: str) -> Decimal:
    """A thickness or weight typed by staff: digits with a decimal comma or point ("4,5" or "4.5")."""
    cleaned = text.strip()
    if not _NUMBER.match(cleaned):
        raise DomainError("write a number, e.g. 4,5", field=field, extra={"code": "not_a_number"})
    try:
        return Decimal(cleaned.replace(",", "."))
    except InvalidOperation as exc:  # the pattern above makes this unreachable in practice
        raise DomainError("write a number, e.g. 4,5", field=field, extra={"code": "not_a_number"}) from exc


def parse_ids(text: str, *, limit: int = 100) -> tuple[int, ...]:
    """Request numbers from `1,2,3` (spaces and repeats allowed), in the order given, at most `limit`."""
    ids: list[int] = []
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        if not part.isdigit() or len(part) > 9:
            raise DomainError(f"{part!r} is not a request number", field="ids")
        number = int(part)
        if number not in ids:
            ids.append(number)
    if len(ids) > limit:
        raise DomainError(f"at most {limit} requests at a time", field="ids")
    return tuple(ids)


def bundle_label(
    shipments: list[Shipment], places: dict[str, Place], hubs: dict[str, Place | None], bundle: Bundle
) -> Label:
    """One label for several shipments from one sender to one destination, measured as `bundle`."""
    if not shipments:
        raise DomainError("choose at least one request for the bundle", field="bundle")
    if len(shipments) > MAX_REQUESTS_PER_BUNDLE:
        raise DomainError(f"a bundle holds at most {MAX_REQUESTS_PER_BUNDLE} requests", field="bundle")
    destinations = {s.destination_isil for s in shipments}
    senders = {s.sender_isil for s in shipments}
    if len(destinations) != 1 or len(senders) != 1:
        raise DomainError("a bundle goes from one library to one library", field="bundle")
    (destination,) = destinations
    (sender,) = senders
    return Label(
        destination=places[destination],
        hub=hubs[destination],
        sender=places[sender],
        request_ids=tuple(s.request_id for s in shipments),
        bundle=bundle,
    )


def single_label(shipment: Shipment, places: dict[str, Place], hubs: dict[str, Place | None]) -> Label:
    """The label for one request's item."""
    return Label(
        destination=places[shipment.destination_isil],
        hub=hubs[shipment.destination_isil],
        sender=places[shipment.sender_isil],
        request_ids=(shipment.request_id,),
    )
