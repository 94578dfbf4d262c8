"""Two real agent processes reporting under one host name: one clear incident naming both,
the later agent kept apart (no merged series, so no flapping), resolved when one stops."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from collector.notify.channels import RecordingChannel
from rules.loader import load_rules
from tests.collector.harness import TOKEN, RunningCollector, wait_for

PACK = Path(__file__).resolve().parents[2] / "rules" / "packs" / "identity.yaml"


def agent(url: str, host: str, folder: Path) -> subprocess.Popen[bytes]:
    script = Path(sys.executable).parent / "watchkeeper"
    command = [str(script), "agent", "--collector", url, "--host", host, "--interval", "1s"]
    log = (folder / f"agent-{len(list(folder.iterdir()))}.log").open("wb")
    return subprocess.Popen([*command, "--token", TOKEN], stdout=log, stderr=subprocess.STDOUT)


def test_two_agents_under_one_name_make_one_incident_and_stay_apart(tmp_path: Path) -> None:
    recorder = RecordingChannel("ops")
    rules = load_rules([PACK], include_builtin=False)
    running = RunningCollector(tmp_path, time.time, channels=[recorder], rules=rules)  # type: ignore[arg-type]
    logs = tmp_path / "logs"
    logs.mkdir()
    first = agent(running.url, "web7", logs)
    second = agent(running.url, "web7", logs)
    try:
        wait_for(lambda: len(running.get("/api/v1/incidents")) == 1, timeout=20)
        [incident] = running.get("/api/v1/incidents")
        assert (incident["rule"], incident["host"]) == ("HostDuplicateAgents", "web7")
        assert incident["summary"].startswith("2 agents report as web7: ")
        assert incident["summary"].count("from 127.0.0.1") == 2, "both instances named"

        def names() -> set[str]:
            return {h["name"] for h in running.get("/api/v1/hosts")}

        wait_for(lambda: any(n.startswith("web7#dup-") for n in names()), timeout=10)
        assert "web7" in names()
        second.terminate()
        second.wait(10)
        wait_for(lambda: running.get("/api/v1/incidents") == [], timeout=20)
        time.sleep(2)  # a little longer: nothing reopens or flaps
        all_incidents = running.get("/api/v1/incidents?state=all")
        assert len(all_incidents) == 1 and all_incidents[0]["state"] == "resolved"
        assert [n.event for n in recorder.notifications] == ["opened", "resolved"]
    finally:
        for process in (first, second):
            process.terminate()
            process.wait(10)
        running.stop()
