"""SubprocessRunner: output, exit status, missing binaries, a timeout that kills the group."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from agent.exec import CommandError, SubprocessRunner
from tests.peers import wait_until


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose: it runs nothing and only waits to be reaped.
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_output_and_exit_status_are_returned() -> None:
    result = SubprocessRunner().run(["sh", "-c", "echo out; echo err >&2; exit 3"], 5)
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")


def test_a_missing_binary_is_named() -> None:
    with pytest.raises(CommandError, match="no-such-tool: not found"):
        SubprocessRunner().run(["no-such-tool"], 5)


def test_a_timed_out_command_is_killed_with_the_children_it_started(tmp_path: Path) -> None:
    # The script's child ignores SIGTERM and sleeps on: killing the script alone leaves it.
    child_pid = tmp_path / "child.pid"
    script = tmp_path / "tool.sh"
    script.write_text(
        f"#!/bin/sh\nsh -c 'trap \"\" TERM; echo $$ > {child_pid}; exec sleep 300' &\nwait\n"
    )
    script.chmod(0o755)
    started = time.monotonic()
    with pytest.raises(CommandError, match=r"tool.sh: no answer within 0.5 s"):
        SubprocessRunner().run([str(script)], 0.5)
    assert time.monotonic() - started < 5, "the runner waited for the child's pipe"
    pid = int(child_pid.read_text())
    wait_until(lambda: not alive(pid), timeout=5, what="the child to be killed")


def test_close_kills_the_commands_still_running_and_their_children(tmp_path: Path) -> None:
    child_pid = tmp_path / "child.pid"
    script = tmp_path / "hung.sh"
    script.write_text(f"#!/bin/sh\nsh -c 'echo $$ > {child_pid}; exec sleep 300' &\nwait\n")
    script.chmod(0o755)
    runner = SubprocessRunner()
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(runner.run([str(script)], 300))
        except CommandError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    wait_until(child_pid.exists, timeout=5, what="the script's child")
    pid = int(child_pid.read_text())
    runner.close()
    thread.join(5)
    assert not thread.is_alive(), "run() still waiting after close()"
    wait_until(lambda: not alive(pid), timeout=5, what="the child to be killed")
    assert isinstance(outcome[0], CommandError), "a killed command is not a result"
    with pytest.raises(CommandError, match="the agent is shutting down"):
        runner.run(["sleep", "300"], 300)  # after close() nothing runs on
