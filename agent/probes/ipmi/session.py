"""BMC sessions for the IPMI probe: pyghmi (LAN or /dev/ipmi0), the ipmitool fallback, SEL records.

Every call that may wait on a BMC runs under a `Deadline`, so a BMC that stops answering costs
the agent at most its timeout, never a hung cycle.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol, TypeVar

from agent.exec import CommandError, CommandResult, CommandRunner
from agent.probe import ProbeError
from agent.probes.ipmi.ipmitool import (
    OK,
    SensorReading,
    health_name,
    merge_readings,
    normalise_type,
    normalise_unit,
    parse_ipmitool_sdr_csv,
    parse_ipmitool_sensor,
)
from agent.report import Event
from agent.threads import start_in_thread

T = TypeVar("T")
SelMarker = tuple[int, int | None] | None
NEVER_READ: SelMarker = (-1, -1)  # before the first SEL read, as opposed to "read, was empty"


class BmcError(Exception):
    """The BMC answered but a read failed; the message is safe to show (no secrets)."""


class BmcUnreachableError(BmcError):
    """The BMC did not answer, refused the login, or the session broke."""


class PartialReadError(BmcError):
    """Sensors were read but part of the reading failed; carries them and what failed."""

    def __init__(self, readings: list[SensorReading], problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{source}: {text}" for source, text in problems.items()))
        self.readings = readings
        self.problems = problems


@dataclass(frozen=True)
class SelEntry:
    """One System Event Log record."""

    record_id: int
    timecode: int | None
    time: float | None
    sensor: str
    type: str
    event: str
    severity: int
    deasserted: bool


class BmcClient(Protocol):
    """What the probe needs from a BMC session; tests may pass their own."""

    def connect(self) -> None:
        """Open (or reuse) the session; raise BmcUnreachableError when that fails."""
        ...

    def read_sensors(self) -> list[SensorReading]: ...

    def read_sel(self) -> list[SelEntry]: ...

    def close(self) -> None: ...


def _describe(exc: BaseException, secrets: Sequence[str]) -> str:
    text = str(exc)
    if not text or text == "None":  # pyghmi's login timeout carries no message
        text = "no answer to the session login"
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def reading_from_pyghmi(reading: Any) -> SensorReading:
    """A pyghmi SensorReading in the probe's model; unavailable sensors have no value."""
    unavailable = bool(getattr(reading, "unavailable", 0))
    value = reading.value if isinstance(reading.value, int | float) else None
    return SensorReading(
        name=str(reading.name),
        type=normalise_type(str(reading.type or "")),
        value=None if unavailable or value is None else float(value),
        unit=normalise_unit(str(reading.units or "")),
        health=int(reading.health or OK),
        states=("no reading",) if unavailable else tuple(str(s) for s in reading.states),
    )


def _sel_time(stamp: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(stamp)).timestamp()  # pyghmi gives BMC local time
    except ValueError:
        return None


def sel_entry_from_pyghmi(entry: dict[str, Any]) -> SelEntry:
    """One record of pyghmi's get_event_log(); OEM records keep what little they say."""
    return SelEntry(
        record_id=int(entry.get("record_id", -1)),
        timecode=entry.get("timecode"),
        time=_sel_time(entry["timestamp"]) if "timestamp" in entry else None,
        sensor=str(entry.get("component") or ""),
        type=normalise_type(str(entry.get("component_type") or "")),
        event=str(entry.get("event") or "OEM record"),
        severity=int(entry.get("severity") or OK),
        deasserted=bool(entry.get("deassertion", False)),
    )


