"""schemathesis over the hub's OpenAPI schema: no operation answers a server error, whatever it is sent.

Bounded so it fits `make test`: a fixed number of examples per operation, derandomised (the same
examples every run, so a failure reproduces), no deadline, on SQLite and PostgreSQL, as a national
administrator (the role that reaches every route, so bodies get past the access checks). The hub is
seeded once per module and the examples run against whatever earlier ones left behind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, settings

from fjernlaan.app.factory import create_app
from fjernlaan.settings import Settings

EXAMPLES_PER_OPERATION = 25


def _openapi() -> dict[str, Any]:
    # The schema does not depend on the database: an app on an unused in-memory one describes it.
    app = create_app(Settings(database_url="sqlite://", secret_key="schema-only"))
    return app.openapi()


schema = schemathesis.openapi.from_dict(_openapi())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(
    case: schemathesis.Case, hostile_app: FastAPI, auth: Callable[[str], dict[str, str]]
) -> None:
    response = case.call(app=hostile_app, headers=auth("admin"))
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}\n"
        f"reproduce: {case.as_curl_command()}"
    )
