"""`probes.ipmi`: the BMCs read over the LAN and the local one, validated into frozen structs."""

from __future__ import annotations

from typing import Literal

import msgspec

from agent.configfile import check_duration, repeated_names
from agent.secret import Secret, check_one_source


class BmcSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One BMC reached over the LAN (IPMI v2.0 RMCP+, UDP).

    name: the host this BMC belongs to; its samples are filed under that host.
    address: the BMC's host name or IP address.
    port: UDP port, 623 unless the BMC is configured otherwise.
    username: IPMI user; a user-privilege account is enough to read sensors and the SEL.
    password: the user's password (secret: never logged, never in a repr or error).
    password_file: a file whose first line is the password, read at each login.
    password_env: the name of an environment variable holding the password.
        Set at most one of password, password_file and password_env.
    timeout: the most one collection from this BMC may take, e.g. "10s".
    read_sel: report new System Event Log entries as events.
    sel_initial_entries: newest SEL entries reported on the first read after the agent starts
        (0: only remember where the log ends, so a restart does not replay old events).
    """

    name: str
    address: str
    port: int = 623
    username: str = ""
    password: Secret | None = None
    password_file: str | None = None
    password_env: str | None = None
    timeout: str = "10s"
    read_sel: bool = True
    sel_initial_entries: int = 0

    def __post_init__(self) -> None:
        if not self.name or not self.address:
            raise ValueError("a BMC needs a `name` (its host) and an `address`")
        try:
            check_one_source(self, "password")
        except ValueError as exc:
            raise ValueError(f"bmc {self.name!r}: {exc}") from None
        if not 0 < self.port < 65536:
            raise ValueError(f"bmc {self.name!r}: port must be 1..65535, got {self.port}")
        if self.sel_initial_entries < 0:
            raise ValueError(f"bmc {self.name!r}: sel_initial_entries must not be negative")
        check_duration(f"bmc {self.name!r}: timeout", self.timeout)


class InbandSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The host's own BMC through the kernel's IPMI device (/dev/ipmi0).

    enabled: read it (needs root, or read/write access to /dev/ipmi0).
    method: "pyghmi", "ipmitool", or "auto" (pyghmi, and ipmitool when pyghmi cannot open it).
    ipmitool_path: the ipmitool binary used by the fallback.
    timeout: the most one collection may take.
    read_sel: report new SEL entries as events (pyghmi only).
    sel_initial_entries: as for a LAN BMC.
    """

    enabled: bool = False
    method: Literal["auto", "pyghmi", "ipmitool"] = "auto"
    ipmitool_path: str = "ipmitool"
    timeout: str = "10s"
    read_sel: bool = True
    sel_initial_entries: int = 0

    def __post_init__(self) -> None:
        check_duration("inband: timeout", self.timeout)


class IpmiSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`probes.ipmi`.

    inband: the local BMC (off by default).
    bmcs: BMCs read over the LAN, one probe each, named "ipmi:<name>".
    interval: minimum time between two reads of one BMC, e.g. "30s".
    """

    inband: InbandSettings = msgspec.field(default_factory=InbandSettings)
    bmcs: list[BmcSettings] = []
    interval: str = "30s"

    def __post_init__(self) -> None:
        check_duration("interval", self.interval)
        doubles = repeated_names(bmc.name for bmc in self.bmcs)
        if doubles:
            raise ValueError(f"bmcs: each name must be unique, {', '.join(doubles)} repeats")
