"""The accounts area as the composition root wires it: users, tokens, patrons (API and pages), tables."""

from __future__ import annotations

from fjernlaan.accounts import api, patron_views, store, views
from fjernlaan.area import Area

AREA = Area(name="accounts", routers=(api.router, views.router, patron_views.router), tables=store)
