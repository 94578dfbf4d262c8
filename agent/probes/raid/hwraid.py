"""What the hardware RAID probes (storcli, megacli, ssacli) share: one model, one set of metrics.

Each tool's parser reads its own vocabulary into these records; `emit` turns them into the same
samples whichever tool saw them, so one rule pack fits every controller brand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TypeVar

import msgspec

from agent.configfile import parse_duration
from agent.exec import CommandError, CommandResult, CommandRunner
from agent.probe import ProbeData, ProbeError


class RaidToolSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What every controller-CLI probe shares (each tool adds the path to its binary).

    enabled: run this probe (default false: only hosts with that controller need it).
    min_interval: reuse the last result until this much time has passed (default "2m"; the
        tools take seconds and hold the controller's lock).
    timeout: how long one command may run.
    """

    enabled: bool = False
    min_interval: str = "2m"
    timeout: str = "60s"

    def __post_init__(self) -> None:
        parse_duration(self.min_interval)
        if parse_duration(self.timeout) <= 0:
            raise ValueError(f"timeout must be more than 0 s, got {self.timeout!r}")


# Normalised virtual-drive states; anything else is reported as "unknown".
VD_STATES = {
    "optl": "optimal",
    "optimal": "optimal",
    "ok": "optimal",
    "dgrd": "degraded",
    "degraded": "degraded",
    "pdgd": "partially_degraded",
    "partially degraded": "partially_degraded",
    "ofln": "offline",
    "offline": "offline",
    "failed": "offline",
    "rec": "recovering",
    "recovery": "recovering",
    "rbld": "rebuilding",
    "rebuild": "rebuilding",
    "rebuilding": "rebuilding",
    "recovering": "rebuilding",
    # ssacli/hpacucli: a member failed and parity stands in for it.
    "interim recovery mode": "degraded",
    "ready for rebuild": "degraded",
    # ssacli: the array is being grown or re-laid out and keeps its redundancy meanwhile.
    "expanding": "optimal",
    "queued for expansion": "optimal",
    "transforming": "optimal",
}

# Normalised physical-drive states across the three tools' spellings.
PD_STATES = {
    "onln": "online",
    "online": "online",
    "rbld": "rebuilding",
    "rebuild": "rebuilding",
    "rebuilding": "rebuilding",
    "cpybck": "rebuilding",
    "copyback": "rebuilding",
    "failed": "failed",
    "msng": "failed",
    "missing": "failed",
    "offln": "offline",
    "offline": "offline",
    "ugood": "unconfigured_good",
    "unconfigured(good)": "unconfigured_good",
    "ubad": "unconfigured_bad",
    "unconfigured(bad)": "unconfigured_bad",
    "ghs": "hotspare",
    "dhs": "hotspare",
    "hotspare": "hotspare",
    "jbod": "jbod",
}

FAILED_PD_STATES = frozenset({"failed", "offline", "unconfigured_bad"})

# Member losses each level survives when optimal; RAID10/50 count one per span, the worst case.
DESIGNED_REDUNDANCY = {
    "RAID0": 0,
    "RAID00": 0,
    "RAID1": 1,
    "RAID1E": 1,
    "RAID5": 1,
    "RAID10": 1,
    "RAID50": 1,
    "RAID6": 2,
    "RAID60": 2,
    "RAID1ADM": 2,
    "RAID10ADM": 2,
}

_BAD_BATTERY_WORDS = ("fail", "replace", "missing", "degraded", "attention", "low", "bad")
_SIZE = re.compile(r"([\d.]+)\s*([KMGTP]?)i?B\b", re.IGNORECASE)
_POWERS = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5}


@dataclass(frozen=True)
class Controller:
    """A RAID controller and the overall status it reports for itself."""

    controller: str
    status: str
    ok: bool


@dataclass(frozen=True)
class VirtualDrive:
    """A logical drive (VD/LD) built from physical drives."""

    controller: str
    vd: str
    raw_state: str
    state: str
    raid_level: str
    size_bytes: float | None = None
    lost_members: int | None = None
    rebuild_progress_ratio: float | None = None


@dataclass(frozen=True)
class PhysicalDrive:
    """A physical disk behind a controller, with the error counters the controller keeps."""

    controller: str
    drive: str
    raw_state: str
    state: str
    enclosure: str = ""
    slot: str = ""
    media_errors: int | None = None
    other_errors: int | None = None
    predictive_failures: int | None = None
    smart_alert: bool | None = None
    rebuild_progress_ratio: float | None = None


