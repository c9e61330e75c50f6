"""The directory area as the composition root wires it: its API and pages, its tables."""

from __future__ import annotations

from fjernlaan.area import Area
from fjernlaan.directory import api, store, views

AREA = Area(name="directory", routers=(api.router, views.router), tables=store)
