"""Broadcom/LSI MegaRAID (and Dell PERC) controller health through storcli / perccli."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from agent.configfile import parse_duration
from agent.exec import CommandResult
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
    parse_int,
    parse_size_bytes,
    run_tool,
    worse_vd_state,
)
from agent.probes.raid.toolprobe import RaidToolProbe

TOOL = "storcli"
INSTALL_HINT = (
    "install Broadcom storcli (or Dell perccli) and set storcli.storcli_path to it, "
    "e.g. /opt/MegaRAID/storcli/storcli64"
)
_DRIVE_KEY = re.compile(r"^Drive (/c\d+(?:/e\d+)?/s\d+)$")
_DRIVE_STATE_KEY = re.compile(r"^Drive (/c\d+(?:/e\d+)?/s\d+) State$")
_OK_CONTROLLER = frozenset({"optimal", "ok"})
_BATTERY_TABLES = ("BBU_Info", "Cachevault_Info")


class StorcliSettings(RaidToolSettings, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How the agent reads MegaRAID controllers through storcli.

    enabled: run the storcli probe (default false: only hosts with a MegaRAID/PERC need it).
    storcli_path: the storcli binary; perccli64 works too (same commands and output).
    output: "json" (storcli's `J` option, the default) or "text" for builds without JSON.
    min_interval: reuse the last result until this much time has passed; `show all` takes
        seconds and holds the controller's management lock, so the default is "2m".
    timeout: how long one storcli command may run.
    """

    storcli_path: str = "storcli64"
    output: Literal["json", "text"] = "json"


@dataclass
class StorcliOutput:
    """One storcli answer: what it saw, and the controllers it could not read (id -> reason)."""

    snapshot: RaidSnapshot = field(default_factory=RaidSnapshot)
    failures: dict[str, str] = field(default_factory=dict)


# --- JSON output -------------------------------------------------------------------------------


def parse_storcli_json(text: str) -> StorcliOutput:
    """Parse `storcli /call show all J` or `/call/eall/sall show all J` (or a /cN/eE/sS show)."""
    out = StorcliOutput()
    for entry in _json_controllers(text):
        status = _mapping(entry.get("Command Status"))
        cid = str(status.get("Controller", len(out.failures)))
        if str(status.get("Status", "")).lower() != "success":
            reason = str(status.get("Description") or status.get("Status") or "no status")
            # An empty controller answers "No drive found!" to eall/sall: nothing is broken.
            if "no drive found" not in reason.lower():
                out.failures[f"controller {cid}"] = reason
            continue
        out.snapshot.merge(read_json_controller(cid, _mapping(entry.get("Response Data"))))
    return out


def _json_controllers(text: str) -> list[Mapping[str, Any]]:
    try:
        document = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise ProbeError(f"storcli output is not valid JSON ({exc})") from exc
    controllers = document.get("Controllers") if isinstance(document, dict) else None
    if not isinstance(controllers, list):
        raise ProbeError('storcli JSON has no "Controllers" list; is this storcli output?')
    return [c for c in controllers if isinstance(c, dict)]


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _rows(value: object) -> list[Mapping[str, Any]]:
    return [row for row in value if isinstance(row, dict)] if isinstance(value, list) else []


def read_json_controller(cid: str, data: Mapping[str, Any]) -> RaidSnapshot:
    """One controller's "Response Data" -> controller status, VDs, PDs and battery."""
    snapshot = RaidSnapshot()
    status = _mapping(data.get("Status")).get("Controller Status")
    if status is not None:
        snapshot.controllers.append(
            Controller(cid, str(status), str(status).lower() in _OK_CONTROLLER)
        )
    groups = group_states(
        (str(row.get(k, "")) for k in ("DG", "Arr", "Row", "State"))
        for row in _rows(data.get("TOPOLOGY"))
    )
    vds = [_vd_from_row(cid, row) for row in _rows(data.get("VD LIST"))]
    snapshot.virtual_drives = [with_group_state(vd, groups) for vd in vds]
    snapshot.physical_drives = list(_json_drives(cid, data))
    for table in _BATTERY_TABLES:
        for row in _rows(data.get(table))[:1]:
            state = str(row.get("State", ""))
            snapshot.batteries.append(Battery(cid, state, battery_ok(state)))
    return snapshot