@dataclass(frozen=True)
class Battery:
    """The cache-protection battery or capacitor (BBU, CacheVault) of a controller."""

    controller: str
    state: str
    ok: bool


_Record = TypeVar("_Record", Controller, VirtualDrive, PhysicalDrive, Battery)


@dataclass
class RaidSnapshot:
    """Everything one tool reported in one cycle."""

    controllers: list[Controller] = field(default_factory=list)
    virtual_drives: list[VirtualDrive] = field(default_factory=list)
    physical_drives: list[PhysicalDrive] = field(default_factory=list)
    batteries: list[Battery] = field(default_factory=list)

    def merge(self, other: RaidSnapshot) -> None:
        """Add `other`'s records; a later record for the same device replaces the earlier one."""
        self.controllers = _dedup([*self.controllers, *other.controllers], "controller")
        self.virtual_drives = _dedup([*self.virtual_drives, *other.virtual_drives], "vd")
        self.physical_drives = _dedup([*self.physical_drives, *other.physical_drives], "drive")
        self.batteries = _dedup([*self.batteries, *other.batteries], "controller")


def _dedup(records: list[_Record], key: str) -> list[_Record]:
    by_key = {(record.controller, getattr(record, key)): record for record in records}
    return list(by_key.values())


def normalise_vd_state(raw: str) -> str:
    """ "Optl", "Partially Degraded", "Interim Recovery Mode"... -> one shared vocabulary."""
    return VD_STATES.get(raw.strip().lower(), "unknown")


# From best to worst; "unknown" ranks as degraded so that it is never read as healthy.
_VD_SEVERITY = {
    "optimal": 0,
    "recovering": 1,
    "rebuilding": 1,
    "partially_degraded": 2,
    "unknown": 3,
    "degraded": 3,
    "offline": 4,
}


def worse_vd_state(candidate: str, current: str) -> bool:
    """Whether `candidate` is a worse VD state than `current` (an array's or a drive
    group's own state overrides its logical drives' only when it is worse)."""
    return _VD_SEVERITY.get(candidate, 3) > _VD_SEVERITY.get(current, 3)


def overrule_by_group(vd: VirtualDrive, group: str, raw: str, state: str) -> VirtualDrive:
    """`vd` in its array's or drive group's state when that is worse than its own.

    Controllers report the container separately ("array B (Failed)", a TOPOLOGY row "OfLn")
    and can leave the logical drive saying OK: the container's own verdict must win.
    """
    if not worse_vd_state(state, vd.state):
        return vd
    raw_state = f"{vd.raw_state or 'no status'} ({group}: {raw})"
    lost = None if state == "offline" else vd.lost_members
    return replace(vd, state=state, raw_state=raw_state, lost_members=lost)


def normalise_pd_state(raw: str) -> str:
    """ "Onln", "Online, Spun Up", "Unconfigured(bad)"... -> one shared vocabulary."""
    first = raw.split(",", maxsplit=1)[0].strip().lower()
    return PD_STATES.get(first, "unknown")


def redundancy_left(level: str, state: str, lost_members: int | None = None) -> int:
    """How many more member losses the VD survives; 0 means the next failure loses data.

    A degraded VD whose loss count is unknown is taken to have none left: storcli and MegaCli
    say "partially degraded" while a RAID6 still has parity to spare, and plain "degraded" after.
    """
    designed = DESIGNED_REDUNDANCY.get(level, 0)
    if state == "optimal":
        return designed
    if state == "offline":
        return 0
    if lost_members is not None:
        return max(designed - lost_members, 0)
    if state in ("partially_degraded", "unknown"):
        return max(designed - 1, 0)
    return 0


def battery_ok(state: str) -> bool:
    """A battery state is bad when it says failed, replace, missing, degraded or low."""
    lowered = state.lower()
    return bool(lowered) and not any(word in lowered for word in _BAD_BATTERY_WORDS)


def parse_size_bytes(text: str) -> float | None:
    """ "3.491 TB" -> bytes; controllers print binary multiples (a 16 TB disk reads 14.551 TB)."""
    match = _SIZE.search(text)
    if match is None:
        return None
    return float(match.group(1)) * float(1024 ** _POWERS[match.group(2).upper()])


