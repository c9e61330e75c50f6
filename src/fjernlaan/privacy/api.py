"""REST route of privacy: what the hub holds about a patron, to see or download as JSON."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from fjernlaan.privacy import service
from fjernlaan.settings import Settings
from fjernlaan.web.deps import PrincipalDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["privacy"])


@router.get(
    "/patrons/{isil}/{card_number}/data",
    summary="Everything the hub holds about a patron (staff of the patron's home library), as JSON",
    response_model=dict[str, Any],
)
def patron_data(
    isil: Annotated[str, Path(max_length=16)],
    card_number: Annotated[str, Path(max_length=64)],
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    download: Annotated[
        bool, Query(description="as a file to save (Content-Disposition: attachment)")
    ] = False,
) -> Response:
    """The patron record, every request with its timeline, and the e-mails sent to the patron: what
    the patron may ask to see (GDPR art. 15). Lenders never get this: only the home library's staff."""
    settings: Settings = request.app.state.settings
    data = service.patron_data(session, principal, isil, card_number, settings.patron_data_retention_days)
    body = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    headers = {"Cache-Control": "no-store"}
    if download:
        safe = "".join(c for c in f"{isil}-{card_number}" if c.isalnum() or c in "-_")
        headers["Content-Disposition"] = f'attachment; filename="patron-{safe}.json"'
    return Response(body, media_type="application/json; charset=utf-8", headers=headers)
