"""What real ISO 18626 peers do that the standard does not say — kept in one place.

Lexical leniency the codec applies to every inbound message (see :func:`normalise_datetime_text`):

* timestamp offsets without a colon (``+0000``, mod-rs unit samples) or with hours only (``+01``);
* fractional seconds beyond microseconds (``.62959771Z`` from crosslink, Go's nanoseconds) are truncated;
* a timestamp without an offset is read as UTC.

Structural leniency lives in the codec (empty ``multipleItemRequestId``, unqualified ``version`` and
``scheme`` attributes, a bare confirmation without the ``ISO18626Message`` wrapper, any schemaLocation).

ReShare (mod-rs) has no extension mechanism, so it hides protocol data in free-text notes
(``messageInfo/note``, ``requestingAgencyMessage/note``, ``serviceInfo/note``), as its ``NoteSpecials``
defines them:

* ``#seq:N#`` at the very end of a note: the sender's message sequence number;
* ``#lastSeq:N#`` at the end: the last sequence number the sender has seen;
* loan-condition markers at the start: ``#ReShareAddLoanCondition#`` (supplier adds a condition),
  ``#ReShareLoanConditionAgreeResponse#`` (requester agrees),
  ``#ReShareSupplierAwaitingConditionConfirmation#`` and ``#ReShareSupplierConditionsAssumedAgreed#``;
* ``#ReShareUpdatedField-<Field>:<value>#``: the requester changed a field (e.g. ``PickupLocation``).

:func:`parse_reshare_note` lifts these into a :class:`ReShareNote`; :func:`format_reshare_note` writes them
back for a ReShare peer; :func:`split_reshare_note` / :func:`with_reshare_note` do it on whole messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final, TypeVar

from fjernlaan.iso18626.model import (
    Message,
    Request,
    RequestingAgencyMessage,
    SupplyingAgencyMessage,
    Version,
)


class Peer(StrEnum):
    """Peer software whose quirks we know."""

    GENERIC = "generic"
    RESHARE = "reshare"  # openlibraryenvironment/mod-rs
    CROSSLINK = "crosslink"  # indexdata/crosslink broker


# --------------------------------------------------------------------------------------------------
# Lexical leniency
# --------------------------------------------------------------------------------------------------

_DATETIME_RE: Final = re.compile(
    r"^(?P<date>-?\d{4,}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?"
    r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?$"
)


def normalise_datetime_text(text: str) -> str | None:
    """Rewrite an xs:dateTime the way peers actually send it into what ``datetime.fromisoformat`` reads.

    Returns None when the text is not a date-time at all (placeholders such as ``_TIMESTAMP_``).
    """
    m = _DATETIME_RE.match(text.strip())
    if m is None or m["date"].startswith("-"):
        return None
    frac = m["frac"]
    tz = m["tz"]
    if tz is None or tz == "Z":
        tz = "+00:00"
    elif len(tz) == 3:
        tz += ":00"
    elif ":" not in tz:
        tz = f"{tz[:3]}:{tz[3:]}"
    return f"{m['date']}T{m['time']}{'.' + (frac + '000000')[:6] if frac else ''}{tz}"


# --------------------------------------------------------------------------------------------------
# ReShare note markers
# --------------------------------------------------------------------------------------------------


class ReShareMarker(StrEnum):
    """The loan-condition markers ReShare puts at the start of a note (mod-rs ``NoteSpecials``)."""

    ADD_LOAN_CONDITION = "#ReShareAddLoanCondition#"
    LOAN_CONDITION_AGREE_RESPONSE = "#ReShareLoanConditionAgreeResponse#"
    SUPPLIER_AWAITING_CONDITION_CONFIRMATION = "#ReShareSupplierAwaitingConditionConfirmation#"
    SUPPLIER_CONDITIONS_ASSUMED_AGREED = "#ReShareSupplierConditionsAssumedAgreed#"


_SEQ_RE: Final = re.compile(r"#seq:(\d+)#\s*$")
_LAST_SEQ_RE: Final = re.compile(r"#lastSeq:(\d+)#\s*$")
_UPDATED_FIELD_RE: Final = re.compile(r"#ReShareUpdatedField-([A-Za-z]+)[:-]([^#]*)#")
_MARKER_RE: Final = re.compile("|".join(re.escape(m.value) for m in ReShareMarker))


@dataclass(frozen=True, slots=True)
class ReShareNote:
    """A ReShare note taken apart: the human text and the protocol data hidden in it."""

    text: str | None = None
    markers: tuple[ReShareMarker, ...] = ()
    sequence: int | None = None
    last_sequence: int | None = None
    updated_fields: tuple[tuple[str, str], ...] = ()

    @property
    def agrees_to_loan_conditions(self) -> bool:
        """True when the requester agrees to the supplier's loan conditions."""
        return ReShareMarker.LOAN_CONDITION_AGREE_RESPONSE in self.markers

    @property
    def adds_loan_condition(self) -> bool:
        """True when the supplier adds a loan condition."""
        return ReShareMarker.ADD_LOAN_CONDITION in self.markers


