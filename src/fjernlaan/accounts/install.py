"""The accounts area as the composition root wires it: users, tokens, patrons (API and pages), staff
login, tables. Its `principals` (who is calling) the factory hands the web kit."""

from __future__ import annotations

from fjernlaan.accounts import api, login_views, patron_views, store, views
from fjernlaan.area import Area

AREA = Area(
    name="accounts", routers=(api.router, login_views.router, views.router, patron_views.router), tables=store
)
