"""The collector under test: its own process on 127.0.0.1, its config, database, CPU and memory.

Only the CLI (`watchkeeper collector --config FILE`), the config file and the HTTP API are used,
never the collector's modules, so the benchmark keeps working while the internals change.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import secrets
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from bench.tls_files import TlsFiles

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
TOKEN = "bench-token"
READER_TOKEN = "bench-reader-token"  # reads the API and /metrics, as Prometheus would
READER = {"Authorization": f"Bearer {READER_TOKEN}"}
STORM_RULE = "BenchMemoryStorm"
# HostMemoryHigh waits `for: 5m`; this twin opens on the first breaching report and resolves
# on the first recovered one, so every storm report is a transition.
STORM_RULES = f"""\
group: bench
rules:
  - name: {STORM_RULE}
    description: Benchmark storm rule, memory_used_ratio above 0.90 with no `for`.
    priority: P2
    metric: memory_used_ratio
    above: 0.90
    clear_below: 0.85
    for: 0s
    summary: "Memory on {{{{ host }}}} is {{{{ value | percent }}}} used"
"""


class CollectorError(RuntimeError):
    """The collector did not start or died; the message carries the end of its log."""


def export_commit(revision: str, folder: Path) -> Path:
    """`git archive` of `revision` of this repository unpacked in `folder`, to run it from."""
    repository = Path(__file__).resolve().parents[1]
    archive = folder / "source.tar"
    with archive.open("wb") as out:
        done = subprocess.run(
            ["git", "-C", str(repository), "archive", "--format=tar", revision],
            stdout=out,
            stderr=subprocess.PIPE,
            check=False,
        )
    if done.returncode != 0:
        raise ValueError(f"cannot export commit {revision!r}: {done.stderr.decode().strip()}")
    source = folder / "source"
    with tarfile.open(archive) as tar:
        tar.extractall(source, filter="data")
    return source


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_tree(pid: int) -> list[int]:
    """`pid` and every descendant (the collector may run helpers in child processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU time spent by every process on the machine so far (all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def rss_mib(pid: int) -> float:
    """Resident set size (VmRSS) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextlib.contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A throwaway database on the PostgreSQL server of `server_url`, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    if url.host not in LOOPBACK:
        raise ValueError(f"the benchmark only talks to 127.0.0.1, not PostgreSQL on {url.host!r}")
    name = f"wk_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class CollectorProcess:
    """`watchkeeper collector` with a config written in `folder`, stopped by PID on exit."""

    def __init__(
        self,
        folder: Path,
        database: str,
        source: Path | None = None,
        log_level: str = "info",
        tls: TlsFiles | None = None,
    ) -> None:
        self.folder = folder
        self.database = database
        self.source = source  # run the collector from this source tree instead of the install
        self.log_level = log_level
        self.tls = tls  # HTTPS requiring client certificates, and an agent token with limits
        self.port = free_port()
        self.log_path = folder / "collector.log"
        self.process: subprocess.Popen[bytes] | None = None

    def write_config(self) -> Path:
        """The collector config: loopback, one agent token, a recording channel, the storm rule."""
        rules = self.folder / "storm-rules.yaml"
        rules.write_text(STORM_RULES)
        config = self.folder / "collector.yaml"
        config.write_text(
            f"listen: 127.0.0.1:{self.port}\n"
            f"database: '{self.database}'\n"
            f"rules: ['{rules}']\n"
            f"agents: [{self._agent_token()}]\n"
            f"api_tokens: [{{name: bench-reader, token: {READER_TOKEN}, role: viewer}}]\n"
            "notify: [{url: 'memory://bench'}]\n" + self._tls_config()
        )
        return config

    def _agent_token(self) -> str:
        """One token speaks for the whole simulated fleet. Plain: no per-token host cap or
        rate; secured: its host glob, host cap and rate are checked on every report, at
        limits the fleet never reaches (the checks cost, the limits do not bind)."""
        if self.tls is None:
            return f"{{name: bench, token: {TOKEN}, max_hosts: 1000000, reports_per_second: 0}}"
        return (
            f"{{name: bench, token: {TOKEN}, hosts: 'bench-*', max_hosts: 1000000,"
            " reports_per_second: 1000000}"
        )

    def _tls_config(self) -> str:
        if self.tls is None:
            return ""
        return (
            f"tls: {{cert_file: '{self.tls.server_cert}', key_file: '{self.tls.server_key}',"
            f" client_ca_file: '{self.tls.ca}'}}\n"
        )

    def connection(self, timeout: float) -> http.client.HTTPConnection:
        """A connection to the collector (HTTPS with the agents' certificate when secured)."""
        if self.tls is None:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        return http.client.HTTPSConnection(
            "127.0.0.1", self.port, timeout=timeout, context=self.tls.client_context()
        )

    def start(self, timeout: float = 90.0) -> None:
        """Start and wait until /-/healthy answers 200; CollectorError with the log otherwise."""
        script = Path(sys.executable).parent / "watchkeeper"
        argv = [str(script), "collector", "--config", str(self.write_config())]
        env = dict(os.environ)
        if self.source is not None:
            if not (self.source / "collector" / "cli.py").is_file():
                raise CollectorError(f"--source {self.source} holds no collector/cli.py")
            env["PYTHONPATH"] = str(self.source.resolve())
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [*argv, "--log-level", self.log_level],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.folder,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive("while starting")
            if self._healthy():
                return
            time.sleep(0.2)
        raise CollectorError(f"collector not healthy after {timeout:g} s\n{self.log_tail()}")

    def _healthy(self) -> bool:
        try:
            connection = self.connection(timeout=2)
            connection.request("GET", "/-/healthy")
            return connection.getresponse().status == 200
        except OSError:
            return False

    def check_alive(self, when: str) -> None:
        """Raise CollectorError if the process has exited."""
        if self.process is None or self.process.poll() is not None:
            code = None if self.process is None else self.process.returncode
            raise CollectorError(f"collector exited {when} (status {code})\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        """The end of the collector's log, indented, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError as exc:
            return f"  (no log: {exc})"
        return "\n".join(f"  | {line}" for line in text) or "  (log is empty)"

    @property
    def pid(self) -> int:
        """The collector's PID."""
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        """CPU used so far by the collector and any child processes."""
        return sum(cpu_seconds(pid) for pid in process_tree(self.pid))

    def rss_mib(self) -> float:
        """Resident memory of the collector and any child processes."""
        return sum(rss_mib(pid) for pid in process_tree(self.pid))

    def get(self, path: str, timeout: float = 60.0) -> tuple[int, bytes]:
        """A GET on the collector's API."""
        connection = self.connection(timeout)
        try:
            connection.request("GET", path, headers=READER)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def stop(self) -> None:
        """SIGTERM by PID, SIGKILL after 15 s, and reap."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> CollectorProcess:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
