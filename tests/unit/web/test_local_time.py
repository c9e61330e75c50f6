"""Staff pages show stored moments (UTC) as the time on the desk's clock in Copenhagen."""

from __future__ import annotations

from datetime import UTC, datetime

from fjernlaan.web.kit import TEMPLATES, local_time


def test_a_winter_moment_is_shown_one_hour_ahead_of_utc() -> None:
    assert local_time(datetime(2030, 1, 15, 9, 30, tzinfo=UTC)) == "2030-01-15 10:30"


def test_a_summer_moment_is_shown_two_hours_ahead_of_utc() -> None:
    assert local_time(datetime(2030, 7, 1, 22, 15, tzinfo=UTC)) == "2030-07-02 00:15"


def test_a_naive_moment_is_taken_as_utc() -> None:
    assert local_time(datetime(2030, 1, 15, 9, 30), "%H:%M:%S") == "10:30:00"


def test_templates_have_the_filter() -> None:
    template = TEMPLATES.env.from_string("{{ at | local_time('%d.%m.%Y %H:%M') }}")
    assert template.render(at=datetime(2030, 3, 31, 1, 0, tzinfo=UTC)) == "31.03.2030 03:00"
