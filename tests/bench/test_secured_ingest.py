"""The benchmark's secured collector: a real collector process serving HTTPS with mutual TLS
from certificates made at run time, fed by the load generator's TLS connections."""

from __future__ import annotations

import http.client
import ssl
import time
from pathlib import Path

import pytest

from bench.collector_process import TOKEN, CollectorProcess
from bench.ingest_table import BackendFigures, Phase, security_cost
from bench.loadgen import LoadPlan, LoadResult, run_load
from bench.tls_files import make_tls_files


def plan(port: int, **options: object) -> LoadPlan:
    return LoadPlan(
        port=port,
        token=TOKEN,
        host_prefix="bench",
        first_host=0,
        host_count=5,
        seconds=20.0,
        start_at=time.time(),
        rounds=2,
        connections=2,
        **options,  # type: ignore[arg-type]
    )


def test_the_load_generator_reports_over_mutual_tls(tmp_path: Path) -> None:
    files = make_tls_files(tmp_path / "tls")
    folder = tmp_path / "collector"
    folder.mkdir()
    with CollectorProcess(folder, f"sqlite:///{tmp_path / 'wk.db'}", tls=files) as collector:
        config = collector.write_config().read_text()
        assert "client_ca_file" in config and "hosts: 'bench-*'" in config
        result = run_load(plan(collector.port, tls=files))
        assert (result.answered, result.evaluated, result.errors) == (10, 10, 0)
        plain = run_load(plan(collector.port))
        assert plain.answered == 0 and plain.errors == 10, "plain HTTP is not served"
        anonymous = ssl.create_default_context(cafile=str(files.ca))
        connection = http.client.HTTPSConnection(
            "127.0.0.1", collector.port, timeout=5, context=anonymous
        )
        with pytest.raises((ssl.SSLError, ConnectionError)):  # no client certificate
            connection.request("GET", "/-/healthy")
            connection.getresponse().read()
        connection.close()


def test_the_cost_of_security_is_printed_beside_the_plain_figures() -> None:
    def figures(name: str, rate: float, cpu: float) -> BackendFigures:
        load = LoadResult(answered=1000, evaluated=1000, sent=1000, elapsed=1000 / rate)
        load.latencies, load.scheduled = [0.002] * 980 + [0.1] * 20, [0.0] * 1000
        capacity = Phase("capacity", [load], collector_cpu=cpu)
        return BackendFigures(name, {"capacity": capacity, "latency": Phase("latency", [load])})

    from bench.collector_ingest import Settings

    text = security_cost(
        figures("SQLite", 1000, 0.9), figures("TLS", 800, 1.08), Settings(rate=500)
    )
    assert "| ingest capacity, 1,000 agents | 1,000 reports/s | 800 reports/s (-20 %) |" in text
    assert "| collector CPU per report | 900 µs | 1,080 µs (+20 %) |" in text
    assert "| ingest latency p50 / p99 at 500 reports/s | 2.0 / 100 ms | 2.0 / 100 ms |" in text