def with_sensor_numbers(readings: list[SensorReading], sdr: Any) -> list[SensorReading]:
    """Same-named readings with their SDR sensor number ("85h") as identity, as ipmitool has.

    pyghmi reads the readable SDR entries in repository order, so the n-th reading of a name
    is the n-th readable entry of that name. When the counts disagree (a sensor the BMC said
    is absent, OEM sensors), nothing is assigned rather than a guess.
    """
    names = Counter(reading.name for reading in readings)
    doubles = {name for name, count in names.items() if count > 1}
    entries = getattr(sdr, "sensors", None)
    if not doubles or not isinstance(entries, dict):
        return readings
    numbers: dict[str, list[str]] = {}
    for entry in entries.values():
        name = getattr(entry, "sensor_name", None)
        number = getattr(entry, "sensor_number", None)
        if name in doubles and getattr(entry, "readable", False) and isinstance(number, int):
            numbers.setdefault(name, []).append(f"{number:02X}h")
    usable = {name: iter(found) for name, found in numbers.items() if len(found) == names[name]}
    return [
        replace(reading, ident=next(usable[reading.name])) if reading.name in usable else reading
        for reading in readings
    ]


class PyghmiClient:
    """A pyghmi session: RMCP+ to `address`, or the local /dev/ipmi0 when address is None."""

    def __init__(
        self,
        address: str | None,
        port: int = 623,
        username: str = "",
        password: Callable[[], str] = str,
    ) -> None:
        self._address = address
        self._port = port
        self._username = username
        self._password = password
        self._secret = ""
        self._command: Any = None

    def connect(self) -> None:
        if self._command is not None and not getattr(self._command.ipmi_session, "broken", 0):
            return
        try:
            from pyghmi.ipmi import command  # heavy: only where a BMC is configured
        except ImportError as exc:
            raise ProbeError(
                "pyghmi is not installed (pip install 'watchkeeper[hardware]')"
            ) from exc
        try:
            self._command = self._open(command)
        except Exception as exc:
            self._command = None
            raise BmcUnreachableError(_describe(exc, [self._secret])) from exc

    def _open(self, command: Any) -> Any:
        if self._address is None:
            return command.Command()
        self._secret = self._password()
        # Bytes, not str: pyghmi caches sessions under the bytes it stores, so str credentials
        # never match and a second login to the same BMC hangs (pyghmi 1.6).
        return command.Command(
            bmc=self._address,
            userid=self._username.encode(),
            password=self._secret.encode(),
            port=self._port,
        )

    def read_sensors(self) -> list[SensorReading]:
        readings = [reading_from_pyghmi(r) for r in self._call("get_sensor_data")]
        # pyghmi's readings drop the sensor number; its SDR cache (private) still has it.
        return with_sensor_numbers(readings, getattr(self._command, "_sdr", None))

    def read_sel(self) -> list[SelEntry]:
        return [sel_entry_from_pyghmi(e) for e in self._call("get_event_log")]

    def _call(self, method: str) -> list[Any]:
        try:
            return list(getattr(self._command, method)())
        except Exception as exc:
            message = _describe(exc, [self._secret])
            if getattr(self._command.ipmi_session, "broken", 0):
                self._command = None
                raise BmcUnreachableError(message) from exc
            raise BmcError(message) from exc

    def close(self) -> None:
        """Log out, so a restarted BMC does not meet a stale cached session."""
        command, self._command = self._command, None
        logout = getattr(getattr(command, "ipmi_session", None), "logout", None)
        if logout is not None:
            with contextlib.suppress(Exception):  # best effort on the way out
                logout()


class IpmitoolClient:
    """In-band fallback: `ipmitool sensor` plus decoded power-supply states; no SEL."""

    def __init__(self, runner: CommandRunner, path: str, timeout: float) -> None:
        self._runner = runner
        self._path = path
        self._timeout = timeout

    def connect(self) -> None:
        return None  # every ipmitool call opens the device itself

    def _run(self, *args: str) -> CommandResult:
        result = self._run_allowing_failure(*args)
        if result.returncode != 0:
            raise BmcUnreachableError(_failure(result))
        return result

    def _run_allowing_failure(self, *args: str) -> CommandResult:
        argv = [self._path, *args]
        try:
            return self._runner.run(argv, self._timeout)
        except CommandError as exc:
            raise BmcUnreachableError(str(exc)) from exc

    def read_sensors(self) -> list[SensorReading]:
        """`ipmitool sensor`, with power supplies' states decoded by `sdr type`.

        Only the sensor list decides whether the BMC answered: `ipmitool sensor` exits non-zero
        when one sensor cannot be read yet prints the others, and the power-supply query only
        adds detail (some BMCs have no such SDR type). Either failure keeps every reading
        printed and is reported on its own.
        """
        listed = self._run_allowing_failure("sensor")
        readings = parse_ipmitool_sensor(listed.stdout)
        if listed.returncode != 0 and not readings:
            raise BmcUnreachableError(_failure(listed))
        problems = {}
        if listed.returncode != 0:
            problems["sensor list"] = f"{_failure(listed)}; the sensors it printed were kept"
        try:
            psus = self._run("sdr", "type", "Power Supply", "-c").stdout
        except BmcError as exc:
            problems["power supplies"] = f"states not decoded ({exc}); other sensors were read"
        else:
            readings = merge_readings(readings, parse_ipmitool_sdr_csv(psus, "power_supply"))
        if problems:
            raise PartialReadError(readings, problems)
        return readings

    def read_sel(self) -> list[SelEntry]:
        raise BmcError("the ipmitool fallback does not read the SEL (set read_sel: false)")

    def close(self) -> None:
        return None