def _vd_from_row(cid: str, row: Mapping[str, Any]) -> VirtualDrive:
    raw = str(row.get("State", ""))
    return VirtualDrive(
        controller=cid,
        vd=str(row.get("DG/VD", "?")),
        raw_state=raw,
        state=normalise_vd_state(raw),
        raid_level=str(row.get("TYPE", "")).upper(),
        size_bytes=parse_size_bytes(str(row.get("Size", ""))),
    )


def group_states(rows: Iterable[Iterable[str]]) -> dict[str, str]:
    """TOPOLOGY rows (DG, Arr, Row, State) -> drive group -> its worst own or span state.

    The drive group's row ("0 - -") and its spans' rows ("0 1 -") are the containers; a RAID10
    whose span is offline has lost data even while the group row says only "Dgrd".
    """
    worst: dict[str, str] = {}
    for group, _span, row, raw in (tuple(r) for r in rows):
        if row != "-" or not raw:
            continue  # a member drive's row, or a malformed one
        current = worst.get(group)
        if current is None or worse_vd_state(normalise_vd_state(raw), normalise_vd_state(current)):
            worst[group] = raw
    return worst


def with_group_state(vd: VirtualDrive, groups: Mapping[str, str]) -> VirtualDrive:
    """The VD, overruled by its drive group's state when that is worse ("DG/VD" 0/0 -> DG 0)."""
    group = vd.vd.split("/", 1)[0]
    raw = groups.get(group)
    if raw is None:
        return vd
    return overrule_by_group(vd, f"drive group {group}", raw, normalise_vd_state(raw))


def _json_drives(cid: str, data: Mapping[str, Any]) -> Iterator[PhysicalDrive]:
    """Drive rows wherever storcli puts them: PD LIST, "Drive /cN/eE/sS", Drive Information."""
    scopes = [data, _mapping(data.get("Physical Device Information"))]
    for scope in scopes:
        for key, value in scope.items():
            if key in ("PD LIST", "Drive Information") or _DRIVE_KEY.match(key):
                for row in _rows(value):
                    yield _pd_from_row(cid, row, scopes)


def _pd_from_row(
    cid: str, row: Mapping[str, Any], scopes: list[Mapping[str, Any]]
) -> PhysicalDrive:
    enclosure, _, slot = str(row.get("EID:Slt", "")).strip().partition(":")
    raw = str(row.get("State", ""))
    path = drive_path(cid, enclosure, slot)
    details: Mapping[str, Any] = {}
    for scope in scopes:
        detailed = _mapping(scope.get(f"Drive {path} - Detailed Information"))
        details = details or _mapping(detailed.get(f"Drive {path} State"))
    return _pd_with_counters(cid, enclosure, slot, raw, details)


def _pd_with_counters(
    cid: str, enclosure: str, slot: str, raw: str, counters: Mapping[str, Any]
) -> PhysicalDrive:
    smart = str(counters.get("S.M.A.R.T alert flagged by drive", "")).strip().lower()
    return PhysicalDrive(
        controller=cid,
        drive=f"{enclosure}:{slot}",
        raw_state=raw,
        state=normalise_pd_state(raw),
        enclosure=enclosure,
        slot=slot,
        media_errors=parse_int(counters.get("Media Error Count")),
        other_errors=parse_int(counters.get("Other Error Count")),
        predictive_failures=parse_int(counters.get("Predictive Failure Count")),
        smart_alert={"yes": True, "no": False}.get(smart),
    )


def drive_path(cid: str, enclosure: str, slot: str) -> str:
    """storcli's address of a drive: /c0/e252/s3, or /c0/s3 for a drive with no enclosure."""
    return f"/c{cid}/e{enclosure}/s{slot}" if enclosure else f"/c{cid}/s{slot}"


