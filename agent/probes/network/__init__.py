"""Network checks from the agent: ICMP echo, TCP connect and HTTP(S) to configured targets.

Modules: `settings` (targets), `icmp` (ping sockets), `checks` (one check of each kind),
`probe` (the probe). This module declares the kind only: the checks (requests, ssl) are
imported when a target is configured.
"""

from __future__ import annotations

from agent.probe import Probe
from agent.probes.kind import ProbeContext, ProbeKind
from agent.probes.network.settings import NetworkSettings


def build_network_probes_when_used(settings: NetworkSettings, context: ProbeContext) -> list[Probe]:
    """The network probe when targets are configured; requests is imported only then."""
    if not settings.targets:
        return []
    from agent.probes.network.probe import build_network_probes

    return build_network_probes(settings, context)


PROBE = ProbeKind("network", NetworkSettings, build_network_probes_when_used)
