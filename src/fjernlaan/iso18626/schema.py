"""The official ISO 18626 XSDs: where they are, and validation against them.

The schemas stay outside the project: :func:`find_xsd_dir` looks in ``$FJERNLAAN_ISO18626_XSD_DIR``,
else in the first ``shared/reference/iso18626`` above the package.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from lxml import etree

from fjernlaan.iso18626.model import (
    Iso18626Error,
    Version,
)
from fjernlaan.iso18626.reader import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, read_xml

XSD_DIR_ENV: Final = "FJERNLAAN_ISO18626_XSD_DIR"


class XsdUnavailableError(RuntimeError):
    """The official XSD could not be found; set FJERNLAAN_ISO18626_XSD_DIR to the folder holding it."""


def _candidate_dirs() -> Iterator[Path]:
    env = os.environ.get(XSD_DIR_ENV)
    if env:
        yield Path(env)
        return
    for ancestor in Path(__file__).resolve().parents:
        yield ancestor / "shared" / "reference" / "iso18626"


def find_xsd_dir(version: Version | None = None) -> Path:
    """The folder holding the official XSDs: ``$FJERNLAAN_ISO18626_XSD_DIR``, else the first
    ``shared/reference/iso18626`` found walking up from this package. Raises XsdUnavailableError."""
    wanted = (version or Version.V2017).schema_file
    for candidate in _candidate_dirs():
        if (candidate / wanted).is_file():
            return candidate
    where = os.environ.get(XSD_DIR_ENV) or "shared/reference/iso18626 above the package"
    raise XsdUnavailableError(f"ISO 18626 XSD {wanted} not found in {where}; set {XSD_DIR_ENV}")


_schemas = threading.local()


def _schema(path: Path) -> etree.XMLSchema:
    # Compiling an XSD takes milliseconds; validators are not shared between threads, so cache per thread.
    cache: dict[Path, etree.XMLSchema] | None = getattr(_schemas, "cache", None)
    if cache is None:
        cache = _schemas.cache = {}
    schema = cache.get(path)
    if schema is None:
        xsd_parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        schema = etree.XMLSchema(etree.parse(str(path), xsd_parser))
        cache[path] = schema
    return schema


@functools.lru_cache(maxsize=32)
def _schema_path(xsd_dir: str | None, version: Version, env: str | None) -> Path:
    # Keyed on the environment too, so changing FJERNLAAN_ISO18626_XSD_DIR takes effect at once.
    folder = Path(xsd_dir) if xsd_dir is not None else find_xsd_dir(version)
    path = (folder / version.schema_file).resolve()
    if not path.is_file():
        raise XsdUnavailableError(f"ISO 18626 XSD not found: {path}")
    return path


def schema_for(version: Version, *, xsd_dir: Path | str | None = None) -> etree.XMLSchema:
    """The compiled official XSD of ``version`` (from ``xsd_dir``, else :func:`find_xsd_dir`), cached per
    thread. Raises XsdUnavailableError if it cannot be found."""
    return _schema(
        _schema_path(None if xsd_dir is None else str(xsd_dir), version, os.environ.get(XSD_DIR_ENV))
    )


def validate(xml_bytes: bytes, version: Version, *, xsd_dir: Path | str | None = None) -> list[str]:
    """Validate a document against the official XSD of ``version``; the list of errors, empty if valid.

    The XSD is read from ``xsd_dir``, else found by :func:`find_xsd_dir`. Raises XsdUnavailableError if
    it cannot be found.
    """
    schema = schema_for(version, xsd_dir=xsd_dir)
    try:
        doc = read_xml(xml_bytes, max(len(xml_bytes), DEFAULT_MAX_BYTES), DEFAULT_MAX_DEPTH)
    except Iso18626Error as exc:
        return [exc.value]
    if schema.validate(doc):
        return []
    log: Any = schema.error_log
    return [f"line {e.line}: {e.message}" for e in log]
