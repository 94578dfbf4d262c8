"""The agent's instance id is made once and kept in its state directory: a restart is the same
instance with sequence numbers that keep growing, two state directories are two instances, and
a directory that cannot keep it gives an unkept id with one warning."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from agent.identity import STATE_FILE, AgentIdentity, load_identity, state_directory
from rules.loader import load_rules
from tests.agent.mounts import read_only_directory
from tests.agent.test_cli import WATCHKEEPER
from tests.collector.harness import TOKEN, RunningCollector, wait_for

PACK = Path(__file__).resolve().parents[2] / "rules" / "packs" / "identity.yaml"
MACHINE = "4b1c0ffee0d54d6b8a1d2c3e4f506172"


def numbers(identity: AgentIdentity, count: int) -> list[int]:
    return [identity.next_sequence() for _ in range(count)]


def test_a_restart_keeps_the_id_and_sequences_keep_growing(tmp_path: Path) -> None:
    first = load_identity(tmp_path / "state", MACHINE)
    before = numbers(first, 3)
    again = load_identity(tmp_path / "state", MACHINE)
    assert first.kept and again.instance == first.instance
    assert before == [1, 2, 3] and min(numbers(again, 3)) > max(before)
    other = load_identity(tmp_path / "other", MACHINE)
    assert other.instance != first.instance, "another state directory, another agent"


def test_a_state_file_from_another_machine_gets_a_new_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    original = load_identity(tmp_path, MACHINE)
    clone = load_identity(tmp_path, "0" * 32)
    assert clone.instance != original.instance
    assert f"{tmp_path / STATE_FILE} was written on another machine" in caplog.text
    assert load_identity(tmp_path, "0" * 32).instance == clone.instance, "then kept"


def test_a_damaged_state_file_gets_a_new_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / STATE_FILE).write_text('{"instance": "not hex", "next": 5, "machine_id": ""}')
    identity = load_identity(tmp_path, MACHINE)
    assert identity.kept and identity.next_sequence() == 1
    assert "holds no valid agent state: this agent takes a new instance id" in caplog.text
    assert json.loads((tmp_path / STATE_FILE).read_text())["instance"] == identity.instance


def test_a_read_only_state_dir_gives_an_unkept_id_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with read_only_directory(tmp_path / "state") as directory:
        identity = load_identity(directory, MACHINE)
        assert not identity.kept and numbers(identity, 2) == [1, 2]
    [record] = caplog.records
    assert record.getMessage().startswith(f"cannot keep the agent's instance id in {directory}")


def test_a_block_that_cannot_be_written_down_makes_a_new_unkept_instance(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "state"
    directory.mkdir()
    identity = AgentIdentity("0123456789abcdef", directory / STATE_FILE, next_sequence=7)
    shutil.rmtree(directory)
    directory.write_text("a file where the directory was")
    assert identity.next_sequence() == 7
    assert identity.instance != "0123456789abcdef" and not identity.kept
    assert f"continues as new instance {identity.instance}" in caplog.text


def test_the_state_directory_is_spool_dir_else_systemds() -> None:
    assert state_directory("/var/spool/wk", {"STATE_DIRECTORY": "/var/lib/wk"}) == Path(
        "/var/spool/wk"
    )
    assert state_directory(None, {"STATE_DIRECTORY": "/var/lib/wk:/var/lib/x"}) == Path(
        "/var/lib/wk"
    )
    assert state_directory(None, {}) is None


def _agent(url: str, config: Path, log: Path) -> subprocess.Popen[bytes]:
    command = [str(WATCHKEEPER), "agent", "--config", str(config), "--collector", url]
    return subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def test_a_restarted_real_agent_is_the_same_instance_and_no_duplicate(tmp_path: Path) -> None:
    rules = load_rules([PACK], include_builtin=False)
    running = RunningCollector(tmp_path, time.time, rules=rules)  # type: ignore[arg-type]
    config = tmp_path / "agent.yaml"
    config.write_text(
        f"host: web8\ntoken: {TOKEN}\ninterval: 1s\nspool_dir: {tmp_path / 'spool'}\n"
    )
    log = tmp_path / "agent.log"
    try:

        def state() -> tuple[str, int]:
            host = running.collector.hosts.get("web8")
            return (host.instance, host.last_sequence) if host else ("", 0)

        agent = _agent(running.url, config, log)
        wait_for(lambda: state()[1] >= 2, timeout=30)
        agent.terminate()
        agent.wait(10)
        instance, last = state()
        agent = _agent(running.url, config, log)
        wait_for(lambda: state()[1] > last + 1, timeout=30)
        agent.terminate()
        agent.wait(10)
        assert state()[0] == instance, "the restarted agent is the same instance"
        assert running.get("/api/v1/incidents?state=all") == [], "a restart is no duplicate"
        assert {h["name"] for h in running.get("/api/v1/hosts")} == {"web8"}
    finally:
        running.stop()
