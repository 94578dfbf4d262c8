"""Linux software RAID (md) health from <procfs>/mdstat: arrays, members, sync progress."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec

from agent.probe import Probe, ProbeData, ProbeError
from agent.probes.kind import ProbeContext, ProbeKind

log = logging.getLogger(__name__)


class MdRaidSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The `mdraid` probe's settings.

    enabled: read /proc/mdstat each cycle (default true; harmless where md is not loaded).
    procfs: the proc filesystem root; change it only when the agent runs in a container
        with the host's /proc mounted elsewhere, e.g. "/host/proc".
    """

    enabled: bool = True
    procfs: str = "/proc"


class MdstatError(ValueError):
    """Text that cannot be read as /proc/mdstat; the message names the array and the line."""


@dataclass(frozen=True)
class MdMember:
    """One component device as listed on an array's header line, e.g. `sdc1[3](F)`.

    `role` is the number in brackets: the kernel's descriptor number (mdadm's "Number"), not
    the position in the [UU_] map. `flags` holds the letters in parentheses: F faulty, S spare,
    W write-mostly, R replacement, J journal.
    """

    device: str
    role: int
    flags: frozenset[str]

    @property
    def faulty(self) -> bool:
        return "F" in self.flags

    @property
    def spare(self) -> bool:
        return "S" in self.flags


@dataclass(frozen=True)
class MdSync:
    """A resync/recovery/check/reshape in progress, or one the kernel has queued.

    `queued` is "DELAYED" (waiting for another array sharing a disk) or "PENDING" (waiting for
    the array to become writable); the progress fields are then None.
    """

    action: str
    queued: str | None = None
    progress_ratio: float | None = None
    finish_seconds: float | None = None
    speed_bytes_per_second: float | None = None

    @property
    def running(self) -> bool:
        return self.queued is None


_MIRRORS = frozenset({"raid1", "multipath"})
_PARITY_TOLERANCE = {"raid4": 1, "raid5": 1, "raid6": 2}
_REDUNDANT_LEVELS = _MIRRORS | _PARITY_TOLERANCE.keys() | {"raid10"}
_RUNNING_STATE = {"reshape": "reshaping", "recovery": "recovering"}
_IDLE_STATE = {"resync": "resyncing", "check": "checking", "repair": "checking"}


@dataclass(frozen=True)
class MdArray:
    """One md array and what a monitor concludes from it."""

    name: str
    activity: str  # "active" or "inactive"
    read_only: bool
    auto_read_only: bool
    level: str  # the personality (raid1, raid5, linear...), "container" or "unknown"
    members: tuple[MdMember, ...]
    metadata: str | None  # "1.2", "external:imsm", "external:/md0/0"; None when not shown
    disks_required: int
    disks_in_sync: int
    in_sync_map: str | None  # "UU_": one letter per slot, None for raid0/linear/containers
    copies: int | None  # raid10 near/far/offset copies
    sync: MdSync | None
    bitmap_chunk_bytes: int | None  # None when the array has no write-intent bitmap

    @property
    def active(self) -> bool:
        return self.activity == "active"

    @property
    def container(self) -> bool:
        """An IMSM/DDF metadata container: inactive by design, holds no data itself."""
        return _is_container(self.metadata)

    @property
    def missing(self) -> int:
        return max(self.disks_required - self.disks_in_sync, 0)

    @property
    def degraded(self) -> bool:
        return self.disks_in_sync < self.disks_required

    @property
    def failed_members(self) -> int:
        return sum(member.faulty for member in self.members)

    @property
    def spare_members(self) -> int:
        return sum(member.spare for member in self.members)

    @property
    def redundancy_left(self) -> int | None:
        """How many more members may fail before data is lost; None for a container."""
        if self.container:
            return None
        if not self.active:
            return 0
        if self.level in _MIRRORS:
            return max(self.disks_in_sync - 1, 0)
        if self.level in _PARITY_TOLERANCE:
            return max(_PARITY_TOLERANCE[self.level] - self.missing, 0)
        if self.level == "raid10":
            # Which mirror set lost a member is not in mdstat: assume the worst case.
            return max((self.copies or 2) - 1 - self.missing, 0)
        return 0

    @property
    def reshaping(self) -> bool:
        """A reshape (grow, level or layout change) runs or waits to run."""
        return self.sync is not None and self.sync.action == "reshape"

    @property
    def failed(self) -> bool:
        """Data is lost or unreachable: inactive, or more members lost than the level survives.

        While a reshape runs, the [n/m] count and the [UU_] map describe the geometry being
        built (slots not yet written read "_"), so only members md marked faulty count as lost:
        md does not run a reshape on an array that has lost data.
        """
        if self.container:
            return False
        if not self.active:
            return True
        if self.level in _MIRRORS or self.level == "raid10":
            # md never fails the last copy of a block, so only an empty mirror is lost.
            return self.disks_in_sync == 0
        tolerance = _PARITY_TOLERANCE.get(self.level, 0)
        lost = self.failed_members if self.reshaping else self.missing
        return lost > tolerance

    @property
    def state(self) -> str:
        """clean, degraded, recovering, resyncing, checking, reshaping, inactive or failed."""
        if not self.active:
            return "inactive"
        if self.failed:
            return "failed"
        action = self.sync.action if self.sync is not None and self.sync.running else ""
        if action in _RUNNING_STATE:
            return _RUNNING_STATE[action]
        if self.degraded:
            return "degraded"
        return _IDLE_STATE.get(action, "clean")


