"""The OpenAPI document lists every API endpoint with its credentials, and schemathesis,
driven by it against a real collector, never gets a 5xx (bounded: 12 cases an operation)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from collector.api.access import ROUTE_RULES
from collector.api.openapi import OPENAPI_PATH
from tests.collector.harness import ADMIN_HEADERS, FakeClock, RunningCollector


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCollector]:
    collector = RunningCollector(tmp_path_factory.mktemp("openapi"), FakeClock())
    yield collector
    collector.stop()


def test_the_document_lists_every_api_endpoint(running: RunningCollector) -> None:
    assert requests.get(f"{running.url}{OPENAPI_PATH}", timeout=5).status_code == 401
    document = running.get(OPENAPI_PATH)
    listed = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    api = {
        (method, re.sub(r"\{(\w+):\w+\}", r"{\1}", path))
        for method, path in ROUTE_RULES
        if path.startswith(("/api/", "/metrics", "/-/", "/verify/"))  # + customers' links
    }
    assert api == listed
    assert document["paths"]["/-/healthy"]["get"]["security"] == []
    assert {"basic": []} in document["paths"]["/metrics"]["get"]["security"]


def test_no_generated_request_gets_a_server_error(running: RunningCollector) -> None:
    schema = schemathesis.openapi.from_url(f"{running.url}{OPENAPI_PATH}", headers=ADMIN_HEADERS)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @settings(
            max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=operation.as_strategy())
        def answered(case: schemathesis.Case) -> None:
            response = case.call(headers=ADMIN_HEADERS, timeout=10)
            assert response.status_code < 500, f"{case.method} {case.path}: {response.text}"

        answered()
