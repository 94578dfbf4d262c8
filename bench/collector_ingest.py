"""Collector ingest benchmark: N simulated agents posting realistic reports to a real collector.

The collector runs as its own process (SQLite, built-in rules) on loopback; client processes
replay pre-encoded gzip reports over keep-alive connections. Figures: reports/s, samples/s,
p50/p99 request latency, and the collector's own CPU per report and per sample (read from
/proc, so it holds even when the clients, sharing the 2 cores, are the bottleneck).
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.report import SCHEMA_V1, ProbeResult, Report, Sample, encode_report
from bench.agent_cycle import rss_mib, stop

TOKEN = "bench-token"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def realistic_samples(seed: int) -> list[Sample]:
    """About 150 samples shaped like a real 8-core server's host probe."""
    v = (seed % 97) / 100
    s: list[Sample] = [Sample("cpu_usage_ratio", 0.2 + v / 5, {"cpu": "total"})]
    s += [Sample("cpu_usage_ratio", 0.1 + v / 4, {"cpu": str(c)}) for c in range(8)]
    for name in ("load1", "load5", "load15"):
        s += [Sample(name, 2.0 + v), Sample(f"{name}_per_core", 0.25 + v / 8)]
    s += [
        Sample("memory_total_bytes", 64e9),
        Sample("memory_available_bytes", 20e9),
        Sample("memory_used_ratio", 0.5 + v / 5),
        Sample("swap_total_bytes", 8e9),
        Sample("swap_used_bytes", 1e8),
        Sample("swap_used_ratio", 0.01),
        Sample("swap_in_bytes_total", 1e6 + seed),
        Sample("swap_out_bytes_total", 2e6 + seed),
    ]
    for i, mount in enumerate(["/", "/var", "/home", "/srv", "/boot", "/data1", "/data2", "/tmp"]):
        labels = {"mountpoint": mount, "device": f"/dev/sd{chr(97 + i)}1", "fstype": "ext4"}
        for metric, value in (
            ("filesystem_size_bytes", 1e12),
            ("filesystem_avail_bytes", 4e11),
            ("filesystem_used_ratio", 0.6 + v / 10),
            ("filesystem_inodes_total", 6e7),
            ("filesystem_inodes_free", 5e7),
            ("filesystem_inodes_used_ratio", 0.17),
        ):
            s.append(Sample(metric, value, labels))
    for d in ("sda", "sdb", "sdc", "sdd", "nvme0n1", "nvme1n1"):
        for metric in (
            "disk_read_bytes_total",
            "disk_written_bytes_total",
            "disk_reads_total",
            "disk_writes_total",
            "disk_io_time_seconds_total",
        ):
            s.append(Sample(metric, 1e9 + seed * 1000, {"device": d}))
    for nic in ("eth0", "eth1", "bond0", "lo", "docker0", "veth1"):
        for metric in (
            "network_receive_bytes_total",
            "network_transmit_bytes_total",
            "network_receive_errors_total",
            "network_transmit_errors_total",
            "network_receive_drops_total",
            "network_transmit_drops_total",
        ):
            s.append(Sample(metric, 5e9 + seed, {"interface": nic}))
    s += [
        Sample("temperature_celsius", 40 + v * 10, {"chip": "coretemp", "sensor": f"Core {c}"})
        for c in range(8)
    ]
    s += [
        Sample("uptime_seconds", 86400.0 + seed),
        Sample("boot_time_seconds", 1.7e9),
        Sample("processes", 300.0),
        Sample("cpu_count", 8.0),
    ]
    return s


def report_bodies(agents: int, per_agent: int, start: float) -> list[list[bytes]]:
    """Pre-encoded gzip bodies: `per_agent` consecutive reports for each simulated agent."""
    bodies = []
    for a in range(agents):
        bodies.append(
            [
                gzip.compress(
                    encode_report(
                        Report(
                            SCHEMA_V1,
                            f"bench-{a:05d}",
                            start + k,
                            k + 1,
                            "bench",
                            10.0,
                            [ProbeResult("host", "ok", 0.001, realistic_samples(a + k))],
                        )
                    ),
                    1,
                )
                for k in range(per_agent)
            ]
        )
    return bodies


