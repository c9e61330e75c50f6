"""An Atom 1.0 feed (RFC 4287) of a body's published minutes.

The minutes are Markdown; they go into `<content type="text">` as they are (escaped by the XML
writer), so no Markdown renderer is needed and no HTML from a minutes text can reach a feed reader.
Entry ids are `urn:uuid:` values derived from the hub's base URL, the body and the minutes, so they
never change when titles or dates are corrected (RFC 4287 §4.2.6).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from fjernlaan.limits import xml_safe
from fjernlaan.network.model import Body, Meeting, Minutes, render_minutes_text

ATOM_NS = "http://www.w3.org/2005/Atom"


def _q(tag: str) -> str:
    return f"{{{ATOM_NS}}}{tag}"


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, _q(tag), attrs)
    if text is not None:
        element.text = xml_safe(text)
    return element


def _utc(moment: datetime) -> datetime:
    # Naive values are taken to be UTC.
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC)


def _stamp(moment: datetime) -> str:
    """An RFC 3339 date-time in UTC, whole seconds."""
    return _utc(moment).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def feed_id(base_url: str, body: Body) -> str:
    """The permanent id of a body's minutes feed."""
    name = f"{base_url.rstrip('/')}/network/bodies/{body.id}/minutes"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def entry_id(base_url: str, body: Body, minutes: Minutes) -> str:
    """The permanent id of one published minutes entry."""
    name = f"{base_url.rstrip('/')}/network/bodies/{body.id}/minutes/{minutes.id}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def minutes_feed(
    body: Body,
    published: Iterable[tuple[Meeting, Minutes]],
    *,
    base_url: str,
    author: str,
    now: datetime,
) -> bytes:
    """The body's Atom feed of published minutes, newest first, as UTF-8 XML.

    Unpublished minutes are left out. Links: the feed's `self` is
    `{base_url}/network/bodies/{id}/minutes.atom`, each entry's `alternate` is
    `{base_url}/network/bodies/{id}/minutes/{minutes id}`. `author` (e.g. the body's coordinator or
    secretariat) is the feed author; an entry with its own `Minutes.author` names that one too.
    `now` is the feed's `updated` when there are no entries yet.
    """
    root_url = base_url.rstrip("/")
    body_url = f"{root_url}/network/bodies/{body.id}"
    entries = [(m, x) for m, x in published if x.published_at is not None]
    for meeting, minutes in entries:
        if minutes.body_id != body.id or meeting.body_id != body.id:
            raise ValueError(f"minutes {minutes.id} belong to another body")
        if minutes.meeting_id != meeting.id:
            raise ValueError(f"minutes {minutes.id} belong to another meeting")
    entries.sort(key=lambda pair: (_utc(pair[1].published_at or now), pair[1].id), reverse=True)

    # Atom as the default namespace, so readers see plain <feed>, <entry> … elements.
    namespaces: dict[Any, str] = {None: ATOM_NS}
    feed = etree.Element(_q("feed"), nsmap=namespaces)
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", "da")
    _sub(feed, "id", feed_id(root_url, body))
    _sub(feed, "title", f"{body.name}: referater", type="text")
    if body.mandate.strip():
        _sub(feed, "subtitle", body.mandate.strip(), type="text")
    newest = entries[0][1].published_at if entries else None
    _sub(feed, "updated", _stamp(newest or now))
    feed_author = _sub(feed, "author")
    _sub(feed_author, "name", author)
    _sub(feed, "link", rel="self", type="application/atom+xml", href=f"{body_url}/minutes.atom")
    _sub(feed, "link", rel="alternate", type="text/html", href=body_url)
    _sub(feed, "generator", "fjernlaan")

    for meeting, minutes in entries:
        assert minutes.published_at is not None  # filtered above; narrows the type
        entry = _sub(feed, "entry")
        _sub(entry, "id", entry_id(root_url, body, minutes))
        _sub(entry, "title", f"Referat: {meeting.title} ({meeting.held_on.isoformat()})", type="text")
        _sub(entry, "published", _stamp(minutes.published_at))
        _sub(entry, "updated", _stamp(minutes.published_at))
        if minutes.author.strip():
            entry_author = _sub(entry, "author")
            _sub(entry_author, "name", minutes.author.strip())
        _sub(entry, "link", rel="alternate", type="text/html", href=f"{body_url}/minutes/{minutes.id}")
        _sub(entry, "content", render_minutes_text(minutes), type="text")

    data: bytes = etree.tostring(feed, encoding="utf-8", xml_declaration=True)
    return data
