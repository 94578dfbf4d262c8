"""The inventory probe: the server's model, serial and firmware, and optionally its BMC's.

It reports no samples, only `inventory` items, and reads its sources once per `min_interval`
(default one hour): the runner resends the kept result in every report in between, so a
collector that restarts knows a host's hardware again at its next report.
"""

from __future__ import annotations

import logging
from pathlib import Path

import msgspec

from agent.configfile import parse_duration
from agent.exec import CommandError, CommandResult, CommandRunner
from agent.probe import Probe, ProbeData
from agent.probes.inventory.parse import (
    Reader,
    dmi_baseboard,
    dmi_system,
    ipmitool_fru,
    ipmitool_mc_info,
    read_text,
)
from agent.probes.kind import ProbeContext, ProbeKind

logger = logging.getLogger(__name__)

BMC_HINT = "the BMC is asked in-band: install ipmitool, load ipmi_devintf, run as root"


class InventorySettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What the agent reports of the machine's hardware identity.

    enabled: run the inventory probe (DMI needs no privileges; serial numbers there are
        readable by root only, and are reported as unreadable otherwise).
    dmi_path: where the kernel shows the DMI (SMBIOS) table.
    bmc: also ask the local BMC (`ipmitool mc info`, `ipmitool fru print`): needs root and
        the ipmi_devintf kernel module; off by default.
    ipmitool_path: the ipmitool binary.
    min_interval: how often the sources are read again; hardware rarely changes.
    timeout: how long one ipmitool command may run.
    """

    enabled: bool = True
    dmi_path: str = "/sys/class/dmi/id"
    bmc: bool = False
    ipmitool_path: str = "ipmitool"
    min_interval: str = "1h"
    timeout: str = "20s"

    def __post_init__(self) -> None:
        parse_duration(self.min_interval)
        if parse_duration(self.timeout) <= 0:
            raise ValueError(f"timeout must be more than 0 s, got {self.timeout!r}")


class InventoryProbe:
    """Reads DMI (and the BMC when asked); a source it cannot read is a source error."""

    name = "inventory"
    target: str | None = None

    def __init__(
        self, settings: InventorySettings, runner: CommandRunner, read: Reader = read_text
    ) -> None:
        self._settings = settings
        self._runner = runner
        self._read = read
        self.min_interval_seconds = parse_duration(settings.min_interval)

    def collect(self) -> ProbeData:
        """DMI system and baseboard, then the BMC's identity and FRU devices if enabled."""
        data = ProbeData()
        dmi = Path(self._settings.dmi_path)
        items = [dmi_system(dmi, self._read), dmi_baseboard(dmi, self._read)]
        data.inventory.extend(item for item in items if item is not None)
        if not data.inventory:
            logger.debug("no DMI table under %s (container or virtual machine)", dmi)
        if self._settings.bmc:
            self._read_bmc(data)
        return data

    def _read_bmc(self, data: ProbeData) -> None:
        info = self._ipmitool(data, "mc", "info")
        if info is None:
            return
        bmc = ipmitool_mc_info(info.stdout)
        if bmc is None:
            data.source_errors["bmc"] = _failed("ipmitool mc info", info.stderr, info.returncode)
            return
        data.inventory.append(bmc)
        fru = self._ipmitool(data, "fru", "print")
        if fru is not None:
            data.inventory.extend(ipmitool_fru(fru.stdout))

    def _ipmitool(self, data: ProbeData, *command: str) -> CommandResult | None:
        argv = [self._settings.ipmitool_path, *command]
        try:
            return self._runner.run(argv, parse_duration(self._settings.timeout))
        except CommandError as exc:
            data.source_errors[f"bmc {' '.join(command)}"] = f"{exc}; {BMC_HINT}"
            return None


def _failed(command: str, stderr: str, returncode: int) -> str:
    detail = " ".join(stderr.split())[:200] or f"exit status {returncode}"
    return f"{command} named no BMC firmware ({detail}); {BMC_HINT}"


def build_inventory_probes(settings: InventorySettings, context: ProbeContext) -> list[Probe]:
    """The inventory probe, or none when it is disabled."""
    return [InventoryProbe(settings, context.runner)] if settings.enabled else []


PROBE = ProbeKind("inventory", InventorySettings, build_inventory_probes)
