"""Schemathesis against the ingest API's own OpenAPI description (GET /openapi.json): every
generated call, valid or not, gets a documented status with a conforming body, never a
500, and whatever is rejected leaves the database as it was."""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.conftest import IngestServer
from tests.integration.test_ingest_properties import snapshot
from tipoff.server import ingest_openapi
from tipoff.sources import NewSource

# The description ships as a file; the served copy is checked against it below.
schema = schemathesis.openapi.from_dict(ingest_openapi())


def test_the_served_description_is_the_shipped_one(ingest_server: IngestServer) -> None:
    assert httpx.get(f"{ingest_server.url}/openapi.json", timeout=10).json() == ingest_openapi()


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_call_gets_a_documented_answer(
    case: schemathesis.Case, ingest_server: IngestServer, ingest_source: NewSource, db_url: str
) -> None:
    before = snapshot(db_url)
    response = case.call(base_url=ingest_server.url, auth=(ingest_source.write_key, ""), timeout=30)
    case.validate_response(
        response,
        checks=[status_code_conformance, content_type_conformance, response_schema_conformance],
    )
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert snapshot(db_url) == before