def parse_storcli_rebuild_json(text: str) -> dict[str, float]:
    """`storcli /cN/eE/sS show rebuild J` -> {drive path: progress ratio} for running rebuilds."""
    progress: dict[str, float] = {}
    for entry in _json_controllers(text):
        for row in _rows(entry.get("Response Data")):
            percent = parse_int(row.get("Progress%"))
            if percent is not None and "in progress" in str(row.get("Status", "")).lower():
                progress[str(row.get("Drive-ID", ""))] = percent / 100
    return progress


# --- text output -------------------------------------------------------------------------------

_CONTROLLER_LINE = re.compile(r"^Controller = (\d+)\s*$")
_VD_ROW = re.compile(r"^(\d+/\d+)\s+(\S+)\s+(\S+)\s.*?(\d[\d.]* [KMGTP]?B)")
_PD_ROW = re.compile(r"^(\d*):(\d+)\s+\d+\s+(\S+)\s")


@dataclass
class _Section:
    title: str
    rows: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)


def parse_storcli_text(text: str) -> StorcliOutput:
    """Parse storcli's text `show all`, one or several controllers' answers concatenated."""
    out = StorcliOutput()
    blocks = list(_text_blocks(text.splitlines()))
    if not blocks:
        raise ProbeError('storcli text output has no "Controller = N" / "Status = ..." header')
    for block in blocks:
        sections = _text_sections(block)
        header = sections[0].values
        cid = header.get("Controller", "?")
        if header.get("Status", "").lower() != "success":
            out.failures[f"controller {cid}"] = header.get("Description", "no description")
            continue
        out.snapshot.merge(_read_text_controller(cid, sections))
    return out


def _text_blocks(lines: list[str]) -> Iterator[list[str]]:
    starts = [
        i
        for i, line in enumerate(lines[:-1])
        if _CONTROLLER_LINE.match(line) and lines[i + 1].startswith("Status = ")
    ]
    for start, end in zip(starts, [*starts[1:], len(lines)], strict=False):
        yield lines[start:end]


def _text_sections(lines: list[str]) -> list[_Section]:
    """Split on "Title :" + "=====" headings; table rows are the lines between the 2nd and 3rd
    dashed rule of a table, so legends and notes after a table are never read as rows."""
    sections = [_Section("")]
    dashes = 0
    for line, following in zip(lines, [*lines[1:], ""], strict=True):
        if line.endswith(" :") and following.startswith("="):
            sections.append(_Section(line[:-2].strip()))
            dashes = 0
        elif line.startswith("---"):
            dashes += 1
        elif dashes % 3 == 2 and line.strip():
            sections[-1].rows.append(line)
        elif " = " in line:
            key, _, value = line.partition(" = ")
            sections[-1].values.setdefault(key.strip(), value.strip())
    return sections


def _read_text_controller(cid: str, sections: list[_Section]) -> RaidSnapshot:
    snapshot = RaidSnapshot()
    groups: dict[str, str] = {}
    counters = {
        match.group(1): s.values for s in sections if (match := _DRIVE_STATE_KEY.match(s.title))
    }
    for section in sections:
        if section.title == "Status" and "Controller Status" in section.values:
            status = section.values["Controller Status"]
            snapshot.controllers.append(Controller(cid, status, status.lower() in _OK_CONTROLLER))
        elif section.title == "VD LIST":
            snapshot.virtual_drives += _text_vds(cid, section.rows)
        elif section.title == "TOPOLOGY":
            groups = group_states(row.split()[:3] + row.split()[6:7] for row in section.rows)
        elif section.title == "PD LIST" or _DRIVE_KEY.match(section.title):
            snapshot.physical_drives += _text_pds(cid, section.rows, counters)
        elif section.title in _BATTERY_TABLES and section.rows:
            state = section.rows[0].split()[1]
            snapshot.batteries.append(Battery(cid, state, battery_ok(state)))
    snapshot.virtual_drives = [with_group_state(vd, groups) for vd in snapshot.virtual_drives]
    return snapshot


