"""The privacy area as the composition root wires it: its API, the patron's own-data page and the
worker's erasure job."""

from __future__ import annotations

from fjernlaan.area import Area
from fjernlaan.privacy import api, jobs, views

AREA = Area(
    name="privacy",
    routers=(api.router, views.router),
    jobs={"privacy.erase": jobs.erase_due},
)
