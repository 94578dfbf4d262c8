"""What a kind of probe declares to the agent: its `probes:` section, settings model and builder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import msgspec

from agent.exec import CommandRunner, SubprocessRunner
from agent.probe import Probe

S = TypeVar("S", bound=msgspec.Struct)


@dataclass(frozen=True)
class ProbeContext:
    """What a builder may use besides its own section: the command runner, the agent's procfs."""

    runner: CommandRunner = field(default_factory=SubprocessRunner)
    procfs: str = "/proc"


@dataclass(frozen=True)
class ProbeKind(Generic[S]):
    """One kind of probe: `probes.<name>` is validated into `settings_type`, then `build` runs.

    `build` returns no probe when the section leaves the kind off, and imports heavy libraries
    (pysnmp, asyncio) itself, so that hosts that do not use a kind never load them.
    """

    name: str
    settings_type: type[S]
    build: Callable[[S, ProbeContext], Sequence[Probe]]

    def section(self, sections: msgspec.Struct) -> S:
        """This kind's settings inside a `probes` struct."""
        value = getattr(sections, self.name)
        if not isinstance(value, self.settings_type):
            raise TypeError(f"probes.{self.name} is a {type(value).__name__}, not settings")
        return value

    def probes(self, sections: msgspec.Struct, context: ProbeContext) -> list[Probe]:
        """The probes this kind's section asks for."""
        return list(self.build(self.section(sections), context))
