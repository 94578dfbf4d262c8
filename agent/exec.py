"""The only place the agent runs subprocesses, behind a runner that tests replace.

Probes receive a `CommandRunner`; production uses `SubprocessRunner`, tests use
`FixtureRunner`, which answers each command line from a captured output file and fails loudly,
naming the command, when no capture exists for it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class CommandResult:
    """What a finished command produced."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str = ""


class CommandError(RuntimeError):
    """A command that could not be run at all (missing binary, timeout, permission)."""


class CommandRunner(Protocol):
    """Runs one command line and returns what it printed; never raises for a non-zero exit."""

    def run(self, argv: Sequence[str], timeout: float) -> CommandResult: ...


class SubprocessRunner:
    """Runs commands for real, without a shell, with a hard timeout.

    Each command leads a process group of its own (a new session), so a timeout kills it with
    everything it started: a vendor tool's helper or a wrapper script's child would otherwise
    live on, holding the output pipe and a slot on the controller.
    """

    def __init__(self) -> None:
        self._running: set[subprocess.Popen[str]] = set()
        self._lock = threading.Lock()
        self._closed = False

    def run(self, argv: Sequence[str], timeout: float) -> CommandResult:
        try:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise CommandError(f"{argv[0]}: not found (install it or set its path)") from exc
        except PermissionError as exc:
            raise CommandError(f"{argv[0]}: permission denied") from exc
        with self._lock:
            self._running.add(process)
            if self._closed:  # close() ran while this one started: it would be left behind
                os.killpg(process.pid, signal.SIGKILL)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            kill_group(process)
            raise CommandError(f"{' '.join(argv)}: no answer within {timeout:g} s") from exc
        except BaseException:
            kill_group(process)
            raise
        finally:
            with self._lock:
                self._running.discard(process)
        if self._closed:
            raise CommandError(f"{argv[0]}: stopped, the agent is shutting down")
        return CommandResult(tuple(argv), process.returncode, stdout, stderr)

    def close(self) -> None:
        """Kill every command still running, with its children: the agent is stopping."""
        with self._lock:
            self._closed = True
            running = list(self._running)
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def kill_group(process: subprocess.Popen[str]) -> None:
    """SIGKILL the process's whole group, then reap it (its pipes close with the group)."""
    with contextlib.suppress(ProcessLookupError):  # the group is already gone
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


@dataclass(frozen=True)
class CannedOutput:
    """A captured answer to one command line."""

    stdout: str
    returncode: int = 0
    stderr: str = ""


class FixtureRunner:
    """Answers command lines from captured outputs; the test double shipped with the agent."""

    def __init__(self, answers: Mapping[tuple[str, ...], CannedOutput | Path]) -> None:
        self._answers = dict(answers)
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str], timeout: float) -> CommandResult:
        key = tuple(argv)
        self.calls.append(key)
        answer = self._answers.get(key)
        if answer is None:
            raise CommandError(f"no captured output for command: {' '.join(key)}")
        if isinstance(answer, Path):
            answer = CannedOutput(answer.read_text())
        return CommandResult(key, answer.returncode, answer.stdout, answer.stderr)
