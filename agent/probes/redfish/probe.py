"""The Redfish probe: walks one BMC's Systems, Chassis and Managers each cycle."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from agent.configfile import parse_duration
from agent.probe import DEADLINE_MARGIN_SECONDS, Probe, ProbeData, ProbeError
from agent.probes.inventory.parse import redfish_item
from agent.probes.ipmi.ipmitool import SensorReading, unique_names
from agent.probes.ipmi.sensors import add_readings
from agent.probes.ipmi.session import BmcUnreachableError, Deadline
from agent.probes.kind import ProbeContext
from agent.probes.redfish.client import (
    HttpSession,
    RedfishError,
    RedfishSession,
    RedfishUnreachableError,
    Resource,
)
from agent.probes.redfish.parse import (
    add_component,
    add_drive,
    controllers,
    display_name,
    health,
    identity,
    intrusion_reading,
    power_readings,
    power_supply_reading,
    present,
    state_text,
    thermal_readings,
)
from agent.probes.redfish.settings import RedfishBmcSettings, RedfishSettings
from agent.report import Event
from agent.secret import SecretError, describe_source, secret_source

ROOT = "/redfish/v1/"
_MEMBER_GETS_PER_LOG = 50  # entries a log lists only by link, fetched one by one at most
_COMPONENTS = {
    "Memory": ("redfish_memory", "dimm"),
    "Processors": ("redfish_processor", "processor"),
}


def link(resource: Resource, key: str) -> str | None:
    """The @odata.id a navigation property points at, if any."""
    target = resource.get(key)
    if isinstance(target, dict) and target.get("@odata.id"):
        return str(target["@odata.id"])
    return None


@dataclass
class Snapshot:
    """One walk of the BMC: samples so far, sensors, log entries per log, what failed."""

    data: ProbeData = field(default_factory=ProbeData)
    readings: list[SensorReading] = field(default_factory=list)
    logs: dict[str, dict[str, Resource]] = field(default_factory=dict)


class Walk:
    """One read of the whole service; runs in the deadline's thread, touches no probe state."""

    def __init__(self, session: RedfishSession, *, read_log: bool, max_pages: int) -> None:
        self._session = session
        self._read_log = read_log
        self._max_pages = max_pages
        self.snapshot = Snapshot()

    def run(self) -> Snapshot:
        root = self._session.get(ROOT)
        for system in self._members(link(root, "Systems")):
            self._system(system)
        for chassis in self._members(link(root, "Chassis")):
            self._chassis(chassis)
        for manager in self._members(link(root, "Managers")):
            self._identify("bmc", identity(manager, "bmc"), manager)
            self._logs(manager)
        return self.snapshot

    def _members(self, collection: str | None) -> Iterator[Resource]:
        if collection is None:
            return
        for member in self._session.get(collection).get("Members") or []:
            if isinstance(member, dict) and "@odata.id" in member:
                yield member if "Id" in member else self._session.get(member["@odata.id"])

    def _identify(self, kind: str, name: str, resource: Resource) -> None:
        item = redfish_item(kind, name, resource)  # model, serial, firmware: the inventory
        if item is not None:
            self.snapshot.data.inventory.append(item)

    def _part(self, source: str, read: Callable[[], None]) -> None:
        """Read one part; a part the BMC cannot serve is a source error, not the probe's end."""
        try:
            read()
        except RedfishUnreachableError:
            raise
        except RedfishError as exc:
            self.snapshot.data.source_errors[source] = str(exc)

    def _system(self, system: Resource) -> None:
        data, sid = self.snapshot.data, identity(system, "system")
        self._identify("system", sid, system)
        bits = health(system, rollup=True)
        if bits is not None:
            data.add("redfish_system_health", float(bits), system=sid)
        data.add("redfish_system_state", state_text(system), system=sid)
        self._part(f"{sid} memory", partial(self._components, system, "Memory", sid))
        self._part(f"{sid} processors", partial(self._components, system, "Processors", sid))
        if link(system, "Storage"):
            self._part(f"{sid} storage", partial(self._storage, link(system, "Storage"), sid))
        else:  # older BMCs only: read both and each drive would count twice
            self._part(f"{sid} storage", partial(self._simple_storage, system, sid))
        self._logs(system)

    def _components(self, system: Resource, kind: str, sid: str) -> None:
        metric, label = _COMPONENTS[kind]
        for item in self._members(link(system, kind)):
            if present(item):
                labels = {"system": sid, label: identity(item, label)}
                add_component(self.snapshot.data, metric, item, **labels)

    def _storage(self, collection: str | None, sid: str) -> None:
        data = self.snapshot.data
        for storage in self._members(collection):
            name = identity(storage, "storage")
            for controller in controllers(storage):
                labels = {"system": sid, "storage": name, "controller": display_name(controller)}
                add_component(data, "redfish_storage_controller", controller, **labels)
                self._identify("controller", f"{name} {labels['controller']}", controller)
            for drive_link in storage.get("Drives") or []:
                drive = self._session.get(drive_link["@odata.id"])
                if present(drive):
                    add_drive(data, drive, sid, name)
                    self._identify("disk", f"{name} {display_name(drive, 'drive')}", drive)

    def _simple_storage(self, system: Resource, sid: str) -> None:
        data = self.snapshot.data
        for storage in self._members(link(system, "SimpleStorage")):
            name = display_name(storage, "storage")
            labels = {"system": sid, "storage": name, "controller": name}
            add_component(data, "redfish_storage_controller", storage, **labels)
            for device in storage.get("Devices") or []:
                if present(device):
                    add_drive(data, device, sid, name)

    def _chassis(self, chassis: Resource) -> None:
        cid = identity(chassis, "chassis")
        bits = health(chassis, rollup=True)
        if bits is not None:
            self.snapshot.data.add("redfish_chassis_health", float(bits), chassis=cid)
        intrusion = intrusion_reading(chassis)
        if intrusion is not None:
            self.snapshot.readings.append(intrusion)
        self._part(f"{cid} thermal", partial(self._thermal, chassis))
        self._part(f"{cid} power", partial(self._power, chassis))

    def _thermal(self, chassis: Resource) -> None:
        thermal = link(chassis, "Thermal")
        if thermal:
            self.snapshot.readings.extend(thermal_readings(self._session.get(thermal)))

    def _power(self, chassis: Resource) -> None:
        power, subsystem = link(chassis, "Power"), link(chassis, "PowerSubsystem")
        if power:
            self.snapshot.readings.extend(power_readings(self._session.get(power)))
        elif subsystem:  # a service that dropped the deprecated Power resource
            supplies = link(self._session.get(subsystem), "PowerSupplies")
            readings = [power_supply_reading(p) for p in self._members(supplies) if present(p)]
            self.snapshot.readings.extend(readings)

    def _logs(self, owner: Resource) -> None:
        if self._read_log:
            self._part(f"{identity(owner, 'manager')} logs", partial(self._log_services, owner))

    def _log_services(self, owner: Resource) -> None:
        for service in self._members(link(owner, "LogServices")):
            name = str(service.get("@odata.id", "")).removeprefix(ROOT).strip("/")
            self._part(f"log {name}", partial(self._log_entries, service, name))

    def _log_entries(self, service: Resource, name: str) -> None:
        """Every entry on up to `max_pages` pages; a page that fails keeps the ones before it."""
        entries: dict[str, Resource] = {}
        self.snapshot.logs[name] = entries
        page_link, fetched = link(service, "Entries"), 0
        visited: set[str] = set()
        while page_link is not None and page_link not in visited and len(visited) < self._max_pages:
            visited.add(page_link)
            page = self._session.get(page_link)
            for listed in page.get("Members") or []:
                entry = listed
                if "Id" not in listed and fetched < _MEMBER_GETS_PER_LOG:
                    entry, fetched = self._session.get(listed["@odata.id"]), fetched + 1
                if "Id" in entry:
                    entries.setdefault(entry_key(entry), entry)
            page_link = page.get("Members@odata.nextLink") or page.get("@odata.nextLink")


