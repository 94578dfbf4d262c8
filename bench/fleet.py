"""Simulated agents: fresh host reports with rising sequence numbers, stamped with the time now.

Each `SimulatedHost` builds a new report per call, shaped like a real 8-core server's host probe
(the metric names of agent/probes/host.py, about 150 samples): counters rise with every report,
gauges wander a little around a level that breaches no built-in rule, and the report carries
the current `time` and the next `sequence`, as a real agent's would. Nothing is replayed.
"""

from __future__ import annotations

import gzip

from agent.report import SCHEMA_V1, ProbeResult, Report, Sample, encode_report

AGENT_VERSION = "bench"
INTERVAL_SECONDS = 10.0
# The agent compresses at level 6; level 1 keeps the load generator's CPU low and costs the
# collector the same to inflate.
GZIP_LEVEL = 1
MOUNTS = ("/", "/var", "/home", "/srv", "/boot", "/data1", "/data2", "/tmp")
DISKS = ("sda", "sdb", "sdc", "sdd", "nvme0n1", "nvme1n1")
INTERFACES = ("eth0", "eth1", "bond0", "lo", "docker0")
DISK_COUNTERS = (
    ("disk_read_bytes_total", 40960.0),
    ("disk_written_bytes_total", 81920.0),
    ("disk_reads_total", 10.0),
    ("disk_writes_total", 20.0),
    ("disk_io_time_seconds_total", 0.01),
)
NETWORK_COUNTERS = (
    ("network_receive_bytes_total", 150000.0),
    ("network_transmit_bytes_total", 90000.0),
    ("network_receive_packets_total", 120.0),
    ("network_transmit_packets_total", 100.0),
    ("network_receive_errors_total", 0.0),
    ("network_transmit_errors_total", 0.0),
    ("network_receive_drops_total", 0.0),
    ("network_transmit_drops_total", 0.0),
)


def wobble(seed: int, step: int) -> float:
    """A small, trendless variation in [0, 1) so gauges move without crossing a threshold."""
    return ((seed * 7919 + step * 104729) % 1000) / 1000


def host_samples(seed: int, step: int, memory_used_ratio: float | None = None) -> list[Sample]:
    """About 150 samples of one host probe cycle: `step` is how many cycles came before."""
    v = wobble(seed, step)
    s = [Sample("logical_cpus", 8.0), Sample("cpu_usage_ratio", 0.2 + v / 5, {"cpu": "total"})]
    s += [Sample("cpu_usage_ratio", 0.1 + v / 4, {"cpu": str(c)}) for c in range(8)]
    for name in ("load1", "load5", "load15"):
        s += [Sample(name, 2.0 + v), Sample(f"{name}_per_core", 0.25 + v / 8)]
    memory = 0.5 + v / 5 if memory_used_ratio is None else memory_used_ratio
    s += [
        Sample("memory_total_bytes", 64e9),
        Sample("memory_available_bytes", round(64e9 * (1 - memory))),
        Sample("memory_used_ratio", memory),
        Sample("swap_total_bytes", 8e9),
        Sample("swap_used_bytes", 1e8),
        Sample("swap_used_ratio", 0.0125),
        Sample("swap_in_bytes_total", 1e6 + step * 4096.0),
        Sample("swap_out_bytes_total", 2e6 + step * 4096.0),
    ]
    s += device_samples(seed, step, v)
    s += [
        Sample("temperature_celsius", 40 + v * 10, {"chip": "coretemp", "sensor": f"Core {c}"})
        for c in range(8)
    ]
    s += [
        Sample("boot_time_seconds", 1.7e9),
        Sample("uptime_seconds", 86400.0 + seed + step * INTERVAL_SECONDS),
        Sample("processes", 300.0 + (step % 20)),
    ]
    return s


def device_samples(seed: int, step: int, v: float) -> list[Sample]:
    """Filesystems (level, no trend), disk and network counters (rising with `step`)."""
    s = []
    for i, mount in enumerate(MOUNTS):
        labels = {"mountpoint": mount, "device": f"/dev/sd{chr(97 + i)}1", "fstype": "ext4"}
        s += [
            Sample("filesystem_size_bytes", 1e12, labels),
            Sample("filesystem_avail_bytes", 4e11, labels),
            Sample("filesystem_used_ratio", 0.6 + v / 100, labels),
            Sample("filesystem_inodes_total", 6e7, labels),
            Sample("filesystem_inodes_free", 5e7, labels),
            Sample("filesystem_inodes_used_ratio", 0.166667, labels),
        ]
    for disk in DISKS:
        s += [Sample(m, 1e9 + seed + step * per, {"device": disk}) for m, per in DISK_COUNTERS]
    for nic in INTERFACES:
        s += [Sample(m, 5e9 + seed + step * per, {"interface": nic}) for m, per in NETWORK_COUNTERS]
    return s


def realistic_samples(seed: int) -> list[Sample]:
    """One cycle's samples for host `seed` (kept for the rule-evaluation benchmark)."""
    return host_samples(seed, seed)


class SimulatedHost:
    """One agent: every call to `next_body` is a new cycle with the next sequence number."""

    def __init__(self, name: str, seed: int, sequence: int = 0) -> None:
        self.name = name
        self.seed = seed
        self.sequence = sequence

    def next_report(self, now: float, memory_used_ratio: float | None = None) -> Report:
        """The next cycle's report, stamped `now`."""
        self.sequence += 1
        samples = host_samples(self.seed, self.sequence, memory_used_ratio)
        probe = ProbeResult("host", "ok", 0.004, samples)
        return Report(
            SCHEMA_V1, self.name, now, self.sequence, AGENT_VERSION, INTERVAL_SECONDS, [probe]
        )

    def next_body(self, now: float, memory_used_ratio: float | None = None) -> bytes:
        """The next report as the gzip body an agent POSTs."""
        raw = encode_report(self.next_report(now, memory_used_ratio))
        return gzip.compress(raw, GZIP_LEVEL, mtime=0)


SAMPLES_PER_REPORT = len(host_samples(0, 0))
