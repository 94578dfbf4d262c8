"""A real collector process for fault tests: started from a YAML config, stopped or killed by PID.

The config lives in the test's tmp folder; the process logs to a file there, which a failing
start shows. The same `CollectorProcess` can be started again on the same database and
node_id after a stop or a kill -9, as an operator's restart would.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests
import yaml

from agent.report import SCHEMA_V1, ProbeResult, Report, Sample, encode_report
from tests.peers import free_port, wait_until

WATCHKEEPER = str(Path(sys.executable).parent / "watchkeeper")
TOKEN = "faults-token-5e2b"
API_TOKEN = "faults-api-token-91c4"  # reads the API and /metrics (where reading needs a token)
START_SECONDS = 30.0

RULES = """\
group: faults
rules:
  - name: FaultLevelHigh
    description: The fault level the test reports is above 0.5.
    priority: P1
    metric: fault_level
    above: 0.5
    clear_below: 0.5
    summary: "fault level {{ value }} on {{ host }}"
"""


def write_rules(directory: Path) -> Path:
    """The fault tests' one rule, FaultLevelHigh (P1, no `for:`), as a rule file."""
    path = directory / "fault-rules.yaml"
    path.write_text(RULES)
    return path


class CollectorProcess:
    """`watchkeeper collector --config` as a child process on a loopback port.

    `notify` are channel URLs; `settings` are merged over the defaults below (short retry
    delays so tests stay bounded, only the fault rule, no built-in packs).
    """

    def __init__(
        self,
        tmp: Path,
        name: str,
        database: str,
        notify: list[str],
        *,
        node_id: str | None = None,
        **settings: Any,
    ) -> None:
        self.name = name
        self.port = free_port()
        self.log_path = tmp / f"{name}.log"
        self.config_path = tmp / f"{name}.yaml"
        self.process: subprocess.Popen[bytes] | None = None
        self._session = requests.Session()
        self._agent = uuid.uuid4().hex[:8]
        self._sequences: dict[str, int] = {}
        config: dict[str, Any] = {
            "listen": f"127.0.0.1:{self.port}",
            "database": database,
            "node_id": node_id or name,
            "rules": [str(write_rules(tmp))],
            "builtin_rules": False,
            "notify": [{"url": url} for url in notify],
            "agents": [{"name": "faults", "token": TOKEN}],
            "api_tokens": [{"name": "faults-test", "token": API_TOKEN}],
            # Each message on its own: these tests count per-incident deliveries (storm grouping
            # of a backlog is tested in tests/collector/test_storm.py).
            "delivery": {
                "first_retry": "0.2s",
                "max_retry": "1s",
                "send_timeout": "5s",
                "storm_threshold": 0,
            },
            "evaluation_interval": "0.2s",
            "flush_interval": "0.5s",
            **settings,
        }
        self.config_path.write_text(yaml.safe_dump(config))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "collector not started"
        return self.process.pid

    def start(self) -> CollectorProcess:
        """Start the process and wait until /-/healthy answers (the lifespan has run)."""
        assert self.process is None or self.process.poll() is not None, "already running"
        argv = [WATCHKEEPER, "collector", "--config", str(self.config_path)]
        with self.log_path.open("ab") as log:
            log.write(f"--- start {time.strftime('%H:%M:%S')}\n".encode())
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        try:
            wait_until(self._healthy, START_SECONDS, f"collector {self.name}", step=0.1)
        except TimeoutError:
            self.stop()
            raise AssertionError(
                f"collector {self.name} did not start:\n{self.log_tail()}"
            ) from None
        return self

    def _healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(
                f"collector {self.name} exited with {self.process.returncode}:\n" + self.log_tail()
            )
        return requests.get(f"{self.url}/-/healthy", timeout=1).status_code == 200

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait (SIGKILL if it hangs); the exit code, None if not running."""
        process = self.process
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        os.kill(process.pid, signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"collector {self.name} ignored SIGTERM for {timeout:g} s:\n{self.log_tail()}"
            ) from None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, nothing is flushed."""
        process = self.process
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)

    def post(self, host: str, fault_level: float) -> requests.Response:
        """A fresh report from `host` (its own next sequence number) carrying fault_level.

        Not thread-safe: post from one thread at a time."""
        sequence = self._sequences[host] = self._sequences.get(host, 0) + 1
        sample = Sample("fault_level", fault_level)
        probe = ProbeResult(probe="host", status="ok", duration_seconds=0.001, samples=[sample])
        now = time.time()
        report = Report(
            SCHEMA_V1, host, now, sequence, "faults", 1.0, [probe], instance=self._agent
        )
        headers = {
            "Authorization": f"Bearer {TOKEN}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "X-Watchkeeper-Sent-At": repr(now),
        }
        body = gzip.compress(encode_report(report))
        return self._session.post(
            f"{self.url}/api/v1/reports", data=body, headers=headers, timeout=15
        )

    def get(self, path: str) -> Any:
        """GET a JSON document; raises on an error status (its own connection: a reporting
        thread may be using the session meanwhile)."""
        return self.fetch(path).json()

    def fetch(self, path: str) -> requests.Response:
        """GET `path` with the API token; raises on an error status."""
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        response = requests.get(f"{self.url}{path}", headers=headers, timeout=10)
        response.raise_for_status()
        return response

    def incidents(self, state: str = "all") -> list[dict[str, Any]]:
        """The incidents the API lists in `state` (active, resolved, all...)."""
        found: list[dict[str, Any]] = self.get(f"/api/v1/incidents?state={state}")
        return found

    def log_tail(self, lines: int = 60) -> str:
        """The end of the process's log, for failure messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def log_text(self) -> str:
        """The whole log (all runs)."""
        return self.log_path.read_text(errors="replace")

    def __enter__(self) -> CollectorProcess:
        return self

    def __exit__(self, *_: object) -> None:
        try:
            self.stop()
        finally:
            self.kill()
            self._session.close()
