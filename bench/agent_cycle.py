"""Agent cost per cycle: CPU and wall ms of collect + encode + gzip + POST, and the agent RSS,
beside node_exporter's CPU per scrape and RSS for the same host data, measured in the same run.

The POST goes to a minimal keep-alive HTTP sink in a *separate process*, so the sink's CPU is
not counted in this process's time.process_time(). node_exporter (Debian's
prometheus-node-exporter) runs with the collectors that read what the host probe reads (CPU,
load, memory, vmstat, filesystems, disks, network, uptime, hwmon) and is scraped over one
kept-alive connection; its CPU comes from /proc/<pid>/stat.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.daemon import build_runner, build_sender
from agent.report import encode_report
from agent.settings import AgentSettings
from agent.transport import encode_body

SINK = """
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

AGENT = "import sys; from agent.cli import main; sys.exit(main(sys.argv[1:]))"


def rss_mib(pid: int | str = "self") -> float:
    """Resident set size (VmRSS) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def stop(process: subprocess.Popen[Any]) -> None:
    """Terminate a process we started, by its PID, and reap it."""
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_sink() -> tuple[subprocess.Popen[str], str]:
    """The sink process and its URL."""
    sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None
    return sink, f"http://127.0.0.1:{sink.stdout.readline().strip()}"


def per_cycle(cycles: int, step: Callable[[], object]) -> tuple[float, float]:
    """(CPU ms, wall ms) per call of `step`, averaged over `cycles` calls."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(cycles):
        step()
    return (
        (time.process_time() - cpu) * 1e3 / cycles,
        (time.perf_counter() - wall) * 1e3 / cycles,
    )


def agent_process_rss(url: str, seconds: float = 3.0) -> float:
    """RSS of a real `watchkeeper agent` process after a few cycles against the sink."""
    argv = [sys.executable, "-c", AGENT, "agent", "--collector", url, "--interval", "500ms"]
    agent = subprocess.Popen([*argv, "--log-level", "warning"])
    try:
        time.sleep(seconds)
        return rss_mib(agent.pid)
    finally:
        stop(agent)


NODE_EXPORTER_COLLECTORS = (
    "cpu",
    "loadavg",
    "meminfo",
    "vmstat",
    "filesystem",
    "diskstats",
    "netdev",
    "stat",
    "hwmon",
)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def node_exporter(scrapes: int) -> dict[str, float]:
    """node_exporter's CPU ms per scrape and RSS after `scrapes` scrapes (empty: not installed)."""
    binary = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
    if binary is None:
        return {}
    port = _free_port()
    flags = [f"--collector.{name}" for name in NODE_EXPORTER_COLLECTORS]
    argv = [binary, f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults"]
    exporter = subprocess.Popen([*argv, *flags], stderr=subprocess.DEVNULL)
    try:
        connection = _wait_for_exporter(port)
        _scrape(connection)  # warm-up
        before = process_cpu_seconds(exporter.pid)
        for _ in range(scrapes):
            _scrape(connection)
        cpu = process_cpu_seconds(exporter.pid) - before
        return {
            "node_exporter_cpu_ms_per_scrape": cpu * 1e3 / scrapes,
            "node_exporter_rss_mib": rss_mib(exporter.pid),
        }
    finally:
        stop(exporter)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_exporter(port: int) -> http.client.HTTPConnection:
    deadline = time.monotonic() + 10
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            _scrape(connection)
            return connection
        except OSError:
            connection.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _scrape(connection: http.client.HTTPConnection) -> None:
    connection.request("GET", "/metrics")
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"node_exporter answered {response.status}")


def run(cycles: int = 500) -> dict[str, float]:
    """Measure `cycles` full cycles (after a warm-up) and each phase on its own."""
    sink, url = start_sink()
    try:
        settings = AgentSettings(collector=url, interval="10s")
        runner = build_runner(settings)
        sender = build_sender(settings, "bench-token")

        def full_cycle() -> None:
            sender.send(runner.run_cycle())

        per_cycle(10, full_cycle)  # warm-up: CPU baseline, connection, caches
        cpu_ms, wall_ms = per_cycle(cycles, full_cycle)
        report = runner.run_cycle()
        collect_ms, _ = per_cycle(cycles, runner.run_cycle)
        encode_ms, _ = per_cycle(cycles, lambda: encode_body(report))
        body = encode_body(report)
        post_ms, _ = per_cycle(cycles, lambda: sender._post(body))
        return {
            "cycles": float(cycles),
            "cpu_ms_per_cycle": cpu_ms,
            "wall_ms_per_cycle": wall_ms,
            "collect_cpu_ms": collect_ms,
            "encode_gzip_cpu_ms": encode_ms,
            "post_cpu_ms": post_ms,
            "samples_per_report": float(sum(len(p.samples) for p in report.probes)),
            "report_json_bytes": float(len(encode_report(report))),
            "report_gzip_bytes": float(len(body)),
            "bench_process_rss_mib": rss_mib(),  # harness + agent code, in one process
            "agent_process_rss_mib": agent_process_rss(url),
            **node_exporter(min(cycles, 200)),
        }
    finally:
        stop(sink)


def main(argv: list[str] | None = None) -> int:
    """Print the agent's per-cycle cost."""
    parser = argparse.ArgumentParser(prog="python -m bench.agent_cycle")
    parser.add_argument("--cycles", type=int, default=500, help="measured cycles (default 500)")
    figures = run(parser.parse_args(argv).cycles)
    print("agent cycle (collect + encode + gzip + POST to a local sink process):")
    for name, value in figures.items():
        print(f"  {name:32s} {value:10.3f}")
    if "node_exporter_cpu_ms_per_scrape" in figures:
        cpu = figures["cpu_ms_per_cycle"] / figures["node_exporter_cpu_ms_per_scrape"]
        rss = figures["agent_process_rss_mib"] / figures["node_exporter_rss_mib"]
        print(f"  agent / node_exporter: CPU {cpu:.2f}x, RSS {rss:.2f}x (same run)")
    else:
        print("  node_exporter not installed (Debian package prometheus-node-exporter)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
