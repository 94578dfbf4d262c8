"""storcli probe: every shared storcli capture (JSON and text) read to the right conclusion."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec
import pytest

from agent.exec import CannedOutput, CommandError, CommandResult, FixtureRunner, SubprocessRunner
from agent.probe import ProbeError
from agent.probes.kind import ProbeContext
from agent.probes.raid.storcli import (
    StorcliProbe,
    StorcliSettings,
    build_storcli_probes,
    group_states,
    parse_storcli_json,
    parse_storcli_text,
)
from tests.agent.probes.raid_conclusions import Conclusion, conclude, emitted, series

OWN = Path(__file__).resolve().parents[2] / "fixtures" / "storcli"
SHOW_ALL = ("storcli64", "/call", "show", "all", "J", "nolog")
DRIVES = ("storcli64", "/call/eall/sall", "show", "all", "J", "nolog")
ENABLED = StorcliSettings(enabled=True)

CASES = {
    "storcli-c0-show-all-raid6-hdd-optimal-bbu.json": Conclusion(
        controllers_ok={"0": 1.0},
        vd_states={"0 0/0": "optimal"},
        vd_redundancy_left={"0 0/0": 2.0},
        drive_count=6,
        bbu_ok={"0": 1.0},
    ),
    "storcli-c0-eall-sall-show-all-raid6-hdd.json": Conclusion(drive_count=6),
    "storcli-c0-show-all-hba-9500-jbod.json": Conclusion(controllers_ok={"0": 1.0}, drive_count=29),
    "storcli-call-show-all-raid6-ssd-cachevault.json": Conclusion(
        controllers_ok={"0": 1.0},
        vd_states={"0 0/0": "optimal"},
        vd_redundancy_left={"0 0/0": 2.0},
        drive_count=4,
        bbu_ok={"0": 1.0},
    ),
    "storcli-call-eall-sall-show-all-raid6-ssd.json": Conclusion(drive_count=4),
    "storcli-c0-e35-s12-show-drive-offline.json": Conclusion(
        failed_drives={"0 35:12": "offline"}, drive_count=1
    ),
    "storcli-text-3-controllers-healthy.txt": Conclusion(
        controllers_ok={"0": 1.0, "1": 1.0, "2": 1.0},
        vd_states={"1 0/0": "optimal", "2 0/0": "optimal"},
        vd_redundancy_left={"1 0/0": 1.0, "2 0/0": 1.0},
        drive_count=20,
        bbu_ok={"0": 1.0, "2": 1.0},
    ),
    "storcli-text-3-controllers-raid10-degraded-drive-offline.txt": Conclusion(
        controllers_ok={"0": 1.0, "1": 1.0, "2": 0.0},
        vd_states={"1 0/0": "optimal", "2 0/0": "degraded"},
        vd_redundancy_left={"1 0/0": 1.0, "2 0/0": 0.0},
        failed_drives={"2 88:9": "offline"},
        drive_count=20,
        bbu_ok={"0": 1.0, "2": 1.0},
    ),
    "storcli-text-hba-9400-16i.txt": Conclusion(controllers_ok={"0": 1.0}, drive_count=16),
}


def test_every_shared_storcli_fixture_has_a_case(shared_fixtures: Path) -> None:
    assert sorted(p.name for p in (shared_fixtures / "storcli").iterdir()) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
def test_shared_fixture_yields_the_monitor_conclusion(shared_fixtures: Path, name: str) -> None:
    path = shared_fixtures / "storcli" / name
    text = path.read_text()
    out = parse_storcli_json(text) if path.suffix == ".json" else parse_storcli_text(text)
    assert out.failures == {}
    assert conclude(emitted(out.snapshot, "storcli")) == CASES[name]


def test_degraded_text_names_the_raid10_and_its_offline_drive(shared_fixtures: Path) -> None:
    text = shared_fixtures / "storcli/storcli-text-3-controllers-raid10-degraded-drive-offline.txt"
    data = emitted(parse_storcli_text(text.read_text()).snapshot, "storcli")
    vd_state = next(
        s for s in data.samples if s.metric == "raid_vd_state" and s.value == "degraded"
    )
    assert vd_state.labels == {
        "controller": "2",
        "vd": "0/0",
        "tool": "storcli",
        "raw_state": "Dgrd",
        "raid_level": "RAID10",
    }
    assert series(data, "raid_vd_degraded")["2 0/0"] == 1.0
    assert series(data, "raid_vd_offline")["2 0/0"] == 0.0
    assert series(data, "raid_controller_status")["2"] == "Needs Attention"
    drive = next(s for s in data.samples if s.metric == "raid_pd_state" and s.value == "offline")
    assert (drive.labels["enclosure"], drive.labels["slot"], drive.labels["raw_state"]) == (
        "88",
        "9",
        "Offln",
    )


def test_drive_detail_json_carries_error_counters_and_smart_flag(shared_fixtures: Path) -> None:
    text = (shared_fixtures / "storcli/storcli-c0-eall-sall-show-all-raid6-hdd.json").read_text()
    data = emitted(parse_storcli_json(text).snapshot, "storcli")
    assert set(series(data, "raid_pd_state").values()) == {"online"}
    for metric in ("raid_pd_media_errors", "raid_pd_other_errors", "raid_pd_predictive_failures"):
        assert series(data, metric) == {f"0 252:{s}": 0.0 for s in (0, 1, 3, 4, 5, 7)}
    assert set(series(data, "raid_pd_smart_alert").values()) == {0.0}


def test_hba_jbod_drives_report_no_counters_where_storcli_says_na(shared_fixtures: Path) -> None:
    text = (shared_fixtures / "storcli/storcli-c0-show-all-hba-9500-jbod.json").read_text()
    data = emitted(parse_storcli_json(text).snapshot, "storcli")
    assert set(series(data, "raid_pd_state").values()) == {"jbod"}
    assert series(data, "raid_pd_media_errors") == {}
    assert series(data, "raid_vd_state") == {}


def test_vd_size_is_reported_in_bytes(shared_fixtures: Path) -> None:
    text = (shared_fixtures / "storcli/storcli-c0-show-all-raid6-hdd-optimal-bbu.json").read_text()
    data = emitted(parse_storcli_json(text).snapshot, "storcli")
    assert series(data, "raid_vd_size_bytes")["0 0/0"] == pytest.approx(58.207 * 1024**4)


# --- probe --------------------------------------------------------------------------------------


def shared_runner(shared_fixtures: Path) -> FixtureRunner:
    return FixtureRunner(
        {
            SHOW_ALL: shared_fixtures / "storcli/storcli-c0-show-all-raid6-hdd-optimal-bbu.json",
            DRIVES: shared_fixtures / "storcli/storcli-c0-eall-sall-show-all-raid6-hdd.json",
        }
    )


def test_probe_merges_controller_and_drive_detail(shared_fixtures: Path) -> None:
    runner = shared_runner(shared_fixtures)
    data = StorcliProbe(ENABLED, runner).collect()
    assert runner.calls == [SHOW_ALL, DRIVES]
    assert data.source_errors == {}
    assert conclude(data) == CASES["storcli-c0-show-all-raid6-hdd-optimal-bbu.json"]
    assert len(series(data, "raid_pd_media_errors")) == 6  # counters only come from eall/sall
    assert {s.labels["tool"] for s in data.samples} == {"storcli"}


def test_probe_reports_rebuild_progress_and_partial_degradation() -> None:
    rebuild = ("storcli64", "/c0/e252/s3", "show", "rebuild", "J", "nolog")
    runner = FixtureRunner(
        {
            SHOW_ALL: OWN / "derived-c0-show-all-raid6-pdgd-rebuilding-bbu-failed.json",
            DRIVES: OWN / "derived-c0-eall-sall-show-all-raid6-rebuilding.json",
            rebuild: OWN / "hand-c0-e252-s3-show-rebuild.json",
        }
    )
    data = StorcliProbe(ENABLED, runner).collect()
    assert runner.calls == [SHOW_ALL, DRIVES, rebuild]
    assert series(data, "raid_vd_state") == {"0 0/0": "partially_degraded"}
    # A RAID6 missing one member still survives one more loss: P2, not P1.
    assert series(data, "raid_vd_redundancy_left") == {"0 0/0": 1.0}
    assert series(data, "raid_pd_rebuilding")["0 252:3"] == 1.0
    assert series(data, "raid_pd_rebuild_progress_ratio") == {"0 252:3": 0.45}
    assert series(data, "raid_pd_media_errors")["0 252:0"] == 3.0
    assert series(data, "raid_pd_predictive_failures")["0 252:0"] == 1.0
    assert series(data, "raid_pd_smart_alert")["0 252:0"] == 1.0
    assert series(data, "raid_controller_ok") == {"0": 0.0}
    assert series(data, "raid_bbu_ok") == {"0": 0.0}
    assert series(data, "raid_bbu_state") == {"0": "Failed"}


def test_text_output_setting_runs_without_j(shared_fixtures: Path) -> None:
    degraded = (
        shared_fixtures / "storcli/storcli-text-3-controllers-raid10-degraded-drive-offline.txt"
    )
    show_all, drives = (*SHOW_ALL[:-2], "nolog"), (*DRIVES[:-2], "nolog")
    runner = FixtureRunner({show_all: degraded, drives: degraded})
    data = StorcliProbe(StorcliSettings(enabled=True, output="text"), runner).collect()
    assert runner.calls == [show_all, drives]
    assert series(data, "raid_vd_redundancy_left")["2 0/0"] == 0.0


def test_missing_binary_says_how_to_fix_it() -> None:
    settings = StorcliSettings(enabled=True, storcli_path="/nonexistent/storcli64")
    with pytest.raises(ProbeError, match=r"not found.*storcli_path"):
        StorcliProbe(settings, SubprocessRunner()).collect()


class TimeoutRunner:
    def run(self, argv: Sequence[str], timeout: float) -> CommandResult:
        raise CommandError(f"{' '.join(argv)}: no answer within {timeout:g} s")


def test_timeout_is_a_probe_error_naming_the_command() -> None:
    with pytest.raises(ProbeError, match=r"/call show all J nolog: no answer within 60 s"):
        StorcliProbe(ENABLED, TimeoutRunner()).collect()


@pytest.mark.parametrize(
    ("stdout", "returncode", "message"),
    [
        ('{"Controllers": [{"Command Status": {"Contr', 0, "not valid JSON"),
        ("", 0, "not valid JSON"),
        ('{"Hosts": []}', 0, 'no "Controllers" list'),
        ("Invalid command.", 1, r"not valid JSON.*exit status 1: Invalid command"),
    ],
    ids=["truncated-json", "empty", "unknown-shape", "text-error-exit-1"],
)
def test_garbage_controller_output_is_a_clear_probe_error(
    stdout: str, returncode: int, message: str
) -> None:
    runner = FixtureRunner({SHOW_ALL: CannedOutput(stdout, returncode)})
    with pytest.raises(ProbeError, match=message) as caught:
        StorcliProbe(ENABLED, runner).collect()
    assert "storcli64 /call show all J nolog" in str(caught.value)


def test_garbage_drive_output_is_a_source_error_and_the_rest_still_reports(
    shared_fixtures: Path,
) -> None:
    show_all = shared_fixtures / "storcli/storcli-c0-show-all-raid6-hdd-optimal-bbu.json"
    runner = FixtureRunner({SHOW_ALL: show_all, DRIVES: CannedOutput('{"Controllers": [')})
    data = StorcliProbe(ENABLED, runner).collect()
    assert "not valid JSON" in data.source_errors["drives"]
    assert series(data, "raid_vd_state") == {"0 0/0": "optimal"}


FAILED_CONTROLLER = """{"Controllers": [{"Command Status": {"Controller": 1, "Status": "Failure",
  "Description": "Controller 1 not found"}}]}"""


def test_a_controller_storcli_cannot_read_is_named() -> None:
    runner = FixtureRunner({SHOW_ALL: CannedOutput(FAILED_CONTROLLER, 1)})
    with pytest.raises(ProbeError, match="controller 1: Controller 1 not found"):
        StorcliProbe(ENABLED, runner).collect()


def test_no_controller_at_all_says_to_disable_the_probe() -> None:
    empty = '{"Controllers": [{"Command Status": {"Status": "Success"}, "Response Data": {}}]}'
    runner = FixtureRunner({SHOW_ALL: CannedOutput(empty)})
    with pytest.raises(ProbeError, match="no controller on this host"):
        StorcliProbe(ENABLED, runner).collect()


def test_garbage_text_output_is_a_probe_error() -> None:
    with pytest.raises(ProbeError, match='no "Controller = N"'):
        parse_storcli_text("Segmentation fault\n")


def test_settings_default_to_disabled_and_reject_bad_values() -> None:
    assert build_storcli_probes(StorcliSettings(), ProbeContext(FixtureRunner({}))) == []
    assert StorcliSettings().storcli_path == "storcli64"
    probe = build_storcli_probes(ENABLED, ProbeContext(FixtureRunner({})))[0]
    assert (probe.name, probe.target, probe.min_interval_seconds) == ("storcli", None, 120.0)
    with pytest.raises(msgspec.ValidationError, match="timeout must be more than 0"):
        msgspec.convert({"timeout": "0s"}, StorcliSettings)
    with pytest.raises(msgspec.ValidationError, match="unknown field `path`"):
        msgspec.convert({"path": "x"}, StorcliSettings)
    with pytest.raises(msgspec.ValidationError, match="Invalid enum value 'xml'"):
        msgspec.convert({"output": "xml"}, StorcliSettings)


# --- drive groups (TOPOLOGY) -------------------------------------------------------------------


def test_drive_group_state_is_the_worst_of_the_group_and_its_spans() -> None:
    rows = [
        ("0", "-", "-", "Dgrd"),
        ("0", "0", "-", "Optl"),
        ("0", "1", "-", "OfLn"),  # a whole RAID10 mirror span is gone
        ("0", "1", "0", "Offln"),  # a member drive's row: not a container state
        ("1", "-", "-", "Optl"),
    ]
    assert group_states(rows) == {"0": "OfLn", "1": "Optl"}


def test_offline_drive_group_overrules_a_vd_that_says_degraded(shared_fixtures: Path) -> None:
    path = shared_fixtures / "storcli/storcli-text-3-controllers-raid10-degraded-drive-offline.txt"
    text = path.read_text()
    # The real capture's spans all say Dgrd: the VD stays degraded, its own words kept.
    data = emitted(parse_storcli_text(text).snapshot, "storcli")
    assert series(data, "raid_vd_state")["2 0/0"] == "degraded"
    # The same capture with span 2 offline (its only drive is): the group's verdict wins.
    text = text.replace(
        " 0 2   -   -        -   RAID1  Dgrd", " 0 2   -   -        -   RAID1  OfLn"
    )
    data = emitted(parse_storcli_text(text).snapshot, "storcli")
    assert series(data, "raid_vd_state")["2 0/0"] == "offline"
    assert series(data, "raid_vd_offline")["2 0/0"] == 1.0
    raw = {s.labels["raw_state"] for s in data.samples if s.metric == "raid_vd_state"}
    assert "Dgrd (drive group 0: OfLn)" in raw
