"""Which named diagnostics an incident's snapshot asks for: always the host's processes,
kernel messages and interface errors; the failing disk's SMART report or the array's detail
when the incident names one."""

from __future__ import annotations

from collector.incidents.model import Incident

ALWAYS = ("processes", "kernel_log", "network_errors")
# Rule name prefixes (built-in packs) whose `device` / `array` label is the affected device.
SMART_RULES = ("Smart", "Nvme", "DiskTemperature", "SsdWear")
MDRAID_RULES = ("Raid",)


def diagnostics_for(incident: Incident) -> list[dict[str, str]]:
    """[{name, device?}] for the agent: names only from its fixed set, never a command."""
    wanted = [{"name": name} for name in ALWAYS]
    labels = incident.labels
    device = labels.get("device")
    if device and (incident.rule.startswith(SMART_RULES) or labels.get("probe") == "smart"):
        wanted.append({"name": "smart", "device": device})
    array = labels.get("array")
    if array and incident.rule.startswith(MDRAID_RULES) and array.startswith("md"):
        wanted.append({"name": "mdraid", "device": array})
    return wanted
