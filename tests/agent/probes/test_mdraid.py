"""The md RAID probe against real /proc/mdstat captures, garbage, and node-exporter's reading."""

from __future__ import annotations

import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agent.exec import FixtureRunner
from agent.probe import ProbeData, ProbeError
from agent.probes.kind import ProbeContext
from agent.probes.raid.mdraid import (
    MdRaidProbe,
    MdRaidSettings,
    MdstatError,
    build_mdraid_probes,
    parse_mdstat,
)
from tests.conftest import OWN_FIXTURES, SHARED_FIXTURES
from tests.peers import free_port, require_tool, stop_process, wait_until

OWN_MDSTAT = OWN_FIXTURES / "mdstat"


@dataclass(frozen=True)
class Expect:
    """What a monitor must conclude about one array."""

    level: str
    state: str
    required: int
    active: int
    faulty: tuple[str, ...] = ()
    spares: int = 0
    redundancy: int | None = 1
    degraded: bool = False
    failed: bool = False
    sync: str | None = None
    progress: float | None = None


def _mirror(state: str = "clean", **kwargs: Any) -> Expect:
    return Expect("raid1", state, 2, 2, **kwargs)


def _stripe(level: str = "raid0", members: int = 2) -> Expect:
    return Expect(level, "clean", members, members, redundancy=0)


def _degraded(level: str, state: str, required: int, active: int, **kwargs: Any) -> Expect:
    return Expect(level, state, required, active, redundancy=0, degraded=True, **kwargs)


EXPECTED: dict[str, dict[str, Expect]] = {
    "no-arrays-empty.txt": {},
    "imsm-external-metadata-raid1.txt": {
        "md127": _mirror(),
        # The IMSM container is inactive by design: neither failed nor degraded.
        "md0": Expect("container", "inactive", 0, 0, spares=2, redundancy=None),
    },
    "raid1-auto-read-only.txt": {"md2": _mirror(), "md1": _mirror(), "md0": _mirror()},
    "raid1-check-98pct.txt": {
        "md2": _mirror("checking", sync="check", progress=0.983),
        "md1": _mirror(),
        "md0": _mirror(),
    },
    "raid1-failed-member-but-all-up.txt": {
        "md1": Expect("raid1", "clean", 5, 5, faulty=("sdh1",), redundancy=4),
        "md0": _mirror(),
    },
    "raid1-initial-resync-two-arrays.txt": {
        "md0": _mirror(),
        "md2": _mirror("resyncing", sync="resync", progress=0.112),
        "md1": _mirror("resyncing", sync="resync", progress=0.099),
    },
    "raid1-linear-healthy.txt": {"md1": _mirror(), "md0": _stripe("linear")},
    "raid1-raid0-healthy-bitmaps-centos6.txt": {
        "md4": _mirror(),
        "md3": _mirror(),
        "md0": _mirror(),
        "md1": _stripe(),
        "md2": _mirror(),
    },
    "raid1-raid5-ten-disk-healthy.txt": {
        "md1": _mirror(),
        "md2": _mirror(),
        "md3": Expect("raid5", "clean", 10, 10),
        "md0": _mirror(),
    },
    "raid1-recovery-plus-resync-delayed.txt": {
        "md1": _degraded("raid1", "degraded", 2, 1, sync="delayed"),
        "md0": _degraded("raid1", "recovering", 2, 1, sync="recovery", progress=0.039),
    },
    "raid5-degraded-failed-member.txt": {
        "md0": _degraded("raid5", "degraded", 3, 2, faulty=("sdc1",)),
    },
    "raid5-degraded-recovering-12pct.txt": {
        "md127": _degraded("raid5", "recovering", 6, 5, sync="recovery", progress=0.126),
    },
    "raid5-partitionable-md_d0-healthy.txt": {"md_d0": Expect("raid5", "clean", 5, 5)},
    "raid5-two-arrays-with-spares.txt": {
        "md1": Expect("raid5", "clean", 5, 5, spares=1),
        "md2": Expect("raid5", "clean", 5, 5, spares=2),
    },
    "raid6-reshape-48pct.txt": {
        "md0": _degraded("raid6", "reshaping", 6, 4, spares=2, sync="reshape", progress=0.484),
    },
    "raid6-seven-disk-healthy-bitmap.txt": {"md0": Expect("raid6", "clean", 7, 7, redundancy=2)},
    "raid6-two-missing-recovering-19pct.txt": {
        "md0": _degraded("raid6", "recovering", 6, 4, sync="recovery", progress=0.196),
    },
    "many-arrays-composite-procfs.txt": {
        "md3": Expect("raid6", "clean", 8, 8, spares=2, redundancy=2),
        "md127": _mirror(),
        "md0": _mirror(),
        # An inactive array that is not a container holds data nobody can reach.
        "md4": Expect("raid1", "inactive", 2, 2, ("sda3",), 1, redundancy=0, failed=True),
        "md6": _degraded(
            "raid1", "recovering", 2, 1, faulty=("sdb2",), spares=1, sync="recovery", progress=0.085
        ),
        "md8": _mirror("resyncing", spares=2, sync="resync", progress=0.085),
        "md201": _mirror("checking", sync="check", progress=0.057),
        "md7": Expect("raid6", "degraded", 4, 3, ("sdc1",), redundancy=1, degraded=True),
        "md9": Expect("raid1", "clean", 4, 4, ("sde", "sdf"), 1, redundancy=3, sync="delayed"),
        "md10": _stripe(),
        "md11": _mirror(faulty=("sdc3",), spares=2, sync="pending"),
        "md12": _stripe(),
        "md126": _stripe(),
        "md219": Expect("container", "inactive", 0, 0, spares=3, redundancy=None),
        "md00": _stripe(members=1),
        "md120": _stripe("linear"),
        "md101": _stripe(members=3),
        "md42": _degraded("raid5", "reshaping", 3, 2, spares=1, sync="reshape", progress=0.561),
    },
}