_HEADER = re.compile(r"^(?P<name>md[\w.-]*)\s+:\s*(?P<rest>.*)$")
_MEMBER = re.compile(r"^(?P<device>[^\[\]()\s]+)\[(?P<role>\d+)\](?P<flags>(?:\([A-Z]\))*)$")
_BLOCKS = re.compile(r"^\d+ blocks\b")
_SUPER = re.compile(r"\bsuper (?P<metadata>\S+)")
_COUNTS = re.compile(r"\[(?P<required>\d+)/(?P<in_sync>\d+)\]")
_MAP = re.compile(r"\[(?P<map>[U_]+)\]")
_COPIES = re.compile(r"\b(?P<copies>\d+) (?:near|far|offset)-copies\b")
_BITMAP = re.compile(r"^bitmap: \d+/\d+ pages \[\d+KB\], (?P<chunk>\d+)(?P<unit>KB|B)? chunk")
_QUEUED = re.compile(r"^(?P<action>\w+)\s*=\s*(?P<queued>DELAYED|PENDING)$")
_PROGRESS = re.compile(
    r"(?P<action>recovery|resync|check|reshape|repair)\s*=\s*(?P<percent>\d+(?:\.\d+)?)%"
    r"(?:\s*\(\d+/\d+\))?"
    r"(?:\s*finish=(?P<finish>\d+(?:\.\d+)?)min)?"
    r"(?:\s*speed=(?P<speed>\d+)K/sec)?"
)


def parse_mdstat(text: str) -> list[MdArray]:
    """Every array in an mdstat text; raises MdstatError on the first one it cannot read."""
    return [parse_array(lines) for lines in split_arrays(text)]


def split_arrays(text: str) -> list[list[str]]:
    """The text cut into one block per array: its header line, then its indented lines.

    Raises MdstatError when the text does not look like mdstat at all, so that a wrong file
    never reads as "no arrays".
    """
    blocks: list[list[str]] = []
    seen_personalities = False
    for line in text.splitlines():
        if not line.strip():
            continue
        if line[0].isspace():
            if blocks:
                blocks[-1].append(line.strip())
            continue
        seen_personalities = seen_personalities or line.startswith("Personalities")
        if line.startswith("md"):  # a garbled header must fail, not vanish
            blocks.append([line.strip()])
    if not seen_personalities and not blocks:
        raise MdstatError(f"not an mdstat file (no 'Personalities' line): {text[:60]!r}")
    return blocks


