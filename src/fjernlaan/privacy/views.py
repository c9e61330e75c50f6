"""The patron's own data on the patron pages: everything the hub holds about the logged-in patron,
downloaded as JSON (the export staff get from `GET /api/v1/patrons/{isil}/{card}/data`).

The patron is the session's; the route takes no card number, so no other patron's data is reachable.
A staff session or none is sent to the patron login.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from fjernlaan.privacy import service
from fjernlaan.web.deps import OptionalPatronDep, SessionDep, get_settings

router = APIRouter(include_in_schema=False)

PATRON_DATA = "/patron/data"


@router.get(PATRON_DATA, response_model=None)
def my_data(request: Request, session: SessionDep, patron: OptionalPatronDep) -> Response:
    """Download my data: the patron record, every request with its timeline, the e-mails sent."""
    if patron is None:
        return RedirectResponse("/patron/login", status_code=303)
    data = service.own_data(session, patron, get_settings(request).patron_data_retention_days)
    body = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    return Response(
        body,
        media_type="application/json; charset=utf-8",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": 'attachment; filename="my-data.json"',
        },
    )
