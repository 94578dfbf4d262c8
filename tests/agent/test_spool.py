"""The spool never stops the agent: a read-only or full spool directory keeps reports in memory
with one warning, every dropped report is counted and logged once, no partial file is left."""

from __future__ import annotations

import errno
import logging
import os
import subprocess
from pathlib import Path

import pytest
import requests

from agent.spool import DirectorySpool, MemorySpool
from tests.agent.mounts import full_disk, is_root, read_only_directory
from tests.agent.test_cli import WATCHKEEPER
from tests.peers import free_port, wait_until

REFUSED = "Read-only file system" if is_root() else "Permission denied"


def body(n: int, size: int = 3000) -> bytes:
    """A distinct body of `size` bytes (spools do not look inside)."""
    return f"{n:06d}".encode() * (size // 6)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def drain(spool: DirectorySpool | MemorySpool) -> list[bytes]:
    taken = []
    while (oldest := spool.oldest()) is not None:
        taken.append(oldest)
        spool.pop_oldest()
    return taken


def test_read_only_spool_dir_keeps_reports_in_memory_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with read_only_directory(tmp_path / "spool") as directory:
        spool = DirectorySpool(directory, 1 << 20)
        for n in (1, 2, 3):
            spool.push(body(n))
        assert not spool.on_disk and spool.count == 3 and spool.dropped_total == 0
        assert list(directory.iterdir()) == []
        assert drain(spool) == [body(1), body(2), body(3)]
    [warning] = warnings_of(caplog)
    assert warning == (
        f"spool_dir {directory} cannot be used ({REFUSED}): reports wait in memory while the "
        "collector is unreachable, and are lost if the agent restarts"
    )


def test_a_file_where_the_spool_dir_should_be_means_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "spool").write_text("not a directory")
    spool = DirectorySpool(tmp_path / "spool", 1 << 20)
    spool.push(body(1))
    assert (spool.on_disk, spool.count, spool.oldest()) == (False, 1, body(1))
    [warning] = warnings_of(caplog)
    assert warning.startswith(f"spool_dir {tmp_path / 'spool'} cannot be used (File exists)")


def _check_full_disk_behaviour(
    spool: DirectorySpool, directory: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for n in range(1, 11):
        spool.push(body(n))
    assert spool.on_disk and spool.count == 10 and spool.dropped_total == 0
    assert 0 < len(list(directory.glob("*.json.gz"))) < 10, "some on disk, the rest in memory"
    assert list(directory.glob("*.tmp")) == [], "no empty or partial file left behind"
    assert warnings_of(caplog) == [
        f"cannot write to spool_dir {directory} (No space left on device): reports wait in "
        "memory until the collector has taken them (lost if the agent restarts meanwhile)"
    ]
    assert drain(spool) == [body(n) for n in range(1, 11)], "oldest first, disk then memory"
    assert list(directory.iterdir()) == []
    spool.push(body(11))
    assert len(list(directory.glob("*.json.gz"))) == 1, "back on disk once there is room"


def test_a_really_full_disk_keeps_reports_in_memory_in_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with full_disk(tmp_path / "spool", pages=4) as directory:
        spool = DirectorySpool(directory, 1 << 20)
        _check_full_disk_behaviour(spool, directory, caplog)


def test_enospc_from_an_injected_writer_leaves_no_partial_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The same as a full disk, simulated (runs without root): room for three bodies."""

    def writer(path: Path, data: bytes) -> None:
        with path.open("wb") as file:
            if len(list(path.parent.glob("*.json.gz"))) >= 3:
                file.write(data[:100])  # a short write, then the disk is full
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            file.write(data)

    directory = tmp_path / "spool"
    _check_full_disk_behaviour(DirectorySpool(directory, 1 << 20, writer), directory, caplog)


def test_every_dropped_report_is_counted_and_logged_once_per_episode(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = DirectorySpool(tmp_path / "spool", max_bytes=2 * 3000 + 100)
    for n in range(1, 7):
        spool.push(body(n))
    assert (spool.count, spool.dropped_total) == (2, 4)
    assert drain(spool) == [body(5), body(6)]
    for n in range(7, 10):
        spool.push(body(n))
    assert spool.dropped_total == 5
    expected = (
        f"spool_dir {tmp_path / 'spool'} is full (budget 6100 bytes, max_spool_bytes): dropping "
        "the oldest reports; each is counted in watchkeeper_agent_spool_dropped_reports_total"
    )
    assert warnings_of(caplog) == [expected, expected], "once per episode, not per report"


def test_the_memory_fallback_counts_its_drops_too(tmp_path: Path) -> None:
    with read_only_directory(tmp_path / "spool") as directory:
        spool = DirectorySpool(directory, max_bytes=2 * 3000 + 100)
        for n in range(1, 6):
            spool.push(body(n))
    assert (spool.count, spool.dropped_total) == (2, 3)


def _self_metric(url: str, name: str) -> float:
    for line in requests.get(url, timeout=5).text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return -1.0


def test_a_real_agent_with_a_read_only_spool_dir_keeps_running(tmp_path: Path) -> None:
    listen = f"127.0.0.1:{free_port()}"
    with read_only_directory(tmp_path / "spool") as directory:
        config = tmp_path / "agent.yaml"
        config.write_text(
            f"collector: http://127.0.0.1:{free_port()}\ntoken: t\ninterval: 1s\n"
            f"listen: {listen}\nspool_dir: {directory}\n"
        )
        log = tmp_path / "agent.log"
        agent = subprocess.Popen(
            [WATCHKEEPER, "agent", "--config", str(config)],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        try:
            metrics = f"http://{listen}/metrics"
            spooled = "watchkeeper_agent_spooled_reports"
            wait_until(lambda: _self_metric(metrics, spooled) >= 2, 30, f"2 spooled ({log})")
            assert agent.poll() is None, "the agent is still running"
        finally:
            agent.terminate()
            agent.wait(10)
    assert log.read_text().count(f"spool_dir {directory} cannot be used ({REFUSED})") == 1
