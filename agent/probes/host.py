"""The host probe: CPU, load, memory, swap, filesystems, disk and network I/O, uptime, sensors."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import msgspec
import psutil

from agent.configfile import check_duration, parse_duration
from agent.probe import Probe, ProbeData, ProbeError
from agent.probes.fsstat import FilesystemStats, MountHungError, Statvfs
from agent.probes.kind import ProbeContext, ProbeKind

# node_exporter's defaults (filesystem_linux.go, diskstats_linux.go), so both tools agree on
# what counts as a real filesystem and a whole disk.
FS_TYPES_EXCLUDE = (
    r"^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs"
    r"|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs"
    r"|squashfs|erofs|sysfs|tracefs)$"
)
MOUNT_POINTS_EXCLUDE = (
    r"^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
)
DISK_DEVICES_EXCLUDE = r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$"

_MOUNT_ESCAPE = re.compile(r"\\([0-7]{3})")


class HostSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`probes.host`: the agent's own machine, read from procfs, statvfs and hwmon.

    enabled: collect host metrics.
    temperatures: also read hwmon temperatures and fan speeds (turn off if the lmsensors probe
        reports them, so the same sensor is not sent twice).
    filesystem_fs_types_exclude: regex of filesystem types to skip ("" skips none).
    filesystem_mount_points_exclude: regex of mount points to skip ("" skips none).
    disk_devices_exclude: regex of block devices left out of disk I/O (partitions, loop, ram).
    network_interfaces_exclude: regex of network interfaces to skip, e.g. "^veth" ("" = none).
    filesystem_timeout: the longest statvfs of one mount may take; a mount that hangs (a dead
        NFS server) is reported and skipped until its call returns, never retried each cycle.
    """

    enabled: bool = True
    temperatures: bool = True
    filesystem_fs_types_exclude: str = FS_TYPES_EXCLUDE
    filesystem_mount_points_exclude: str = MOUNT_POINTS_EXCLUDE
    disk_devices_exclude: str = DISK_DEVICES_EXCLUDE
    network_interfaces_exclude: str = ""
    filesystem_timeout: str = "5s"

    def __post_init__(self) -> None:
        check_duration("filesystem_timeout", self.filesystem_timeout)
        for name in (
            "filesystem_fs_types_exclude",
            "filesystem_mount_points_exclude",
            "disk_devices_exclude",
            "network_interfaces_exclude",
        ):
            compile_filter(name, getattr(self, name))


def compile_filter(name: str, pattern: str) -> re.Pattern[str] | None:
    """Compile an exclusion regex; "" means exclude nothing. Bad syntax names the option."""
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{name}: invalid regular expression {pattern!r}: {exc}") from exc


class Mount(NamedTuple):
    """One line of /proc/self/mounts."""

    device: str
    mountpoint: str
    fstype: str


class _Reading(Protocol):
    """What psutil's sensor tuples have in common (shwtemp, sfan)."""

    @property
    def label(self) -> str: ...

    @property
    def current(self) -> float: ...


SensorReader = Callable[[], Mapping[str, Sequence[_Reading]]]


def parse_loadavg(text: str) -> tuple[float, float, float]:
    """ "0.52 0.58 0.59 1/467 12345" -> (0.52, 0.58, 0.59)."""
    fields = text.split()
    return float(fields[0]), float(fields[1]), float(fields[2])


def parse_uptime(text: str) -> float:
    """ "350735.47 234388.90" -> 350735.47 seconds since boot."""
    return float(text.split(maxsplit=1)[0])


def parse_vmstat_swap(text: str) -> tuple[int, int]:
    """Pages swapped in and out since boot (pswpin, pswpout) from /proc/vmstat."""
    found: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key in ("pswpin", "pswpout"):
            found[key] = int(value)
            if len(found) == 2:
                break
    if len(found) != 2:
        raise ValueError("vmstat: pswpin/pswpout not found")
    return found["pswpin"], found["pswpout"]


