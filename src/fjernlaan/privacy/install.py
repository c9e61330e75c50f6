"""The privacy area as the composition root wires it: its API and the worker's erasure job."""

from __future__ import annotations

from fjernlaan.area import Area
from fjernlaan.privacy import api, jobs

AREA = Area(name="privacy", routers=(api.router,), jobs={"privacy.erase": jobs.erase_due})
