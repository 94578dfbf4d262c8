"""Who this agent is across restarts: its instance id and the report sequence numbers it hands out.

The id is made on first start and kept in `agent-state.json` in the state directory (the
spool_dir, else systemd's $STATE_DIRECTORY), so a restarted agent is the same instance and two
agents with their own state directories are two. The collector orders one instance's reports by
sequence, so a restart must not start again at 1: numbers are reserved in blocks, the block
written down before its first number is used, so they only grow, at one small write per block.

A state directory copied to another machine (a cloned VM) carries the id with it. The machine id
(/etc/machine-id) is stored beside it and a mismatch makes a new id, but a clone that keeps its
machine id too is indistinguishable: the collector then sees one instance, not two.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

logger = logging.getLogger(__name__)

STATE_FILE = "agent-state.json"
SEQUENCE_BLOCK = 100_000  # one write per 100,000 reports (11 days at 10 s), and per start
_INSTANCE = re.compile(r"^[0-9a-f]{16,64}$")
_MAX_SEQUENCE = 2**63 - 1


def new_instance_id() -> str:
    """A random instance id: 16 hex digits (os.urandom: `secrets` would load hashlib, 3 MiB)."""
    return os.urandom(8).hex()


def state_directory(spool_dir: str | None, environ: Mapping[str, str]) -> Path | None:
    """Where the agent keeps its state: spool_dir, else systemd's StateDirectory, else nowhere."""
    if spool_dir:
        return Path(spool_dir)
    given = environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(given) if given else None


def read_machine_id(path: Path = Path("/etc/machine-id")) -> str:
    """This machine's id, or "" where there is none to read."""
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""


class AgentIdentity:
    """The instance id and the next sequence number; `path` None means nothing is kept."""

    def __init__(
        self, instance: str, path: Path | None, next_sequence: int = 1, machine_id: str = ""
    ) -> None:
        self.instance = instance
        self._path = path
        self._next = next_sequence
        self._reserved = next_sequence  # numbers below this are written down as used
        self._machine_id = machine_id

    @property
    def kept(self) -> bool:
        """Whether the id survives a restart."""
        return self._path is not None

    def next_sequence(self) -> int:
        """The sequence number of the next report: always larger than any handed out before."""
        if self._path is not None and self._next >= self._reserved:
            self._reserve()
        number = self._next
        self._next = min(self._next + 1, _MAX_SEQUENCE)
        return number

    def save(self) -> None:
        """Write the state file (raises OSError); numbers up to one block ahead become used."""
        assert self._path is not None
        reserved = min(self._next + SEQUENCE_BLOCK, _MAX_SEQUENCE)
        state = {"instance": self.instance, "machine_id": self._machine_id, "next": reserved}
        partial = self._path.with_suffix(".tmp")
        partial.write_text(json.dumps(state) + "\n", encoding="utf-8")
        os.replace(partial, self._path)  # never a half-written state file
        self._reserved = reserved

    def _reserve(self) -> None:
        try:
            self.save()
        except OSError as exc:
            # Numbers not written down could come again after a restart, and the collector would
            # take the restarted agent's reports for old ones: be a new, unkept instance instead.
            logger.warning(
                "cannot write %s (%s): this agent continues as new instance %s, not kept "
                "across restarts",
                self._path,
                exc.strerror or exc,
                self._renew(),
            )

    def _renew(self) -> str:
        self.instance, self._path = new_instance_id(), None
        return self.instance


def load_identity(
    directory: Path | None,
    machine_id: str | None = None,
    new_id: Callable[[], str] = new_instance_id,
) -> AgentIdentity:
    """This agent's identity from `directory`, made and written there on first start."""
    machine_id = read_machine_id() if machine_id is None else machine_id
    if directory is None:
        return AgentIdentity(new_id(), None, machine_id=machine_id)
    path = directory / STATE_FILE
    stored = _read_state(path)
    instance, next_sequence = new_id(), 1
    if stored is not None:
        if not stored[2] or not machine_id or stored[2] == machine_id:
            instance, next_sequence = stored[0], stored[1]
        else:
            logger.warning(
                "%s was written on another machine (machine-id differs): this agent takes a "
                "new instance id %s",
                path,
                instance,
            )
    identity = AgentIdentity(instance, path, next_sequence, machine_id)
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        identity.save()
    except OSError as exc:
        logger.warning(
            "cannot keep the agent's instance id in %s (%s): it will be new at every start",
            directory,
            exc.strerror or exc,
        )
        return AgentIdentity(new_id(), None, machine_id=machine_id)
    return identity


def _read_state(path: Path) -> tuple[str, int, str] | None:
    """(instance, next sequence, machine id) from the state file, or None (a new agent)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("%s unreadable (%s): this agent takes a new instance id", path, exc)
        return None
    parsed = _parsed(data)
    if parsed is None:
        logger.warning("%s holds no valid agent state: this agent takes a new instance id", path)
    return parsed


def _parsed(data: object) -> tuple[str, int, str] | None:
    if not isinstance(data, dict):
        return None
    instance, number, machine = data.get("instance"), data.get("next"), data.get("machine_id")
    if not isinstance(instance, str) or not _INSTANCE.match(instance):
        return None
    if not isinstance(number, int) or not 1 <= number < _MAX_SEQUENCE:
        return None
    return (instance, number, machine) if isinstance(machine, str) else None