def _failure(result: CommandResult) -> str:
    lines = (result.stderr or result.stdout).strip().splitlines()
    return f"{' '.join(result.argv)}: {lines[0] if lines else f'exit status {result.returncode}'}"


class FallbackClient:
    """`primary` unless it cannot connect; from then on `secondary`, for the agent's life."""

    def __init__(self, primary: BmcClient, secondary: BmcClient) -> None:
        self._primary = primary
        self._secondary = secondary
        self._chosen: BmcClient | None = None

    def connect(self) -> None:
        if self._chosen is not None:
            return self._chosen.connect()
        try:
            self._primary.connect()
            self._chosen = self._primary
        except (BmcUnreachableError, ProbeError) as first:
            try:
                self._secondary.connect()
            except BmcUnreachableError as second:
                raise BmcUnreachableError(f"pyghmi: {first}; ipmitool: {second}") from second
            self._chosen = self._secondary

    def _active(self) -> BmcClient:
        return self._chosen or self._primary

    def read_sensors(self) -> list[SensorReading]:
        return self._active().read_sensors()

    def read_sel(self) -> list[SelEntry]:
        return self._active().read_sel()

    def close(self) -> None:
        self._active().close()


class Deadline:
    """Runs BMC work in a daemon thread, so a stuck BMC costs the agent `timeout` at most.

    A thread still stuck on the previous cycle is not joined by another: the next cycle is
    reported as unreachable at once instead of piling up threads.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._stuck: Future[Any] | None = None

    def run(self, work: Callable[[], T], timeout: float) -> T:
        if self._stuck is not None and not self._stuck.done():
            raise BmcUnreachableError("still waiting for the BMC to answer the previous query")
        future = start_in_thread(work, f"{self._name} query")
        wait([future], timeout)
        if not future.done():
            self._stuck = future
            raise BmcUnreachableError(f"no answer within {timeout:g} s")
        return future.result()


def sel_marker(entries: Sequence[SelEntry]) -> SelMarker:
    """Where the log ends now: the last record's id and timecode (ids restart after a clear)."""
    return (entries[-1].record_id, entries[-1].timecode) if entries else None


def entries_since(
    entries: Sequence[SelEntry], marker: SelMarker, first_read: int = 0
) -> list[SelEntry]:
    """SEL records after `marker`; all of them when the marked record is gone (log cleared)."""
    if marker == NEVER_READ:
        return list(entries[-first_read:]) if first_read else []
    for index, entry in enumerate(entries):
        if (entry.record_id, entry.timecode) == marker:
            return list(entries[index + 1 :])
    return list(entries)


def sel_event(entry: SelEntry, now: float) -> Event:
    """One SEL record as an `ipmi_sel` event."""
    labels = {
        "sensor": entry.sensor,
        "type": entry.type,
        "severity": health_name(entry.severity),
        "record_id": str(entry.record_id),
        "assertion": "deasserted" if entry.deasserted else "asserted",
    }
    message = f"{entry.sensor or 'BMC'}: {entry.event}"
    return Event("ipmi_sel", entry.time if entry.time is not None else now, message, labels)
