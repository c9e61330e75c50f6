"""The network area as the composition root wires it: its API, feeds, pages and tables."""

from __future__ import annotations

from fjernlaan.area import Area
from fjernlaan.network import api, store, views

AREA = Area(name="network", routers=(api.router, api.feeds, views.router), tables=store)
