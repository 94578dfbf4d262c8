"""The fixed diagnostics, one function each: what runs (or is read) for a name, and nothing
else. A diagnostic returns its text or raises DiagnosticError saying why it has none."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from agent.exec import CommandError, CommandRunner


class DiagnosticError(RuntimeError):
    """A diagnostic that could not be collected; the message says why."""


@dataclass(frozen=True)
class Tools:
    """Where diagnostics read and what they run: the procfs root, the command runner, the
    smartctl command (as the smart probe runs it: path, sudo) and mdadm."""

    runner: CommandRunner
    procfs: str = "/proc"
    smartctl: tuple[str, ...] = ("smartctl",)
    mdadm: str = "mdadm"
    top: int = 10
    cpu_sample: float = 0.5
    kernel_lines: int = 100
    sleep: Callable[[float], None] = time.sleep


def processes(tools: Tools, device: str | None, timeout: float) -> str:
    """The top processes by CPU (measured over `cpu_sample`) and by resident memory."""
    psutil.PROCFS_PATH = tools.procfs  # psutil reads its procfs root from this global
    found = [p for p in psutil.process_iter() if _prime(p)]
    tools.sleep(min(tools.cpu_sample, max(0.0, timeout / 2)))
    rows = [row for row in (_row(p) for p in found) if row is not None]
    by_cpu = sorted(rows, key=lambda r: (r[2], r[3]), reverse=True)[: tools.top]
    by_memory = sorted(rows, key=lambda r: r[4], reverse=True)[: tools.top]
    header = f"{'PID':>7} {'CPU%':>6} {'CPU s':>9} {'RSS MiB':>9}  COMMAND"
    return "\n".join(
        [f"Top {tools.top} by CPU:", header, *map(_line, by_cpu), "",
         f"Top {tools.top} by memory:", header, *map(_line, by_memory)]
    )  # fmt: skip


Row = tuple[int, str, float, float, int]  # pid, name, cpu %, cpu seconds, rss bytes


def _prime(process: psutil.Process) -> bool:
    try:
        process.cpu_percent(None)  # the first call starts the measurement
    except (psutil.Error, OSError):
        return False
    return True


def _row(process: psutil.Process) -> Row | None:
    try:
        with process.oneshot():
            times = process.cpu_times()
            return (
                process.pid,
                process.name(),
                process.cpu_percent(None),
                times.user + times.system,
                process.memory_info().rss,
            )
    except (psutil.Error, OSError):
        return None  # gone, or not ours to read: the list shows the others


def _line(row: Row) -> str:
    pid, name, percent, seconds, rss = row
    return f"{pid:>7} {percent:>6.1f} {seconds:>9.1f} {rss / 2**20:>9.1f}  {name}"


def kernel_log(tools: Tools, device: str | None, timeout: float) -> str:
    """The last kernel messages: journalctl -k, else dmesg."""
    lines = str(tools.kernel_lines)
    journal = ("journalctl", "-k", "-n", lines, "--no-pager", "-o", "short-iso")
    try:
        return _output(tools.runner, journal, timeout)
    except DiagnosticError as journal_failed:
        try:
            text = _output(tools.runner, ("dmesg", "-T"), timeout)
        except DiagnosticError as exc:
            raise DiagnosticError(f"{journal_failed}; {exc}") from exc
    return "\n".join(text.splitlines()[-tools.kernel_lines :])


def smart(tools: Tools, device: str | None, timeout: float) -> str:
    """The disk's full SMART report: smartctl --xall --json (every log and table it has)."""
    return _output(tools.runner, (*tools.smartctl, "--xall", "--json", _needed(device)), timeout)


def mdraid(tools: Tools, device: str | None, timeout: float) -> str:
    """The array in /proc/mdstat and mdadm --detail."""
    name = _needed(device)
    path = name if name.startswith("/dev/") else f"/dev/{name}"
    try:
        mdstat = Path(tools.procfs, "mdstat").read_text(errors="replace")
    except OSError as exc:
        mdstat = f"(cannot read {tools.procfs}/mdstat: {exc.strerror or exc})"
    try:
        detail = _output(tools.runner, (tools.mdadm, "--detail", path), timeout)
    except DiagnosticError as exc:
        detail = f"(not collected: {exc})"
    return f"{tools.procfs}/mdstat:\n{mdstat}\nmdadm --detail {path}:\n{detail}"


def network_errors(tools: Tools, device: str | None, timeout: float) -> str:
    """Each interface's receive and transmit errors and drops (<procfs>/net/dev)."""
    try:
        text = Path(tools.procfs, "net", "dev").read_text(errors="replace")
    except OSError as exc:
        raise DiagnosticError(f"cannot read {tools.procfs}/net/dev: {exc.strerror or exc}") from exc
    lines = [f"{'INTERFACE':<16} {'RX ERRS':>9} {'RX DROP':>9} {'TX ERRS':>9} {'TX DROP':>9}"]
    for line in text.splitlines()[2:]:
        name, _, rest = line.partition(":")
        fields = rest.split()
        if len(fields) >= 12:
            rx_errs, rx_drop, tx_errs, tx_drop = fields[2], fields[3], fields[10], fields[11]
            lines.append(f"{name.strip():<16} {rx_errs:>9} {rx_drop:>9} {tx_errs:>9} {tx_drop:>9}")
    return "\n".join(lines)


def _needed(device: str | None) -> str:
    if device is None:
        raise DiagnosticError("this diagnostic needs a device, and the request named none")
    return device


def _output(runner: CommandRunner, argv: Sequence[str], timeout: float) -> str:
    """What the command printed; its failure to run at all as a DiagnosticError."""
    try:
        result = runner.run(argv, timeout)
    except CommandError as exc:
        raise DiagnosticError(str(exc)) from exc
    if not result.stdout.strip():
        why = result.stderr.strip() or f"exit status {result.returncode}"
        raise DiagnosticError(f"{' '.join(argv)} printed nothing ({why[:200]})")
    return result.stdout


Diagnostic = Callable[[Tools, str | None, float], str]

SOURCES: dict[str, Diagnostic] = {
    "processes": processes,
    "kernel_log": kernel_log,
    "smart": smart,
    "mdraid": mdraid,
    "network_errors": network_errors,
}
