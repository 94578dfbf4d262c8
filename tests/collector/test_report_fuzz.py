"""Generated report bodies against a real collector over HTTP: whatever arrives (any JSON,
valid reports with fields swapped for odd values, broken gzip), the answer is never a 5xx and
the collector keeps answering."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.report import SCHEMA_V1
from tests.collector.harness import TOKEN, FakeClock, RunningCollector

# Bound: 150 bodies per property, each answered within the request timeout.
EXAMPLES = 150

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=30,
)


def valid_report(host: str = "fuzz-1") -> dict[str, Any]:
    return {
        "schema": SCHEMA_V1,
        "host": host,
        "time": 1_800_000_000.0,
        "sequence": 1,
        "agent_version": "t",
        "interval_seconds": 10.0,
        "probes": [
            {
                "probe": "host",
                "status": "ok",
                "duration_seconds": 0.001,
                "samples": [{"metric": "memory_used_ratio", "value": 0.5, "labels": {}}],
            }
        ],
    }


PATHS = [
    ("host",),
    ("time",),
    ("sequence",),
    ("probes",),
    ("probes", 0, "status"),
    ("probes", 0, "samples"),
    ("probes", 0, "samples", 0, "value"),
    ("probes", 0, "samples", 0, "labels"),
    ("probes", 0, "samples", 0, "metric"),
]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCollector]:
    collector = RunningCollector(tmp_path_factory.mktemp("fuzz"), FakeClock())
    yield collector
    collector.stop()


def post(running: RunningCollector, body: bytes, encoding: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if encoding:
        headers["Content-Encoding"] = encoding
    url = f"{running.url}/api/v1/reports"
    return running.session.post(url, data=body, headers=headers, timeout=10)


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(value=json_values, gzipped=st.booleans())
def test_any_json_is_answered_without_a_5xx(
    running: RunningCollector, value: Any, gzipped: bool
) -> None:
    body = json.dumps(value).encode()
    answer = post(running, gzip.compress(body) if gzipped else body, "gzip" if gzipped else None)
    assert answer.status_code < 500, answer.text


@FUZZ
@given(
    path=st.sampled_from(PATHS),
    value=st.one_of(json_values, st.just(1e308), st.just(-1e308), st.just(2**64)),
    infinite=st.booleans(),
)
def test_reports_with_odd_fields_are_answered_without_a_5xx(
    running: RunningCollector, path: tuple[Any, ...], value: Any, infinite: bool
) -> None:
    report = valid_report()
    target: Any = report
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    body = json.dumps(report).encode()
    if infinite:  # JSON has no infinity; 1e999 is how one arrives
        body = body.replace(b"0.5", b"1e999")
    answer = post(running, body, None)
    assert answer.status_code < 500, answer.text
    for read in ("/api/v1/hosts", "/metrics"):
        assert running.fetch(read).status_code == 200


@FUZZ
@given(garbage=st.binary(max_size=200), encoding=st.sampled_from(["gzip", "br", None]))
def test_broken_bodies_are_answered_without_a_5xx(
    running: RunningCollector, garbage: bytes, encoding: str | None
) -> None:
    answer = post(running, garbage, encoding)
    assert answer.status_code < 500, answer.text


def test_the_collector_still_answers_after_the_fuzzing(running: RunningCollector) -> None:
    assert requests.get(f"{running.url}/-/healthy", timeout=5).ok