def parse_reshare_note(note: str | None) -> ReShareNote:
    """Lift ReShare's markers out of ``note``; the rest (whitespace-trimmed, None if empty) is the text."""
    if note is None:
        return ReShareNote()
    rest = note
    sequence = last_sequence = None
    # mod-rs anchors both sequence markers at the end; #seq is appended last.
    if m := _SEQ_RE.search(rest):
        sequence = int(m[1])
        rest = rest[: m.start()]
    if m := _LAST_SEQ_RE.search(rest):
        last_sequence = int(m[1])
        rest = rest[: m.start()]
    markers = tuple(ReShareMarker(m.group(0)) for m in _MARKER_RE.finditer(rest))
    rest = _MARKER_RE.sub("", rest)
    updated = tuple((m[1], m[2]) for m in _UPDATED_FIELD_RE.finditer(rest))
    rest = _UPDATED_FIELD_RE.sub("", rest)
    text = rest.strip() or None
    return ReShareNote(text, markers, sequence, last_sequence, updated)


def format_reshare_note(note: ReShareNote) -> str | None:
    """Write a :class:`ReShareNote` the way mod-rs expects: markers first, sequence numbers last."""
    parts = [m.value for m in note.markers]
    parts += [f"#ReShareUpdatedField-{name}:{value}#" for name, value in note.updated_fields]
    if note.text:
        parts.append(f" {note.text}" if parts else note.text)
    if note.last_sequence is not None:
        parts.append(f"#lastSeq:{note.last_sequence}#")
    if note.sequence is not None:
        parts.append(f"#seq:{note.sequence}#")
    return "".join(parts) or None


M = TypeVar("M", bound=Message)


def note_of(message: Message) -> str | None:
    """The free-text note of a message: serviceInfo/note, messageInfo/note or the message's note."""
    if isinstance(message, Request):
        return message.service_info.note if message.service_info else None
    if isinstance(message, SupplyingAgencyMessage):
        return message.message_info.note
    if isinstance(message, RequestingAgencyMessage):
        return message.note
    return None


def with_note(message: M, note: str | None) -> M:
    """The same message with its note replaced (a request without serviceInfo is returned unchanged)."""
    if isinstance(message, Request):
        if message.service_info is None:
            return message
        return replace(message, service_info=replace(message.service_info, note=note))  # type: ignore[return-value]
    if isinstance(message, SupplyingAgencyMessage):
        return replace(message, message_info=replace(message.message_info, note=note))  # type: ignore[return-value]
    if isinstance(message, RequestingAgencyMessage):
        return replace(message, note=note)  # type: ignore[return-value]
    return message


def split_reshare_note(message: M) -> tuple[M, ReShareNote]:
    """The message with only the human text left in its note, and the ReShare data taken out of it."""
    parsed = parse_reshare_note(note_of(message))
    return with_note(message, parsed.text), parsed


def with_reshare_note(message: M, data: ReShareNote) -> M:
    """The message with ``data`` written into its note for a ReShare peer.

    The message's current note is the human text unless ``data.text`` is set.
    """
    text = data.text if data.text is not None else note_of(message)
    return with_note(message, format_reshare_note(replace(data, text=text)))


# --------------------------------------------------------------------------------------------------
# Per-peer settings
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeerProfile:
    """How one peer wants to be spoken to: its software, its rota preference, its schema version.

    ``version_override`` wins over the directory's ``iso18626_version`` when set (for a peer whose
    directory entry is wrong or who is mid-upgrade).
    """

    kind: Peer = Peer.GENERIC
    unfilled_only_at_end_of_rota: bool = False
    version_override: Version | None = None


def should_send_unfilled(peer: PeerProfile, at_end_of_rota: bool) -> bool:
    """Whether an Unfilled for this peer's request goes out now.

    A broker-style peer treats every Unfilled as final, so it gets one only when the hub's rota is
    exhausted; every other peer hears about each lender that cannot supply.
    """
    return at_end_of_rota or not peer.unfilled_only_at_end_of_rota