OWN_EXPECTED: dict[str, dict[str, Expect]] = {
    "raid10-degraded-failed-member-trailing-spaces.txt": {
        # 2 near-copies with one member gone: which pair lost it is unknown, so assume none left.
        "md2": _degraded("raid10", "degraded", 4, 3, faulty=("sdg",)),
        "md0": _mirror(),
        "md1": _mirror(),
    },
    "raid4-reshape-count-3-of-4-map-uu__.txt": {
        # [4/3] but [UU__]: mid-reshape the map shows slots of the new geometry not yet
        # written. Running and reshaping, one member short: degraded, not failed.
        "md127": _degraded("raid4", "reshaping", 4, 3, sync="reshape", progress=0.021),
    },
}


def _read(name: str) -> str:
    return (SHARED_FIXTURES / "mdstat" / name).read_text()


def _collect(text: str, procfs: Path) -> ProbeData:
    (procfs / "mdstat").write_text(text)
    return MdRaidProbe(procfs).collect()


def _arrays(data: ProbeData) -> dict[str, dict[str, float | str]]:
    """Array name -> {metric: value, "level": label} from the probe's samples."""
    arrays: dict[str, dict[str, float | str]] = {}
    for sample in data.samples:
        if "array" in sample.labels and "member" not in sample.labels:
            seen = arrays.setdefault(sample.labels["array"], {"level": sample.labels["level"]})
            seen[sample.metric] = sample.value
    return arrays


def _faulty(data: ProbeData) -> dict[str, dict[str, float | str]]:
    """Array name -> {member: raid_array_member_faulty}."""
    members: dict[str, dict[str, float | str]] = {}
    for sample in data.samples:
        if sample.metric == "raid_array_member_faulty":
            members.setdefault(sample.labels["array"], {})[sample.labels["member"]] = sample.value
    return members


