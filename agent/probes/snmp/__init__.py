"""SNMP: agentless devices polled each cycle, and the trap receiver.

Modules: `settings` (config structs), `profiles` (device knowledge as YAML data), `session`
(pysnmp GETs and walks), `polling` (the per-device probe), `traps` (receiver and probe). This
module declares the kind only, importing neither pysnmp nor asyncio: the builder imports them
when a device or a trap listener is configured.
"""

from __future__ import annotations

from agent.probe import Probe
from agent.probes.kind import ProbeContext, ProbeKind
from agent.probes.snmp.settings import SnmpSettings


def build_snmp_probes_when_used(settings: SnmpSettings, context: ProbeContext) -> list[Probe]:
    """The SNMP probes; pysnmp and asyncio are imported only when a device or traps are set."""
    del context  # SNMP runs no commands and reads no procfs
    if not settings.devices and not settings.traps.listen:
        return []
    from agent.probes.snmp.polling import build_snmp_probes

    return build_snmp_probes(settings)


PROBE = ProbeKind("snmp", SnmpSettings, build_snmp_probes_when_used)
