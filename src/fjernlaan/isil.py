"""ISILs (ISO 15511), the libraries' identifiers: the one rule for their form, below the areas so that
the kit's field types (`fjernlaan.fields`) check them too. `fjernlaan.directory.model` re-exports it."""

from __future__ import annotations

import re

from fjernlaan.errors import DomainError


class InvalidIsil(DomainError, ValueError):
    """An ISIL is malformed (a ValueError too, so pydantic reports it against the field)."""


# ISO 15511: a prefix (country code or non-country prefix of 1-4 letters), a hyphen, then up to
# 11 characters of A-Z a-z 0-9 - / : ; total length at most 16.
_ISIL_RE = re.compile(r"^(?P<prefix>[A-Za-z]{1,4})-(?P<local>[A-Za-z0-9/:\-]{1,11})$")
_DANISH_RE = re.compile(r"^\d{6}$")


def normalise_isil(value: str) -> str:
    """Return the ISIL in canonical form (upper case) or raise `InvalidIsil` saying why.

    ISO 15511 compares ISILs without regard to case, so the hub keeps one spelling: `SE-l` and
    `SE-L` are the same library, stored as `SE-L` (the prefix is upper case in the standard itself;
    the identifier part is upper-cased too so that equal ISILs are equal strings everywhere).

    Danish ISILs are `DK-` followed by the six-digit library number; any other ISO 15511 ISIL is
    accepted for foreign libraries.
    """
    if not isinstance(value, str):
        raise InvalidIsil("ISIL must be text", field="isil")
    candidate = value.strip()
    if len(candidate) > 16:
        raise InvalidIsil(f"ISIL {candidate!r} is longer than 16 characters", field="isil")
    match = _ISIL_RE.match(candidate)
    if match is None:
        raise InvalidIsil(
            f"ISIL {candidate!r} is not of the form PREFIX-IDENTIFIER (ISO 15511), e.g. DK-710100",
            field="isil",
        )
    prefix = match.group("prefix").upper()
    local = match.group("local").upper()
    if prefix == "DK" and not _DANISH_RE.match(local):
        raise InvalidIsil(
            f"Danish ISIL {candidate!r} must be DK- followed by the six-digit library number",
            field="isil",
        )
    return f"{prefix}-{local}"
