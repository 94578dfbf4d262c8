"""ssacli probe: every shared ssacli/hpacucli capture read to the right conclusion."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from agent.exec import CannedOutput, FixtureRunner, SubprocessRunner
from agent.probe import ProbeError
from agent.probes.kind import ProbeContext
from agent.probes.raid.ssacli import (
    SsacliProbe,
    SsacliSettings,
    array_status_from_header,
    build_ssacli_probes,
    parse_ssacli,
    ssacli_raid_level,
)
from tests.agent.probes.raid_conclusions import Conclusion, conclude, emitted, series

OWN = Path(__file__).resolve().parents[2] / "fixtures" / "ssacli"
CONFIG = ("ssacli", "ctrl", "all", "show", "config", "detail")
ENABLED = SsacliSettings(enabled=True)

CASES = {
    "hpacucli-controller-all-show-status-ok.txt": Conclusion(
        controllers_ok={
            "MSA1500 CS in MY STORAGE": 1.0,
            "MSA1500 CS in MY STORAGE #2": 1.0,
            "slot 0": 1.0,
        },
        bbu_ok={"MSA1500 CS in MY STORAGE": 1.0, "MSA1500 CS in MY STORAGE #2": 1.0, "slot 0": 1.0},
    ),
    "hpacucli-logicaldrive-raid5-interim-recovery-mode.txt": Conclusion(
        vd_states={"slot 0 1": "degraded"}, vd_redundancy_left={"slot 0 1": 0.0}
    ),
    "ssacli-ctrl-all-show-config-detail-p212-p410i-healthy.txt": Conclusion(
        controllers_ok={"slot 5": 1.0, "slot 0": 1.0},
        vd_states={"slot 5 1": "optimal", "slot 0 1": "optimal", "slot 0 2": "optimal"},
        vd_redundancy_left={"slot 5 1": 1.0, "slot 0 1": 1.0, "slot 0 2": 1.0},
        drive_count=18,
    ),
    "ssacli-ctrl-all-show-config-detail-p400i-battery-failed.txt": Conclusion(
        controllers_ok={"slot 0": 1.0},
        vd_states={"slot 0 1": "optimal"},
        vd_redundancy_left={"slot 0 1": 1.0},
        drive_count=4,
        bbu_ok={"slot 0": 0.0},
    ),
    "ssacli-ctrl-all-show-config-detail-p408i-a-raid6.txt": Conclusion(
        controllers_ok={"slot 0": 1.0},
        vd_states={"slot 0 1": "optimal"},
        vd_redundancy_left={"slot 0 1": 2.0},
        drive_count=4,
        bbu_ok={"slot 0": 1.0},
    ),
}


def test_every_shared_ssacli_fixture_has_a_case(shared_fixtures: Path) -> None:
    assert sorted(p.name for p in (shared_fixtures / "ssacli").iterdir()) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
def test_shared_fixture_yields_the_monitor_conclusion(shared_fixtures: Path, name: str) -> None:
    snapshot = parse_ssacli((shared_fixtures / "ssacli" / name).read_text())
    assert conclude(emitted(snapshot, "ssacli")) == CASES[name]


def test_interim_recovery_mode_keeps_the_raw_state_and_level(shared_fixtures: Path) -> None:
    path = shared_fixtures / "ssacli/hpacucli-logicaldrive-raid5-interim-recovery-mode.txt"
    data = emitted(parse_ssacli(path.read_text()), "ssacli")
    state = next(s for s in data.samples if s.metric == "raid_vd_state")
    assert state.labels["raw_state"] == "Interim Recovery Mode"
    assert state.labels["raid_level"] == "RAID5"
    assert series(data, "raid_vd_degraded") == {"slot 0 1": 1.0}


def test_failed_battery_is_named_with_the_controllers_words(shared_fixtures: Path) -> None:
    path = shared_fixtures / "ssacli/ssacli-ctrl-all-show-config-detail-p400i-battery-failed.txt"
    data = emitted(parse_ssacli(path.read_text()), "ssacli")
    assert series(data, "raid_bbu_state") == {"slot 0": "Failed (Replace Batteries)"}
    # Unassigned disks say "OK" too; they are spare capacity, not array members.
    states = series(data, "raid_pd_state")
    assert states["slot 0 1I:1:1"] == "unconfigured_good"
    assert states["slot 0 1I:1:3"] == "online"


def test_drive_labels_split_port_box_and_bay(shared_fixtures: Path) -> None:
    path = shared_fixtures / "ssacli/ssacli-ctrl-all-show-config-detail-p408i-a-raid6.txt"
    data = emitted(parse_ssacli(path.read_text()), "ssacli")
    sample = next(s for s in data.samples if s.metric == "raid_pd_state")
    assert sample.labels == {
        "controller": "slot 0",
        "drive": "2I:1:1",
        "enclosure": "2I:1",
        "slot": "1",
        "tool": "ssacli",
        "raw_state": "OK",
    }


def test_raid6_with_one_failed_member_keeps_one_level_of_redundancy() -> None:
    text = (OWN / "derived-p408i-a-raid6-interim-recovery-one-failed.txt").read_text()
    data = emitted(parse_ssacli(text), "ssacli")
    assert series(data, "raid_vd_state") == {"slot 0 1": "degraded"}
    assert series(data, "raid_vd_redundancy_left") == {"slot 0 1": 1.0}
    assert conclude(data).failed_drives == {"slot 0 2I:1:2": "failed"}


def test_recovering_array_reports_rebuild_progress_and_no_redundancy() -> None:
    text = (OWN / "hand-show-config-raid10-recovering-45pct.txt").read_text()
    data = emitted(parse_ssacli(text), "ssacli")
    assert series(data, "raid_vd_state") == {"slot 0 1": "rebuilding"}
    assert series(data, "raid_vd_rebuilding") == {"slot 0 1": 1.0}
    assert series(data, "raid_vd_rebuild_progress_ratio") == {"slot 0 1": 0.45}
    assert series(data, "raid_vd_redundancy_left") == {"slot 0 1": 0.0}
    states = series(data, "raid_pd_state")
    assert states["slot 0 1I:1:2"] == "rebuilding"
    assert states["slot 0 2I:1:5"] == "hotspare"
    assert states["slot 0 2I:1:6"] == "unconfigured_good"
    assert series(data, "raid_pd_rebuilding")["slot 0 1I:1:2"] == 1.0


ARRAY_WINS = {
    # Real hpacucli captures: the arrays say Failed while every logical drive on them says OK.
    "hpacucli-msa1500-two-arrays-failed-lds-ok.txt": {
        f"MSA1500 CS in MY STORAGE {n}": "offline" for n in range(1, 13)
    },
    "hpacucli-p410-array-b-failed-ld-ok.txt": {
        "slot 1 1": "optimal", "slot 1 2": "offline", "slot 1 3": "optimal"
    },
    # The detail layout ("Array: A" with its own "Status:" line).
    "derived-p408i-a-array-a-status-failed-ld-ok.txt": {"slot 0 1": "offline"},
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ARRAY_WINS), ids=sorted(ARRAY_WINS))
def test_an_arrays_own_failed_state_wins_over_its_logical_drives(name: str) -> None:
    data = emitted(parse_ssacli((OWN / name).read_text()), "ssacli")
    assert series(data, "raid_vd_state") == ARRAY_WINS[name]
    offline = {k for k, v in series(data, "raid_vd_offline").items() if v == 1.0}
    assert offline == {k for k, v in ARRAY_WINS[name].items() if v == "offline"}
    raw = {s.labels["raw_state"] for s in data.samples if s.metric == "raid_vd_state"}
    assert any("Failed" in state and "array" in state for state in raw), raw


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (" (Failed)", "Failed"),
        (" (SAS, Unused Space: 0  MB)", ""),
        (" (Solid State SATA, Unused Space: 0 MB, Status: Failed Physical Drive)",
         "Failed Physical Drive"),
        ("", ""),
    ],
    ids=["failed", "interface-only", "status-key", "none"],
)  # fmt: skip
def test_array_status_is_read_from_the_short_header(header: str, status: str) -> None:
    assert array_status_from_header(header) == status


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("RAID 1+0", "RAID10"),
        ("1+0", "RAID10"),
        ("RAID 6 (ADG)", "RAID6"),
        ("6", "RAID6"),
        ("1 (ADM)", "RAID1ADM"),
        ("RAID 5", "RAID5"),
        ("", "unknown"),
    ],
    ids=["raid-1+0", "ft-1+0", "adg", "ft-6", "adm", "raid-5", "missing"],
)
def test_raid_level_spellings(text: str, level: str) -> None:
    assert ssacli_raid_level(text) == level


# --- probe --------------------------------------------------------------------------------------


def test_probe_reads_config_detail(shared_fixtures: Path) -> None:
    name = "ssacli-ctrl-all-show-config-detail-p400i-battery-failed.txt"
    runner = FixtureRunner({CONFIG: shared_fixtures / "ssacli" / name})
    data = SsacliProbe(ENABLED, runner).collect()
    assert runner.calls == [CONFIG]
    assert conclude(data) == CASES[name]
    assert {s.labels["tool"] for s in data.samples} == {"ssacli"}


def test_no_controller_error_is_passed_on() -> None:
    error = 'Error: The controller identified by "all" was not detected.\n'
    runner = FixtureRunner({CONFIG: CannedOutput(error, returncode=1)})
    with pytest.raises(ProbeError, match=r'identified by "all" was not detected.*exit status 1'):
        SsacliProbe(ENABLED, runner).collect()


def test_garbage_is_a_clear_probe_error() -> None:
    runner = FixtureRunner({CONFIG: CannedOutput("   \x00\x7f\n  half a line")})
    with pytest.raises(ProbeError, match="no Smart Array controller header found"):
        SsacliProbe(ENABLED, runner).collect()


def test_missing_binary_says_how_to_fix_it() -> None:
    settings = SsacliSettings(enabled=True, ssacli_path="/nonexistent/ssacli")
    with pytest.raises(ProbeError, match=r"not found.*ssacli_path"):
        SsacliProbe(settings, SubprocessRunner()).collect()


def test_settings_default_to_disabled_and_reject_bad_values() -> None:
    assert build_ssacli_probes(SsacliSettings(), ProbeContext(FixtureRunner({}))) == []
    probe = build_ssacli_probes(ENABLED, ProbeContext(FixtureRunner({})))[0]
    assert (probe.name, probe.target, probe.min_interval_seconds) == ("ssacli", None, 120.0)
    with pytest.raises(msgspec.ValidationError, match="timeout must be more than 0"):
        msgspec.convert({"timeout": "0s"}, SsacliSettings)
    with pytest.raises(msgspec.ValidationError, match="unknown field `hpacucli`"):
        msgspec.convert({"hpacucli": True}, SsacliSettings)
