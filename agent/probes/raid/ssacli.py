"""HPE Smart Array controller health through ssacli (or the older hpssacli / hpacucli)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from agent.configfile import parse_duration
from agent.probe import Probe, ProbeData, ProbeError
from agent.probes.kind import ProbeContext, ProbeKind
from agent.probes.raid.hwraid import (
    Battery,
    Controller,
    PhysicalDrive,
    RaidSnapshot,
    RaidToolSettings,
    VirtualDrive,
    battery_ok,
    emit,
    normalise_pd_state,
    normalise_vd_state,
    overrule_by_group,
    parse_size_bytes,
    run_tool,
)
from agent.probes.raid.toolprobe import RaidToolProbe

TOOL = "ssacli"
INSTALL_HINT = (
    "install HPE ssacli (from the HPE Management Component Pack repository) "
    "and set ssacli.ssacli_path to it, or to hpssacli/hpacucli on older systems"
)
_SLOT = re.compile(r" in Slot (\S+)")
_NOTE = re.compile(r"^[\w ]+:\s")
_ARRAY = re.compile(r"^array:?\s+([A-Z]{1,3})((?:\s+\(.*\))?)$", re.IGNORECASE)
_GROUP = re.compile(r"\(([^()]*)\)")
# What the short layout's "array A (SAS, Unused Space: 0 MB)" says before any status.
_INTERFACES = frozenset(
    {"sas", "sata", "scsi", "parallel scsi", "mixed", "nvme"}
    | {f"solid state {kind}" for kind in ("sas", "sata", "nvme")}
)
_LD_DETAIL = re.compile(r"^Logical Drive:\s*(\d+)$")
_LD_SHORT = re.compile(r"^logicaldrive (\S+) \((.+)\)$")
_PD_DETAIL = re.compile(r"^physicaldrive (\S+)$")
_PD_SHORT = re.compile(r"^physicaldrive (\S+) \((.+)\)$")
_PROGRESS = re.compile(r"(\d+(?:\.\d+)?)% complete")
_FINE_PD_STATES = frozenset({"online", "hotspare", "unconfigured_good"})


class SsacliSettings(RaidToolSettings, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How the agent reads HPE Smart Array controllers.

    enabled: run the ssacli probe (default false: only HPE ProLiant hosts need it).
    ssacli_path: the ssacli binary; hpssacli and hpacucli take the same commands.
    min_interval: reuse the last result until this much time has passed (default "2m").
    timeout: how long one ssacli command may run (`show config detail` can take 20 s).
    """

    ssacli_path: str = "ssacli"


@dataclass
class _Record:
    kind: str  # "controller", "array", "ld", "pd", or "other" for lines nobody reads
    ident: str
    controller: str
    array: str | None = None
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class _Reader:
    """Where the line being read sits: controller, array, open record."""

    records: list[_Record] = field(default_factory=list)
    controller: str = ""
    array: str | None = None
    unassigned: bool = False

    def open(self, kind: str, ident: str, **fields: str) -> None:
        array = "unassigned" if self.unassigned else self.array
        self.records.append(_Record(kind, ident, self.controller, array, dict(fields)))


def parse_ssacli(text: str) -> RaidSnapshot:
    """Parse `ctrl all show config [detail]` or `ctrl all show status` (hpacucli alike)."""
    reader = _Reader()
    for line in text.splitlines():
        _read_line(reader, line)
    controllers = [r for r in reader.records if r.kind == "controller"]
    if not controllers:
        errors = [line.strip() for line in text.splitlines() if "error" in line.lower()]
        detail = errors[0] if errors else "no Smart Array controller header found"
        raise ProbeError(f"ssacli reported no controller: {detail}")
    return _snapshot(reader.records)


def _read_line(reader: _Reader, raw: str) -> None:
    line = raw.strip()
    if not line:
        return
    if not raw[0].isspace():
        # Controller headers start in column 0; so do notes like "FIRMWARE UPGRADE REQUIRED:
        # ..." and "Error: ...", told apart by their leading "Words:".
        if not _NOTE.match(line):
            reader.controller = _controller_id(reader, line)
            reader.array, reader.unassigned = None, False
            reader.open("controller", reader.controller)
        return
    if match := _ARRAY.match(line):
        reader.array, reader.unassigned = match.group(1), False
        status = array_status_from_header(match.group(2))
        reader.open("array", match.group(1), **({"Status": status} if status else {}))
    elif line.lower() in ("unassigned", "hba drives"):
        reader.array, reader.unassigned = None, True
    else:
        _read_device_line(reader, line)


