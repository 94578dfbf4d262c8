"""`make dist` builds the single-file agent (a shiv zipapp) that runs with the system's
python3 and no pip: `--once` prints a real report of this machine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.mark.timeout(300)
def test_make_dist_builds_an_agent_that_runs_once(tmp_path: Path) -> None:
    if shutil.which("make") is None or not (BIN / "shiv").exists():
        pytest.skip("make dist needs make and shiv (pip install -e '.[test]')")
    dist = tmp_path / "dist"
    built = subprocess.run(
        ["make", "-C", str(ROOT), "dist", f"DIST={dist}", f"BIN={BIN}"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    pyz = dist / "watchkeeper-agent.pyz"
    names = zipfile.ZipFile(pyz).namelist()
    assert any("site-packages/psutil/" in n for n in names)  # the dependencies travel along
    assert not any("site-packages/sqlalchemy/" in n for n in names)  # not the collector's
    env = {"PATH": os.environ["PATH"], "SHIV_ROOT": str(tmp_path / "shiv")}
    python = shutil.which("python3") or sys.executable
    ran = subprocess.run(
        [python, str(pyz), "agent", "--once", "--host", "zipapp-test"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    report = json.loads(ran.stdout)
    assert report["host"] == "zipapp-test"
    (host,) = [p for p in report["probes"] if p["probe"] == "host"]
    assert host["status"] == "ok"
    assert any(s["metric"] == "cpu_usage_ratio" for s in host["samples"])
