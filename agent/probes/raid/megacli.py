"""LSI MegaRAID controller health through the legacy MegaCli tool (hosts without storcli)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from agent.configfile import parse_duration
from agent.probe import Probe, ProbeData, ProbeError
from agent.probes.kind import ProbeContext, ProbeKind
from agent.probes.raid.hwraid import (
    Battery,
    PhysicalDrive,
    RaidSnapshot,
    RaidToolSettings,
    VirtualDrive,
    battery_ok,
    emit,
    normalise_pd_state,
    normalise_vd_state,
    parse_int,
    parse_size_bytes,
    run_tool,
)
from agent.probes.raid.toolprobe import RaidToolProbe

TOOL = "megacli"
INSTALL_HINT = (
    "install MegaCli (e.g. the megacli package from hwraid.le-vert.net) "
    "and set megacli.megacli_path to it, e.g. /opt/MegaRAID/MegaCli/MegaCli64"
)
_ADAPTER = re.compile(r"^Adapter\s*#?\s*(\d+)")
_VD_START = re.compile(r"^Virtual (?:Drive|Disk)\s*:\s*(\d+)")
_PD_START = re.compile(r"^Enclosure Device ID\s*:\s*(\S+)")
_RAID_LEVEL = re.compile(r"Primary-(\d+),\s*Secondary-(\d+)")
_BBU_START = re.compile(r"^\s*BBU status for Adapter\s*:\s*(\d+)", re.IGNORECASE | re.MULTILINE)
_YES = "yes"

_Parsed = TypeVar("_Parsed")


class MegacliSettings(RaidToolSettings, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How the agent reads MegaRAID controllers through MegaCli.

    enabled: run the megacli probe (default false: prefer storcli where it is available).
    megacli_path: the MegaCli binary ("megacli" from the Debian hwraid packages, MegaCli64
        from Broadcom's RPM).
    min_interval: reuse the last result until this much time has passed (default "2m").
    timeout: how long one MegaCli command may run.
    """

    megacli_path: str = "megacli"


@dataclass
class _Record:
    kind: str
    adapter: str
    ident: str
    fields: dict[str, str] = field(default_factory=dict)


def parse_megacli_drives(text: str) -> RaidSnapshot:
    """Parse `-LDInfo -Lall -aALL`, `-PDList -aALL` or `-LDPDInfo -aALL` output."""
    if "Adapter" not in text:
        raise ProbeError("MegaCli output names no adapter; is this MegaCli -LDInfo/-PDList output?")
    snapshot = RaidSnapshot()
    for record in _records(text.splitlines()):
        if record.kind == "vd":
            snapshot.virtual_drives.append(_virtual_drive(record))
        else:
            snapshot.physical_drives.append(_physical_drive(record))
    return snapshot


def _records(lines: list[str]) -> list[_Record]:
    """Cut the output into VD and PD records: each starts at its first line and collects every
    "key: value" line until the next record starts."""
    records: list[_Record] = []
    adapter = "0"
    for raw in lines:
        line = raw.strip()
        if match := _ADAPTER.match(line):
            adapter = match.group(1)
        elif match := _VD_START.match(line):
            records.append(_Record("vd", adapter, match.group(1)))
        elif match := _PD_START.match(line):
            records.append(_Record("pd", adapter, match.group(1)))
        elif records and ":" in line:
            key, _, value = line.partition(":")
            records[-1].fields.setdefault(key.strip(), value.strip())
    return records


def _required(record: _Record, key: str) -> str:
    if key not in record.fields:
        slot = record.fields.get("Slot Number", "?")
        what = (
            f"virtual drive {record.ident}"
            if record.kind == "vd"
            else f"drive {record.ident}:{slot}"
        )
        raise ProbeError(
            f'MegaCli output for adapter {record.adapter} {what} has no "{key}" line; '
            "the output looks truncated"
        )
    return record.fields[key]


def _virtual_drive(record: _Record) -> VirtualDrive:
    raw = _required(record, "State")
    return VirtualDrive(
        controller=record.adapter,
        vd=record.ident,
        raw_state=raw,
        state=normalise_vd_state(raw),
        raid_level=megacli_raid_level(
            record.fields.get("RAID Level", ""), record.fields.get("Span Depth", "1")
        ),
        size_bytes=parse_size_bytes(record.fields.get("Size", "")),
    )


def megacli_raid_level(text: str, span_depth: str) -> str:
    """ "Primary-1, Secondary-0, ..." with span depth 2 -> "RAID10"; spans make RAID10/50/60."""
    match = _RAID_LEVEL.search(text)
    if match is None:
        return "unknown"
    primary, secondary = match.groups()
    spanned = (parse_int(span_depth) or 1) > 1 or secondary == "3"
    return f"RAID{primary}0" if spanned else f"RAID{primary}"


