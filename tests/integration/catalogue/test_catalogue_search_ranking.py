"""Relevance for words that match a large part of the catalogue: the ranking is bounded, the total is not.

`search.RANK_AT_MOST` is lowered here so a handful of records stands in for a national catalogue.
The bound applies on SQLite; PostgreSQL ranks every match, so there the title matches lead because
they rank highest, with the same results wherever a test does not skip it.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fjernlaan.catalogue import search as search_module
from fjernlaan.catalogue.model import Record
from fjernlaan.catalogue.service import upsert_record
from fjernlaan.db.uow import Database


def _store(db: Database, records: list[Record]) -> dict[str, int]:
    pks: dict[str, int] = {}
    with db.unit_of_work() as session:
        for record in records:
            pks[record.record_id] = upsert_record(session, record).record_pk
    return pks


def _ids(client: TestClient, **params: object) -> tuple[int, list[int]]:
    page = client.get("/api/v1/records", params=params).json()
    return page["total"], [item["id"] for item in page["items"]]


@pytest.fixture
def common_word(seeded: Database, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    # "history" in six subjects and in three titles; the bound is four records.
    monkeypatch.setattr(search_module, "RANK_AT_MOST", 4)
    records = [Record(f"s{n}", f"Subject only {n}", "DK-710100", subjects=("History",)) for n in range(6)]
    records += [Record(f"t{n}", f"History of place {n}", "DK-710100") for n in range(3)]
    return _store(seeded, records)


def test_a_common_word_counts_every_match_and_ranks_the_title_matches_first(
    client: TestClient, common_word: dict[str, int]
) -> None:
    total, ids = _ids(client, q="history", limit=3)
    assert total == 9
    assert sorted(ids) == sorted(common_word[f"t{n}"] for n in range(3))


def test_when_too_few_titles_match_the_newest_matches_are_ranked(
    client: TestClient, seeded: Database, common_word: dict[str, int]
) -> None:
    if seeded.dialect != "sqlite":
        pytest.skip("PostgreSQL ranks every match (PostgresBackend.bounded_ranking)")
    # Four hits wanted but only three titles have the word: rank the four newest matches.
    total, ids = _ids(client, q="history", limit=4)
    assert total == 9
    newest = sorted(common_word.values())[-4:]
    assert sorted(ids) == newest


def test_pages_beyond_the_bound_are_ranked_over_every_match(
    client: TestClient, common_word: dict[str, int]
) -> None:
    total, ids = _ids(client, q="history", limit=5, offset=0)
    assert total == 9
    # offset + limit beyond the bound: exact ranking, so the three title matches lead.
    assert set(ids[:3]) == {common_word[f"t{n}"] for n in range(3)}
    assert _ids(client, q="history", limit=5, offset=5)[1] != []
    everything = _ids(client, q="history", limit=5)[1] + _ids(client, q="history", limit=5, offset=5)[1]
    assert sorted(everything) == sorted(common_word.values())


def test_below_the_bound_every_match_is_ranked(client: TestClient, seeded: Database) -> None:
    pks = _store(
        seeded,
        [
            Record("a", "Something else", "DK-710100", subjects=("Music",)),
            Record("b", "Music", "DK-710100"),
        ],
    )
    total, ids = _ids(client, q="music")
    assert total == 2
    assert ids == [pks["b"], pks["a"]]


def test_every_page_tells_the_total_including_the_last_partial_one(
    client: TestClient, common_word: dict[str, int]
) -> None:
    # On PostgreSQL the total rides on the ranked page's rows; the last page has one row only.
    total, ids = _ids(client, q="history", limit=4, offset=4)
    assert (total, len(ids)) == (9, 4)
    total, ids = _ids(client, q="history", limit=4, offset=8)
    assert (total, len(ids)) == (9, 1)


def test_a_page_past_the_last_is_empty_and_still_tells_the_total(
    client: TestClient, common_word: dict[str, int]
) -> None:
    assert _ids(client, q="history", limit=5, offset=20) == (9, [])


def test_a_word_nobody_has_is_a_total_of_zero(client: TestClient, common_word: dict[str, int]) -> None:
    assert _ids(client, q="qwxyzzy") == (0, [])
    assert _ids(client, q="qwxyzzy", offset=40) == (0, [])
