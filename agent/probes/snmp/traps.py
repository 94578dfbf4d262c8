"""The SNMP trap receiver (own thread and event loop) and the probe turning traps into events.

pysnmp decodes and authenticates each trap in the receiver thread and queues a `Trap`; each
agent cycle the `TrapProbe` drains the queue into `snmp_trap` events and counters. Traps with
an unknown community or v3 credentials, and undecodable packets, are dropped and counted by
pysnmp's own statistics (SNMPv2-MIB, SNMP-USER-BASED-SM-MIB), which the probe reports.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from agent.probe import ProbeData, ProbeError
from agent.probes.snmp.profiles import PROFILE_DIR, Value
from agent.probes.snmp.session import AUTH_PROTOCOLS, PRIV_PROTOCOLS, convert_value, scrub
from agent.probes.snmp.settings import SnmpDevice, TrapSettings
from agent.report import Event

log = logging.getLogger(__name__)

SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
IF_INDEX = "1.3.6.1.2.1.2.2.1.1"
# Added by pysnmp when it converts a v1 trap; the community is a secret and never reported.
TRAP_COMMUNITY = "1.3.6.1.6.3.18.1.4.0"
TRAP_ADDRESS = "1.3.6.1.6.3.18.1.3.0"
_VERSIONS = {0: "1", 1: "2c", 3: "3"}
_MESSAGE_VARBINDS = 4  # varbinds quoted in an event's message

# pysnmp statistic (MIB module, symbol) -> reason label of snmp_trap_dropped_total.
DROP_COUNTERS = {
    "bad_community": ("__SNMPv2-MIB", "snmpInBadCommunityNames"),
    "malformed": ("__SNMPv2-MIB", "snmpInASNParseErrs"),
    "v3_unknown_user": ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownUserNames"),
    "v3_unknown_engine_id": ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownEngineIDs"),
    "v3_wrong_digest": ("__SNMP-USER-BASED-SM-MIB", "usmStatsWrongDigests"),
    "v3_decryption_error": ("__SNMP-USER-BASED-SM-MIB", "usmStatsDecryptionErrors"),
}


@dataclass(frozen=True)
class Trap:
    """One received notification, decoded; `varbinds` never holds the v1 community."""

    time: float
    source: str
    version: str
    varbinds: tuple[tuple[str, Value], ...]


@functools.cache
def trap_names() -> dict[str, str]:
    """snmpTrapOID -> well-known name, from trap_names.yaml."""
    with (PROFILE_DIR / "trap_names.yaml").open(encoding="utf-8") as stream:
        data = yaml.safe_load(stream)
    return {str(oid): str(name) for oid, name in data.items()}


def trap_event(trap: Trap, device: str | None = None) -> Event:
    """The event rules match: kind snmp_trap, labelled with trap OID/name, source, ifIndex."""
    values = dict(trap.varbinds)
    trap_oid = str(values.get(SNMP_TRAP_OID, ""))
    name = trap_names().get(trap_oid, trap_oid or "unknown")
    labels = {"trap_oid": trap_oid, "trap_name": name, "source": trap.source}
    labels["version"] = trap.version
    if device:
        labels["device"] = device
    if_index = next((str(v) for oid, v in trap.varbinds if oid.startswith(IF_INDEX + ".")), None)
    if if_index is not None:
        labels["if_index"] = if_index
    return Event("snmp_trap", trap.time, describe(name, trap, if_index), labels)


def describe(name: str, trap: Trap, if_index: str | None) -> str:
    """'linkDown from 10.0.0.2 (ifIndex 3): 1.3.6.1.2.1.2.2.1.8.3=2' (a few varbinds only)."""
    head = f"{name} from {trap.source}" + (f" (ifIndex {if_index})" if if_index else "")
    rest = [
        f"{oid}={value}"
        for oid, value in trap.varbinds
        if oid not in (SYS_UPTIME, SNMP_TRAP_OID, TRAP_COMMUNITY)
    ]
    return head + (": " + ", ".join(rest[:_MESSAGE_VARBINDS]) if rest else "")


class TrapReceiver:
    """A pysnmp NotificationReceiver on its own thread and asyncio loop, queueing traps."""

    def __init__(self, settings: TrapSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.traps: queue.Queue[Trap] = queue.Queue(maxsize=settings.queue_size)
        self.queue_full = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engine: Any = None
        self._thread: threading.Thread | None = None
        self._message_model: dict[str, int] = {}

    @property
    def running(self) -> bool:
        """True between a successful start() and stop()."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> None:
        """Bind and start receiving; a bind failure raises ProbeError naming the address."""
        ready: queue.Queue[BaseException | None] = queue.Queue()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name="snmp-traps", daemon=True
        )
        self._thread.start()
        failure = ready.get(timeout=timeout)
        if failure is not None:
            self._thread.join(timeout)
            self._thread = None
            text = scrub(f"{type(failure).__name__}: {failure}", self.settings.secrets)
            raise ProbeError(f"SNMP trap receiver cannot listen on {self.settings.listen}: {text}")

    def stop(self, timeout: float = 5.0) -> None:
        """Close the socket and end the thread."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
        self._thread = None

    def drain(self) -> list[Trap]:
        """Every trap received since the last drain."""
        traps = []
        while True:
            try:
                traps.append(self.traps.get_nowait())
            except queue.Empty:
                return traps

    def dropped(self) -> dict[str, int]:
        """Traps dropped since start, by reason (pysnmp's statistics plus our queue)."""
        counts = {"queue_full": self.queue_full}
        if self._engine is None:
            return counts
        builder = self._engine.get_mib_builder()
        for reason, (module, symbol) in DROP_COUNTERS.items():
            (instance,) = builder.import_symbols(module, symbol)
            counts[reason] = int(instance.syntax)
        return counts

    def _serve(self, ready: queue.Queue[BaseException | None]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._open())
        except Exception as exc:  # bind error, bad key: reported by start()
            ready.put(exc)
            loop.close()
            return
        ready.put(None)
        try:
            loop.run_forever()
        finally:
            self._engine.close_dispatcher()
            pending = asyncio.all_tasks(loop)
            for task in pending:  # pysnmp's timer task: cancel it rather than leak it
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    async def _open(self) -> None:
        from pysnmp.carrier.asyncio.dgram import udp, udp6
        from pysnmp.entity import config, engine
        from pysnmp.entity.rfc3413 import ntfrcv

        self._engine = engine.SnmpEngine()
        host, port = self.settings.address
        ipv6 = ":" in host
        domain = udp6.DOMAIN_NAME if ipv6 else udp.DOMAIN_NAME
        carrier = udp6.Udp6Transport if ipv6 else udp.UdpTransport
        sock = socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((host, port))  # here, not in pysnmp's background task: errors surface
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        config.add_transport(self._engine, domain, carrier().open_server_mode(sock=sock))
        for number, community in enumerate(self.settings.community_values()):
            config.add_v1_system(self._engine, f"trap-community-{number}", community.reveal())
        self._add_v3_users(config)
        self._engine.observer.register_observer(
            self._note_message, "rfc3412.receiveMessage:request"
        )
        ntfrcv.NotificationReceiver(self._engine, self._received)

    def _add_v3_users(self, config: Any) -> None:
        from pysnmp.proto.rfc1902 import OctetString

        for user in self.settings.v3_users:
            priv = user.priv_key()
            config.add_v3_user(
                self._engine,
                user.user,
                getattr(config, AUTH_PROTOCOLS[user.auth_protocol]),
                user.auth_key().reveal(),
                getattr(config, PRIV_PROTOCOLS[user.priv_protocol]),
                priv.reveal() if priv is not None else None,
                securityEngineId=OctetString(hexValue=user.engine_id.removeprefix("0x")),
            )

    def _note_message(self, _engine: Any, _point: str, variables: Any, _ctx: Any) -> None:
        # The receive callback does not say which SNMP version carried the trap; this does.
        self._message_model["last"] = int(variables.get("messageProcessingModel", -1))

    def _received(
        self, snmp_engine: Any, state: Any, _ceid: Any, _cname: Any, varbinds: Any, _ctx: Any
    ) -> None:
        try:
            _, address = snmp_engine.message_dispatcher.get_transport_info(state)
            source = str(address[0])
        except Exception:  # pysnmp keeps no transport info for some paths; keep the trap
            source = "unknown"
        pairs = tuple(
            (str(oid), converted)
            for oid, value in varbinds
            if str(oid) != TRAP_COMMUNITY and (converted := convert_value(value)) is not None
        )
        version = _VERSIONS.get(self._message_model.get("last", -1), "unknown")
        try:
            self.traps.put_nowait(Trap(self.clock(), source, version, pairs))
        except queue.Full:
            self.queue_full += 1


class TrapProbe:
    """Each cycle: received traps as `snmp_trap` events, plus per-trap and dropped counters.

    Starts the receiver on the first collect (so building probes binds nothing).
    """

    def __init__(
        self,
        receiver: TrapReceiver,
        devices: Sequence[SnmpDevice] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.receiver = receiver
        self.clock = clock
        self._device_by_address = {d.address: d.name for d in devices}
        self._received: Counter[tuple[str, str, str]] = Counter()

    @property
    def name(self) -> str:
        """One trap probe per agent."""
        return "snmp_traps"

    @property
    def target(self) -> str | None:
        """Traps come from many devices; each event names its source."""
        return None

    @property
    def min_interval_seconds(self) -> float:
        """Drained every cycle."""
        return 0.0

    runs_inline = True  # draining a queue: no thread needed

    def collect(self) -> ProbeData:
        """Drain the queue; raise ProbeError only when the receiver cannot listen."""
        if not self.receiver.running:
            self.receiver.start()
        data = ProbeData()
        for trap in self.receiver.drain():
            device = self._device_by_address.get(trap.source)
            event = trap_event(trap, device)
            data.events.append(event)
            self._received[(event.labels["trap_name"], trap.source, device or "")] += 1
        for (trap_name, source, device), count in sorted(self._received.items()):
            labels = {"trap_name": trap_name, "source": source}
            labels |= {"device": device} if device else {}
            data.add("snmp_trap_received_total", float(count), **labels)
        for reason, count in sorted(self.receiver.dropped().items()):
            data.add("snmp_trap_dropped_total", float(count), reason=reason)
        return data

    def close(self) -> None:
        """Stop the receiver thread."""
        self.receiver.stop()
