"""The systemd units are valid (`systemd-analyze verify`) and the collector's is locked down
(`systemd-analyze security` exposure at most 2.0 of 10: it needs no privilege at all)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parent.parent / "deploy" / "systemd"
WATCHKEEPER = str(Path(sys.executable).parent / "watchkeeper")


def installed(unit: str, folder: Path) -> Path:
    """The unit as installed here: ExecStart pointing at this environment's command."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    text = (UNITS / unit).read_text().replace("/usr/local/bin/watchkeeper", WATCHKEEPER)
    path = folder / unit
    path.write_text(text)
    return path


@pytest.mark.parametrize("unit", ["watchkeeper-collector.service", "watchkeeper-agent.service"])
def test_units_verify(unit: str, tmp_path: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(installed(unit, tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and unit not in result.stderr, result.stderr


def test_the_collector_unit_is_hardened(tmp_path: Path) -> None:
    path = installed("watchkeeper-collector.service", tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    assert found, result.stdout[-2000:] + result.stderr
    assert float(found.group(1)) <= 2.0, result.stdout
    text = path.read_text()
    assert "LimitNOFILE=65536" in text and "ExecReload=/bin/kill -HUP $MAINPID" in text
