"""The statistics area as the composition root wires it (no routes or timers yet)."""

from __future__ import annotations

from fjernlaan.area import Area

AREA = Area(name="stats")