def _read_device_line(reader: _Reader, line: str) -> None:
    if match := _LD_SHORT.match(line):
        size, level, *status = (part.strip() for part in match.group(2).split(","))
        reader.open("ld", match.group(1))
        reader.records[-1].fields.update(
            {"Size": size, "Fault Tolerance": level, "Status": ", ".join(status)}
        )
    elif match := _LD_DETAIL.match(line):
        reader.open("ld", match.group(1))
    elif match := _PD_SHORT.match(line):
        parts = [part.strip() for part in match.group(2).split(",")]
        pd_status = parts[3] if len(parts) > 3 else ""
        reader.open("pd", match.group(1), Status=pd_status, Spare=str("spare" in parts[4:]))
    elif match := _PD_DETAIL.match(line):
        reader.open("pd", match.group(1))
    elif reader.records and ":" in line and not line.endswith(":"):
        key, _, value = line.partition(":")
        reader.records[-1].fields.setdefault(key.strip(), value.strip())
    elif not line.startswith(("Mirror Group", "physicaldrive")):
        reader.open("other", line)  # an enclosure, port or note: its lines are not ours


def _controller_id(reader: _Reader, header: str) -> str:
    """ "slot 0" where the header names a slot; two identical headers stay two controllers."""
    match = _SLOT.search(header)
    ident = f"slot {match.group(1)}" if match else header
    seen = sum(1 for r in reader.records if r.kind == "controller" and r.ident == ident)
    return f"{ident} #{seen + 1}" if seen else ident


def array_status_from_header(text: str) -> str:
    """ "(Failed)" -> "Failed"; "(SAS, Unused Space: 0 MB)" says nothing of its state -> ""."""
    groups: list[str] = _GROUP.findall(text)
    for group in groups:
        for part in (p.strip() for p in group.split(",")):
            if part.lower().startswith("status:"):
                return part.partition(":")[2].strip()
            if part and ":" not in part and part.lower() not in _INTERFACES:
                return part
    return ""


def _snapshot(records: list[_Record]) -> RaidSnapshot:
    snapshot = RaidSnapshot()
    for record in records:
        if record.kind == "controller":
            _add_controller(snapshot, record)
    pd_records = list(_latest(records, "pd"))
    snapshot.physical_drives = [_physical_drive(r) for r in pd_records]
    lost = _lost_members_by_array(pd_records, snapshot.physical_drives)
    arrays = {
        (r.controller, r.ident): r.fields["Status"]
        for r in records
        if r.kind == "array" and r.fields.get("Status")
    }
    snapshot.virtual_drives = [
        _virtual_drive(
            r, lost.get((r.controller, r.array)), arrays.get((r.controller, r.array or ""))
        )
        for r in _latest(records, "ld")
    ]
    return snapshot


def _latest(records: list[_Record], kind: str) -> Iterator[_Record]:
    """A drive listed in a summary and again in detail: the detail (read later) wins."""
    chosen: dict[tuple[str, str], _Record] = {}
    for record in records:
        if record.kind == kind:
            previous = chosen.get((record.controller, record.ident))
            if previous and not record.array:
                record.array = previous.array
            chosen[(record.controller, record.ident)] = record
    return iter(chosen.values())


def _add_controller(snapshot: RaidSnapshot, record: _Record) -> None:
    status = record.fields.get("Controller Status")
    if status is not None:
        snapshot.controllers.append(Controller(record.ident, status, status.lower() == "ok"))
    battery = record.fields.get("Battery/Capacitor Status")
    if battery is not None:
        snapshot.batteries.append(Battery(record.ident, battery, battery_ok(battery)))


def ssacli_raid_level(text: str) -> str:
    """ "RAID 1+0", "1+0", "RAID 6 (ADG)", "1 (ADM)" -> "RAID10", "RAID6", "RAID1ADM"."""
    compact = text.upper().replace("RAID", "").replace(" ", "")
    adm = "ADM" in compact
    digits = re.sub(r"\(.*?\)", "", compact).replace("+", "")
    if digits in ("", "ADG"):
        digits = "6" if "ADG" in compact else digits
    return f"RAID{digits}{'ADM' if adm else ''}" if digits else "unknown"


