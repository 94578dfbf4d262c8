"""HostProbe against a fake procfs the test controls: the numbers a monitor alerts on."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import NamedTuple

import pytest

from agent.probe import ProbeData, ProbeError
from agent.probes.host import (
    FS_TYPES_EXCLUDE,
    MOUNT_POINTS_EXCLUDE,
    HostProbe,
    HostSettings,
    Mount,
    build_host_probes,
    compile_filter,
    parse_mounts,
    select_filesystems,
)
from agent.probes.kind import ProbeContext
from agent.report import Sample
from tests.agent.fakeprocfs import KIB, FakeProcfs
from tests.peers import wait_until

GIB_KIB = KIB * KIB


class Reading(NamedTuple):
    label: str
    current: float


def no_sensors() -> dict[str, list[Reading]]:
    return {}


def probe_for(fake: FakeProcfs, settings: HostSettings | None = None) -> HostProbe:
    return HostProbe(settings, fake.root, read_temperatures=no_sensors, read_fans=no_sensors)


def values(data: ProbeData, metric: str) -> dict[tuple[tuple[str, str], ...], float | str]:
    return {tuple(sorted(s.labels.items())): s.value for s in data.samples if s.metric == metric}


def value(data: ProbeData, metric: str, **labels: str) -> float | str:
    found = [s for s in data.samples if s.metric == metric and s.labels == labels]
    assert len(found) == 1, f"{metric}{labels}: {found}"
    return found[0].value


def test_load_per_core_divides_by_the_cpus_in_procfs_stat(fake_procfs: FakeProcfs) -> None:
    fake_procfs.set_load(7.5, 3.0, 1.0)
    data = probe_for(fake_procfs).collect()
    assert value(data, "logical_cpus") == 2
    assert (value(data, "load1"), value(data, "load5"), value(data, "load15")) == (7.5, 3.0, 1.0)
    assert value(data, "load1_per_core") == 3.75
    assert value(data, "load15_per_core") == 0.5


def test_load_and_memory_are_reread_every_cycle(fake_procfs: FakeProcfs) -> None:
    probe = probe_for(fake_procfs)
    fake_procfs.set_memory(total_kib=8 * GIB_KIB, available_kib=6 * GIB_KIB)
    first = probe.collect()
    fake_procfs.set_load(9.0, 5.0, 2.0)
    fake_procfs.set_memory(total_kib=8 * GIB_KIB, available_kib=GIB_KIB // 2)
    second = probe.collect()
    assert value(first, "memory_used_ratio") == 0.25
    assert value(second, "memory_used_ratio") == pytest.approx(0.9375)
    assert value(second, "load1_per_core") == 4.5


def test_memory_totals_in_bytes(fake_procfs: FakeProcfs) -> None:
    fake_procfs.set_memory(total_kib=4 * GIB_KIB, available_kib=GIB_KIB)
    data = probe_for(fake_procfs).collect()
    assert value(data, "memory_total_bytes") == 4 * 1024**3
    assert value(data, "memory_available_bytes") == 1024**3
    assert value(data, "memory_used_ratio") == 0.75


def test_cpu_usage_needs_two_cycles_then_is_per_core_and_total(fake_procfs: FakeProcfs) -> None:
    probe = probe_for(fake_procfs)
    fake_procfs.set_cpu_jiffies([(100, 900), (100, 900)])
    first = probe.collect()
    fake_procfs.set_cpu_jiffies([(150, 950), (100, 1000)])  # cpu0 half busy, cpu1 idle
    second = probe.collect()
    assert values(first, "cpu_usage_ratio") == {}
    assert value(second, "cpu_usage_ratio", cpu="0") == 0.5
    assert value(second, "cpu_usage_ratio", cpu="1") == 0.0
    assert value(second, "cpu_usage_ratio", cpu="total") == 0.25


def test_cpu_usage_skipped_when_no_time_passed(fake_procfs: FakeProcfs) -> None:
    probe = probe_for(fake_procfs)
    probe.collect()
    assert values(probe.collect(), "cpu_usage_ratio") == {}


def test_swap_ratio_and_paged_bytes(fake_procfs: FakeProcfs) -> None:
    fake_procfs.set_memory(
        total_kib=GIB_KIB,
        available_kib=GIB_KIB // 2,
        swap_total_kib=GIB_KIB,
        swap_free_kib=GIB_KIB // 4,
    )
    fake_procfs.set_vmstat(pswpin=3, pswpout=5)
    data = probe_for(fake_procfs).collect()
    page = os.sysconf("SC_PAGE_SIZE")
    assert value(data, "swap_total_bytes") == 1024**3
    assert value(data, "swap_used_bytes") == 0.75 * 1024**3
    assert value(data, "swap_used_ratio") == 0.75
    assert value(data, "swap_in_bytes_total") == 3 * page
    assert value(data, "swap_out_bytes_total") == 5 * page


def test_no_swap_ratio_without_swap(fake_procfs: FakeProcfs) -> None:
    data = probe_for(fake_procfs).collect()
    assert value(data, "swap_total_bytes") == 0
    assert values(data, "swap_used_ratio") == {}


def test_only_real_filesystems_once_each_with_statvfs_numbers(fake_procfs: FakeProcfs) -> None:
    data = probe_for(fake_procfs).collect()
    mountpoint = str(fake_procfs.data_mount)  # contains a space, escaped as \040 in mounts
    labels = {"mountpoint": mountpoint, "device": "/dev/fake1", "fstype": "ext4"}
    stats = os.statvfs(mountpoint)
    used = (stats.f_blocks - stats.f_bfree) * stats.f_frsize
    avail = stats.f_bavail * stats.f_frsize
    assert {dict(k)["mountpoint"] for k in values(data, "filesystem_size_bytes")} == {mountpoint}
    assert value(data, "filesystem_size_bytes", **labels) == stats.f_blocks * stats.f_frsize
    assert value(data, "filesystem_avail_bytes", **labels) == avail
    ratio = value(data, "filesystem_used_ratio", **labels)
    assert ratio == pytest.approx(used / (used + avail), abs=1e-6)
    assert value(data, "filesystem_inodes_total", **labels) == stats.f_files
    assert 0 <= float(value(data, "filesystem_inodes_used_ratio", **labels)) <= 1


def test_unreadable_mountpoint_is_a_source_error_not_a_failure(fake_procfs: FakeProcfs) -> None:
    fake_procfs.write_mounts(extra="/dev/gone /nonexistent/mnt xfs rw 0 0\n")
    data = probe_for(fake_procfs).collect()
    assert "No such file" in data.source_errors["filesystem /nonexistent/mnt"]
    assert value(data, "load1") == 0.5
    assert len(values(data, "filesystem_used_ratio")) == 1


class HangingStatvfs:
    """os.statvfs, except on `hung` where it blocks until released (a dead NFS server)."""

    def __init__(self, hung: str) -> None:
        self.hung = hung
        self.release = threading.Event()
        self.hung_calls = 0

    def __call__(self, path: str) -> os.statvfs_result:
        if path == self.hung:
            self.hung_calls += 1
            self.release.wait(30)
        return os.statvfs(path if path != self.hung else "/")


def test_a_hung_mount_is_skipped_reported_and_not_retried_while_hung(
    fake_procfs: FakeProcfs,
) -> None:
    # /srv/nfs sorts before the data mount in /proc/mounts order: the stats after it still come.
    fake_procfs.write_mounts(extra="nfs:/export /srv/nfs nfs4 rw 0 0\n/dev/fake2 / ext4 rw 0 0\n")
    statvfs = HangingStatvfs("/srv/nfs")
    settings = HostSettings(filesystem_timeout="200ms")
    probe = HostProbe(settings, fake_procfs.root, no_sensors, no_sensors, statvfs)
    started = time.monotonic()
    first = probe.collect()
    assert time.monotonic() - started < 2
    assert "did not return within 0.2 s" in first.source_errors["filesystem /srv/nfs"]
    mounted = {dict(k)["mountpoint"] for k in values(first, "filesystem_size_bytes")}
    assert mounted == {str(fake_procfs.data_mount), "/"}
    started = time.monotonic()
    second = probe.collect()
    assert time.monotonic() - started < 0.15, "waited for the hung mount again"
    assert "skipped until it returns" in second.source_errors["filesystem /srv/nfs"]
    assert statvfs.hung_calls == 1
    statvfs.release.set()
    wait_until(
        lambda: "filesystem /srv/nfs" not in probe.collect().source_errors, 5, "the mount back"
    )
    assert statvfs.hung_calls == 2


@pytest.mark.parametrize(
    ("mountpoint", "fstype", "kept"),
    [
        ("/", "ext4", True),
        ("/boot/efi", "vfat", True),
        ("/run", "tmpfs", True),
        ("/home", "nfs4", True),
        ("/proc", "proc", False),
        ("/sys/fs/cgroup", "cgroup2", False),
        ("/dev/shm", "tmpfs", False),
        ("/run/credentials/getty.service", "tmpfs", False),
        ("/var/lib/docker/overlay2/x/merged", "overlay", False),
        ("/var/lib/docker/volumes/v", "xfs", False),
        ("/snap/core/1", "squashfs", False),
        ("/run/netns/a", "nsfs", False),
    ],
    ids=str,
)
def test_node_exporter_default_exclusions(mountpoint: str, fstype: str, kept: bool) -> None:
    mounts = [Mount("dev", mountpoint, fstype)]
    fs_types = compile_filter("t", FS_TYPES_EXCLUDE)
    mount_points = compile_filter("m", MOUNT_POINTS_EXCLUDE)
    assert (select_filesystems(mounts, fs_types, mount_points) == mounts) is kept


def test_parse_mounts_decodes_octal_escapes() -> None:
    text = "/dev/sdb1 /mnt/My\\040Disk vfat rw 0 0\nshort line\n"
    assert parse_mounts(text) == [Mount("/dev/sdb1", "/mnt/My Disk", "vfat")]


def test_disk_io_for_whole_disks_only(fake_procfs: FakeProcfs) -> None:
    data = probe_for(fake_procfs).collect()
    assert {dict(k)["device"] for k in values(data, "disk_reads_total")} == {"sda", "nvme0n1"}
    assert value(data, "disk_reads_total", device="sda") == 1000
    assert value(data, "disk_writes_total", device="sda") == 500
    assert value(data, "disk_read_bytes_total", device="sda") == 2048 * 512
    assert value(data, "disk_written_bytes_total", device="sda") == 4096 * 512
    assert value(data, "disk_io_time_seconds_total", device="nvme0n1") == 2.5


def test_network_counters_per_interface_and_exclusion(fake_procfs: FakeProcfs) -> None:
    fake_procfs.set_network(
        {"eth0": (5000, 50, 3, 4, 6000, 60, 1, 2), "veth12ab": (1, 1, 0, 0, 1, 1, 0, 0)}
    )
    settings = HostSettings(network_interfaces_exclude="^veth")
    data = probe_for(fake_procfs, settings).collect()
    assert {dict(k)["interface"] for k in values(data, "network_receive_bytes_total")} == {"eth0"}
    assert value(data, "network_receive_bytes_total", interface="eth0") == 5000
    assert value(data, "network_transmit_bytes_total", interface="eth0") == 6000
    assert value(data, "network_receive_packets_total", interface="eth0") == 50
    assert value(data, "network_receive_errors_total", interface="eth0") == 3
    assert value(data, "network_receive_drops_total", interface="eth0") == 4
    assert value(data, "network_transmit_errors_total", interface="eth0") == 1
    assert value(data, "network_transmit_drops_total", interface="eth0") == 2


def test_uptime_boot_time_and_processes(fake_procfs: FakeProcfs) -> None:
    data = probe_for(fake_procfs).collect()
    assert value(data, "uptime_seconds") == 3600.5
    assert value(data, "boot_time_seconds") == 1700000000
    assert value(data, "processes") == 3


def test_sensors_labelled_by_chip_and_sensor_with_duplicates_told_apart(
    fake_procfs: FakeProcfs,
) -> None:
    def temperatures() -> dict[str, list[Reading]]:
        return {
            "coretemp": [Reading("Package id 0", 71.0), Reading("Core 0", 69.0)],
            "nvme": [Reading("Composite", 40.9), Reading("Composite", 45.9)],
            "acpitz": [Reading("", 27.8)],
        }

    def fans() -> dict[str, list[Reading]]:
        return {"nct6798": [Reading("", 0.0), Reading("cpu_fan", 1200.0)]}

    probe = HostProbe(None, fake_procfs.root, read_temperatures=temperatures, read_fans=fans)
    data = probe.collect()
    assert value(data, "temperature_celsius", chip="coretemp", sensor="Package id 0") == 71.0
    assert value(data, "temperature_celsius", chip="nvme", sensor="Composite") == 40.9
    assert value(data, "temperature_celsius", chip="nvme", sensor="Composite #2") == 45.9
    assert value(data, "temperature_celsius", chip="acpitz", sensor="temp1") == 27.8
    assert value(data, "fan_speed_rpm", chip="nct6798", sensor="fan1") == 0.0
    assert value(data, "fan_speed_rpm", chip="nct6798", sensor="cpu_fan") == 1200.0


def test_temperatures_off_reads_no_sensor(fake_procfs: FakeProcfs) -> None:
    def broken() -> dict[str, list[Reading]]:
        raise AssertionError("sensors must not be read")

    probe = HostProbe(HostSettings(temperatures=False), fake_procfs.root, broken, broken)
    assert not probe.collect().source_errors


def test_missing_procfs_file_is_a_source_error(fake_procfs: FakeProcfs) -> None:
    (fake_procfs.root / "loadavg").unlink()
    fake_procfs.write("net/dev", "header 1\nheader 2\n  eth0: 1 2 three\n")
    data = probe_for(fake_procfs).collect()
    assert "loadavg: No such file or directory" in data.source_errors["load"]
    assert "network" in data.source_errors
    assert value(data, "memory_used_ratio") == 0.25


def test_wrong_procfs_path_is_a_probe_error(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match=r"procfs root .*no-such-proc is not a directory"):
        HostProbe(None, tmp_path / "no-such-proc").collect()


def test_bad_regex_names_the_option() -> None:
    with pytest.raises(ValueError, match="disk_devices_exclude: invalid regular expression"):
        HostSettings(disk_devices_exclude="(")


def test_build_host_probes_honours_enabled(fake_procfs: FakeProcfs) -> None:
    from agent.exec import FixtureRunner

    runner = FixtureRunner({})
    assert build_host_probes(HostSettings(enabled=False), ProbeContext(runner)) == []
    (probe,) = build_host_probes(HostSettings(), ProbeContext(runner, str(fake_procfs.root)))
    assert probe.name == "host" and probe.min_interval_seconds == 0
    assert all(isinstance(s, Sample) for s in probe.collect().samples)