def entry_key(entry: Resource) -> str:
    """What tells one log entry from another, even after the BMC reuses ids (log cleared)."""
    return f"{entry.get('Id')}|{entry.get('Created', '')}"


def _created(entry: Resource) -> float | None:
    try:
        return datetime.fromisoformat(str(entry.get("Created"))).timestamp()
    except ValueError:
        return None


def log_event(entry: Resource, log: str, now: float) -> Event:
    """One log entry as a `redfish_log` event."""
    sensor = str(entry.get("SensorType") or "")
    text = str(entry.get("Message") or entry.get("Name") or "log entry")
    labels = {
        "log": log,
        "record_id": str(entry.get("Id")),
        "severity": str(entry.get("Severity") or "OK").lower(),
        "entry_type": str(entry.get("EntryType") or ""),
        "sensor": sensor,
        "message_id": str(entry.get("MessageId") or ""),
    }
    created = _created(entry)
    message = f"{sensor}: {text}" if sensor else text
    return Event("redfish_log", created if created is not None else now, message, labels)


def _chronological(entries: Sequence[Resource]) -> list[Resource]:
    return sorted(entries, key=lambda e: (_created(e) or 0.0, str(e.get("Id"))))


class RedfishProbe:
    """One BMC over Redfish: health roll-ups, sensors, components and new log entries.

    A BMC that does not answer within `timeout` (or refuses the login, or shows an untrusted
    certificate) fails the probe with a message naming the BMC and the reason; a part of the
    service that errors (a 500 on Storage) is a source error, the rest still reports.
    """

    def __init__(
        self,
        name: str,
        target: str | None,
        session: RedfishSession,
        *,
        url: str,
        timeout: float,
        min_interval_seconds: float = 0.0,
        read_log: bool = True,
        log_initial_entries: int = 0,
        log_max_pages: int = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.target = target
        self._session = session
        self._url = url
        self._timeout = timeout
        self.min_interval_seconds = min_interval_seconds
        # The read's own timeout, plus a margin: the runner's backstop.
        self.deadline_seconds = timeout + DEADLINE_MARGIN_SECONDS
        self._read_log = read_log
        self._log_initial = log_initial_entries
        self._max_pages = log_max_pages
        self._clock = clock
        self._seen: dict[str, set[str]] = {}
        self._deadline = Deadline(name)

    def collect(self) -> ProbeData:
        walk = Walk(self._session, read_log=self._read_log, max_pages=self._max_pages)
        try:
            snapshot = self._deadline.run(walk.run, self._timeout)
        except BmcUnreachableError as exc:  # the deadline: the whole read took too long
            raise ProbeError(f"Redfish BMC {self._url}: {exc} (timeout)") from exc
        except (RedfishError, ProbeError) as exc:
            raise ProbeError(f"Redfish BMC {self._url}: {exc}") from exc
        data = snapshot.data
        data.add("ipmi_bmc_up", 1.0)
        add_readings(data, unique_names(snapshot.readings))
        now = self._clock()
        for log, entries in snapshot.logs.items():
            data.add("redfish_log_entries", float(len(entries)), log=log)
            data.events.extend(log_event(entry, log, now) for entry in self._new(log, entries))
        return data

    def _new(self, log: str, entries: dict[str, Resource]) -> list[Resource]:
        """Entries not seen in the last read; on the first, the newest `log_initial_entries`."""
        seen = self._seen.get(log)
        self._seen[log] = set(entries)
        if seen is None:
            newest = _chronological(list(entries.values()))
            return newest[-self._log_initial :] if self._log_initial else []
        return _chronological([entry for key, entry in entries.items() if key not in seen])

    def close(self) -> None:
        """Drop the keep-alive connection."""
        self._session.close()


def password_reader(bmc: RedfishBmcSettings) -> Callable[[], str]:
    """Reads the password when a request needs it; the error names its source, never it."""
    source = secret_source(bmc, "password")

    def read() -> str:
        try:
            return source.read().reveal()
        except SecretError as exc:
            raise ProbeError(str(exc)) from exc

    return read


def session_for(bmc: RedfishBmcSettings) -> HttpSession:
    """The HTTP session the settings describe; the password is read when first needed."""
    verify: bool | str = bmc.ca_file or bmc.verify_tls
    timeout = parse_duration(bmc.request_timeout)
    return HttpSession(
        bmc.url,
        bmc.username,
        password_reader(bmc),
        verify=verify,
        request_timeout=timeout,
        password_source=describe_source(secret_source(bmc, "password")),
    )


def build_redfish_probes(settings: RedfishSettings, context: ProbeContext) -> list[Probe]:
    """One probe per configured BMC, named "redfish:<name>", its target the BMC's host."""
    del context  # runs no commands, reads no procfs
    interval = parse_duration(settings.interval)
    return [
        RedfishProbe(
            f"redfish:{bmc.name}",
            bmc.name,
            session_for(bmc),
            url=bmc.url,
            timeout=parse_duration(bmc.timeout),
            min_interval_seconds=interval,
            read_log=bmc.read_log,
            log_initial_entries=bmc.log_initial_entries,
            log_max_pages=bmc.log_max_pages,
        )
        for bmc in settings.bmcs
    ]