def parse_array(lines: list[str]) -> MdArray:
    """One array from its header line and the indented lines below it."""
    header = _HEADER.match(lines[0])
    if header is None:
        raise MdstatError(f"not an array header line: {lines[0]!r}")
    name = header["name"]
    activity, *words = header["rest"].split() or [""]
    if activity not in ("active", "inactive"):
        raise MdstatError(f"{name}: expected 'active' or 'inactive' after ':', got {lines[0]!r}")
    modes = {word for word in words if word in ("(read-only)", "(auto-read-only)")}
    words = [word for word in words if word not in modes]
    personality = words.pop(0) if words and "[" not in words[0] else None
    members = tuple(_parse_member(name, word) for word in words)
    return _build_array(name, activity, modes, personality, members, lines[1:])


def _parse_member(array: str, word: str) -> MdMember:
    match = _MEMBER.match(word)
    if match is None:
        raise MdstatError(f"{array}: member {word!r} is not of the form device[number](flags)")
    flags = frozenset(match["flags"].replace("(", "").replace(")", ""))
    return MdMember(match["device"], int(match["role"]), flags)


def _build_array(
    name: str,
    activity: str,
    modes: set[str],
    personality: str | None,
    members: tuple[MdMember, ...],
    body: list[str],
) -> MdArray:
    status = next((line for line in body if _BLOCKS.match(line)), None)
    if status is None and activity == "active":
        raise MdstatError(f"{name}: no 'NNN blocks' status line under the header (truncated?)")
    metadata = _search(_SUPER, status, "metadata")
    level = personality or ("container" if _is_container(metadata) else "unknown")
    counts = _COUNTS.search(status or "")
    if counts is None and activity == "active" and level in _REDUNDANT_LEVELS:
        raise MdstatError(f"{name}: {level} status line has no [required/in-sync] count")
    in_sync_map = _search(_MAP, status, "map")
    required, in_sync = _disk_counts(counts, in_sync_map, members)
    copies = _search(_COPIES, status, "copies")
    sync = _parse_sync(name, body)
    if sync is not None and sync.action == "reshape" and counts is not None:
        # During a reshape the map marks slots of the new geometry not yet written; the
        # kernel's own in-sync count is the one that describes the array now.
        in_sync = int(counts["in_sync"])
    return MdArray(
        name=name,
        activity=activity,
        read_only="(read-only)" in modes,
        auto_read_only="(auto-read-only)" in modes,
        level=level,
        members=members,
        metadata=metadata,
        disks_required=required,
        disks_in_sync=in_sync,
        in_sync_map=in_sync_map,
        copies=int(copies) if copies is not None else None,
        sync=sync,
        bitmap_chunk_bytes=_parse_bitmap(body),
    )


def _search(pattern: re.Pattern[str], line: str | None, group: str) -> str | None:
    match = pattern.search(line or "")
    return match[group] if match else None


def _is_container(metadata: str | None) -> bool:
    """`external:imsm` names a container; its volumes say `external:/md0/0` (or `-md0/0`)."""
    external = (metadata or "").removeprefix("external:")
    return metadata is not None and external != metadata and external[:1] not in "/-"


def _disk_counts(
    counts: re.Match[str] | None, in_sync_map: str | None, members: tuple[MdMember, ...]
) -> tuple[int, int]:
    """(required, in sync) from [n/m]; raid0/linear (no count) need every listed member."""
    if counts is None:
        listed = [member for member in members if not member.spare]
        return len(listed), sum(not member.faulty for member in listed)
    required, in_sync = int(counts["required"]), int(counts["in_sync"])
    if in_sync_map is not None:
        # Trust the lower of the two, so a disagreement never reads as healthy.
        in_sync = min(in_sync, in_sync_map.count("U"))
    return required, in_sync


def _parse_sync(array: str, body: list[str]) -> MdSync | None:
    for line in body:
        queued = _QUEUED.match(line)
        if queued:
            return MdSync(queued["action"], queued=queued["queued"])
        if line.startswith("[") or _PROGRESS.search(line):
            return _parse_progress(array, line)
    return None


