"""Lending principles as data: the bundled versions load, and broken files say exactly what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from fjernlaan.directory.model import LibraryType
from fjernlaan.lending.principles import (
    BUNDLED_DIR,
    PrinciplesError,
    Tier,
    check_principles,
    format_principles,
    list_bundled,
    load_principles,
)


def bundled_text(name: str = "dk-2012") -> str:
    return (BUNDLED_DIR / f"{name}.toml").read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_both_danish_versions_are_bundled_and_valid():
    assert list_bundled() == ["dk-2012", "dk-2023"]
    for name in list_bundled():
        assert check_principles(name) == []


def test_the_2012_principles_follow_the_design_order_for_public_libraries():
    p = load_principles("dk-2012")
    assert p.version == "dk-2012"
    assert p.tiers_for(LibraryType.PUBLIC) == (
        Tier.OWN_REGION_PUBLIC,
        Tier.OTHER_REGION_PUBLIC,
        Tier.OWN_CENTRAL,
        Tier.OTHER_CENTRAL,
        Tier.NATIONAL,
        Tier.RESEARCH,
        Tier.ABROAD,
    )
    assert p.defaults.answer_deadline_working_days == 3
    assert p.defaults.loan_period_days == 42


def test_the_2023_revision_weighs_fair_share_more():
    assert load_principles("dk-2023").weights.fair_share > load_principles("dk-2012").weights.fair_share


def test_libraries_without_their_own_order_borrow_like_research_libraries():
    p = load_principles("dk-2012")
    assert p.tiers_for(LibraryType.NATIONAL) == p.tiers_for(LibraryType.RESEARCH)


def test_a_file_loads_by_path(tmp_path):
    path = write(tmp_path, bundled_text().replace('"dk-2012"', '"kommune-forsøg-2026"'))
    assert load_principles(path).version == "kommune-forsøg-2026"


def test_an_unknown_tier_is_named_with_its_file_and_position(tmp_path):
    path = write(tmp_path, bundled_text().replace('school = ["school"', 'school = ["skolebibliotek"'))
    errors = check_principles(path)
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}: tiers.school[0]: unknown tier 'skolebibliotek'")


def test_a_negative_weight_is_refused(tmp_path):
    path = write(tmp_path, bundled_text().replace("fair_share = 2.0", "fair_share = -1.0"))
    assert check_principles(path) == [f"{path}: weights.fair_share: must not be negative (got -1.0)"]


def test_a_missing_field_is_named(tmp_path):
    path = write(tmp_path, bundled_text().replace("loan_period_days = 42\n", ""))
    assert check_principles(path) == [f"{path}: missing field defaults.loan_period_days"]


def test_a_missing_requester_type_is_named(tmp_path):
    text = "\n".join(line for line in bundled_text().splitlines() if not line.startswith("research = "))
    assert check_principles(write(tmp_path, text)) == [
        f"{tmp_path / 'mine.toml'}: missing field tiers.research"
    ]


def test_a_tier_listed_twice_is_refused(tmp_path):
    path = write(tmp_path, bundled_text().replace('school = ["school",', 'school = ["school", "school",'))
    assert "tier 'school' is listed twice" in check_principles(path)[0]


def test_every_problem_is_reported_at_once(tmp_path):
    text = bundled_text().replace("fair_share = 2.0", "fair_share = -1.0").replace("closed = true\n", "")
    with pytest.raises(PrinciplesError) as err:
        load_principles(write(tmp_path, text))
    assert len(err.value.errors) == 2


def test_a_missing_file_and_broken_toml_are_clear_errors(tmp_path):
    assert "no such file" in check_principles(tmp_path / "absent.toml")[0]
    assert "not valid TOML" in check_principles(write(tmp_path, "version = "))[0]


def test_show_prints_the_order_and_keeps_danish_letters():
    text = format_principles(load_principles("dk-2012"))
    assert "lånesamarbejde" in text
    assert "public: own_region_public → other_region_public" in text
