"""The pure rules of erasure: what counts as a patron's personal data in free text, and how it is
blanked out. No database: the service finds the rows and hands their text here."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

REDACTED = "[slettet]"
"""What stands where personal data was ("deleted"; the hub's working language is Danish)."""

# Free-text fields where staff write what they like: a first name alone is personal data there.
_FREE_TEXT_KEYS = frozenset({"notes", "note", "reason", "condition"})
_MIN_NAME_PART = 3


@dataclass(frozen=True, slots=True)
class PersonalData:
    """What identifies one patron: name, card number, e-mail."""

    name: str
    card_number: str
    email: str | None

    def needles(self) -> tuple[str, ...]:
        """The whole values, longest first (so an e-mail is replaced before a name inside it)."""
        values = {v.strip() for v in (self.name, self.card_number, self.email or "") if v and v.strip()}
        return tuple(sorted(values, key=len, reverse=True))

    def name_parts(self) -> tuple[str, ...]:
        """Each part of the name long enough to mean something on its own ("Søren" of "Søren Ærø")."""
        return tuple(p for p in re.split(r"[\s,.]+", self.name) if len(p) >= _MIN_NAME_PART)


class Scrubber:
    """Replaces every patron's whole values anywhere, and their name parts in free text, by REDACTED.
    Case-insensitive; whole words only, so a card number inside a longer number is left alone."""

    def __init__(self, people: Iterable[PersonalData]) -> None:
        people = list(people)
        whole = sorted({n for p in people for n in p.needles()}, key=len, reverse=True)
        parts = sorted({n for p in people for n in p.name_parts()} | set(whole), key=len, reverse=True)
        self._whole = _pattern(whole)
        self._free = _pattern(parts)

    def text(self, value: str | None, *, free_text: bool = False) -> str | None:
        """``value`` with the personal data replaced (None stays None)."""
        if value is None:
            return None
        pattern = self._free if free_text else self._whole
        return pattern.sub(REDACTED, value) if pattern is not None else value

    def plain(self, value: str) -> str:
        """``value`` with the whole values replaced (for text that is never None)."""
        return self.text(value) or ""

    def json(self, value: Any, key: str | None = None) -> Any:
        """A JSON value with every string scrubbed (free-text keys also by name parts)."""
        if isinstance(value, str):
            return self.text(value, free_text=key in _FREE_TEXT_KEYS)
        if isinstance(value, list):
            return [self.json(item, key) for item in value]
        if isinstance(value, dict):
            return {k: self.json(v, k) for k, v in value.items()}
        return value

    def finds(self, value: str | None) -> bool:
        """True when ``value`` still holds a whole value of one of the patrons."""
        return bool(value) and self._whole is not None and self._whole.search(value or "") is not None


def _pattern(needles: list[str]) -> re.Pattern[str] | None:
    if not needles:
        return None
    alternatives = "|".join(re.escape(n) for n in needles)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def erasure_cutoff(now: datetime, retention_days: int) -> datetime:
    """Requests that ended before this moment have their patron's data erased."""
    if retention_days < 1:
        raise ValueError("the retention period is at least one day")
    return now - timedelta(days=retention_days)


@dataclass(frozen=True, slots=True)
class ErasureReport:
    """What an erasure run did (or, with ``dry_run``, would do)."""

    cutoff: datetime
    dry_run: bool
    requests: int
    patrons: int
    outbox_messages: int
    inbound_bodies: int

    def as_dict(self) -> dict[str, Any]:
        """The report as the audit log and the CLI's JSON show it."""
        return {
            "cutoff": self.cutoff.isoformat(),
            "dry_run": self.dry_run,
            "requests": self.requests,
            "patrons": self.patrons,
            "outbox_messages": self.outbox_messages,
            "inbound_bodies": self.inbound_bodies,
        }