def client(args: tuple[int, str, int, list[list[bytes]], float]) -> tuple[int, int, list[float]]:
    """One load process: round-robin over its agents until the deadline."""
    _index, host, port, bodies, deadline = args
    conn = http.client.HTTPConnection(host, port, timeout=10)
    headers = {
        "Authorization": f"Bearer {TOKEN}",
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
    }
    ok = failed = 0
    latencies: list[float] = []
    k = 0
    while time.monotonic() < deadline:
        body = bodies[k % len(bodies)][(k // len(bodies)) % len(bodies[0])]
        k += 1
        started = time.perf_counter()
        conn.request("POST", "/api/v1/reports", body, headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        if response.status == 202:
            ok += 1
        else:
            failed += 1
    conn.close()
    return ok, failed, latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def start_collector(tmp: Path, port: int) -> subprocess.Popen[bytes]:
    """A real collector process with built-in rules and SQLite in `tmp`."""
    config = tmp / "collector.yaml"
    config.write_text(
        f"listen: 127.0.0.1:{port}\ndatabase: sqlite:///{tmp / 'bench.db'}\n"
        f"agents: [{{name: bench, token: {TOKEN}}}]\nnotify: [{{url: 'memory://bench'}}]\n"
    )
    script = Path(sys.executable).parent / "watchkeeper"
    process = subprocess.Popen(
        [str(script), "collector", "--config", str(config), "--log-level", "warning"],
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/-/healthy")
            if c.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.1)
    stop(process)
    raise RuntimeError("collector did not start")


def run(agents: int = 1000, seconds: float = 10.0, clients: int = 2) -> dict[str, Any]:
    """Run the benchmark and return its figures."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    per_client = max(1, agents // clients)
    bodies = report_bodies(agents, 3, time.time())
    samples = len(realistic_samples(0))
    with tempfile.TemporaryDirectory() as tmp:
        collector = start_collector(Path(tmp), port)
        try:
            # Warm-up: every agent reports once (first reports create hosts).
            client((0, "127.0.0.1", port, bodies, time.monotonic() + 2.0))
            cpu_before = cpu_seconds(collector.pid)
            deadline = time.monotonic() + seconds
            jobs = [
                (i, "127.0.0.1", port, bodies[i * per_client : (i + 1) * per_client], deadline)
                for i in range(clients)
            ]
            wall = time.perf_counter()
            with multiprocessing.Pool(clients) as pool:
                results = pool.map(client, jobs)
            wall = time.perf_counter() - wall
            cpu = cpu_seconds(collector.pid) - cpu_before
            rss = rss_mib(collector.pid)
        finally:
            stop(collector)
    ok = sum(r[0] for r in results)
    latencies = sorted(x for r in results for x in r[2])
    return {
        "agents": agents,
        "samples_per_report": samples,
        "reports_per_second": ok / wall,
        "samples_per_second": ok * samples / wall,
        "failed": sum(r[1] for r in results),
        "latency_p50_ms": statistics.median(latencies) * 1000,
        "latency_p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "collector_cpu_us_per_report": cpu / ok * 1e6,
        "collector_cpu_us_per_sample": cpu / ok / samples * 1e6,
        "collector_capacity_reports_per_cpu_second": ok / cpu if cpu else float("nan"),
        "collector_rss_mib": rss,
    }


def main(argv: list[str] | None = None) -> int:
    """Print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.collector_ingest")
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args(argv)
    figures = run(args.agents, args.seconds, args.clients)
    print(
        f"collector ingest: {args.agents} agents, {figures['samples_per_report']} samples/report, "
        f"{args.clients} client processes, {args.seconds:g} s"
    )
    for key, value in figures.items():
        print(f"  {key:44s} {value:,.2f}" if isinstance(value, float) else f"  {key:44s} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
