"""The Atom feed of published minutes: well-formed XML with the elements RFC 4287 requires."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from lxml import etree

from fjernlaan.network.atom import ATOM_NS, minutes_feed
from fjernlaan.network.model import (
    ActionItem,
    Body,
    Decision,
    Meeting,
    MeetingSession,
    Minutes,
    Person,
)

PersonFactory = Callable[..., Person]
A = f"{{{ATOM_NS}}}"
BASE = "https://fjernlaan.example/"
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # the feed's `updated` when empty; given, not the wall clock
# RFC 3339 date-time as RFC 4287 §3.3 requires (upper-case T and Z).
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def meeting(body: Body, n: int, on: date) -> Meeting:
    start = datetime(on.year, on.month, on.day, 10)
    session = MeetingSession("east", "Øst", start, start + timedelta(hours=5), "Det Kgl. Bibliotek")
    return Meeting(id=n, body_id=body.id, title=f"Netværksmøde {n}", sessions=(session,))


def minutes(body: Body, held: Meeting, published_at: datetime | None) -> Minutes:
    return Minutes(
        id=100 + held.id,
        meeting_id=held.id,
        body_id=body.id,
        text_md=f"# Referat af møde {held.id}\n\nVi drøftede <b>kørselsordningen</b> & Ærø's ønsker.",
        decisions=(Decision(1, "Næste møde holdes i Aalborg."),),
        action_items=(ActionItem(1, "Booke lokale", "Aalborg Bibliotekerne", date(2025, 8, 1)),),
        author="Sekretær Søs Ørum",
        published_at=published_at,
    )


def published_pairs(body: Body) -> list[tuple[Meeting, Minutes]]:
    first, second, third = (
        meeting(body, 1, date(2025, 3, 4)),
        meeting(body, 2, date(2025, 10, 7)),
        meeting(body, 3, date(2026, 3, 3)),
    )
    return [
        (first, minutes(body, first, datetime(2025, 3, 20, 9, tzinfo=UTC))),
        (second, minutes(body, second, datetime(2025, 10, 21, 14, 30, tzinfo=UTC))),
        (third, minutes(body, third, None)),  # still a draft
    ]


def parse(data: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(data, parser)


def assert_rfc4287(feed: etree._Element) -> None:
    """The structural MUSTs of RFC 4287 §4.1.1 and §4.1.2 for a feed and its entries."""
    assert feed.tag == f"{A}feed"
    for name in ("id", "title", "updated"):
        assert len(feed.findall(f"{A}{name}")) == 1, f"feed needs exactly one atom:{name}"
    assert RFC3339.match(feed.findtext(f"{A}updated") or "")
    self_links = [link for link in feed.findall(f"{A}link") if link.get("rel") == "self"]
    assert len(self_links) == 1 and self_links[0].get("href")
    feed_has_author = feed.find(f"{A}author/{A}name") is not None
    ids = [feed.findtext(f"{A}id")]
    for entry in feed.findall(f"{A}entry"):
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{A}{name}")) == 1, f"entry needs exactly one atom:{name}"
        assert RFC3339.match(entry.findtext(f"{A}updated") or "")
        assert feed_has_author or entry.find(f"{A}author/{A}name") is not None
        alternates = [
            link for link in entry.findall(f"{A}link") if link.get("rel", "alternate") == "alternate"
        ]
        assert entry.find(f"{A}content") is not None or alternates
        ids.append(entry.findtext(f"{A}id"))
    assert all(i and ":" in i for i in ids), "ids are IRIs"
    assert len(set(ids)) == len(ids), "ids are unique"


def test_feed_is_well_formed_atom_with_the_required_elements(network: Body) -> None:
    feed = parse(
        minutes_feed(network, published_pairs(network), base_url=BASE, author="Fremtidens Fjernlån", now=NOW)
    )

    assert_rfc4287(feed)
    assert feed.findtext(f"{A}title") == "Fremtidens Fjernlån: referater"
    assert feed.findtext(f"{A}author/{A}name") == "Fremtidens Fjernlån"


def test_feed_lists_only_published_minutes_newest_first(network: Body) -> None:
    feed = parse(
        minutes_feed(network, published_pairs(network), base_url=BASE, author="Koordinator", now=NOW)
    )

    titles = [entry.findtext(f"{A}title") for entry in feed.findall(f"{A}entry")]
    assert titles == ["Referat: Netværksmøde 2 (2025-10-07)", "Referat: Netværksmøde 1 (2025-03-04)"]
    assert feed.findtext(f"{A}updated") == "2025-10-21T14:30:00Z"


def test_entry_links_to_the_minutes_page(network: Body) -> None:
    feed = parse(
        minutes_feed(network, published_pairs(network), base_url=BASE, author="Koordinator", now=NOW)
    )

    newest = feed.findall(f"{A}entry")[0]
    link = newest.find(f"{A}link")
    assert link is not None
    assert link.get("href") == "https://fjernlaan.example/network/bodies/1/minutes/102"
    self_link = next(link for link in feed.findall(f"{A}link") if link.get("rel") == "self")
    assert self_link.get("href") == "https://fjernlaan.example/network/bodies/1/minutes.atom"


def test_markdown_minutes_are_escaped_text_content_and_keep_danish_letters(network: Body) -> None:
    data = minutes_feed(network, published_pairs(network), base_url=BASE, author="Koordinator", now=NOW)

    assert b"&lt;b&gt;k\xc3\xb8rselsordningen&lt;/b&gt; &amp; \xc3\x86r\xc3\xb8" in data
    content = parse(data).find(f"{A}entry/{A}content")
    assert content is not None
    assert content.get("type") == "text"
    assert content.text is not None
    assert content.text.startswith(
        "# Referat af møde 2\n\nVi drøftede <b>kørselsordningen</b> & Ærø's ønsker."
    )
    assert "1. Næste møde holdes i Aalborg." in content.text
    assert len(content) == 0  # no child elements: the Markdown was not turned into markup


def test_entry_ids_are_stable_across_rebuilds_and_corrections(network: Body) -> None:
    pairs = published_pairs(network)
    corrected = [(replace(m, title="Rettet titel"), x) for m, x in pairs]

    before = parse(minutes_feed(network, pairs, base_url=BASE, author="K", now=NOW))
    after = parse(minutes_feed(network, corrected, base_url=BASE, author="K", now=NOW))

    assert [e.findtext(f"{A}id") for e in before.findall(f"{A}entry")] == [
        e.findtext(f"{A}id") for e in after.findall(f"{A}entry")
    ]
    assert before.findtext(f"{A}id") == after.findtext(f"{A}id")


def test_empty_feed_is_still_valid(forum: Body) -> None:
    feed = parse(
        minutes_feed(forum, [], base_url=BASE, author="Sekretariatet", now=datetime(2025, 1, 1, tzinfo=UTC))
    )

    assert_rfc4287(feed)
    assert feed.findall(f"{A}entry") == []
    assert feed.findtext(f"{A}updated") == "2025-01-01T00:00:00Z"


def test_each_entry_names_who_wrote_the_minutes(network: Body) -> None:
    feed = parse(
        minutes_feed(network, published_pairs(network), base_url=BASE, author="Koordinator", now=NOW)
    )

    assert {e.findtext(f"{A}author/{A}name") for e in feed.findall(f"{A}entry")} == {"Sekretær Søs Ørum"}
