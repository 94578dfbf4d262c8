"""Diagnostic snapshots in the agent: only the named diagnostics its config enables, for a
device that looks like one, within the time and size budget; what is not collected says why;
the transport reads requests from the collector's answer."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from agent.configfile import ConfigError, parse_yaml
from agent.diagnostics.collect import SnapshotTaker, bounded
from agent.diagnostics.model import DiagnosticRequest, SnapshotRequest, snapshot_requests
from agent.diagnostics.settings import DiagnosticsSettings
from agent.diagnostics.sources import Tools
from agent.exec import CannedOutput, FixtureRunner
from agent.settings import settings_from_document
from tests.agent.fakeprocfs import FakeProcfs

MDSTAT = Path(__file__).parents[1] / "fixtures" / "mdstat"


class SteppingClock:
    """Each reading is `step` seconds after the last: a slow machine, without sleeping."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def taker(
    tmp_path: Path,
    answers: dict[tuple[str, ...], CannedOutput] | None = None,
    step: float = 0.0,
    **settings: object,
) -> SnapshotTaker:
    procfs = FakeProcfs(tmp_path / "proc", data_mount=tmp_path / "data")
    procfs.set_network({"eth0": (1, 1, 5, 6, 1, 1, 7, 8)})
    procfs.write(
        "mdstat", (MDSTAT / "raid10-degraded-failed-member-trailing-spaces.txt").read_text()
    )
    tools = Tools(FixtureRunner(answers or {}), str(procfs.root), sleep=lambda _s: None)
    config = msgspec.convert(settings, DiagnosticsSettings)
    return SnapshotTaker(config, tools, "db7", clock=SteppingClock(step), wall=lambda: 1e9)


def ask(*wanted: tuple[str, str | None]) -> SnapshotRequest:
    return SnapshotRequest(9, tuple(DiagnosticRequest(name, device) for name, device in wanted))


def test_unknown_disabled_and_odd_device_requests_are_refused_and_said_so(tmp_path: Path) -> None:
    snapshot = taker(tmp_path, enabled=["network_errors", "smart"]).take(
        ask(("rm -rf /", None), ("kernel_log", None), ("smart", "-d megaraid /dev/sda"),
            ("network_errors", None))
    )  # fmt: skip
    statuses = [(d.name, d.status) for d in snapshot.diagnostics]
    assert statuses == [
        ("rm -rf /", "refused"), ("kernel_log", "refused"), ("smart", "refused"),
        ("network_errors", "ok"),
    ]  # fmt: skip
    notes = [d.note for d in snapshot.diagnostics]
    assert notes[0].startswith("unknown diagnostic 'rm -rf /'; this agent knows processes")
    assert "not enabled in this agent's diagnostics.enabled" in notes[1]
    assert "is not a device path or md array name" in notes[2]
    assert "eth0" in snapshot.diagnostics[3].output and (snapshot.request_id, snapshot.host) == (
        9, "db7",
    )  # fmt: skip


def test_a_tool_that_cannot_run_is_reported_as_not_collected(tmp_path: Path) -> None:
    (result,) = taker(tmp_path).take(ask(("smart", "/dev/sda"))).diagnostics
    assert result.status == "failed"
    assert "no captured output for command: smartctl --xall --json /dev/sda" in result.note


def test_an_oversized_output_is_cut_with_a_note(tmp_path: Path) -> None:
    huge = CannedOutput("x" * 50_000)
    snapshot = taker(
        tmp_path, {("smartctl", "--xall", "--json", "/dev/sda"): huge}, max_output_bytes=4096
    ).take(ask(("smart", "/dev/sda")))
    (result,) = snapshot.diagnostics
    assert result.truncated and len(result.output.encode()) <= 4096
    assert result.output.endswith("more bytes not sent (diagnostics max_output_bytes / max_bytes)]")
    assert bounded("small", 100) == ("small", False)


def test_the_snapshot_size_budget_is_shared_by_all_diagnostics(tmp_path: Path) -> None:
    answers = {("smartctl", "--xall", "--json", "/dev/sda"): CannedOutput("y" * 3500)}
    snapshot = taker(tmp_path, answers, max_bytes=4000).take(
        ask(("smart", "/dev/sda"), ("mdraid", "md0"), ("network_errors", None))
    )
    total = sum(len(d.output.encode()) for d in snapshot.diagnostics)
    assert total <= 4000 and snapshot.diagnostics[1].truncated
    assert snapshot.diagnostics[2].status == "skipped"
    assert snapshot.diagnostics[2].note == "size budget of 4000 bytes used up before it"


def test_what_the_time_budget_leaves_no_room_for_is_skipped(tmp_path: Path) -> None:
    snapshot = taker(tmp_path, step=4.0, time_budget="10s").take(
        ask(("network_errors", None), ("network_errors", None), ("network_errors", None))
    )
    assert [d.status for d in snapshot.diagnostics] == ["ok", "skipped", "skipped"]
    assert snapshot.diagnostics[1].note == "time budget of 10s used up before it"


def test_mdraid_shows_mdstat_and_says_when_mdadm_cannot_run(tmp_path: Path) -> None:
    (result,) = taker(tmp_path).take(ask(("mdraid", "md0"))).diagnostics
    assert result.status == "ok" and "md2 : active raid10" in result.output
    assert "mdadm --detail /dev/md0:\n(not collected: no captured output" in result.output


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ('{"accepted": true}', []),
        ('{"snapshots": [{"id": 3, "diagnostics": [{"name": "smart", "device": "/dev/sda"}]}]}',
         [SnapshotRequest(3, (DiagnosticRequest("smart", "/dev/sda"),))]),
        ('{"snapshots": [{"id": "x"}]}', []),
        ("not json", []),
        ("[1, 2]", []),
    ],
    ids=["none", "one", "malformed", "not-json", "not-an-object"],
)  # fmt: skip
def test_requests_are_read_from_the_report_answer_and_nonsense_is_ignored(
    answer: str, expected: list[SnapshotRequest]
) -> None:
    assert snapshot_requests(answer) == expected


def test_agent_yaml_rejects_an_unknown_diagnostic_naming_file_and_line() -> None:
    document = parse_yaml("diagnostics:\n  enabled: [processes, shell]\n", "agent.yaml")
    with pytest.raises(ConfigError) as caught:
        settings_from_document(document)
    assert "agent.yaml:" in str(caught.value) and "unknown diagnostic 'shell'" in str(caught.value)
