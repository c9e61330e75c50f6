"""The catalogue area as the composition root wires it: its API, SRU, pages and tables."""

from __future__ import annotations

from fjernlaan.area import Area
from fjernlaan.catalogue import api, sru, store, views

AREA = Area(name="catalogue", routers=(api.router, sru.router, views.router), tables=store)
