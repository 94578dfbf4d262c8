"""A diagnostic snapshot on every incident, end to end: a real agent process (fake procfs, a
captured-output smartctl) reports a failing disk; the incident that opens asks the agent, in
the answer to its report, for a snapshot; the agent answers with its top processes and the
failing disk's full SMART report within its budget, refuses the diagnostic its config leaves
off, and the incident API and the fault report show it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agent.fakeprocfs import FakeProcfs
from tests.agent.fixture_tool import fixture_tool
from tests.collector.harness import TOKEN, FakeClock, RunningCollector
from tests.peers import wait_until

WATCHKEEPER = str(Path(sys.executable).parent / "watchkeeper")
FAILED_DISK = "smartctl/ata-hdd-smart-failed-reallocated-535-wdc-wd3200bevt-usb.json"
PROBE_READ = (
    "--json", "--info", "--health", "--attributes", "--log=error", "--log=selftest",
    "--tolerance=verypermissive", "--nocheck=standby", "-d", "sat", "/dev/sda",
)  # fmt: skip
PROCESSES = {1: ("systemd", 300, 200, 3000), 42: ("postgres", 9000, 4000, 250000),
             4242: ("nginx", 50, 20, 90000)}  # fmt: skip


def write_process(root: Path, pid: int, name: str, utime: int, stime: int, rss: int) -> None:
    """/proc/<pid>/stat, statm, status and cmdline as the kernel writes them (rss in pages)."""
    folder = root / str(pid)
    folder.mkdir(exist_ok=True)
    fields = ["S", "1", str(pid), str(pid), "0", "-1", "4194560", "100", "0", "0", "0",
              str(utime), str(stime), "0", "0", "20", "0", "1", "0", "5000",
              str(rss * 8192), str(rss)] + ["0"] * 30  # fmt: skip
    (folder / "stat").write_text(f"{pid} ({name}) {' '.join(fields)}\n")
    (folder / "statm").write_text(f"{rss * 2} {rss} 100 10 0 {rss} 0\n")
    (folder / "status").write_text(f"Name:\t{name}\nState:\tS (sleeping)\nPid:\t{pid}\n"
                                   "PPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n")  # fmt: skip
    (folder / "cmdline").write_bytes(name.encode() + b"\0")


@pytest.fixture
def procfs(tmp_path: Path) -> FakeProcfs:
    fake = FakeProcfs(tmp_path / "proc", data_mount=tmp_path / "data", cpus=2)
    for pid, (name, utime, stime, rss) in PROCESSES.items():
        write_process(fake.root, pid, name, utime, stime, rss)
    fake.set_network({"eth0": (5000, 50, 3, 7, 4000, 40, 0, 1)})
    return fake


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningCollector]:
    collector = RunningCollector(tmp_path, FakeClock())
    yield collector
    collector.stop()


def agent_config(tmp_path: Path, url: str, procfs: FakeProcfs, smartctl: Path) -> Path:
    config = tmp_path / "agent.yaml"
    config.write_text(
        f"collector: {url}\ntoken: {TOKEN}\nhost: db7\ninterval: 0.5s\n"
        f"procfs: {procfs.root}\n"
        "probes:\n"
        f"  smart: {{smartctl_path: {smartctl}, scan: false,"
        " extra_devices: [{name: /dev/sda, type: sat}]}\n"
        "diagnostics:\n"
        "  enabled: [processes, smart, network_errors]  # kernel_log: left off on purpose\n"
        "  time_budget: 10s\n"
        "  cpu_sample: 0.2s\n"
    )
    return config


def answered(running: RunningCollector, number: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = running.get(f"/api/v1/incidents/{number}/snapshots")
    return [s for s in found if s["received_at"] is not None]


def test_a_real_agent_answers_a_snapshot_request_with_processes_and_the_failing_disk(
    tmp_path: Path, shared_fixtures: Path, procfs: FakeProcfs, running: RunningCollector
) -> None:
    capture = shared_fixtures / FAILED_DISK
    smartctl = fixture_tool(
        tmp_path,
        "smartctl",
        {
            PROBE_READ: capture,
            ("--xall", "--json", "/dev/sda"): capture,
            ("--xall", "--json", "/dev/sdb"): capture,
        },
    )
    config = agent_config(tmp_path, running.url, procfs, smartctl)
    log = tmp_path / "agent.log"
    agent = subprocess.Popen(
        [WATCHKEEPER, "agent", "--config", str(config), "--log-level", "debug"],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: _disk_incident(running) is not None, 20, "the failed disk's incident")
        incident = _disk_incident(running)
        assert incident is not None
        number = incident["number"]
        wait_until(lambda: answered(running, number), 20, "the agent's snapshot")
    finally:
        agent.terminate()
        agent.wait(10)
    (snapshot,) = answered(running, number)
    by_name = {d["name"]: d for d in snapshot["diagnostics"]}
    assert [r["name"] for r in snapshot["requested"]] == [
        "processes", "kernel_log", "network_errors", "smart",
    ]  # fmt: skip
    processes = by_name["processes"]["output"]
    assert processes.startswith("Top 10 by CPU:")
    cpu_first = processes.split("\n")[2]
    assert cpu_first.split()[0] == "42" and cpu_first.endswith("postgres"), processes
    assert "Top 10 by memory:" in processes and "nginx" in processes
    smart = by_name["smart"]
    assert smart["status"] == "ok" and smart["device"] == incident["labels"]["device"]
    assert '"passed": false' in smart["output"] and "WD3200BEVT" in smart["output"]
    assert "eth0" in by_name["network_errors"]["output"]
    refused = by_name["kernel_log"]
    assert refused["status"] == "refused" and "not enabled" in refused["note"]
    assert snapshot["seconds"] < 10, "within the time budget"
    timeline = running.get(f"/api/v1/incidents/{number}")["timeline"]
    (entry,) = [e for e in timeline if e["name"] == "SNAPSHOT"]
    assert "not collected: kernel_log (diagnostic 'kernel_log' is not enabled" in entry["detail"]
    report = running.fetch(f"/api/v1/incidents/{number}/report?format=md").text
    assert "## Diagnostic snapshot of db7" in report and "### smart (/dev/sd" in report
    assert "| kernel_log |  | refused |" in report


def _disk_incident(running: RunningCollector) -> dict[str, Any] | None:
    found = [i for i in running.get("/api/v1/incidents") if i["rule"] == "SmartHealthFailed"]
    return found[0] if found else None
