"""The whole path, as deployed: a collector process, an agent process, a rule, an email.

The agent reads a fake procfs the test controls, so the breach does not depend on this
machine's real load; everything talks over loopback.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.agent.fakeprocfs import FakeProcfs
from tests.peers import free_port, wait_until
from tests.peers.smtp import SmtpServer

WATCHKEEPER = str(Path(sys.executable).parent / "watchkeeper")
TOKEN = "e2e-token-7c1d"

RULE = """\
group: e2e
rules:
  - name: HostLoadCritical
    priority: P1
    metric: load1_per_core
    above: 3.0
    clear_below: 2.0
    summary: "load {{ value | round(1) }} per core on {{ host }}"
"""


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, stdout=log.open("wb"), stderr=subprocess.STDOUT)


VIEWER_TOKEN = "e2e-viewer-token-0d1e"
VIEWER = {"Authorization": f"Bearer {VIEWER_TOKEN}"}


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def test_breach_on_an_agent_emails_once_and_resolution_emails_once(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    procfs = FakeProcfs(tmp_path / "proc", data_mount=tmp_path, cpus=2)
    procfs.set_load(0.4, 0.4, 0.4)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "e2e.yaml").write_text(RULE)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = tmp_path / "collector.yaml"
    config.write_text(
        f"listen: 127.0.0.1:{port}\n"
        f"database: sqlite:///{tmp_path / 'wk.db'}\n"
        "rules: [rules]\n"
        f"notify: [{{url: '{smtp.url()}'}}]\n"
        f"agents: [{{name: e2e, token: {TOKEN}}}]\n"
        f"api_tokens: [{{name: e2e-viewer, token: {VIEWER_TOKEN}, role: viewer}}]\n"
        "evaluation_interval: 0.2s\n"
    )
    collector = _spawn([WATCHKEEPER, "collector", "--config", str(config)], tmp_path / "c.log")
    agent = None
    try:
        wait_until(lambda: requests.get(f"{url}/-/healthy", timeout=1).ok, 20, "collector")
        agent = _spawn(
            [
                WATCHKEEPER,
                "agent",
                "--collector",
                url,
                "--token",
                TOKEN,
                "--interval",
                "0.5s",
                "--procfs",
                str(procfs.root),
                "--host",
                "e2e-host",
            ],
            tmp_path / "a.log",
        )
        wait_until(lambda: _hosts(url) == ["e2e-host"], 20, "first report")
        assert smtp.messages == []

        procfs.set_load(8.0, 6.0, 4.0)  # 2 CPUs: 4.0 per core
        opened = smtp.wait_for(1, timeout=20)[0]
        assert "[P1]" in opened.subject and "HostLoadCritical" in opened.subject
        assert "e2e-host" in opened.subject and "load 4.0 per core" in opened.text

        procfs.set_load(1.0, 1.0, 1.0)
        mails = smtp.wait_for(2, timeout=30)
        assert "RESOLVED" in mails[1].subject and "HostLoadCritical" in mails[1].subject
        incidents = requests.get(
            f"{url}/api/v1/incidents?state=all", headers=VIEWER, timeout=5
        ).json()
        assert [(i["rule"], i["state"]) for i in incidents] == [("HostLoadCritical", "resolved")]
        assert len(smtp.messages) == 2, "one email to open, one to resolve, nothing else"
    finally:
        if agent is not None:
            _stop(agent)
        _stop(collector)
    # uvicorn shuts down gracefully, then re-raises SIGTERM as its exit status.
    log = (tmp_path / "c.log").read_text()
    assert collector.returncode in (0, -signal.SIGTERM), log[-2000:]
    assert "Application shutdown complete" in log


def _hosts(url: str) -> list[str]:
    return [
        h["name"] for h in requests.get(f"{url}/api/v1/hosts", headers=VIEWER, timeout=2).json()
    ]
