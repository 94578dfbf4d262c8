"""The one list of probe kinds: their order is the report's, their names the `probes:` keys.

Adding a probe is writing its module (settings struct, builder, `PROBE = ProbeKind(...)`) and
adding it to `KINDS` below; the agent's settings and daemon derive everything else from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from agent.configfile import repeated_names
from agent.probe import Probe
from agent.probes import host, lmsensors, network, redfish, snmp
from agent.probes.inventory import probe as inventory
from agent.probes.ipmi import probe as ipmi
from agent.probes.kind import ProbeContext, ProbeKind
from agent.probes.raid import mdraid, megacli, ssacli, storcli
from agent.probes.smart import probe as smart

KINDS: tuple[ProbeKind[Any], ...] = (
    host.PROBE,
    lmsensors.PROBE,
    smart.PROBE,
    mdraid.PROBE,
    storcli.PROBE,
    megacli.PROBE,
    ssacli.PROBE,
    snmp.PROBE,
    ipmi.PROBE,
    redfish.PROBE,
    network.PROBE,
    inventory.PROBE,
)


def probes_settings_type(kinds: Sequence[ProbeKind[Any]]) -> type[msgspec.Struct]:
    """The frozen `probes:` struct: one field per kind, each with its settings defaults."""
    repeated = repeated_names(kind.name for kind in kinds)
    if repeated:
        raise ValueError(f"probe kinds must have unique names; repeated: {', '.join(repeated)}")
    fields = [
        (kind.name, kind.settings_type, msgspec.field(default_factory=kind.settings_type))
        for kind in kinds
    ]
    doc = "`probes`: one section per probe kind (agent/probes/registry.py lists them)."
    return msgspec.defstruct(
        "ProbesSettings",
        fields,
        namespace={"__doc__": doc},
        module=__name__,
        frozen=True,
        forbid_unknown_fields=True,
        kw_only=True,
    )


def build_probes(
    kinds: Sequence[ProbeKind[Any]], sections: msgspec.Struct, context: ProbeContext
) -> list[Probe]:
    """Every probe the sections enable, kind by kind in registry order."""
    return [probe for kind in kinds for probe in kind.probes(sections, context)]
