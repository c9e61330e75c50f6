"""The operations area as the composition root wires it: the operators' outbox routes."""

from __future__ import annotations

from fjernlaan.area import Area
from fjernlaan.operations import api

AREA = Area(name="operations", routers=(api.router,))