def _parse_progress(array: str, line: str) -> MdSync:
    match = _PROGRESS.search(line)
    if match is None:
        raise MdstatError(f"{array}: cannot read the sync progress line {line!r}")
    finish, speed = match["finish"], match["speed"]
    return MdSync(
        action=match["action"],
        # The percentage, not the (done/total) counts: the two can disagree in the first
        # percent and the percentage is what mdadm and the operator see.
        progress_ratio=float(match["percent"]) / 100,
        finish_seconds=float(finish) * 60 if finish else None,
        # The kernel prints KiB/s (sectors / 2).
        speed_bytes_per_second=float(speed) * 1024 if speed else None,
    )


def _parse_bitmap(body: list[str]) -> int | None:
    match = next((m for line in body if (m := _BITMAP.match(line))), None)
    if match is None:
        return None
    return int(match["chunk"]) * (1024 if match["unit"] == "KB" else 1)


def array_samples(array: MdArray, data: ProbeData) -> None:
    """Append one array's samples; a faulty member is a series of its own."""
    labels = {"array": array.name, "level": array.level}
    data.add("raid_array_state", array.state, **labels)
    data.add("raid_array_degraded", float(array.degraded), **labels)
    data.add("raid_array_failed", float(array.failed), **labels)
    if array.redundancy_left is not None:
        data.add("raid_array_redundancy_left", float(array.redundancy_left), **labels)
    data.add("raid_array_disks_required", float(array.disks_required), **labels)
    data.add("raid_array_disks_active", float(array.disks_in_sync), **labels)
    data.add("raid_array_disks_failed", float(array.failed_members), **labels)
    data.add("raid_array_disks_spare", float(array.spare_members), **labels)
    for metric, value in _sync_values(array.sync):
        # The action names what runs ("reshape 48.4% done"); a sync series lives only as long
        # as one action, so the label never splits a series in two.
        extra = {"action": array.sync.action} if metric.endswith("_ratio") and array.sync else {}
        data.add(metric, value, **labels, **extra)
    for member in array.members:
        faulty = float(member.faulty)
        data.add("raid_array_member_faulty", faulty, member=member.device, **labels)


def _sync_values(sync: MdSync | None) -> Iterator[tuple[str, float | str]]:
    if sync is None:
        return
    yield "raid_array_sync_action", sync.action if sync.running else str(sync.queued).lower()
    if sync.progress_ratio is not None:
        yield "raid_array_sync_progress_ratio", sync.progress_ratio
    if sync.finish_seconds is not None:
        yield "raid_array_sync_remaining_seconds", sync.finish_seconds
    if sync.speed_bytes_per_second is not None:
        yield "raid_array_sync_speed_bytes_per_second", sync.speed_bytes_per_second


class MdRaidProbe:
    """Reads <procfs>/mdstat; each array it cannot read becomes a source error of its own."""

    name = "mdraid"
    target: str | None = None
    min_interval_seconds = 0.0  # reading a procfs file costs nothing
    runs_inline = True  # nor can it hang: no thread needed

    def __init__(self, procfs: Path) -> None:
        self._mdstat = procfs / "mdstat"

    def collect(self) -> ProbeData:
        data = ProbeData()
        text = self._read()
        if text is None:
            log.debug("%s absent: md driver not loaded, no software RAID", self._mdstat)
            data.add("raid_md_arrays", 0.0)
            return data
        try:
            blocks = split_arrays(text)
        except MdstatError as exc:
            raise ProbeError(f"{self._mdstat}: {exc}") from exc
        for lines in blocks:
            try:
                array_samples(parse_array(lines), data)
            except MdstatError as exc:
                data.source_errors[lines[0].split()[0]] = str(exc)
        data.add("raid_md_arrays", float(len(blocks)))
        return data

    def _read(self) -> str | None:
        try:
            return self._mdstat.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ProbeError(f"cannot read {self._mdstat}: {exc.strerror or exc}") from exc


def build_mdraid_probes(settings: MdRaidSettings, context: ProbeContext) -> list[Probe]:
    """The md probe when enabled; its procfs follows the agent's unless set in its own section."""
    procfs = context.procfs if settings.procfs == "/proc" else settings.procfs
    return [MdRaidProbe(Path(procfs))] if settings.enabled else []


PROBE = ProbeKind("mdraid", MdRaidSettings, build_mdraid_probes)
