"""The van scheme's rules on labels: the bundle limits (8.5 cm, 2 kg) at their edges, what staff type,
and that a bundle goes from one library to one library."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fjernlaan.errors import DomainError
from fjernlaan.lending.transport import (
    Bundle,
    Place,
    Shipment,
    ShipmentKind,
    bundle_label,
    parse_ids,
    parse_measure,
    single_label,
)

PLACES = {
    "DK-710100": Place("DK-710100", "Københavns Biblioteker"),
    "DK-715700": Place("DK-715700", "Gentofte Bibliotekerne"),
    "DK-800010": Place("DK-800010", "Det Kgl. Bibliotek"),
    "SE-L": Place("SE-L", "Lunds universitetsbibliotek"),
}
HUBS = {"DK-710100": PLACES["DK-715700"], "DK-800010": PLACES["DK-715700"], "SE-L": None}


def loan(request_id: int, to: str = "DK-710100") -> Shipment:
    return Shipment(request_id, ShipmentKind.LOAN, "DK-800010", to)


@pytest.mark.parametrize(("cm", "kg"), [("8.5", "2"), ("0.1", "0.05"), ("8,5", "2,0")])
def test_a_bundle_at_or_under_the_limits_is_accepted(cm: str, kg: str) -> None:
    bundle = Bundle(parse_measure(cm, "thickness"), parse_measure(kg, "weight"))
    assert bundle.thickness_cm <= Decimal("8.5") and bundle.weight_kg <= Decimal("2")


@pytest.mark.parametrize(
    ("cm", "kg", "field", "code"),
    [
        ("8.6", "1", "thickness", "over_limit"),
        ("1", "2.01", "weight", "over_limit"),
        ("0", "1", "thickness", "not_positive"),
        ("1", "0", "weight", "not_positive"),
    ],
)
def test_a_bundle_over_the_limits_or_without_size_is_refused(cm: str, kg: str, field: str, code: str) -> None:
    with pytest.raises(DomainError) as refused:
        Bundle(Decimal(cm), Decimal(kg))
    assert (refused.value.field, refused.value.extra["code"]) == (field, code)
    if code == "over_limit":
        assert refused.value.extra["limit"] in (Decimal("8.5"), Decimal("2"))


@pytest.mark.parametrize("typed", ["", "fire", "4,5,6", "-1", "1e3", "12345"])
def test_what_is_not_a_measure_is_refused_at_its_field(typed: str) -> None:
    with pytest.raises(DomainError) as refused:
        parse_measure(typed, "weight")
    assert refused.value.field == "weight" and refused.value.extra["code"] == "not_a_number"


def test_request_numbers_keep_their_order_once_each_and_refuse_what_is_not_a_number() -> None:
    assert parse_ids(" 12, 5,12 7 ") == (12, 5, 7)
    assert parse_ids("") == ()
    with pytest.raises(DomainError):
        parse_ids("12,abc")
    with pytest.raises(DomainError):
        parse_ids(",".join(str(i) for i in range(1, 102)))


def test_a_bundle_label_lists_every_request_and_goes_to_one_library_through_its_hub() -> None:
    label = bundle_label([loan(1), loan(2)], PLACES, HUBS, Bundle(Decimal("4"), Decimal("1")))
    assert label.request_ids == (1, 2) and label.is_bundle
    assert (label.destination.name, label.hub, label.sender.isil) == (
        "Københavns Biblioteker",
        PLACES["DK-715700"],
        "DK-800010",
    )
    with pytest.raises(DomainError):
        bundle_label([loan(1), loan(2, to="SE-L")], PLACES, HUBS, Bundle(Decimal("4"), Decimal("1")))
    with pytest.raises(DomainError):
        bundle_label([], PLACES, HUBS, Bundle(Decimal("4"), Decimal("1")))


def test_a_library_abroad_has_no_hub_on_its_label() -> None:
    label = single_label(loan(3, to="SE-L"), PLACES, HUBS)
    assert label.hub is None and not label.is_bundle
