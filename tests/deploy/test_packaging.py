"""The wheel carries everything the product needs at run time, installs in a clean virtualenv
(the agent alone without the collector's dependencies; with [collector], a collector that
starts and checks rules from the installed files), and the licence matches pyproject."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.peers import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable

# Data files (not Python) the product reads at run time, as globs of the source tree.
RUNTIME_DATA = [
    "rules/packs/*.yaml",
    "agent/metrics_catalogue.yaml",
    "agent/probes/snmp/profiles/*.yaml",
    "collector/web/templates/*.html",
    "collector/web/static/*",
    "collector/web/locale/*/LC_MESSAGES/*.po",
    "collector/reports/templates/*.html",
    "collector/store/migrations/env.py",
    "collector/store/migrations/versions/*.py",
]


def run(command: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = run([PYTHON, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT), "-w", str(out)], out)
    assert built.returncode == 0, built.stderr[-3000:]
    (found,) = out.glob("watchkeeper-*.whl")
    return found


def venv(path: Path, wheel: Path, extra: str = "") -> Path:
    """A fresh virtualenv with the wheel installed (dependencies from the configured index)."""
    assert run([PYTHON, "-m", "venv", str(path)], path.parent).returncode == 0
    installed = run([str(path / "bin/pip"), "install", "-q", f"{wheel}{extra}"], path.parent)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return path / "bin"


def test_the_wheel_holds_every_runtime_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {str(p.relative_to(ROOT)) for g in RUNTIME_DATA for p in ROOT.glob(g)}
    assert {n for n in expected if "/__pycache__/" not in n} <= names
    assert any(n.startswith("rules/packs/") for n in names)
    assert any(n.endswith("/licenses/LICENSE") for n in names)


def test_the_licence_file_matches_pyproject(wheel: Path) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    metadata = zipfile.ZipFile(wheel).read("watchkeeper-0.1.0.dist-info/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata


def test_the_agent_alone_installs_without_the_collector_stack(wheel: Path, tmp_path: Path) -> None:
    bin_dir = venv(tmp_path / "agent-venv", wheel)
    listed = run([str(bin_dir / "pip"), "list", "--format=freeze"], tmp_path).stdout.lower()
    for package in ("pydantic", "sqlalchemy", "starlette", "uvicorn", "weasyprint", "pysnmp"):
        assert f"{package}==" not in listed, f"the agent-only install pulled in {package}"
    version = run([str(bin_dir / "watchkeeper"), "--version"], tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("watchkeeper 0.1.0")
    refused = run([str(bin_dir / "watchkeeper"), "rules", "check", "x.yaml"], tmp_path)
    assert refused.returncode == 2 and "pip install 'watchkeeper[collector]'" in refused.stderr


@pytest.fixture
def collector_venv(wheel: Path, tmp_path: Path) -> Iterator[Path]:
    yield venv(tmp_path / "collector-venv", wheel, "[collector]")


@pytest.mark.timeout(400)
def test_the_installed_collector_checks_rules_and_starts(
    collector_venv: Path, tmp_path: Path
) -> None:
    watchkeeper = str(collector_venv / "watchkeeper")
    rules = tmp_path / "mine.yaml"
    rules.write_text(
        "group: mine\nrules:\n  - {name: Busy, priority: P3, metric: cpu_usage_ratio,"
        " above: 0.9, summary: busy}\n"
    )
    checked = run([watchkeeper, "rules", "check", str(rules)], tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    where = run(
        [str(collector_venv / "python"), "-c", "import rules; print(rules.__file__)"], tmp_path
    )
    assert str(collector_venv.parent) in where.stdout  # the installed copy, not the source tree
    port = free_port()
    process = subprocess.Popen(
        [watchkeeper, "collector", "--listen", f"127.0.0.1:{port}",
         "--database", f"sqlite:///{tmp_path / 'wk.db'}"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        healthy = f"http://127.0.0.1:{port}/-/healthy"
        wait_until(lambda: requests.get(healthy, timeout=1).ok, 60, "the installed collector")
        login = requests.get(f"http://127.0.0.1:{port}/login", timeout=5)
        assert login.status_code == 200 and "<form" in login.text  # templates shipped
    finally:
        process.terminate()
        process.wait(15)
    assert (tmp_path / "wk.db").stat().st_size > 0  # the shipped migrations ran