def parse_mounts(text: str) -> list[Mount]:
    """Mounts in order, with the kernel's octal escapes (\\040 for a space) decoded."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            device, mountpoint = (_MOUNT_ESCAPE.sub(_unescape, f) for f in fields[:2])
            mounts.append(Mount(device, mountpoint, fields[2]))
    return mounts


def _unescape(match: re.Match[str]) -> str:
    return chr(int(match.group(1), 8))


def select_filesystems(
    mounts: Iterable[Mount],
    fs_types_exclude: re.Pattern[str] | None,
    mount_points_exclude: re.Pattern[str] | None,
) -> list[Mount]:
    """Real filesystems only, each mount point once (the first mount listed wins)."""
    seen: set[str] = set()
    kept = []
    for mount in mounts:
        if fs_types_exclude and fs_types_exclude.search(mount.fstype):
            continue
        if mount_points_exclude and mount_points_exclude.search(mount.mountpoint):
            continue
        if mount.mountpoint not in seen:
            seen.add(mount.mountpoint)
            kept.append(mount)
    return kept


def cpu_busy_and_total(times: Any) -> tuple[float, float]:
    """(busy, total) seconds of one psutil scputimes; guest time is already counted in user."""
    total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total - idle, total


def busy_ratio(before: tuple[float, float], after: tuple[float, float]) -> float | None:
    """Fraction of time busy between two (busy, total) readings; None if no time passed."""
    elapsed = after[1] - before[1]
    if elapsed <= 0:
        return None
    # Rounded: tick resolution is 10 ms, and shorter numbers make a smaller report.
    return round(min(1.0, max(0.0, (after[0] - before[0]) / elapsed)), 6)


def add_sensor_samples(
    data: ProbeData, metric: str, prefix: str, readings: Mapping[str, Sequence[_Reading]]
) -> None:
    """One sample per sensor; psutil merges same-named chips, so repeated labels get "#2".

    Unlabelled sensors are named after their position, as hwmon does: temp1, fan2...
    """
    for chip, entries in readings.items():
        seen: dict[str, int] = {}
        for index, reading in enumerate(entries, start=1):
            label = reading.label or f"{prefix}{index}"
            seen[label] = seen.get(label, 0) + 1
            if seen[label] > 1:
                label = f"{label} #{seen[label]}"
            data.add(metric, float(reading.current), chip=chip, sensor=label)


@dataclass
class _CpuState:
    """Per-CPU (busy, total) seconds from the previous cycle, for utilisation deltas."""

    previous: list[tuple[float, float]]
    count: int


class HostProbe:
    """Reads the host through psutil and a procfs root (like node_exporter's --path.procfs).

    CPU utilisation is a delta between cycles, so the first cycle reports no cpu_usage_ratio.
    """

    name = "host"
    target: str | None = None
    min_interval_seconds = 0.0
    runs_inline = True  # procfs and psutil only; statvfs has its own deadline (fsstat)

    def __init__(
        self,
        settings: HostSettings | None = None,
        procfs: str | Path = "/proc",
        read_temperatures: SensorReader | None = None,
        read_fans: SensorReader | None = None,
        statvfs: Statvfs = os.statvfs,
    ) -> None:
        settings = settings or HostSettings()
        self._filesystems = FilesystemStats(parse_duration(settings.filesystem_timeout), statvfs)
        self._procfs = str(procfs)
        # Compiled once here, never per cycle.
        self._fs_types = compile_filter("", settings.filesystem_fs_types_exclude)
        self._mount_points = compile_filter("", settings.filesystem_mount_points_exclude)
        self._disks = compile_filter("", settings.disk_devices_exclude)
        self._interfaces = compile_filter("", settings.network_interfaces_exclude)
        self._page_size = os.sysconf("SC_PAGE_SIZE")
        self._cpu = _CpuState([], 0)
        self._boot_time: float | None = None
        self._sensors: list[tuple[str, str, SensorReader]] = []
        if settings.temperatures:
            self._sensors = [
                ("temperature_celsius", "temp", read_temperatures or psutil.sensors_temperatures),
                ("fan_speed_rpm", "fan", read_fans or psutil.sensors_fans),
            ]
        self._sources: tuple[tuple[str, Callable[[ProbeData], None]], ...] = (
            ("cpu", self._read_cpu),
            ("load", self._read_load),
            ("memory", self._read_memory),
            ("swap", self._read_swap),
            ("filesystems", self._read_filesystems),
            ("disks", self._read_disks),
            ("network", self._read_network),
            ("uptime", self._read_uptime),
            ("processes", self._read_processes),
            ("sensors", self._read_sensors),
        )

    def collect(self) -> ProbeData:
        """Read every source; one unreadable source becomes a source error, not a failure."""
        if not os.path.isdir(self._procfs):
            raise ProbeError(f"procfs root {self._procfs} is not a directory (check --procfs)")
        # psutil reads its procfs root from this module global on every call.
        psutil.PROCFS_PATH = self._procfs
        data = ProbeData()
        for source, read in self._sources:
            try:
                read(data)
            except Exception as exc:  # one broken source must not hide the others
                data.source_errors[source] = describe_error(exc)
        if len(data.source_errors) == len(self._sources):
            raise ProbeError(f"no host source readable under {self._procfs}: {data.source_errors}")
        return data

    def _read_text(self, name: str) -> str:
        with open(f"{self._procfs}/{name}", encoding="ascii", errors="replace") as file:
            return file.read()

    def _read_cpu(self, data: ProbeData) -> None:
        current = [cpu_busy_and_total(t) for t in psutil.cpu_times(percpu=True)]
        if not current:
            raise ValueError(f"{self._procfs}/stat lists no CPU")
        previous, self._cpu = self._cpu.previous, _CpuState(current, len(current))
        data.add("logical_cpus", float(len(current)))
        if len(previous) != len(current):  # first cycle, or a CPU went on/offline
            return
        total = busy_ratio(_sum_pairs(previous), _sum_pairs(current))
        if total is not None:
            data.add("cpu_usage_ratio", total, cpu="total")
        for index, (before, after) in enumerate(zip(previous, current, strict=True)):
            ratio = busy_ratio(before, after)
            if ratio is not None:
                data.add("cpu_usage_ratio", ratio, cpu=str(index))

    def _read_load(self, data: ProbeData) -> None:
        # os.getloadavg() ignores psutil.PROCFS_PATH, so read the file under our root.
        loads = parse_loadavg(self._read_text("loadavg"))
        for metric, value in zip(("load1", "load5", "load15"), loads, strict=True):
            data.add(metric, value)
            if self._cpu.count:
                data.add(f"{metric}_per_core", value / self._cpu.count)

    def _read_memory(self, data: ProbeData) -> None:
        memory = psutil.virtual_memory()
        data.add("memory_total_bytes", float(memory.total))
        data.add("memory_available_bytes", float(memory.available))
        if memory.total:
            used = (memory.total - memory.available) / memory.total
            data.add("memory_used_ratio", round(used, 6))

    def _read_swap(self, data: ProbeData) -> None:
        swap = psutil.swap_memory()
        data.add("swap_total_bytes", float(swap.total))
        data.add("swap_used_bytes", float(swap.used))
        if swap.total:
            data.add("swap_used_ratio", round(swap.used / swap.total, 6))
        # psutil assumes 4 KiB pages for these; the kernel counts in the real page size.
        pages_in, pages_out = parse_vmstat_swap(self._read_text("vmstat"))
        data.add("swap_in_bytes_total", float(pages_in * self._page_size))
        data.add("swap_out_bytes_total", float(pages_out * self._page_size))

    def _read_filesystems(self, data: ProbeData) -> None:
        try:
            text = self._read_text("self/mounts")
        except FileNotFoundError:
            text = self._read_text("mounts")
        mounts = select_filesystems(parse_mounts(text), self._fs_types, self._mount_points)
        stats = self._filesystems.stat_all([mount.mountpoint for mount in mounts])
        for mount in mounts:
            outcome = stats[mount.mountpoint]
            if isinstance(outcome, MountHungError):
                data.source_errors[f"filesystem {mount.mountpoint}"] = str(outcome)
            elif isinstance(outcome, OSError):
                data.source_errors[f"filesystem {mount.mountpoint}"] = describe_error(outcome)
            else:
                add_filesystem_samples(data, mount, outcome)

    def _read_disks(self, data: ProbeData) -> None:
        # Without <procfs>/diskstats psutil falls back to the real /sys/block: not our root.
        os.stat(f"{self._procfs}/diskstats")
        for device, io in psutil.disk_io_counters(perdisk=True, nowrap=False).items():
            if self._disks and self._disks.search(device):
                continue
            data.add("disk_read_bytes_total", float(io.read_bytes), device=device)
            data.add("disk_written_bytes_total", float(io.write_bytes), device=device)
            data.add("disk_reads_total", float(io.read_count), device=device)
            data.add("disk_writes_total", float(io.write_count), device=device)
            data.add("disk_io_time_seconds_total", io.busy_time / 1000, device=device)

    def _read_network(self, data: ProbeData) -> None:
        for name, io in psutil.net_io_counters(pernic=True, nowrap=False).items():
            if self._interfaces and self._interfaces.search(name):
                continue
            data.add("network_receive_bytes_total", float(io.bytes_recv), interface=name)
            data.add("network_transmit_bytes_total", float(io.bytes_sent), interface=name)
            data.add("network_receive_packets_total", float(io.packets_recv), interface=name)
            data.add("network_transmit_packets_total", float(io.packets_sent), interface=name)
            data.add("network_receive_errors_total", float(io.errin), interface=name)
            data.add("network_transmit_errors_total", float(io.errout), interface=name)
            data.add("network_receive_drops_total", float(io.dropin), interface=name)
            data.add("network_transmit_drops_total", float(io.dropout), interface=name)

    def _read_uptime(self, data: ProbeData) -> None:
        if self._boot_time is None:  # fixed until reboot, and the reboot restarts us
            self._boot_time = psutil.boot_time()
        data.add("boot_time_seconds", self._boot_time)
        data.add("uptime_seconds", parse_uptime(self._read_text("uptime")))

    def _read_processes(self, data: ProbeData) -> None:
        data.add("processes", float(len(psutil.pids())))

    def _read_sensors(self, data: ProbeData) -> None:
        for metric, prefix, read in self._sensors:
            add_sensor_samples(data, metric, prefix, read())


def add_filesystem_samples(data: ProbeData, mount: Mount, stats: os.statvfs_result) -> None:
    """Size, free space and inodes of one filesystem; "used" as df computes it."""
    labels = {"mountpoint": mount.mountpoint, "device": mount.device, "fstype": mount.fstype}
    size = stats.f_blocks * stats.f_frsize
    avail = stats.f_bavail * stats.f_frsize
    used = size - stats.f_bfree * stats.f_frsize
    data.add("filesystem_size_bytes", float(size), **labels)
    data.add("filesystem_avail_bytes", float(avail), **labels)
    if used + avail > 0:  # root-reserved blocks count as neither, like df's Use%
        data.add("filesystem_used_ratio", round(used / (used + avail), 6), **labels)
    data.add("filesystem_inodes_total", float(stats.f_files), **labels)
    data.add("filesystem_inodes_free", float(stats.f_ffree), **labels)
    if stats.f_files > 0:  # btrfs and others report no inode limit
        used_inodes = stats.f_files - stats.f_ffree
        ratio = round(used_inodes / stats.f_files, 6)
        data.add("filesystem_inodes_used_ratio", ratio, **labels)


def _sum_pairs(pairs: Iterable[tuple[float, float]]) -> tuple[float, float]:
    busy = total = 0.0
    for pair_busy, pair_total in pairs:
        busy += pair_busy
        total += pair_total
    return busy, total


def describe_error(exc: BaseException) -> str:
    """A short operator-facing reason: file and OS message for I/O errors, else the text."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return f"{type(exc).__name__}: {exc}" if not isinstance(exc, ProbeError) else str(exc)


def build_host_probes(settings: HostSettings, context: ProbeContext) -> list[Probe]:
    """The host probe when enabled, reading the agent's procfs root."""
    return [HostProbe(settings, context.procfs)] if settings.enabled else []


PROBE = ProbeKind("host", HostSettings, build_host_probes)
