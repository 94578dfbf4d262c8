"""MegaCli probe: every shared MegaCli capture read to the right conclusion."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from agent.exec import CannedOutput, FixtureRunner, SubprocessRunner
from agent.probe import ProbeError
from agent.probes.kind import ProbeContext
from agent.probes.raid.hwraid import RaidSnapshot
from agent.probes.raid.megacli import (
    MegacliProbe,
    MegacliSettings,
    build_megacli_probes,
    megacli_raid_level,
    parse_megacli_bbu,
    parse_megacli_drives,
)
from tests.agent.probes.raid_conclusions import Conclusion, conclude, emitted, series

OWN = Path(__file__).resolve().parents[2] / "fixtures" / "megacli"
LDINFO = ("megacli", "-LDInfo", "-Lall", "-aALL", "-NoLog")
PDLIST = ("megacli", "-PDList", "-aALL", "-NoLog")
BBU = ("megacli", "-AdpBbuCmd", "-GetBbuStatus", "-aALL", "-NoLog")
ENABLED = MegacliSettings(enabled=True)

CASES = {
    "megacli-bbu-optimal.txt": Conclusion(bbu_ok={"0": 1.0}),
    "megacli-bbu-replacement-required.txt": Conclusion(bbu_ok={"0": 0.0}),
    "megacli-ldinfo-raid1-raid5-optimal.txt": Conclusion(
        vd_states={"0 0": "optimal", "0 1": "optimal"},
        vd_redundancy_left={"0 0": 1.0, "0 1": 1.0},
    ),
    "megacli-ldinfo-raid5-ten-drives-optimal.txt": Conclusion(
        vd_states={"0 0": "optimal"}, vd_redundancy_left={"0 0": 1.0}
    ),
    "megacli-ldpdinfo-raid1-8-drives-optimal.txt": Conclusion(
        vd_states={"0 0": "optimal"}, vd_redundancy_left={"0 0": 1.0}, drive_count=8
    ),
    "megacli-pdlist-media-errors-predictive-failure.txt": Conclusion(drive_count=6),
    "megacli-pdlist-online-with-hotspares.txt": Conclusion(drive_count=12),
    "megacli-pdlist-unconfigured-bad-drive.txt": Conclusion(
        failed_drives={"0 15:10": "unconfigured_bad"}, drive_count=12
    ),
}


def parse(path: Path) -> RaidSnapshot:
    text = path.read_text()
    if "bbu" in path.name:
        return RaidSnapshot(batteries=parse_megacli_bbu(text))
    return parse_megacli_drives(text)


def test_every_shared_megacli_fixture_has_a_case(shared_fixtures: Path) -> None:
    assert sorted(p.name for p in (shared_fixtures / "megacli").iterdir()) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
def test_shared_fixture_yields_the_monitor_conclusion(shared_fixtures: Path, name: str) -> None:
    snapshot = parse(shared_fixtures / "megacli" / name)
    assert conclude(emitted(snapshot, "megacli")) == CASES[name]


def test_bbu_replacement_required_is_named_as_such(shared_fixtures: Path) -> None:
    snapshot = parse(shared_fixtures / "megacli/megacli-bbu-replacement-required.txt")
    data = emitted(snapshot, "megacli")
    assert series(data, "raid_bbu_state") == {"0": "replacement required"}
    healthy = emitted(parse(shared_fixtures / "megacli/megacli-bbu-optimal.txt"), "megacli")
    assert series(healthy, "raid_bbu_state") == {"0": "Optimal"}


def test_media_errors_and_predictive_failure_point_at_their_drives(shared_fixtures: Path) -> None:
    path = shared_fixtures / "megacli/megacli-pdlist-media-errors-predictive-failure.txt"
    data = emitted(parse(path), "megacli")
    nonzero = {
        metric: {k: v for k, v in series(data, metric).items() if v}
        for metric in (
            "raid_pd_media_errors",
            "raid_pd_other_errors",
            "raid_pd_predictive_failures",
        )
    }
    assert nonzero == {
        "raid_pd_media_errors": {"0 252:2": 8.0, "0 252:5": 94.0},
        "raid_pd_other_errors": {"0 252:5": 12.0},
        "raid_pd_predictive_failures": {"0 252:5": 4.0},
    }
    assert set(series(data, "raid_pd_state").values()) == {"online"}


def test_hotspares_are_hotspares_not_failures(shared_fixtures: Path) -> None:
    data = emitted(parse(shared_fixtures / "megacli/megacli-pdlist-online-with-hotspares.txt"), "x")
    states = list(series(data, "raid_pd_state").values())
    assert (states.count("online"), states.count("hotspare")) == (10, 2)


def test_ldpdinfo_reads_vd_level_size_and_smart_flags(shared_fixtures: Path) -> None:
    path = shared_fixtures / "megacli/megacli-ldpdinfo-raid1-8-drives-optimal.txt"
    data = emitted(parse(path), "megacli")
    assert series(data, "raid_vd_size_bytes") == {"0 0": pytest.approx(3.491 * 1024**4)}
    assert set(series(data, "raid_pd_smart_alert").values()) == {0.0}
    assert len(series(data, "raid_pd_smart_alert")) == 8


@pytest.mark.parametrize(
    ("text", "depth", "level"),
    [
        ("Primary-1, Secondary-0, RAID Level Qualifier-0", "1", "RAID1"),
        ("Primary-1, Secondary-0, RAID Level Qualifier-0", "2", "RAID10"),
        ("Primary-1, Secondary-3, RAID Level Qualifier-0", "1", "RAID10"),
        ("Primary-6, Secondary-0, RAID Level Qualifier-3", "2", "RAID60"),
        ("Primary-0, Secondary-0, RAID Level Qualifier-0", "1", "RAID0"),
        ("garbled", "1", "unknown"),
    ],
    ids=["raid1", "raid10-spanned", "raid10-secondary-3", "raid60", "raid0", "garbled"],
)
def test_raid_level_from_primary_secondary_and_span(text: str, depth: str, level: str) -> None:
    assert megacli_raid_level(text, depth) == level


# --- probe --------------------------------------------------------------------------------------


def test_probe_reads_all_three_sources(shared_fixtures: Path) -> None:
    runner = FixtureRunner(
        {
            LDINFO: shared_fixtures / "megacli/megacli-ldinfo-raid5-ten-drives-optimal.txt",
            PDLIST: shared_fixtures / "megacli/megacli-pdlist-unconfigured-bad-drive.txt",
            BBU: shared_fixtures / "megacli/megacli-bbu-replacement-required.txt",
        }
    )
    data = MegacliProbe(ENABLED, runner).collect()
    assert runner.calls == [LDINFO, PDLIST, BBU]
    assert data.source_errors == {}
    assert conclude(data) == Conclusion(
        vd_states={"0 0": "optimal"},
        vd_redundancy_left={"0 0": 1.0},
        failed_drives={"0 15:10": "unconfigured_bad"},
        drive_count=12,
        bbu_ok={"0": 0.0},
    )
    assert {s.labels["tool"] for s in data.samples} == {"megacli"}


def test_adapter_without_bbu_reports_no_battery_and_no_error(shared_fixtures: Path) -> None:
    runner = FixtureRunner(
        {
            LDINFO: shared_fixtures / "megacli/megacli-ldinfo-raid1-raid5-optimal.txt",
            PDLIST: shared_fixtures / "megacli/megacli-pdlist-online-with-hotspares.txt",
            BBU: CannedOutput((OWN / "hand-bbu-absent.txt").read_text(), returncode=1),
        }
    )
    data = MegacliProbe(ENABLED, runner).collect()
    assert data.source_errors == {}
    assert series(data, "raid_bbu_ok") == {}


def test_truncated_drive_list_is_a_source_error_naming_the_drive(shared_fixtures: Path) -> None:
    runner = FixtureRunner(
        {
            LDINFO: shared_fixtures / "megacli/megacli-ldinfo-raid1-raid5-optimal.txt",
            PDLIST: OWN / "derived-pdlist-truncated.txt",
            BBU: shared_fixtures / "megacli/megacli-bbu-optimal.txt",
        }
    )
    data = MegacliProbe(ENABLED, runner).collect()
    assert list(data.source_errors) == ["physical drives"]
    assert 'drive 252:3 has no "Firmware state" line' in data.source_errors["physical drives"]
    assert "truncated" in data.source_errors["physical drives"]
    assert series(data, "raid_vd_state") == {"0 0": "optimal", "0 1": "optimal"}
    assert series(data, "raid_bbu_ok") == {"0": 1.0}


@pytest.mark.parametrize(
    ("parser", "text"),
    [(parse_megacli_drives, "Segmentation fault"), (parse_megacli_bbu, "\x00\x01garbage")],
    ids=["drives", "bbu"],
)
def test_garbage_is_a_clear_probe_error(parser: Callable[[str], object], text: str) -> None:
    with pytest.raises(ProbeError, match="MegaCli output"):
        parser(text)


def test_missing_binary_says_how_to_fix_it() -> None:
    settings = MegacliSettings(enabled=True, megacli_path="/nonexistent/megacli")
    with pytest.raises(ProbeError, match=r"not found.*megacli_path"):
        MegacliProbe(settings, SubprocessRunner()).collect()


def test_settings_default_to_disabled_and_reject_bad_values() -> None:
    assert build_megacli_probes(MegacliSettings(), ProbeContext(FixtureRunner({}))) == []
    probe = build_megacli_probes(ENABLED, ProbeContext(FixtureRunner({})))[0]
    assert (probe.name, probe.target, probe.min_interval_seconds) == ("megacli", None, 120.0)
    with pytest.raises(msgspec.ValidationError, match="expected a duration"):
        msgspec.convert({"min_interval": "soon"}, MegacliSettings)
    with pytest.raises(msgspec.ValidationError, match="unknown field `binary`"):
        msgspec.convert({"binary": "x"}, MegacliSettings)