def _text_vds(cid: str, rows: list[str]) -> list[VirtualDrive]:
    drives = []
    for match in filter(None, map(_VD_ROW.match, rows)):
        vd, level, raw, size = match.groups()
        drives.append(
            VirtualDrive(
                cid, vd, raw, normalise_vd_state(raw), level.upper(), parse_size_bytes(size)
            )
        )
    return drives


def _text_pds(
    cid: str, rows: list[str], counters: Mapping[str, Mapping[str, str]]
) -> list[PhysicalDrive]:
    drives = []
    for match in filter(None, map(_PD_ROW.match, rows)):
        enclosure, slot, raw = match.groups()
        found = counters.get(drive_path(cid, enclosure, slot), {})
        drives.append(_pd_with_counters(cid, enclosure, slot, raw, found))
    return drives


# --- probe -------------------------------------------------------------------------------------


class StorcliProbe(RaidToolProbe[StorcliSettings]):
    """Reads every MegaRAID controller: controller status, VDs, drives, BBU/CacheVault."""

    name = "storcli"
    commands_per_cycle = 2

    def commands(self) -> list[list[str]]:
        """The two command lines read each cycle: controllers first, then drive details."""
        suffix = ["J", "nolog"] if self._settings.output == "json" else ["nolog"]
        path = self._settings.storcli_path
        return [
            [path, "/call", "show", "all", *suffix],
            [path, "/call/eall/sall", "show", "all", *suffix],
        ]

    def collect(self) -> ProbeData:
        data = ProbeData()
        controllers_argv, drives_argv = self.commands()
        result = self._read(controllers_argv)
        if not result.snapshot.controllers:
            reasons = "; ".join(f"{k}: {v}" for k, v in result.failures.items())
            raise ProbeError(
                f"storcli read no controller ({reasons})"
                if reasons
                else "storcli found no controller on this host; disable the storcli probe here"
            )
        try:
            drives = self._read(drives_argv)
        except ProbeError as exc:
            data.source_errors["drives"] = str(exc)
        else:
            result.snapshot.merge(drives.snapshot)
            data.source_errors.update({f"{k} drives": v for k, v in drives.failures.items()})
        data.source_errors.update(result.failures)
        self._add_rebuild_progress(result.snapshot, data)
        emit(data, result.snapshot, TOOL)
        return data

    def _read(self, argv: list[str]) -> StorcliOutput:
        answer = run_tool(self._runner, argv, parse_duration(self._settings.timeout), INSTALL_HINT)
        try:
            if self._settings.output == "json":
                return parse_storcli_json(answer.stdout)
            return parse_storcli_text(answer.stdout)
        except ProbeError as exc:
            raise ProbeError(f"{' '.join(argv)}: {exc}{_exit_note(answer)}") from exc

    def _add_rebuild_progress(self, snapshot: RaidSnapshot, data: ProbeData) -> None:
        """Ask for progress only for drives rebuilding now: one extra command per rebuild."""
        if self._settings.output != "json":
            return
        for index, pd in enumerate(snapshot.physical_drives):
            if pd.state != "rebuilding":
                continue
            path = drive_path(pd.controller, pd.enclosure, pd.slot)
            argv = [self._settings.storcli_path, path, "show", "rebuild", "J", "nolog"]
            try:
                answer = run_tool(self._runner, argv, parse_duration(self._settings.timeout))
                ratio = parse_storcli_rebuild_json(answer.stdout).get(path)
            except ProbeError as exc:
                data.source_errors[f"rebuild {path}"] = str(exc)
                continue
            snapshot.physical_drives[index] = dataclasses.replace(pd, rebuild_progress_ratio=ratio)


def _exit_note(answer: CommandResult) -> str:
    if answer.returncode == 0:
        return ""
    detail = (answer.stderr or answer.stdout).strip().splitlines()
    return f" (exit status {answer.returncode}{': ' + detail[0] if detail else ''})"


def build_storcli_probes(settings: StorcliSettings, context: ProbeContext) -> list[Probe]:
    """The storcli probe when enabled, else nothing."""
    return [StorcliProbe(settings, context.runner)] if settings.enabled else []


PROBE = ProbeKind("storcli", StorcliSettings, build_storcli_probes)
