"""`diagnostics:` in agent.yaml: which named diagnostics the collector may ask for, and the
time and size budget of one snapshot."""

from __future__ import annotations

import msgspec

from agent.configfile import parse_duration

# Every diagnostic the agent knows; the collector can only name these, never a command.
DIAGNOSTICS = ("processes", "kernel_log", "smart", "mdraid", "network_errors")


class DiagnosticsSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What a collector may ask this agent to collect when an incident opens on it.

    enabled: the diagnostics the agent answers (a subset of processes, kernel_log, smart,
        mdraid, network_errors); any other request is refused and reported as not collected.
    time_budget: the whole snapshot's time; what is left when it is used up is not collected.
    max_bytes: the whole snapshot's size (outputs are cut, with a note, to stay under it).
    max_output_bytes: one diagnostic's output at most.
    top_processes: how many processes the top-by-CPU and top-by-memory lists show.
    cpu_sample: how long processes' CPU use is measured for the top-by-CPU list.
    kernel_log_lines: the last kernel messages shown.
    mdadm_path: the mdadm binary (`mdadm --detail` of the array).
    """

    enabled: tuple[str, ...] = DIAGNOSTICS
    time_budget: str = "15s"
    max_bytes: int = 256 * 1024
    max_output_bytes: int = 64 * 1024
    top_processes: int = 10
    cpu_sample: str = "0.5s"
    kernel_log_lines: int = 100
    mdadm_path: str = "mdadm"

    def __post_init__(self) -> None:
        unknown = [name for name in self.enabled if name not in DIAGNOSTICS]
        if unknown:
            raise ValueError(f"unknown diagnostic {unknown[0]!r}; known: {', '.join(DIAGNOSTICS)}")
        for name in ("time_budget", "cpu_sample"):
            if parse_duration(getattr(self, name)) <= 0:
                raise ValueError(f"{name} must be more than 0 s, got {getattr(self, name)!r}")
        if min(self.max_bytes, self.max_output_bytes, self.top_processes) <= 0:
            raise ValueError("max_bytes, max_output_bytes and top_processes must be above 0")

    @property
    def time_budget_seconds(self) -> float:
        """time_budget in seconds."""
        return parse_duration(self.time_budget)

    @property
    def cpu_sample_seconds(self) -> float:
        """cpu_sample in seconds."""
        return parse_duration(self.cpu_sample)
