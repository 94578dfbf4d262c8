"""Agent cost per cycle: CPU and wall ms of collect + encode + gzip + POST, and the agent RSS.

The POST goes to a minimal keep-alive HTTP sink in a *separate process*, so the sink's CPU is
not counted in this process's time.process_time().
"""

from __future__ import annotations

import argparse
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
        print(f"  {name:24s} {value:10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