def _physical_drive(record: _Record) -> PhysicalDrive:
    raw = _required(record, "Firmware state")
    enclosure = "" if record.ident.upper() == "N/A" else record.ident
    slot = record.fields.get("Slot Number", "")
    smart = record.fields.get("Drive has flagged a S.M.A.R.T alert", "").lower()
    return PhysicalDrive(
        controller=record.adapter,
        drive=f"{enclosure}:{slot}",
        raw_state=raw,
        state=normalise_pd_state(raw),
        enclosure=enclosure,
        slot=slot,
        media_errors=parse_int(record.fields.get("Media Error Count")),
        other_errors=parse_int(record.fields.get("Other Error Count")),
        predictive_failures=parse_int(record.fields.get("Predictive Failure Count")),
        smart_alert={"yes": True, "no": False}.get(smart),
    )


def parse_megacli_bbu(text: str) -> list[Battery]:
    """Parse `-AdpBbuCmd [-GetBbuStatus] -aALL`; an adapter without a BBU yields nothing."""
    batteries = []
    blocks = _BBU_START.split(text)
    # split() with one group gives [before, adapter, block, adapter, block, ...]
    for adapter, block in zip(blocks[1::2], blocks[2::2], strict=True):
        fields = _bbu_fields(block)
        state = megacli_bbu_state(fields)
        batteries.append(Battery(adapter, state, battery_ok(state)))
    if not batteries and "Exit Code" not in text and "BBU" not in text:
        raise ProbeError("MegaCli output has no BBU status; is this -AdpBbuCmd output?")
    return batteries


def _bbu_fields(block: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in block.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip().lower(), value.strip())
    return fields


def megacli_bbu_state(fields: dict[str, str]) -> str:
    """The BBU's state, with the firmware's own alarms winning over "Battery State"."""
    if fields.get("battery pack missing", "").lower() == _YES:
        return "missing"
    replace_keys = ("battery replacement required", "pack is about to fail & should be replaced")
    if any(fields.get(key, "").lower() == _YES for key in replace_keys):
        return "replacement required"
    # Older MegaCli prints no "Battery State" value; with no alarm raised that means healthy.
    return fields.get("battery state") or "ok"


class MegacliProbe(RaidToolProbe[MegacliSettings]):
    """Reads virtual drives, physical drives and BBUs of every adapter through MegaCli."""

    name = "megacli"
    commands_per_cycle = 3  # virtual drives, physical drives, BBU

    def commands(self) -> dict[str, list[str]]:
        """The command line for each source, named as in source errors."""
        path = self._settings.megacli_path
        return {
            "virtual drives": [path, "-LDInfo", "-Lall", "-aALL", "-NoLog"],
            "physical drives": [path, "-PDList", "-aALL", "-NoLog"],
            "bbu": [path, "-AdpBbuCmd", "-GetBbuStatus", "-aALL", "-NoLog"],
        }

    def collect(self) -> ProbeData:
        data = ProbeData()
        snapshot = RaidSnapshot()
        argv = self.commands()
        vds = self._source(data, "virtual drives", argv, parse_megacli_drives)
        pds = self._source(data, "physical drives", argv, parse_megacli_drives)
        batteries = self._source(data, "bbu", argv, parse_megacli_bbu)
        if len(data.source_errors) == len(argv):
            raise ProbeError(next(iter(data.source_errors.values())))
        snapshot.virtual_drives = vds.virtual_drives if vds else []
        snapshot.physical_drives = pds.physical_drives if pds else []
        snapshot.batteries = batteries or []
        emit(data, snapshot, TOOL)
        return data

    def _source(
        self,
        data: ProbeData,
        source: str,
        commands: dict[str, list[str]],
        parse: Callable[[str], _Parsed],
    ) -> _Parsed | None:
        argv = commands[source]
        timeout = parse_duration(self._settings.timeout)
        try:
            answer = run_tool(self._runner, argv, timeout, INSTALL_HINT)
            return parse(answer.stdout)
        except ProbeError as exc:
            data.source_errors[source] = f"{' '.join(argv)}: {exc}"
            return None


def build_megacli_probes(settings: MegacliSettings, context: ProbeContext) -> list[Probe]:
    """The megacli probe when enabled, else nothing."""
    return [MegacliProbe(settings, context.runner)] if settings.enabled else []


PROBE = ProbeKind("megacli", MegacliSettings, build_megacli_probes)
