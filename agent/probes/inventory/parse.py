"""Hardware identity from what each source prints: DMI files, smartctl JSON, ipmitool, Redfish.

Pure functions from captured text to InventoryItem; reading the sources is the probe's job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from agent.report import InventoryItem

_LIMIT = 255
# What firmware writes when the vendor left a field empty: not an identity.
_PLACEHOLDERS = re.compile(
    r"^(to be filled by o\.?e\.?m\.?|default string|not specified|not applicable|none|n/?a|"
    r"system (serial )?(number|product name|manufacturer|version)|0+|0123456789|"
    r"unknown( \(0x[0-9a-f]+\))?|[ .xX*-]*)$",
    re.IGNORECASE,
)
ROOT_ONLY = "readable by root only"

Reader = Callable[[Path], str]


def clean(value: object) -> str:
    """A vendor string trimmed to 255 characters; "" for placeholders like "Default string"."""
    text = " ".join(str(value).split()) if value is not None else ""
    return "" if _PLACEHOLDERS.match(text) else text[:_LIMIT]


def read_text(path: Path) -> str:
    """The real reader: one sysfs file (tests inject one that knows the capture's file modes)."""
    return path.read_text(encoding="utf-8", errors="replace")


def _read_fields(
    directory: Path, files: Mapping[str, str], read: Reader
) -> tuple[dict[str, str], dict[str, str]]:
    """(values, unreadable reasons) of DMI files by field; a missing file is an empty value."""
    values: dict[str, str] = {}
    unreadable: dict[str, str] = {}
    for field, name in files.items():
        try:
            values[field] = clean(read(directory / name))
        except PermissionError:  # product_serial, board_serial, chassis_serial: mode 0400
            unreadable[field] = f"{ROOT_ONLY} ({directory / name})"
        except OSError:
            values[field] = ""
    return values, unreadable


def dmi_system(directory: Path, read: Reader = read_text) -> InventoryItem | None:
    """The server from /sys/class/dmi/id: vendor, model, serial (root only), BIOS as firmware.

    None when there is no DMI table (containers, some VMs and ARM boards have none).
    """
    files = {"vendor": "sys_vendor", "model": "product_name", "serial": "product_serial"}
    values, unreadable = _read_fields(directory, files, read)
    if not any(values.values()) and not unreadable:
        return None
    bios, _ = _read_fields(directory, {"version": "bios_version", "date": "bios_date"}, read)
    firmware = " ".join(filter(None, ("BIOS", bios.get("version"), bios.get("date"))))
    firmware = "" if firmware == "BIOS" else firmware
    return InventoryItem("system", "system", firmware=firmware, unreadable=unreadable, **values)


def dmi_baseboard(directory: Path, read: Reader = read_text) -> InventoryItem | None:
    """The main board: vendor, model, serial (root only); None without a DMI table."""
    files = {"vendor": "board_vendor", "model": "board_name", "serial": "board_serial"}
    values, unreadable = _read_fields(directory, files, read)
    if not any(values.values()) and not unreadable:
        return None
    return InventoryItem("baseboard", "baseboard", unreadable=unreadable, **values)


def smartctl_disk(device: str, answer: Mapping[str, Any]) -> InventoryItem | None:
    """A disk from one `smartctl --json --info` answer; None if it names no model or serial."""
    model = clean(answer.get("model_name") or answer.get("scsi_model_name"))
    serial = clean(answer.get("serial_number"))
    if not model and not serial:
        return None
    vendor = clean(answer.get("scsi_vendor") or answer.get("model_family"))
    firmware = clean(answer.get("firmware_version") or answer.get("scsi_revision"))
    return InventoryItem("disk", device, vendor, model, serial, firmware)


def _colon_fields(text: str) -> Iterator[tuple[str, str]]:
    for line in text.splitlines():
        key, colon, value = line.partition(":")
        if colon and key.strip():
            yield key.strip(), value.strip()


def ipmitool_mc_info(text: str) -> InventoryItem | None:
    """The BMC from `ipmitool mc info`: manufacturer, product, firmware revision (no serial)."""
    fields = dict(_colon_fields(text))
    firmware = clean(fields.get("Firmware Revision"))
    if not firmware:
        return None
    product = clean(fields.get("Product Name"))
    if not product and fields.get("Product ID"):
        product = f"product id {fields['Product ID']}"
    return InventoryItem(
        "bmc", "bmc", clean(fields.get("Manufacturer Name")), product, "", firmware
    )


def ipmitool_fru(text: str) -> list[InventoryItem]:
    """One item per FRU device of `ipmitool fru print`: product, else board, else chassis data."""
    items: list[InventoryItem] = []
    for block in re.split(r"\n\s*\n", text):
        fields = dict(_colon_fields(block))
        description = fields.get("FRU Device Description", "")
        if not description:
            continue
        vendor = _first(fields, "Product Manufacturer", "Board Mfg")
        model = _first(fields, "Product Name", "Board Product", "Product Part Number")
        serial = _first(fields, "Product Serial", "Board Serial", "Chassis Serial")
        if vendor or model or serial:
            name = clean(re.sub(r"\s*\(ID \d+\)$", "", description)) or "fru"
            items.append(InventoryItem("fru", name, vendor, model, serial))
    return items


def _first(fields: Mapping[str, str], *keys: str) -> str:
    return next((value for key in keys if (value := clean(fields.get(key))) != ""), "")


def redfish_item(kind: str, name: str, resource: Mapping[str, Any]) -> InventoryItem | None:
    """A Redfish ComputerSystem, Manager, StorageController, Drive or PowerSupply resource."""
    firmware = _first_value(resource, "FirmwareVersion", "BiosVersion", "Revision")
    if kind == "system" and firmware:
        firmware = f"BIOS {firmware}"
    item = InventoryItem(
        kind,
        clean(name) or kind,
        clean(resource.get("Manufacturer")),
        clean(resource.get("Model")),
        clean(resource.get("SerialNumber")),
        firmware,
    )
    return item if item.model or item.serial or item.firmware else None


def _first_value(resource: Mapping[str, Any], *keys: str) -> str:
    return next((value for key in keys if (value := clean(resource.get(key))) != ""), "")


def redfish_json(text: str) -> dict[str, Any]:
    """A Redfish resource body as a dict (ValueError if it is not a JSON object)."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("a Redfish resource is a JSON object")
    return data


def smartctl_disk_from_output(device: str, stdout: str) -> InventoryItem | None:
    """The disk of one `smartctl --json` run, None when its output names no disk."""
    try:
        answer = json.loads(stdout)
    except ValueError:
        return None
    return smartctl_disk(device, answer) if isinstance(answer, dict) else None
