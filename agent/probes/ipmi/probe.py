"""The IPMI probe: BMC sensors, health summary and System Event Log, over the LAN or in-band."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from agent.configfile import parse_duration
from agent.exec import CommandRunner
from agent.probe import DEADLINE_MARGIN_SECONDS, Probe, ProbeData
from agent.probes.ipmi.ipmitool import SensorReading, unique_names
from agent.probes.ipmi.sensors import add_readings
from agent.probes.ipmi.session import (
    NEVER_READ,
    BmcClient,
    BmcError,
    BmcUnreachableError,
    Deadline,
    FallbackClient,
    IpmitoolClient,
    PartialReadError,
    PyghmiClient,
    SelEntry,
    entries_since,
    sel_event,
    sel_marker,
)
from agent.probes.ipmi.settings import BmcSettings, InbandSettings, IpmiSettings
from agent.probes.kind import ProbeContext, ProbeKind
from agent.secret import SecretError, secret_source


@dataclass
class _Snapshot:
    readings: list[SensorReading] = field(default_factory=list)
    sel: list[SelEntry] | None = None
    errors: dict[str, str] = field(default_factory=dict)


class IpmiProbe:
    """One BMC: every sensor with its health, the summary, and new SEL records as events.

    A BMC that does not answer (or refuses the login) is not a probe error: the result carries
    ipmi_bmc_up 0 and source_errors["bmc"], so the collector can tell "BMC unreachable" apart
    from a failing sensor.
    """

    def __init__(
        self,
        name: str,
        target: str | None,
        client: BmcClient,
        *,
        timeout: float,
        min_interval_seconds: float = 0.0,
        read_sel: bool = True,
        sel_initial_entries: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.target = target
        self._client = client
        self._timeout = timeout
        self.min_interval_seconds = min_interval_seconds
        # The read's own timeout, plus a margin: the runner's backstop.
        self.deadline_seconds = timeout + DEADLINE_MARGIN_SECONDS
        self._read_sel = read_sel
        self._sel_initial = sel_initial_entries
        self._clock = clock
        self._sel_marker = NEVER_READ
        self._deadline = Deadline(name)

    def collect(self) -> ProbeData:
        data = ProbeData()
        try:
            snapshot = self._deadline.run(self._read, self._timeout)
        except BmcUnreachableError as exc:
            data.add("ipmi_bmc_up", 0.0)
            data.source_errors["bmc"] = f"unreachable: {exc}"
            return data
        data.add("ipmi_bmc_up", 1.0)
        data.source_errors.update(snapshot.errors)
        if "sensors" not in snapshot.errors:
            add_readings(data, snapshot.readings)
        if snapshot.sel is not None:
            self._add_sel(data, snapshot.sel)
        return data

    def _read(self) -> _Snapshot:
        """The BMC round trips; runs in the deadline's thread."""
        self._client.connect()
        snapshot = _Snapshot()
        try:
            snapshot.readings = unique_names(self._client.read_sensors())
        except BmcUnreachableError:
            raise
        except PartialReadError as exc:  # the sensors were read, an auxiliary query was not
            snapshot.readings = unique_names(exc.readings)
            snapshot.errors.update(exc.problems)
        except BmcError as exc:
            snapshot.errors["sensors"] = str(exc)
        if self._read_sel:
            try:
                snapshot.sel = self._client.read_sel()
            except BmcUnreachableError:
                raise
            except BmcError as exc:
                snapshot.errors["sel"] = str(exc)
        return snapshot

    def _add_sel(self, data: ProbeData, entries: Sequence[SelEntry]) -> None:
        now = self._clock()
        new = entries_since(entries, self._sel_marker, self._sel_initial)
        data.events.extend(sel_event(entry, now) for entry in new)
        self._sel_marker = sel_marker(entries)
        data.add("ipmi_sel_entries", float(len(entries)))

    def close(self) -> None:
        """Log out of the BMC (pyghmi keeps sessions alive in the background otherwise)."""
        self._client.close()


def read_password(bmc: BmcSettings) -> str:
    """The password from `password`, `password_file` or `password_env`; errors never show it."""
    try:
        return secret_source(bmc, "password").read().reveal()
    except SecretError as exc:
        raise BmcError(str(exc)) from exc


def _inband_client(inband: InbandSettings, runner: CommandRunner) -> BmcClient:
    ipmitool = IpmitoolClient(runner, inband.ipmitool_path, parse_duration(inband.timeout))
    if inband.method == "ipmitool":
        return ipmitool
    if inband.method == "pyghmi":
        return PyghmiClient(None)
    return FallbackClient(PyghmiClient(None), ipmitool)


def build_ipmi_probes(settings: IpmiSettings, context: ProbeContext) -> list[Probe]:
    """One probe per configured BMC ("ipmi:<name>", target = its host), plus "ipmi:local"."""
    interval = parse_duration(settings.interval)
    probes: list[Probe] = []
    inband = settings.inband
    if inband.enabled:
        client = _inband_client(inband, context.runner)
        probes.append(
            IpmiProbe(
                "ipmi:local",
                None,
                client,
                timeout=parse_duration(inband.timeout),
                min_interval_seconds=interval,
                read_sel=inband.read_sel and inband.method != "ipmitool",
                sel_initial_entries=inband.sel_initial_entries,
            )
        )
    for bmc in settings.bmcs:
        client = PyghmiClient(bmc.address, bmc.port, bmc.username, partial(read_password, bmc))
        probes.append(
            IpmiProbe(
                f"ipmi:{bmc.name}",
                bmc.name,
                client,
                timeout=parse_duration(bmc.timeout),
                min_interval_seconds=interval,
                read_sel=bmc.read_sel,
                sel_initial_entries=bmc.sel_initial_entries,
            )
        )
    return probes


PROBE = ProbeKind("ipmi", IpmiSettings, build_ipmi_probes)
