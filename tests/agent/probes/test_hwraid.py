"""What storcli, megacli and ssacli share: states, redundancy, batteries, and the probes' bounds."""

from __future__ import annotations

from typing import Any

import pytest

from agent.exec import FixtureRunner
from agent.probes.raid.hwraid import (
    PhysicalDrive,
    RaidSnapshot,
    RaidToolSettings,
    VirtualDrive,
    battery_ok,
    normalise_pd_state,
    normalise_vd_state,
    parse_size_bytes,
    redundancy_left,
)
from agent.probes.raid.megacli import MegacliProbe, MegacliSettings
from agent.probes.raid.ssacli import SsacliProbe, SsacliSettings
from agent.probes.raid.storcli import StorcliProbe, StorcliSettings
from agent.probes.raid.toolprobe import RaidToolProbe
from tests.agent.probes.raid_conclusions import emitted, series

NO_RUNNER = FixtureRunner({})


@pytest.mark.parametrize(
    ("level", "state", "lost", "left"),
    [
        ("RAID0", "optimal", None, 0),
        ("RAID0", "offline", None, 0),
        ("RAID1", "optimal", None, 1),
        ("RAID1", "degraded", None, 0),
        ("RAID5", "rebuilding", None, 0),
        ("RAID10", "degraded", None, 0),
        ("RAID6", "optimal", None, 2),
        ("RAID6", "partially_degraded", None, 1),
        ("RAID6", "degraded", None, 0),
        ("RAID6", "degraded", 1, 1),
        ("RAID6", "degraded", 2, 0),
        ("RAID60", "offline", None, 0),
        ("RAID5", "unknown", None, 0),
    ],
    ids=str,
)
def test_redundancy_left_pages_p1_only_when_the_next_loss_loses_data(
    level: str, state: str, lost: int | None, left: int
) -> None:
    assert redundancy_left(level, state, lost) == left


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("Optl", "optimal"),
        ("OfLn", "offline"),
        ("Pdgd", "partially_degraded"),
        ("Dgrd", "degraded"),
        ("Rec", "recovering"),
        ("Partially Degraded", "partially_degraded"),
        ("Interim Recovery Mode", "degraded"),
        ("Recovering", "rebuilding"),
        ("Weird", "unknown"),
    ],
    ids=str,
)
def test_vd_states_normalise_across_tools(raw: str, state: str) -> None:
    assert normalise_vd_state(raw) == state


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("Onln", "online"),
        ("Online, Spun Up", "online"),
        ("Rbld", "rebuilding"),
        ("Failed", "failed"),
        ("Offln", "offline"),
        ("UGood", "unconfigured_good"),
        ("Unconfigured(bad)", "unconfigured_bad"),
        ("UBad", "unconfigured_bad"),
        ("GHS", "hotspare"),
        ("DHS", "hotspare"),
        ("Hotspare, Spun down", "hotspare"),
        ("JBOD", "jbod"),
        ("Msng", "failed"),
    ],
    ids=str,
)
def test_pd_states_normalise_across_tools(raw: str, state: str) -> None:
    assert normalise_pd_state(raw) == state


@pytest.mark.parametrize(
    ("state", "ok"),
    [
        ("Optimal", True),
        ("OK", True),
        ("Learning", True),
        ("Recharging", True),
        ("Failed", False),
        ("Failed (Replace Batteries)", False),
        ("replacement required", False),
        ("missing", False),
        ("Degraded", False),
        ("", False),
    ],
    ids=lambda v: str(v) or "empty",
)
def test_battery_ok(state: str, ok: bool) -> None:
    assert battery_ok(state) is ok


def test_sizes_are_binary_multiples() -> None:
    assert parse_size_bytes("931.0 GB") == 931.0 * 1024**3
    assert parse_size_bytes("93.1  GB") == pytest.approx(93.1 * 1024**3)
    assert parse_size_bytes("N/A") is None


def test_offline_vd_counts_as_degraded_so_no_rule_misses_it() -> None:
    vd = VirtualDrive("0", "0/0", "OfLn", "offline", "RAID5")
    data = emitted(RaidSnapshot(virtual_drives=[vd]), "storcli")
    assert series(data, "raid_vd_degraded") == {"0 0/0": 1.0}
    assert series(data, "raid_vd_offline") == {"0 0/0": 1.0}
    assert series(data, "raid_vd_redundancy_left") == {"0 0/0": 0.0}


def test_two_failing_disks_are_two_series() -> None:
    drives = [
        PhysicalDrive("0", f"252:{slot}", "Failed", "failed", "252", str(slot)) for slot in (1, 2)
    ]
    data = emitted(RaidSnapshot(physical_drives=drives), "storcli")
    assert series(data, "raid_pd_failed") == {"0 252:1": 1.0, "0 252:2": 1.0}


def test_merge_lets_the_later_record_of_a_drive_win() -> None:
    first = RaidSnapshot(physical_drives=[PhysicalDrive("0", "252:1", "Onln", "online")])
    later = PhysicalDrive("0", "252:1", "Onln", "online", media_errors=3)
    first.merge(RaidSnapshot(physical_drives=[later]))
    assert first.physical_drives == [later]


@pytest.mark.parametrize(
    ("probe_type", "settings", "deadline"),
    [
        (SsacliProbe, SsacliSettings(timeout="10s", min_interval="5m"), 12.0),
        (StorcliProbe, StorcliSettings(timeout="10s", min_interval="5m"), 22.0),
        (MegacliProbe, MegacliSettings(timeout="10s", min_interval="5m"), 32.0),
    ],
    ids=["ssacli", "storcli", "megacli"],
)
def test_the_runner_waits_one_timeout_per_tool_command_plus_its_margin(
    probe_type: type[RaidToolProbe[Any]], settings: RaidToolSettings, deadline: float
) -> None:
    probe = probe_type(settings, NO_RUNNER)

    assert probe.deadline_seconds == deadline
    assert probe.min_interval_seconds == 300.0
    assert probe.target is None


@pytest.mark.parametrize(
    "probe",
    [StorcliProbe(StorcliSettings(), NO_RUNNER), MegacliProbe(MegacliSettings(), NO_RUNNER)],
    ids=["storcli", "megacli"],
)
def test_the_deadline_counts_every_command_the_probe_runs(
    probe: StorcliProbe | MegacliProbe,
) -> None:
    assert probe.commands_per_cycle == len(probe.commands())