def ssacli_vd_state(status: str) -> tuple[str, float | None]:
    """ "Recovering, 45% complete" -> ("rebuilding", 0.45); progress is None when not printed."""
    progress = _PROGRESS.search(status)
    base = status.split(",", 1)[0].strip()
    return normalise_vd_state(base), float(progress.group(1)) / 100 if progress else None


def ssacli_array_state(status: str) -> str | None:
    """An array's own status in the shared VD vocabulary; None when it is OK.

    "Failed" means the array (every logical drive on it) is lost; any other status that is not
    OK ("Failed Physical Drive", "Interim Recovery Mode"...) means it runs without a member.
    """
    lowered = status.strip().lower()
    if lowered in ("", "ok"):
        return None
    if lowered == "failed":
        return "offline"
    known = normalise_vd_state(status.split(",", 1)[0])
    return known if known not in ("optimal", "unknown") else "degraded"


def _virtual_drive(record: _Record, lost: int | None, array_status: str | None) -> VirtualDrive:
    vd = _own_virtual_drive(record, lost)
    array_state = ssacli_array_state(array_status or "")
    if array_state is None or array_status is None:
        return vd
    return overrule_by_group(vd, f"array {record.array}", array_status, array_state)


def _own_virtual_drive(record: _Record, lost: int | None) -> VirtualDrive:
    raw = record.fields.get("Status", "")
    state, progress = ssacli_vd_state(raw)
    return VirtualDrive(
        controller=record.controller,
        vd=record.ident,
        raw_state=raw,
        state=state,
        raid_level=ssacli_raid_level(record.fields.get("Fault Tolerance", "")),
        size_bytes=parse_size_bytes(record.fields.get("Size", "")),
        lost_members=lost,
        rebuild_progress_ratio=progress,
    )


def ssacli_pd_state(status: str, drive_type: str, spare: bool, unassigned: bool) -> str:
    """ssacli says "OK" for members, spares and unassigned disks alike; the context tells."""
    lowered = status.lower()
    if lowered == "ok" or lowered.startswith("predictive failure"):
        if spare or "spare" in drive_type.lower():
            return "hotspare"
        return "unconfigured_good" if unassigned else "online"
    return normalise_pd_state(status)


def _physical_drive(record: _Record) -> PhysicalDrive:
    status = record.fields.get("Status", "")
    port_box, _, bay = record.ident.rpartition(":")
    state = ssacli_pd_state(
        status,
        record.fields.get("Drive Type", ""),
        record.fields.get("Spare") == "True",
        record.array == "unassigned",
    )
    return PhysicalDrive(
        controller=record.controller,
        drive=record.ident,
        raw_state=status,
        state=state,
        enclosure=port_box,
        slot=bay,
        predictive_failures=int("predictive failure" in status.lower()) if status else None,
    )


def _lost_members_by_array(
    records: list[_Record], drives: list[PhysicalDrive]
) -> dict[tuple[str, str | None], int]:
    """Members of each array that are not serving data (failed, rebuilding...), when known."""
    lost: dict[tuple[str, str | None], int] = {}
    for record, drive in zip(records, drives, strict=True):
        if record.array not in (None, "unassigned"):
            key = (record.controller, record.array)
            lost[key] = lost.get(key, 0) + (drive.state not in _FINE_PD_STATES)
    return lost


class SsacliProbe(RaidToolProbe[SsacliSettings]):
    """Reads every Smart Array controller: status, battery, logical and physical drives."""

    name = "ssacli"
    commands_per_cycle = 1

    def command(self) -> list[str]:
        """The one command line read each cycle; it holds status, battery and every drive."""
        return [self._settings.ssacli_path, "ctrl", "all", "show", "config", "detail"]

    def collect(self) -> ProbeData:
        argv = self.command()
        timeout = parse_duration(self._settings.timeout)
        answer = run_tool(self._runner, argv, timeout, INSTALL_HINT)
        try:
            snapshot = parse_ssacli(answer.stdout)
        except ProbeError as exc:
            code = f" (exit status {answer.returncode})" if answer.returncode else ""
            raise ProbeError(f"{' '.join(argv)}: {exc}{code}") from exc
        data = ProbeData()
        emit(data, snapshot, TOOL)
        return data


def build_ssacli_probes(settings: SsacliSettings, context: ProbeContext) -> list[Probe]:
    """The ssacli probe when enabled, else nothing."""
    return [SsacliProbe(settings, context.runner)] if settings.enabled else []


PROBE = ProbeKind("ssacli", SsacliSettings, build_ssacli_probes)
