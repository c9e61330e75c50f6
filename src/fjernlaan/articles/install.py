"""The articles area as the composition root wires it (nothing yet)."""

from __future__ import annotations

from fjernlaan.area import Area

AREA = Area(name="articles")