def _conclusion(seen: dict[str, float | str], faulty: dict[str, float | str]) -> Expect:
    progress = seen.get("raid_array_sync_progress_ratio")
    redundancy = seen.get("raid_array_redundancy_left")
    return Expect(
        level=str(seen["level"]),
        state=str(seen["raid_array_state"]),
        required=int(seen["raid_array_disks_required"]),
        active=int(seen["raid_array_disks_active"]),
        faulty=tuple(sorted(member for member, flag in faulty.items() if flag == 1.0)),
        spares=int(seen["raid_array_disks_spare"]),
        redundancy=int(redundancy) if redundancy is not None else None,
        degraded=seen["raid_array_degraded"] == 1.0,
        failed=seen["raid_array_failed"] == 1.0,
        sync=str(seen["raid_array_sync_action"]) if "raid_array_sync_action" in seen else None,
        progress=round(float(progress), 4) if progress is not None else None,
    )


def test_every_shared_mdstat_fixture_has_an_expected_conclusion() -> None:
    on_disk = {path.name for path in (SHARED_FIXTURES / "mdstat").glob("*.txt")}
    assert on_disk == set(EXPECTED)
    assert {path.name for path in OWN_MDSTAT.glob("*.txt")} == set(OWN_EXPECTED)


@pytest.mark.parametrize(
    ("path", "expected"),
    [(SHARED_FIXTURES / "mdstat" / name, want) for name, want in EXPECTED.items()]
    + [(OWN_MDSTAT / name, want) for name, want in OWN_EXPECTED.items()],
    ids=[*EXPECTED, *OWN_EXPECTED],
)
def test_fixture_yields_the_conclusion_a_monitor_must_draw(
    path: Path, expected: dict[str, Expect], tmp_path: Path
) -> None:
    data = _collect(path.read_text(), tmp_path)
    arrays, faulty = _arrays(data), _faulty(data)
    assert data.source_errors == {}
    assert list(arrays) == list(expected)
    got = {name: _conclusion(seen, faulty.get(name, {})) for name, seen in arrays.items()}
    assert got == {
        name: replace(want, faulty=tuple(sorted(want.faulty))) for name, want in expected.items()
    }
    assert ("raid_md_arrays", float(len(expected))) in [(s.metric, s.value) for s in data.samples]


def test_degraded_raid5_names_its_failed_member_as_its_own_series(
    tmp_path: Path,
) -> None:
    data = _collect(_read("raid5-degraded-failed-member.txt"), tmp_path)
    assert _faulty(data) == {"md0": {"sdc1": 1.0, "sdb1": 0.0, "sdd1": 0.0}}
    md0 = _arrays(data)["md0"]
    assert (md0["raid_array_degraded"], md0["raid_array_redundancy_left"]) == (1.0, 0.0)
    assert md0["raid_array_failed"] == 0.0  # one parity disk gone: degraded, data still there
    assert "raid_array_sync_action" not in md0  # nothing is rebuilding it


def test_recovery_reports_progress_eta_and_speed(tmp_path: Path) -> None:
    text = _read("raid5-degraded-recovering-12pct.txt")
    md127 = _arrays(_collect(text, tmp_path))["md127"]
    assert md127["raid_array_sync_action"] == "recovery"
    assert md127["raid_array_sync_progress_ratio"] == pytest.approx(0.126)
    assert md127["raid_array_sync_remaining_seconds"] == pytest.approx(127.5 * 60)
    assert md127["raid_array_sync_speed_bytes_per_second"] == 33440 * 1024


def test_delayed_resync_has_no_progress_while_the_other_array_recovers(
    tmp_path: Path,
) -> None:
    text = _read("raid1-recovery-plus-resync-delayed.txt")
    arrays = _arrays(_collect(text, tmp_path))
    assert arrays["md1"]["raid_array_sync_action"] == "delayed"
    assert "raid_array_sync_progress_ratio" not in arrays["md1"]
    assert "raid_array_sync_remaining_seconds" not in arrays["md1"]
    assert arrays["md0"]["raid_array_sync_remaining_seconds"] == pytest.approx(267.0 * 60)


