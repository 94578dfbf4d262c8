"""Hardware identity from real captures: DMI of a Dell R6515 (serials root-only), smartctl
answers, ipmitool against ipmi_sim, the DMTF Redfish mockup; the probe and the report."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.exec import CannedOutput, FixtureRunner
from agent.probes.inventory.parse import (
    ROOT_ONLY,
    clean,
    dmi_baseboard,
    dmi_system,
    ipmitool_fru,
    ipmitool_mc_info,
    redfish_item,
    smartctl_disk,
    smartctl_disk_from_output,
)
from agent.probes.inventory.probe import InventoryProbe, InventorySettings
from agent.report import InventoryItem
from agent.runner import ProbeRunner
from tests.conftest import OWN_FIXTURES

FIXTURES = OWN_FIXTURES / "inventory"
DMI = FIXTURES / "dmi-dell-poweredge-r6515"
REDFISH = OWN_FIXTURES / "redfish"


def dmi_reader(as_root: bool) -> Callable[[Path], str]:
    """Reads the capture as the kernel would serve it: mode 400 files for root only."""
    modes = dict(
        line.split()
        for line in (FIXTURES / "dmi-dell-poweredge-r6515.modes").read_text().splitlines()
        if line and not line.startswith("#")
    )

    def read(path: Path) -> str:
        if modes.get(path.name) == "400" and not as_root:
            raise PermissionError(13, "Permission denied", str(path))
        return path.read_text()

    return read


def test_dmi_as_an_unprivileged_agent_says_the_serials_are_root_only() -> None:
    read = dmi_reader(as_root=False)
    assert dmi_system(DMI, read) == InventoryItem(
        "system",
        "system",
        vendor="Dell Inc.",
        model="PowerEdge R6515",
        firmware="BIOS 2.2.4 04/12/2021",
        unreadable={"serial": f"{ROOT_ONLY} ({DMI / 'product_serial'})"},
    )
    assert dmi_baseboard(DMI, read) == InventoryItem(
        "baseboard",
        "baseboard",
        vendor="Dell Inc.",
        model="07PXPY",
        unreadable={"serial": f"{ROOT_ONLY} ({DMI / 'board_serial'})"},
    )


def test_dmi_as_root_has_the_service_tag() -> None:
    read = dmi_reader(as_root=True)
    system = dmi_system(DMI, read)
    assert system is not None and (system.serial, system.unreadable) == ("7N62AI2", {})
    board = dmi_baseboard(DMI, read)
    assert board is not None and board.serial == ".7N62AI2.GRTCL6944100GP."


def test_no_dmi_table_is_no_item(tmp_path: Path) -> None:
    assert dmi_system(tmp_path / "missing") is None
    assert dmi_baseboard(tmp_path / "missing") is None


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("To Be Filled By O.E.M.", ""),
        ("Default string", ""),
        ("System Serial Number", ""),
        ("0123456789", ""),
        ("Unknown (0xF02)", ""),
        ("  Dell   Inc.\n", "Dell Inc."),
        ("XXXXXXXX", ""),
        ("A" * 300, "A" * 255),
    ],
    ids=["oem", "default", "serial-placeholder", "digits", "unknown", "spaces", "xs", "long"],
)
def test_placeholders_are_no_identity(raw: str, kept: str) -> None:
    assert clean(raw) == kept


@pytest.mark.parametrize(
    ("capture", "expected"),
    [
        (
            "ata-hdd-healthy-wdc-wd20efrx.json",
            InventoryItem(
                "disk", "/dev/sdb", "Western Digital Red", "WDC WD20EFRX-68EUZN0",
                "REDACTED", "REDACTED",
            ),
        ),
        (
            "nvme-healthy-intel-p4510-ssdpe2kx080t8.json",
            InventoryItem("disk", "/dev/sdb", "", "INTEL SSDPE2KX080T8", "REDACTED", "REDACTED"),
        ),
        (
            "scsi-sas-healthy-hitachi-h109060sesun600g.json",
            InventoryItem(
                "disk", "/dev/sdb", "HITACHI", "HITACHI H109060SESUN600G", "REDACTED", "A690"
            ),
        ),
    ],
    ids=["ata", "nvme", "sas"],
)  # fmt: skip
def test_a_disk_from_smartctl(shared_fixtures: Path, capture: str, expected: InventoryItem) -> None:
    answer = json.loads((shared_fixtures / "smartctl" / capture).read_text())
    assert smartctl_disk("/dev/sdb", answer) == expected


def test_every_smartctl_capture_that_names_a_disk_gives_one(shared_fixtures: Path) -> None:
    for path in sorted((shared_fixtures / "smartctl").glob("*.json")):
        disk = smartctl_disk_from_output("/dev/x", path.read_text())
        if "permission-denied" in path.name:
            assert disk is None, path.name
        else:
            assert disk is not None and disk.model, path.name
    assert smartctl_disk_from_output("/dev/x", "not json") is None


def test_the_bmc_from_ipmitool_mc_info() -> None:
    text = (FIXTURES / "ipmitool-mc-info-ipmi-sim.txt").read_text()
    assert ipmitool_mc_info(text) == InventoryItem(
        "bmc", "bmc", "MontaVista Software, Inc.", "product id 3842 (0x0f02)", "", "9.08"
    )
    assert ipmitool_mc_info("Could not open device at /dev/ipmi0") is None


def test_fru_devices_from_ipmitool_fru_print() -> None:
    text = (FIXTURES / "ipmitool-fru-print-ipmi-sim.txt").read_text()
    assert ipmitool_fru(text) == [
        InventoryItem("fru", "Builtin FRU Device", "Supermicro", "SYS-120U-TNR", "S526388X1A09915")
    ]


def _resource(*parts: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(REDFISH.joinpath(*parts, "index.json").read_text())
    return data


def test_redfish_system_manager_and_drive() -> None:
    system = _resource("public-rackmount1", "Systems", "437XR1138R2")
    assert redfish_item("system", "system", system) == InventoryItem(
        "system", "system", "Contoso", "3500", "437XR1138R2", "BIOS P79 v1.45 (12/06/2017)"
    )
    manager = _resource("public-rackmount1", "Managers", "BMC")
    assert redfish_item("bmc", "BMC", manager) == InventoryItem(
        "bmc", "BMC", "", "Joo Janta 200", "", "1.45.455b66-rev4"
    )
    drive = _resource(
        "storage-overlay", "Systems", "437XR1138R2", "Storage", "RAID1", "Drives", "Bay1"
    )
    item = redfish_item("disk", str(drive["Name"]), drive)
    assert item is not None and item.model and item.serial


def test_the_probe_reports_dmi_and_the_bmc_through_the_runner(tmp_path: Path) -> None:
    runner = FixtureRunner(
        {
            ("ipmitool", "mc", "info"): FIXTURES / "ipmitool-mc-info-ipmi-sim.txt",
            ("ipmitool", "fru", "print"): FIXTURES / "ipmitool-fru-print-ipmi-sim.txt",
        }
    )
    settings = InventorySettings(dmi_path=str(DMI), bmc=True)
    probe = InventoryProbe(settings, runner, dmi_reader(as_root=False))
    assert probe.min_interval_seconds == 3600
    [result] = ProbeRunner([probe], "web1", 10.0).run_cycle().probes
    assert (result.probe, result.status, result.samples) == ("inventory", "ok", [])
    assert [(i.kind, i.model) for i in result.inventory] == [
        ("system", "PowerEdge R6515"),
        ("baseboard", "07PXPY"),
        ("bmc", "product id 3842 (0x0f02)"),
        ("fru", "SYS-120U-TNR"),
    ]


def test_a_bmc_that_cannot_be_asked_is_a_source_error_not_a_failure() -> None:
    runner = FixtureRunner(
        {("ipmitool", "mc", "info"): CannedOutput("", 1, "Could not open device at /dev/ipmi0")}
    )
    settings = InventorySettings(dmi_path=str(DMI), bmc=True)
    data = InventoryProbe(settings, runner, dmi_reader(as_root=True)).collect()
    assert [i.kind for i in data.inventory] == ["system", "baseboard"]
    assert data.source_errors == {
        "bmc": "ipmitool mc info named no BMC firmware (Could not open device at /dev/ipmi0); "
        "the BMC is asked in-band: install ipmitool, load ipmi_devintf, run as root"
    }


def test_the_smart_probe_identifies_each_disk_it_reads(shared_fixtures: Path) -> None:
    from agent.probes.smart.probe import SmartDevice, SmartProbe, SmartSettings, device_command

    capture = shared_fixtures / "smartctl" / "scsi-sas-healthy-hitachi-h109060sesun600g.json"
    settings = SmartSettings(scan=False, extra_devices=(SmartDevice(name="/dev/sda", type="scsi"),))
    argv = device_command(settings, "/dev/sda", "scsi")
    data = SmartProbe(settings, FixtureRunner({tuple(argv): capture})).collect()
    assert data.inventory == [
        InventoryItem("disk", "/dev/sda", "HITACHI", "HITACHI H109060SESUN600G", "REDACTED", "A690")
    ]


def test_the_redfish_probe_identifies_system_bmc_controller_and_drives(tmp_path: Path) -> None:
    from agent.probes.redfish.client import MockupSession
    from agent.probes.redfish.probe import RedfishProbe
    from tests.peers.redfish import mockup_copy

    session = MockupSession(mockup_copy(tmp_path))
    data = RedfishProbe("redfish:web483", "web483", session, url="m", timeout=5).collect()
    assert data.inventory == [
        InventoryItem(
            "system", "437XR1138R2", "Contoso", "3500", "437XR1138R2", "BIOS P79 v1.45 (12/06/2017)"
        ),
        InventoryItem(
            "controller",
            "RAID1 12Gbs Integrated RAID",
            "Contoso",
            "12Gbs Integrated RAID",
            firmware="1.0.0.7",
        ),
        InventoryItem("disk", "RAID1 Drive Bay 1", model="Contoso 3000GT8", serial="72D0A037FRD1"),
        InventoryItem("disk", "RAID1 Drive Bay 2", model="Contoso 3000GT8", serial="72D0A037FRD2"),
        InventoryItem("bmc", "BMC", model="Joo Janta 200", firmware="1.45.455b66-rev4"),
    ]
