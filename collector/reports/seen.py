"""The hardware the probes identified (model, serial, firmware), read from the collector's live
host registry: the collector keeps it in memory only, so reports made inside the collector
(console, scheduled mail) list it, and `watchkeeper report health` from the database does not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from agent.report import InventoryItem
from collector.ingest.hosts import HostRegistry


def _nothing(_host: str) -> list[InventoryItem]:
    return []


@dataclass(frozen=True)
class SeenHardware:
    """Which hosts have identified hardware, and each one's items (none by default)."""

    hosts: Callable[[], list[str]] = field(default=lambda: [])
    of: Callable[[str], list[InventoryItem]] = field(default=_nothing)


NO_HARDWARE = SeenHardware()


def registry_hardware(registry: HostRegistry) -> SeenHardware:
    """The registry's hosts' items, from every probe's latest result, in probe order."""

    def of(host: str) -> list[InventoryItem]:
        state = registry.get(host)
        if state is None:
            return []
        return [
            item for _probe, result in sorted(state.probes.items()) for item in result.inventory
        ]

    def hosts() -> list[str]:
        return [s.name for s in registry if any(r.inventory for r in s.probes.values())]

    return SeenHardware(hosts, of)
