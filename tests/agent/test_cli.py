"""`watchkeeper` as a user runs it: --once output, config errors, sub-commands, light imports."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from agent.cli import COLLECTOR_MISSING, main, plugin_command
from agent.report import Report, decode_report
from tests.agent.fakeprocfs import FakeProcfs
from tests.conftest import ROOT

WATCHKEEPER = ROOT / ".venv" / "bin" / "watchkeeper"
COLLECTOR_DEPENDENCIES = (
    "pydantic",
    "sqlalchemy",
    "starlette",
    "uvicorn",
    "apprise",
    "jinja2",
    "alembic",
)


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WATCHKEEPER), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def root_fstype() -> str:
    """The type of the filesystem mounted last on "/" (the one that is visible)."""
    roots = [line.split() for line in Path("/proc/self/mounts").read_text().splitlines()]
    return [fields[2] for fields in roots if fields[1] == "/"][-1]


def samples(report: Report) -> dict[str, list[tuple[dict[str, str], float | str]]]:
    found: dict[str, list[tuple[dict[str, str], float | str]]] = {}
    for result in report.probes:
        for sample in result.samples:
            found.setdefault(sample.metric, []).append((sample.labels, sample.value))
    return found


def test_once_prints_a_valid_full_report_of_this_machine() -> None:
    done = run("agent", "--once", "--host", "probe-test")
    assert done.returncode == 0, done.stderr
    report = decode_report(done.stdout.encode())
    found = samples(report)
    assert report.host == "probe-test" and report.probes[0].probe == "host"
    assert report.probes[0].status in ("ok", "partial")
    assert "load1" in found and "memory_used_ratio" in found
    mountpoints = {labels["mountpoint"] for labels, _ in found["filesystem_used_ratio"]}
    if root_fstype() != "overlay":  # a container's overlay root is skipped, as node_exporter does
        assert "/" in mountpoints
    assert {labels["cpu"] for labels, _ in found["cpu_usage_ratio"]} >= {"total", "0"}


def test_once_reads_the_given_procfs(fake_procfs: FakeProcfs) -> None:
    fake_procfs.set_load(7.5, 2.0, 1.0)
    done = run("agent", "--once", "--procfs", str(fake_procfs.root))
    assert done.returncode == 0, done.stderr
    found = samples(decode_report(done.stdout.encode()))
    assert found["load1_per_core"] == [({}, 3.75)]
    assert found["memory_used_ratio"] == [({}, 0.25)]


def test_config_error_prints_file_line_and_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text("collector: http://127.0.0.1:9810\ninterval: soon\n")
    done = run("agent", "--config", str(config), "--once")
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        == f"{config}:2: interval: expected a duration like 30s, 5m or 1h30m, got 'soon'"
    )
    assert done.stdout == ""


def test_bad_flag_value_exits_1_naming_the_flag() -> None:
    done = run("agent", "--once", "--listen", "nowhere")
    assert done.returncode == 1 and done.stderr.startswith(
        "command line: --listen: expected HOST:PORT"
    )


def test_agent_without_collector_exits_1() -> None:
    done = run("agent")
    assert done.returncode == 1 and "no collector" in done.stderr


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "agent" in capsys.readouterr().out
    assert main([]) == 2
    assert main(["--version"]) == 0 and capsys.readouterr().out.startswith("watchkeeper 0.")


class FakeEntryPoint:
    def __init__(self, name: str, target: Any) -> None:
        self.name = name
        self._target = target

    def load(self) -> Any:
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def test_plugin_command_runs_the_entry_point_with_argv() -> None:
    calls: list[list[str]] = []

    def rules(argv: list[str]) -> int:
        calls.append(argv)
        return 1

    assert (
        plugin_command("rules", ["check", "x.yaml"], lambda: [FakeEntryPoint("rules", rules)]) == 1
    )
    assert calls == [["check", "x.yaml"]]


def test_plugin_without_collector_extras_says_how_to_install(
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = ModuleNotFoundError("No module named 'sqlalchemy'", name="sqlalchemy")
    assert plugin_command("collector", [], lambda: [FakeEntryPoint("collector", missing)]) == 2
    err = capsys.readouterr().err
    assert COLLECTOR_MISSING in err and "sqlalchemy" in err


def test_agent_never_imports_collector_dependencies(fake_procfs: FakeProcfs) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        BLOCKED = {COLLECTOR_DEPENDENCIES!r}

        class Blocker:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError(f"agent imported collector dependency {{name}}")
                return None

        sys.meta_path.insert(0, Blocker())
        from agent.cli import main
        code = main(["agent", "--once", "--procfs", {str(fake_procfs.root)!r}])
        assert "prometheus_client" not in sys.modules, "prometheus_client loaded without --listen"
        sys.exit(code)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert decode_report(done.stdout.encode()).probes[0].status == "ok"
