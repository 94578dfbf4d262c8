"""Report -> e-mail: how fast a storm of pages leaves through the outbox to a real SMTP server.

A collector process with one `mailto://` channel to an aiosmtpd server on loopback; N hosts
each send one report that crosses a `for: 0s` rule, all at once (a storm of N pages). Printed:
the time until the SMTP server has accepted all N, and each message's latency from its report
being answered to the SMTP server accepting it (p50/p99), plus duplicates (must be 0).
Apprise alone spaces two e-mails to one server ~5.5 s apart (100 pages: ~9 minutes).
"""

from __future__ import annotations

import argparse
import email
import gzip
import http.client
import json
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from bench.collector_process import STORM_RULE, STORM_RULES, TOKEN, CollectorProcess, free_port


class Inbox:
    """An aiosmtpd handler that notes when each message arrived, by its ticket header."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[float]] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        subject = str(email.message_from_bytes(envelope.content, policy=default)["subject"])
        with self.lock:
            self.arrivals.setdefault(subject, []).append(time.monotonic())
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.arrivals.values())


class MailCollector(CollectorProcess):
    def __init__(self, folder: Path, smtp_port: int) -> None:
        super().__init__(folder, f"sqlite:///{folder / 'wk.db'}", log_level="warning")
        self.smtp_port = smtp_port

    def write_config(self) -> Path:
        rules = self.folder / "storm-rules.yaml"
        rules.write_text(STORM_RULES)
        config = self.folder / "collector.yaml"
        mail = f"mailto://127.0.0.1:{self.smtp_port}?from=wk@example.test&to=ops@example.test"
        config.write_text(
            f"listen: 127.0.0.1:{self.port}\n"
            f"database: 'sqlite:///{self.folder / 'wk.db'}'\n"
            f"rules: ['{rules}']\n"
            "builtin_rules: false\n"
            f"agents: [{{name: bench, token: {TOKEN}}}]\n"
            f"notify: [{{url: '{mail}'}}]\n"
            # One message per page: this measures the outbox's throughput, not storm grouping.
            "delivery: {storm_threshold: 0}\n"
        )
        return config


def _breach(port: int, host: str) -> float:
    body = {
        "schema": "watchkeeper.report/v1",
        "host": host,
        "time": time.time(),
        "sequence": 1,
        "agent_version": "bench",
        "interval_seconds": 10.0,
        "instance": "bench",
        "probes": [
            {
                "probe": "host",
                "status": "ok",
                "duration_seconds": 0.0,
                "samples": [{"metric": "memory_used_ratio", "value": 0.99}],
            }
        ],
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST",
            "/api/v1/reports",
            gzip.compress(json.dumps(body).encode()),
            {
                "Authorization": f"Bearer {TOKEN}",
                "Content-Encoding": "gzip",
                "X-Watchkeeper-Sent-At": f"{time.time():.3f}",
            },
        )
        response = connection.getresponse()
        response.read()
        if response.status != 202:
            raise RuntimeError(f"report for {host} answered {response.status}")
        return time.monotonic()
    finally:
        connection.close()


def run(pages: int, timeout: float) -> dict[str, float]:
    """Open `pages` incidents at once; the figures of their e-mails."""
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="wk-burst-") as tmp,
            MailCollector(Path(tmp), smtp.port) as collector,
        ):
            hosts = [f"burst-{i:04d}" for i in range(pages)]
            started = time.monotonic()
            with ThreadPoolExecutor(16) as pool:
                answered = dict(
                    zip(hosts, pool.map(lambda h: _breach(collector.port, h), hosts), strict=True)
                )
            deadline = started + timeout
            while inbox.count() < pages and time.monotonic() < deadline:
                time.sleep(0.02)
            finished = time.monotonic()
            time.sleep(1.0)  # late duplicates would show up here
    finally:
        smtp.stop()
    latencies = []
    for host, at in answered.items():
        arrivals = [
            t for subject, times in inbox.arrivals.items() if host in subject for t in times
        ]
        if arrivals:
            latencies.append(min(arrivals) - at)
    latencies.sort()
    return {
        "pages": float(pages),
        "delivered": float(len(latencies)),
        "duplicates": float(inbox.count() - len(latencies)),
        "all_accepted_s": finished - started,
        "p50_s": statistics.median(latencies) if latencies else float("nan"),
        "p99_s": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        if latencies
        else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the burst and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.notify_burst", description=__doc__)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    print(f"notification burst: {args.pages} P2 pages ({STORM_RULE}) to one SMTP server")
    figures = run(args.pages, args.timeout)
    print(
        f"  accepted by the SMTP server: {figures['delivered']:.0f}/{figures['pages']:.0f} "
        f"in {figures['all_accepted_s']:.2f} s; duplicates {figures['duplicates']:.0f}"
    )
    print(
        f"  report answered -> e-mail accepted: p50 {figures['p50_s'] * 1000:.0f} ms, "
        f"p99 {figures['p99_s'] * 1000:.0f} ms"
    )
    return 0 if figures["delivered"] == figures["pages"] and figures["duplicates"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