def test_imsm_container_is_inactive_by_design_and_its_volume_is_external() -> None:
    arrays = {a.name: a for a in parse_mdstat(_read("imsm-external-metadata-raid1.txt"))}
    assert arrays["md0"].container and not arrays["md0"].failed
    assert arrays["md0"].redundancy_left is None
    assert arrays["md127"].metadata == "external:/md0/0" and not arrays["md127"].container
    assert [(m.device, m.role) for m in arrays["md127"].members] == [("sda", 1), ("sdb", 0)]


def test_auto_read_only_arrays_are_healthy() -> None:
    arrays = parse_mdstat(_read("raid1-auto-read-only.txt"))
    assert [(a.name, a.auto_read_only, a.state) for a in arrays] == [
        ("md2", True, "clean"),
        ("md1", False, "clean"),
        ("md0", True, "clean"),
    ]


def test_model_keeps_read_only_bitmap_metadata_and_map() -> None:
    arrays = {a.name: a for a in parse_mdstat(_read("many-arrays-composite-procfs.txt"))}
    assert arrays["md101"].read_only and not arrays["md101"].auto_read_only
    assert arrays["md7"].bitmap_chunk_bytes == 65536 * 1024
    assert arrays["md7"].in_sync_map == "U_UU"
    assert arrays["md3"].metadata == "1.2" and arrays["md127"].metadata is None
    assert arrays["md10"].bitmap_chunk_bytes is None
    assert arrays["md11"].sync is not None and arrays["md11"].sync.queued == "PENDING"


def test_raid10_copies_come_from_the_layout() -> None:
    text = (OWN_MDSTAT / "raid10-degraded-failed-member-trailing-spaces.txt").read_text()
    md2 = parse_mdstat(text)[0]
    assert (md2.level, md2.copies, md2.missing) == ("raid10", 2, 1)


# Constructed in the kernel's md_seq_show() format: no real capture carries (W) or (R).
WRITE_MOSTLY_AND_REPLACEMENT = """\
Personalities : [raid1]
md5 : active raid1 sdb1[2](W)(F) sda1[0] sdc1[3](R)
      1048512 blocks super 1.2 [2/1] [U_]
      [=>...................]  recovery =  5.0% (52425/1048512) finish=1.2min speed=13106K/sec

unused devices: <none>
"""


def test_member_flags_write_mostly_faulty_and_replacement() -> None:
    md5 = parse_mdstat(WRITE_MOSTLY_AND_REPLACEMENT)[0]
    assert [(m.device, m.role, sorted(m.flags)) for m in md5.members] == [
        ("sdb1", 2, ["F", "W"]),
        ("sda1", 0, []),
        ("sdc1", 3, ["R"]),
    ]
    assert (md5.failed_members, md5.spare_members, md5.state) == (1, 0, "recovering")


def test_count_and_map_disagreeing_never_reads_as_healthy() -> None:
    text = "Personalities : [raid1]\nmd0 : active raid1 sda1[0] sdb1[1]\n  1024 blocks [2/2] [U_]\n"
    md0 = parse_mdstat(text)[0]
    assert (md0.degraded, md0.state, md0.redundancy_left) == (True, "degraded", 0)


def test_missing_mdstat_means_no_md_driver_and_no_arrays(tmp_path: Path) -> None:
    data = MdRaidProbe(tmp_path).collect()
    assert [(s.metric, s.value) for s in data.samples] == [("raid_md_arrays", 0.0)]
    assert data.source_errors == {}


def test_unreadable_mdstat_is_a_probe_error(tmp_path: Path) -> None:
    (tmp_path / "mdstat").mkdir()  # a directory: readable by no one, even root
    with pytest.raises(ProbeError, match=r"cannot read .*mdstat"):
        MdRaidProbe(tmp_path).collect()


