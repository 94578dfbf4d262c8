"""Alert latency end to end: a condition appears on a host -> the e-mail is accepted.

Real agent processes (`watchkeeper agent`, each reading a fake procfs this benchmark controls)
report to a real collector process with a `for: 0s` memory rule and one `mailto://` channel to
an aiosmtpd server on loopback. For each agent in turn, memory use is raised above the threshold
(the condition appears) and, once the page has arrived, lowered again (the resolve message):
printed are the delays from the change on the host to the SMTP server accepting the message.
Each host changes state twice only, so flap damping never holds a message back, and storm
grouping is off (it waits on purpose). The anchor: Prometheus + Alertmanager page in ~1.2 s
with 1 s scrape and evaluation intervals and no grouping wait; ~45 s with common settings.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from aiosmtpd.controller import Controller

from bench.collector_process import TOKEN, free_port
from bench.notify_burst import Inbox, MailCollector
from tests.agent.fakeprocfs import KIB, FakeProcfs

TOTAL_KIB = 8 * KIB * KIB


class AgentProcess:
    """`watchkeeper agent` for one host, reading `procfs`, stopped by PID on exit."""

    def __init__(self, folder: Path, host: str, collector_port: int, interval: str) -> None:
        self.procfs = FakeProcfs(folder / "proc", folder / "data")
        self.procfs.set_memory(TOTAL_KIB, TOTAL_KIB // 2)
        config = folder / "agent.yaml"
        config.write_text(
            f"collector: http://127.0.0.1:{collector_port}\n"
            f"token: {TOKEN}\nhost: {host}\ninterval: {interval}\n"
            f"procfs: {folder / 'proc'}\nlog_level: warning\n"
        )
        script = Path(sys.executable).parent / "watchkeeper"
        self.log = (folder / "agent.log").open("wb")
        self.process = subprocess.Popen(
            [str(script), "agent", "--config", str(config)], stdout=self.log, stderr=self.log
        )

    def set_memory_used(self, ratio: float) -> float:
        """Rewrite meminfo; returns the moment the host changed."""
        self.procfs.set_memory(TOTAL_KIB, int(TOTAL_KIB * (1.0 - ratio)))
        return time.monotonic()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.log.close()


def _wait_for(
    inbox: Inbox, words: list[str], since: float, timeout: float
) -> tuple[float, str] | None:
    """When the first message since `since` whose subject holds every word came, and it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with inbox.lock:
            arrivals = [
                (t, subject)
                for subject, times in inbox.arrivals.items()
                if all(w in subject for w in words)
                for t in times
                if t >= since
            ]
        if arrivals:
            return min(arrivals)
        time.sleep(0.005)
    return None


def run(agents: int, interval: str, timeout: float) -> dict[str, list[float]]:
    """Delays (s) from the change on the host to the e-mail, for opening and resolving."""
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    delays: dict[str, list[float]] = {"open": [], "resolve": [], "missed": []}
    try:
        with ExitStack() as stack:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wk-alert-")))
            collector = stack.enter_context(MailCollector(folder, smtp.port))
            hosts = []
            for n in range(agents):
                (folder / f"a{n}").mkdir()
                agent = AgentProcess(folder / f"a{n}", f"lat-{n}", collector.port, interval)
                stack.callback(agent.stop)
                hosts.append((f"lat-{n}", agent))
            time.sleep(3 * _seconds(interval))  # every agent has reported its normal state
            phase = random.Random(7)  # a change falls anywhere in the agent's cycle
            pause = _seconds(interval)
            for host, agent in hosts:
                time.sleep(phase.uniform(0.0, pause))
                changed = agent.set_memory_used(0.99)
                opened = _wait_for(inbox, [host, " OPEN "], changed, timeout)
                if opened is None:
                    delays["missed"].append(1.0)
                    continue
                delays["open"].append(opened[0] - changed)
                ticket = opened[1].split()[1]  # "[P2] INC-2026-000001 OPEN ..."
                time.sleep(phase.uniform(0.0, pause))
                changed = agent.set_memory_used(0.5)
                resolved = _wait_for(inbox, [ticket, " RESOLVED "], changed, timeout)
                if resolved is None:
                    delays["missed"].append(1.0)
                    continue
                delays["resolve"].append(resolved[0] - changed)
    finally:
        smtp.stop()
    return delays


def _seconds(interval: str) -> float:
    return float(interval.rstrip("s"))


def _line(label: str, values: list[float]) -> str:
    if not values:
        return f"  {label}: no message arrived"
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return (
        f"  {label}: mean {statistics.fmean(ordered):.2f} s, p50 {statistics.median(ordered):.2f}"
        f" s, p90 {p90:.2f} s, max {ordered[-1]:.2f} s ({len(ordered)} messages)"
    )


def main(argv: list[str] | None = None) -> int:
    """Run at 1 s and at the default 10 s agent interval; print the delays."""
    parser = argparse.ArgumentParser(prog="python -m bench.alert_latency", description=__doc__)
    parser.add_argument("--agents", type=int, default=10, help="hosts per interval (10)")
    parser.add_argument("--intervals", default="1s,10s", help="agent intervals to run")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    failed = 0
    for interval in args.intervals.split(","):
        agents = args.agents if _seconds(interval) <= 1 else max(3, args.agents // 2)
        print(f"alert latency, agent interval {interval}, {agents} hosts, for: 0s, e-mail:")
        delays = run(agents, interval, args.timeout)
        print(_line("condition on host -> OPEN e-mail accepted", delays["open"]))
        print(_line("condition gone -> RESOLVED e-mail accepted", delays["resolve"]))
        if delays["missed"]:
            print(f"  MISSED: {len(delays['missed'])} messages did not arrive in time")
            failed = 1
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
