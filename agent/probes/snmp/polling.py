"""SNMP polling of agentless devices (switches, UPSes, PDUs), each reported as a host of its own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from agent.probe import DEADLINE_MARGIN_SECONDS, Probe, ProbeData
from agent.probes.snmp.engine import SharedEngine
from agent.probes.snmp.profiles import Profile, load_profile, scalar_samples, table_samples
from agent.probes.snmp.session import SnmpError, SnmpSession, credentials_digest, scrub
from agent.probes.snmp.settings import SnmpDevice, SnmpSettings

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"  # every SNMP agent has it: the reachability check
_LOOP_GRACE_SECONDS = 5.0


class SnmpProbe:
    """Polls one device: reachability (snmp_up), then each profile, then the extra OIDs.

    Never raises: an unreachable device gives snmp_up 0 and a source error, a profile the
    device lacks a source error of its own while the other profiles still report.
    """

    def __init__(
        self,
        device: SnmpDevice,
        profiles: Sequence[Profile] | None = None,
        shared: SharedEngine | None = None,
    ) -> None:
        self.device = device
        if profiles is None:
            profiles = [load_profile(name) for name in device.profiles]
        self.profiles = list(profiles)
        self.shared = shared or SharedEngine()

    @property
    def name(self) -> str:
        """ "snmp:<device name>"."""
        return f"snmp:{self.device.name}"

    @property
    def target(self) -> str | None:
        """The device is a host of its own in the collector."""
        return self.device.name

    @property
    def min_interval_seconds(self) -> float:
        """Polled every agent cycle."""
        return 0.0

    @property
    def deadline_seconds(self) -> float:
        """The device's own poll deadline, plus a margin: the runner's backstop."""
        return self.device.deadline_seconds + DEADLINE_MARGIN_SECONDS

    def collect(self) -> ProbeData:
        """Poll the device now, bounded by its deadline."""
        data = ProbeData()
        state = _PollState()
        # The outer bound only guards against a wedged loop; the deadline itself is wait_for's.
        bound = self.device.deadline_seconds + _LOOP_GRACE_SECONDS
        try:
            self.shared.run(lambda: self._poll_within_deadline(data, state), bound)
        except SnmpError as exc:
            data.source_errors[self.device.name] = str(exc)
        except TimeoutError:
            message = f"SNMP poll not finished within the {self.device.deadline} deadline"
            data.source_errors[self.device.name] = message
        except Exception as exc:  # a pysnmp surprise must still leave snmp_up and a reason
            text = scrub(f"SNMP poll failed: {type(exc).__name__}: {exc}", self.device.secrets)
            data.source_errors[self.device.name] = text
        if not state.up:
            data.add("snmp_up", 0.0, device=self.device.name)
        return data

    async def _poll_within_deadline(self, data: ProbeData, state: _PollState) -> None:
        await asyncio.wait_for(self._poll(data, state), self.device.deadline_seconds)

    async def _poll(self, data: ProbeData, state: _PollState) -> None:
        v3 = self.device.v3 if self.device.version == "3" else None
        if v3 is None:
            await self._poll_device(data, state)
            return
        async with self.shared.v3_user(v3.user, credentials_digest(v3)):
            await self._poll_device(data, state)

    async def _poll_device(self, data: ProbeData, state: _PollState) -> None:
        session = SnmpSession(self.device, self.shared.engine)
        await session.open()
        answer = await session.get([SYS_UPTIME])
        if SYS_UPTIME not in answer:
            raise session.failure("no sysUpTime.0 (NoSuchObject): not a usable SNMP agent")
        state.up = True
        data.add("snmp_up", 1.0, device=self.device.name)
        for profile in self.profiles:
            await self._poll_profile(session, profile, data)
        await self._poll_extra(session, data)

    def close(self) -> None:
        """Stop the shared engine (every device's probe may call it; the first one does it)."""
        self.shared.close()

    async def _poll_profile(self, session: SnmpSession, profile: Profile, data: ProbeData) -> None:
        source = f"{self.device.name}/{profile.name}"
        try:
            samples = scalar_samples(profile, await session.get(profile.scalar_oids))
            for table in profile.tables:
                samples += table_samples(table, await session.walk(table.columns))
        except SnmpError as exc:
            data.source_errors[source] = str(exc)
            return
        if not samples:
            data.source_errors[source] = (
                f"the device has none of the objects of profile {profile.name!r} "
                f"({profile.description}): NoSuchObject; remove the profile from this device "
                "or check the device's SNMP view"
            )
        data.samples.extend(samples)

    async def _poll_extra(self, session: SnmpSession, data: ProbeData) -> None:
        extra = self.device.extra_oids
        wanted = {name: spec.oid.lstrip(".") for name, spec in extra.items() if not spec.walk}
        try:
            found = await session.get(list(wanted.values())) if wanted else {}
            for name, oid in wanted.items():
                if oid in found:
                    data.add(name, found[oid])
                else:
                    data.source_errors[f"{self.device.name}/{name}"] = f"no such object: {oid}"
            for name, spec in extra.items():
                if spec.walk:
                    await self._walk_extra(session, name, spec.oid.lstrip("."), data)
        except SnmpError as exc:
            data.source_errors[f"{self.device.name}/extra_oids"] = str(exc)

    async def _walk_extra(self, session: SnmpSession, name: str, oid: str, data: ProbeData) -> None:
        rows = (await session.walk([oid]))[oid]
        if not rows:
            data.source_errors[f"{self.device.name}/{name}"] = f"nothing below {oid}"
        for index, value in rows.items():
            data.add(name, value, index=index)


class _PollState:
    """Whether the device answered the reachability GET (so snmp_up 1 was emitted)."""

    def __init__(self) -> None:
        self.up = False


def build_snmp_probes(
    settings: SnmpSettings, *, clock: Callable[[], float] = time.time
) -> list[Probe]:
    """One SnmpProbe per device, plus the TrapProbe when a trap listen address is set.

    The trap receiver starts on the TrapProbe's first collect, not here.
    """
    shared = SharedEngine()
    probes: list[Probe] = [SnmpProbe(device, shared=shared) for device in settings.devices]
    if settings.traps.listen:
        from agent.probes.snmp.traps import TrapProbe, TrapReceiver

        receiver = TrapReceiver(settings.traps)
        probes.append(TrapProbe(receiver, devices=settings.devices, clock=clock))
    return probes