@pytest.mark.parametrize(
    "text",
    ["", '{"arrays": []}', "\x00\x7f\xff garbage \x01\n\x02", "<html>502 Bad Gateway</html>\n"],
    ids=["empty", "json", "binary", "html"],
)
def test_text_that_is_not_mdstat_is_a_probe_error(text: str, tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="not an mdstat file"):
        _collect(text, tmp_path)


def _cut(name: str, after: str) -> str:
    text = _read(name)
    return text[: text.index(after) + len(after)]


@pytest.mark.parametrize(
    ("text", "bad", "reason", "good"),
    [
        (
            _cut("raid5-degraded-failed-member.txt", "sdd1[2]"),
            "md0", "no 'NNN blocks' status line", [],
        ),
        (
            _cut("raid1-check-98pct.txt", "md0 : active raid1 sda1[2] sdb1[1]"),
            "md0", "truncated", ["md2", "md1"],
        ),
        (
            _cut("raid5-degraded-recovering-12pct.txt", "recovery = 1"),
            "md127", "cannot read the sync progress line", [],
        ),
        (
            "Personalities : [raid5]\nmd0 : active raid5 sdc1[3](F sdb1[0] sdd1[2]\n"
            "      8385664 blocks level 5, 64k chunk, algorithm 2 [3/2] [U_U]\n",
            "md0", "'sdc1[3](F' is not of the form device[number](flags)", [],
        ),
        (
            "Personalities : [raid5]\nmd0 : active raid5 sdb1[0] sdc1[1] sdd1[2]\n"
            "      8385664 blocks level 5, 64k chunk, algorithm 2\n",
            "md0", "no [required/in-sync] count", [],
        ),
        (
            "Personalities : [raid1]\nmd0 : rebuilding raid1 sda1[0]\n  1024 blocks [2/1] [U_]\n"
            "md1 : active raid1 sdc1[0] sdd1[1]\n      1024 blocks [2/2] [UU]\n",
            "md0", "expected 'active' or 'inactive'", ["md1"],
        ),
        (
            "Personalities : [raid1]\nmd0 active raid1 sda1[0](F) sdb1[1]\n"
            "  1024 blocks [2/1] [_U]\n",
            "md0", "not an array header line", [],
        ),
    ],
    ids=["cut-after-header", "cut-last-of-three", "cut-progress", "bad-member", "no-count",
         "unknown-activity", "header-without-colon"],
)  # fmt: skip
def test_unreadable_array_is_a_source_error_never_a_healthy_array(
    text: str, bad: str, reason: str, good: list[str], tmp_path: Path
) -> None:
    data = _collect(text, tmp_path)
    assert list(data.source_errors) == [bad]
    assert reason in data.source_errors[bad]
    assert list(_arrays(data)) == good
    assert bad not in _faulty(data)
    with pytest.raises(MdstatError, match=bad):
        parse_mdstat(text)


def test_unknown_lines_inside_an_array_are_ignored() -> None:
    text = WRITE_MOSTLY_AND_REPLACEMENT.replace(
        "      [=>", "      some future kernel line: 42\n      [=>"
    )
    assert parse_mdstat(text)[0].state == "recovering"


def test_settings_defaults_and_unknown_fields() -> None:
    settings = msgspec.convert({}, MdRaidSettings)
    assert (settings.enabled, settings.procfs) == (True, "/proc")
    with pytest.raises(msgspec.ValidationError, match="procfs_root"):
        msgspec.convert({"procfs_root": "/host/proc"}, MdRaidSettings)


