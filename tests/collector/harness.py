"""A real collector in the test process: uvicorn on a loopback port, with an injected clock."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests
import uvicorn

from agent.report import SCHEMA_V1, ProbeResult, Report, Sample, encode_report
from collector.app import Collector, build_collector
from collector.config import AgentToken, ApiToken, CollectorConfig
from collector.notify.channels import Channel
from rules.loader import RuleSet
from tests.peers import free_port, wait_until

TOKEN = "test-token-3f9a"
API_TOKEN = "test-api-token-8b2e"  # for api_tokens=[ApiToken(name=..., token=API_TOKEN)]
ADMIN_TOKEN = "test-admin-token-5c1d"  # the harness's own admin, sent by get()
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ADMIN = ApiToken(name="harness-admin", token=ADMIN_TOKEN, role="admin")  # type: ignore[arg-type]


class FakeClock:
    """Time that moves only when a test says so."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RunningCollector:
    """A collector served by uvicorn in a thread; stop() shuts it down cleanly."""

    def __init__(
        self,
        tmp: Path,
        clock: FakeClock,
        channels: Sequence[Channel] | None = None,
        rules: RuleSet | None = None,
        database: str | None = None,
        **overrides: Any,
    ) -> None:
        self.port = free_port()
        self.clock = clock
        overrides["api_tokens"] = [ADMIN, *overrides.get("api_tokens", [])]
        overrides.setdefault("agents", [AgentToken(name="test", token=TOKEN)])  # type: ignore[arg-type]
        self.config = CollectorConfig(
            listen=f"127.0.0.1:{self.port}",
            database=database or f"sqlite:///{tmp / 'wk.db'}",
            evaluation_interval=3600.0,  # tests tick by hand with their clock
            **overrides,
        )
        self.collector: Collector = build_collector(self.config, clock, channels, rules)
        server_config = uvicorn.Config(
            self.collector.asgi, host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(server_config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_until(self._healthy, 10.0, "collector")
        self.session = requests.Session()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _healthy(self) -> bool:
        return requests.get(f"{self.url}/-/healthy", timeout=1).status_code == 200

    def post(self, report: Report, token: str = TOKEN, compress: bool = True) -> requests.Response:
        body = encode_report(report)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if compress:
            body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
        return self.session.post(
            f"{self.url}/api/v1/reports", data=body, headers=headers, timeout=5
        )

    def fetch(self, path: str, **kwargs: Any) -> requests.Response:
        """GET `path` as the harness's admin, whatever the answer."""
        kwargs.setdefault("timeout", 5)
        return self.session.get(f"{self.url}{path}", headers=ADMIN_HEADERS, **kwargs)

    def get(self, path: str) -> Any:
        response = self.session.get(f"{self.url}{path}", headers=ADMIN_HEADERS, timeout=5)
        response.raise_for_status()
        return response.json()

    def tick(self) -> int:
        return self.collector.ingest.tick()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def host_report(host: str, clock: FakeClock, sequence: int = 1, **metrics: float | str) -> Report:
    """A report from `host` at the clock's time carrying the given unlabelled samples."""
    samples = [Sample(name, value) for name, value in metrics.items()]
    probe = ProbeResult(probe="host", status="ok", duration_seconds=0.001, samples=samples)
    return Report(SCHEMA_V1, host, clock(), sequence, "test", 10.0, [probe])


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    """Poll a condition (for deliveries that happen on the dispatcher's own thread)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
