"""What a monitor concludes from the hardware RAID probes' samples, in one comparable value."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.probe import ProbeData
from agent.probes.raid.hwraid import RaidSnapshot, emit


@dataclass(frozen=True)
class Conclusion:
    """Keys: "controller" for controllers and batteries, "controller vd", "controller drive"."""

    controllers_ok: dict[str, float] = field(default_factory=dict)
    vd_states: dict[str, str | float] = field(default_factory=dict)
    vd_redundancy_left: dict[str, str | float] = field(default_factory=dict)
    failed_drives: dict[str, str | float] = field(default_factory=dict)
    drive_count: int = 0
    bbu_ok: dict[str, float] = field(default_factory=dict)


def series(data: ProbeData, metric: str) -> dict[str, str | float]:
    """metric's values keyed by "controller [vd|drive]"."""
    out: dict[str, str | float] = {}
    for sample in data.samples:
        if sample.metric == metric:
            parts = [sample.labels[k] for k in ("controller", "vd", "drive") if k in sample.labels]
            out[" ".join(parts)] = sample.value
    return out


def conclude(data: ProbeData) -> Conclusion:
    """The monitor's reading of one probe result."""
    pd_states = series(data, "raid_pd_state")
    failed = series(data, "raid_pd_failed")
    return Conclusion(
        controllers_ok={k: float(v) for k, v in series(data, "raid_controller_ok").items()},
        vd_states=series(data, "raid_vd_state"),
        vd_redundancy_left=series(data, "raid_vd_redundancy_left"),
        failed_drives={k: pd_states[k] for k, v in failed.items() if v == 1.0},
        drive_count=len(pd_states),
        bbu_ok={k: float(v) for k, v in series(data, "raid_bbu_ok").items()},
    )


def emitted(snapshot: RaidSnapshot, tool: str) -> ProbeData:
    """The samples a probe would report for `snapshot`."""
    data = ProbeData()
    emit(data, snapshot, tool)
    return data
