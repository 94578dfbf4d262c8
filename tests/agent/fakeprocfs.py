"""A fake procfs tree a test controls: load, memory, CPU times, mounts, disks, interfaces.

Point the agent at it with `--procfs <root>` (or HostProbe(procfs=root)) and rewrite a value
between cycles to drive a threshold crossing without depending on the machine's real load.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

KIB = 1024

_MEMINFO = """\
MemTotal:       {total} kB
MemFree:        {free} kB
MemAvailable:   {available} kB
Buffers:        1024 kB
Cached:         {cached} kB
SwapCached:     0 kB
Active:         {active} kB
Inactive:       {inactive} kB
Shmem:          2048 kB
Slab:           8192 kB
SReclaimable:   4096 kB
SUnreclaim:     4096 kB
SwapTotal:      {swap_total} kB
SwapFree:       {swap_free} kB
"""

_NET_DEV = """\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
"""  # noqa: E501


class FakeProcfs:
    """Writes the files HostProbe reads under `root`; every setter rewrites its file."""

    def __init__(self, root: Path, data_mount: Path, cpus: int = 2) -> None:
        self.root = root
        self.data_mount = data_mount
        (root / "self").mkdir(parents=True, exist_ok=True)
        (root / "net").mkdir(exist_ok=True)
        for pid in ("1", "42", "4242"):
            (root / pid).mkdir(exist_ok=True)
        data_mount.mkdir(parents=True, exist_ok=True)
        self.set_cpu_jiffies([(100, 900)] * cpus)
        self.set_load(0.5, 0.4, 0.3)
        self.set_memory(total_kib=8 * KIB * KIB, available_kib=6 * KIB * KIB)
        self.set_vmstat(pswpin=10, pswpout=20)
        self.set_uptime(3600.5)
        self.write_mounts()
        self.write("diskstats", DISKSTATS)
        self.set_network({"lo": (1000, 10, 0, 0, 1000, 10, 0, 0)})

    def write(self, name: str, text: str) -> None:
        """Replace one file atomically, as the kernel's files never appear half-written."""
        path = self.root / name
        partial = path.with_name(path.name + ".tmp")
        partial.write_text(text)
        partial.replace(path)

    def set_cpu_jiffies(self, per_cpu: Sequence[tuple[int, int]]) -> None:
        """(busy, idle) jiffies of each CPU since boot; busy is all counted as user time."""
        lines = [_cpu_line("cpu", sum(b for b, _ in per_cpu), sum(i for _, i in per_cpu))]
        lines += [_cpu_line(f"cpu{n}", busy, idle) for n, (busy, idle) in enumerate(per_cpu)]
        lines += ["intr 0", "ctxt 12345", "btime 1700000000", "processes 4242"]
        self.write("stat", "\n".join(lines) + "\n")

    def set_load(self, load1: float, load5: float, load15: float) -> None:
        """The load averages in <root>/loadavg."""
        self.write("loadavg", f"{load1:.2f} {load5:.2f} {load15:.2f} 2/300 4242\n")

    def set_memory(
        self, total_kib: int, available_kib: int, swap_total_kib: int = 0, swap_free_kib: int = 0
    ) -> None:
        """MemTotal/MemAvailable/SwapTotal/SwapFree in <root>/meminfo (kB, like the kernel)."""
        text = _MEMINFO.format(
            total=total_kib,
            free=available_kib // 2,
            available=available_kib,
            cached=available_kib // 4,
            active=total_kib // 4,
            inactive=total_kib // 8,
            swap_total=swap_total_kib,
            swap_free=swap_free_kib,
        )
        self.write("meminfo", text)

    def set_vmstat(self, pswpin: int, pswpout: int) -> None:
        """Pages swapped in and out since boot."""
        self.write("vmstat", f"nr_free_pages 1000\npgpgin 5\npswpin {pswpin}\npswpout {pswpout}\n")

    def set_uptime(self, seconds: float) -> None:
        """Seconds since boot in <root>/uptime."""
        self.write("uptime", f"{seconds:.2f} {seconds * 1.5:.2f}\n")

    def set_network(self, interfaces: dict[str, tuple[int, ...]]) -> None:
        """Per interface: rx bytes, rx packets, rx errs, rx drop, tx bytes, tx packets, tx errs,
        tx drop."""
        lines = [_NET_DEV]
        for name, (rxb, rxp, rxe, rxd, txb, txp, txe, txd) in interfaces.items():
            lines.append(
                f"{name:>6}: {rxb} {rxp} {rxe} {rxd} 0 0 0 0 {txb} {txp} {txe} {txd} 0 0 0 0\n"
            )
        self.write("net/dev", "".join(lines))

    def write_mounts(self, extra: str = "") -> None:
        """A real filesystem at `data_mount` plus pseudo ones node_exporter skips."""
        escaped = str(self.data_mount).replace(" ", "\\040")
        self.write(
            "self/mounts",
            "proc /proc proc rw,relatime 0 0\n"
            "sysfs /sys sysfs rw 0 0\n"
            "tmpfs /dev/shm tmpfs rw 0 0\n"
            "overlay /var/lib/docker/overlay2/abc/merged overlay rw 0 0\n"
            "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"
            f"/dev/fake1 {escaped} ext4 rw,relatime 0 0\n"
            f"/dev/fake1 {escaped} ext4 rw,relatime 0 0\n" + extra,
        )


DISKSTATS = """\
   7       0 loop0 5 0 10 0 0 0 0 0 0 4 0 0 0 0 0 0 0
   8       0 sda 1000 10 2048 300 500 20 4096 700 0 1500 1000 0 0 0 0 0 0
   8       1 sda1 900 10 1800 250 480 20 4000 650 0 1400 900 0 0 0 0 0 0
 259       0 nvme0n1 70 0 140 5 30 0 60 2 0 2500 7 0 0 0 0 0 0
 259       1 nvme0n1p1 60 0 120 4 25 0 50 2 0 2400 6 0 0 0 0 0 0
"""


def _cpu_line(name: str, busy: int, idle: int) -> str:
    return f"{name} {busy} 0 0 {idle} 0 0 0 0 0 0"