def parse_int(value: object) -> int | None:
    """An error counter as printed ("94", 94, "N/A") -> int, or None when not reported."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isdecimal() else None


def run_tool(
    runner: CommandRunner, argv: list[str], timeout: float, hint: str = ""
) -> CommandResult:
    """Run one tool command, turning "cannot run" into a ProbeError that says how to fix it."""
    try:
        return runner.run(argv, timeout)
    except CommandError as exc:
        raise ProbeError(f"{exc}; {hint}" if hint else str(exc)) from exc


def emit(data: ProbeData, snapshot: RaidSnapshot, tool: str) -> None:
    """Add the shared raid_* samples for everything in `snapshot` to `data`."""
    for controller in snapshot.controllers:
        labels = {"controller": controller.controller, "tool": tool}
        data.add("raid_controller_status", controller.status, **labels)
        data.add("raid_controller_ok", float(controller.ok), **labels)
    _emit_virtual_drives(data, snapshot.virtual_drives, tool)
    _emit_physical_drives(data, snapshot.physical_drives, tool)
    for battery in snapshot.batteries:
        labels = {"controller": battery.controller, "tool": tool}
        data.add("raid_bbu_state", battery.state, **labels)
        data.add("raid_bbu_ok", float(battery.ok), **labels)


def _emit_virtual_drives(data: ProbeData, drives: Iterable[VirtualDrive], tool: str) -> None:
    for vd in drives:
        state = vd.state
        # Every VD series carries the same identity, raid_level included, so a rule on any of
        # them can tell a RAID0 (no redundancy by design) from a RAID5 that lost it.
        labels = {"controller": vd.controller, "vd": vd.vd, "tool": tool}
        labels["raid_level"] = vd.raid_level or "unknown"
        data.add("raid_vd_state", state, raw_state=vd.raw_state, **labels)
        # Any state short of optimal counts as degraded, offline included, so a rule written
        # against raid_vd_degraded and redundancy_left never misses the worst case.
        data.add("raid_vd_degraded", float(state != "optimal"), **labels)
        data.add("raid_vd_offline", float(state == "offline"), **labels)
        data.add("raid_vd_rebuilding", float(state in ("rebuilding", "recovering")), **labels)
        left = redundancy_left(vd.raid_level, state, vd.lost_members)
        data.add("raid_vd_redundancy_left", float(left), **labels)
        if vd.size_bytes is not None:
            data.add("raid_vd_size_bytes", vd.size_bytes, **labels)
        if vd.rebuild_progress_ratio is not None:
            data.add("raid_vd_rebuild_progress_ratio", vd.rebuild_progress_ratio, **labels)


def _emit_physical_drives(data: ProbeData, drives: Iterable[PhysicalDrive], tool: str) -> None:
    for pd in drives:
        labels = {"controller": pd.controller, "drive": pd.drive, "tool": tool}
        if pd.enclosure:
            labels["enclosure"] = pd.enclosure
        if pd.slot:
            labels["slot"] = pd.slot
        data.add("raid_pd_state", pd.state, raw_state=pd.raw_state, **labels)
        data.add("raid_pd_failed", float(pd.state in FAILED_PD_STATES), **labels)
        data.add("raid_pd_rebuilding", float(pd.state == "rebuilding"), **labels)
        counters = {
            "raid_pd_rebuild_progress_ratio": pd.rebuild_progress_ratio,
            "raid_pd_media_errors": pd.media_errors,
            "raid_pd_other_errors": pd.other_errors,
            "raid_pd_predictive_failures": pd.predictive_failures,
            "raid_pd_smart_alert": None if pd.smart_alert is None else int(pd.smart_alert),
            "raid_pd_failure_predicted": failure_predicted(pd),
        }
        for metric, value in counters.items():
            if value is not None:
                data.add(metric, float(value), **labels)


def failure_predicted(pd: PhysicalDrive) -> int | None:
    """1 when the controller predicts the drive's failure however it says so: a predictive
    failure count (MegaCli, storcli; ssacli's "Predictive Failure" status) or a SMART alert
    flag (storcli, MegaCli); None when the tool reports neither."""
    signals = [
        pd.smart_alert,
        None if pd.predictive_failures is None else pd.predictive_failures > 0,
    ]
    known = [signal for signal in signals if signal is not None]
    return int(any(known)) if known else None