def test_factory_builds_one_probe_on_the_configured_root_or_none(tmp_path: Path) -> None:
    (tmp_path / "mdstat").write_text(WRITE_MOSTLY_AND_REPLACEMENT)
    [probe] = build_mdraid_probes(
        MdRaidSettings(procfs=str(tmp_path)), ProbeContext(FixtureRunner({}))
    )
    assert (probe.name, probe.target, probe.min_interval_seconds) == ("mdraid", None, 0.0)
    assert _arrays(probe.collect())["md5"]["raid_array_state"] == "recovering"
    assert build_mdraid_probes(MdRaidSettings(enabled=False), ProbeContext(FixtureRunner({}))) == []


# --- cross-check against a real consumer of the same file: prometheus-node-exporter -----------


@pytest.fixture(scope="module")
def node_exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """A node-exporter with only the mdadm collector, reading mdstat from a directory we own."""
    binary = require_tool("prometheus-node-exporter", "prometheus-node-exporter")
    procfs, port = tmp_path_factory.mktemp("procfs"), free_port()
    (procfs / "mdstat").write_text("Personalities : \nunused devices: <none>\n")
    argv = [binary, "--collector.disable-defaults", "--collector.mdadm",
            f"--path.procfs={procfs}", f"--web.listen-address=127.0.0.1:{port}"]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: bool(_scrape(port)), timeout=10, what="node-exporter /metrics")
        yield procfs, port
    finally:
        stop_process(process)


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.mark.parametrize(
    "name",
    ["raid5-degraded-failed-member.txt", "raid1-failed-member-but-all-up.txt",
     "raid5-two-arrays-with-spares.txt", "raid6-two-missing-recovering-19pct.txt",
     "raid6-reshape-48pct.txt", "many-arrays-composite-procfs.txt"],
)  # fmt: skip
def test_node_exporter_counts_the_same_failed_spare_and_required_disks(
    name: str, node_exporter: tuple[Path, int]
) -> None:
    procfs, port = node_exporter
    text = _read(name)
    staged = procfs / "mdstat.new"
    staged.write_text(text)
    staged.replace(procfs / "mdstat")  # node-exporter reads the file afresh on every scrape
    metrics = _scrape(port)
    assert metrics[("node_scrape_collector_success", (("collector", "mdadm"),))] == 1.0
    ours = [a for a in parse_mdstat(text) if a.active]
    assert ours
    for array in ours:
        device = ("device", array.name)

        def disks(state: str, device: tuple[str, str] = device) -> float:
            return metrics[("node_md_disks", (device, ("state", state)))]

        theirs = (disks("failed"), disks("spare"), disks("active"))
        assert theirs == (array.failed_members, array.spare_members, array.disks_in_sync), array
        assert metrics[("node_md_disks_required", (device,))] == array.disks_required, array


@pytest.mark.parametrize(
    ("text", "failed"),
    [
        # A reshape with two slots still to fill, no member marked faulty: still running.
        ("md0 : active raid5 sda[0] sdb[1] sdc[2] sdd[3](S) sde[4](S)\n"
         "  1024 blocks level 5, 64k chunk, algorithm 2 [5/3] [UUU__]\n"
         "  [>....]  reshape =  1.0% (1/100) finish=9.0min speed=1000K/sec\n", False),
        # The same array with two members md marked faulty has lost data, reshape or not.
        ("md0 : active raid5 sda[0] sdb[1](F) sdc[2](F) sdd[3] sde[4]\n"
         "  1024 blocks level 5, 64k chunk, algorithm 2 [5/3] [U__UU]\n"
         "  [>....]  reshape =  1.0% (1/100) finish=9.0min speed=1000K/sec\n", True),
    ],
    ids=["reshape-slots-unwritten", "reshape-two-faulty"],
)  # fmt: skip
def test_only_faulty_members_fail_a_reshaping_array(text: str, failed: bool) -> None:
    (array,) = parse_mdstat("Personalities : [raid5]\n" + text)
    assert (array.state, array.failed, array.degraded) == (
        "failed" if failed else "reshaping",
        failed,
        True,
    )
    assert array.redundancy_left == 0
