"""The Redfish probe: a server's health as its BMC reports it over Redfish (DMTF DSP0266).

Library choice. A read-only monitor needs four things from a Redfish client: TLS verified by
default against a CA file of the operator's choosing, a bounded wait on every request, no
session left behind on the BMC when the agent dies or times out, and errors it can put into
words. Both candidates were read (pyghmi 1.6.19 `pyghmi.redfish`, DMTF `redfish` 3.4.2):

- pyghmi's Redfish `Command` verifies certificates only through a fingerprint callback (no CA
  file), has a fixed 60 s socket timeout, always logs in through SessionService (a session
  slot per agent restart or timeout, on BMCs that allow a handful), drops Status.Health from
  fan, temperature and voltage readings, does not read power supplies as sensors, and probes
  OEM extensions with extra requests on connect. Its strength is OEM configuration, not health.
- DMTF's `redfish` turns certificate checking *off* unless a `cafile` is given, disables
  urllib3's InsecureRequestWarning for the whole process at import time, retries every
  failed request 10 times with a 1 s sleep by default, and brings five more dependencies
  (jsonpath-ng, jsonpatch, jsonpointer, requests-toolbelt, requests-unixsocket) for features
  (PATCH helpers, task monitors, SSDP discovery) a reader never uses. Its HTTP is `requests`.

So the probe speaks Redfish over `requests` itself (already the agent's HTTP client and a base
dependency; `client.py`, under 150 lines): verify on by default, `ca_file`, (connect, read)
timeouts per request plus a deadline on the whole walk, basic auth (no session to leak), no
retries within a cycle, every failure translated into a sentence. What makes Redfish hard for
a monitor is the data model, not the transport, and that lives in `parse.py` either way.
Write operations or SSDP discovery, if ever wanted, are the point to adopt DMTF's library.

Modules: `settings` (the config structs), `client` (HTTP and a mockup-directory double),
`parse` (resources -> samples, pure), `probe` (the walk and the probe). This module declares
the kind only: requests is imported when a BMC is configured.
"""

from __future__ import annotations

from agent.probe import Probe
from agent.probes.kind import ProbeContext, ProbeKind
from agent.probes.redfish.settings import RedfishSettings


def build_redfish_probes_when_used(settings: RedfishSettings, context: ProbeContext) -> list[Probe]:
    """One probe per configured BMC; requests is imported only when there is one."""
    if not settings.bmcs:
        return []
    from agent.probes.redfish.probe import build_redfish_probes

    return build_redfish_probes(settings, context)


PROBE = ProbeKind("redfish", RedfishSettings, build_redfish_probes_when_used)
