"""Configuration of SNMP polling and of the trap receiver, with every secret kept out of reprs."""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec

from agent.configfile import parse_duration
from agent.probes.snmp.profiles import builtin_profile_names

AuthProtocol = Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"]
PrivProtocol = Literal["none", "DES", "3DES", "AES", "AES192", "AES256"]

_OID = re.compile(r"^\.?\d+(\.\d+)+$")
_METRIC_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_HEX = re.compile(r"^(0x)?([0-9a-fA-F]{2})+$")
_MIN_V3_PASSWORD = 8  # RFC 3414 2.6: shorter pass phrases are refused (pysnmp echoes them back)


def _redacted(obj: msgspec.Struct, secrets: tuple[str, ...]) -> list[tuple[str, Any]]:
    pairs = [(name, getattr(obj, name)) for name in obj.__struct_fields__]
    return [(name, "***" if name in secrets and value else value) for name, value in pairs]


def _redacted_repr(obj: msgspec.Struct, secrets: tuple[str, ...]) -> str:
    fields = ", ".join(f"{name}={value!r}" for name, value in _redacted(obj, secrets))
    return f"{type(obj).__name__}({fields})"


def check_oid(oid: str, what: str) -> str:
    """A numeric OID without its leading dot; names need MIB files Debian does not ship."""
    if not _OID.match(oid):
        raise ValueError(f"{what}: expected a numeric OID like 1.3.6.1.2.1.1.3.0, got {oid!r}")
    return oid.lstrip(".")


class SnmpV3User(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """An SNMPv3 USM user (authPriv when both passwords are set).

    user: the USM user name.
    auth_protocol: MD5, SHA (SHA-1), SHA224, SHA256, SHA384 or SHA512.
    auth_password: authentication pass phrase (secret, at least 8 characters).
    priv_protocol: none, DES, 3DES, AES (AES-128), AES192 or AES256.
    priv_password: privacy pass phrase (secret, at least 8 characters; empty for authNoPriv).
    engine_id: for the trap receiver only: the sender's snmpEngineID in hex ("8000000001020304"),
        which SNMPv3 traps need to localise the keys.
    """

    user: str
    auth_protocol: AuthProtocol = "SHA"
    auth_password: str = ""
    priv_protocol: PrivProtocol = "AES"
    priv_password: str = ""
    engine_id: str = ""

    def __post_init__(self) -> None:
        if len(self.auth_password) < _MIN_V3_PASSWORD:
            raise ValueError(f"v3 user {self.user!r}: auth_password needs at least 8 characters")
        if self.priv_protocol != "none" and len(self.priv_password) < _MIN_V3_PASSWORD:
            raise ValueError(
                f"v3 user {self.user!r}: priv_password needs at least 8 characters "
                "(or set priv_protocol: none for authNoPriv)"
            )
        if self.engine_id and not _HEX.match(self.engine_id):
            raise ValueError(f"v3 user {self.user!r}: engine_id must be hex, like 8000000001020304")

    def __repr__(self) -> str:
        return _redacted_repr(self, ("auth_password", "priv_password"))

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return _redacted(self, ("auth_password", "priv_password"))

    @property
    def secrets(self) -> tuple[str, ...]:
        """The pass phrases, so error texts can be scrubbed of them."""
        return tuple(s for s in (self.auth_password, self.priv_password) if s)


class ExtraOid(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One OID polled beside the profiles; its value becomes a sample named after its key.

    oid: numeric OID. walk: false = GET this exact instance; true = walk the subtree, one sample
    per row labelled `index` (the OID suffix below `oid`).
    """

    oid: str
    walk: bool = False

    def __post_init__(self) -> None:
        check_oid(self.oid, "oid")


class SnmpDevice(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One agentless device polled over SNMP.

    name: the host this device appears as in the collector (the probe's target).
    address: IP address or DNS name. port: UDP port (161).
    version: "2c" or "3". community: SNMPv2c community (secret). v3: the USM user for version 3.
    timeout: wait per request ("2s"). retries: resends after a timeout (1); a dead device costs
        timeout × (retries + 1) per cycle. deadline: bound on one whole poll of this device ("20s").
    profiles: built-in profiles to poll (system, if_mib, host_resources_storage, ucd_load,
        ucd_disk, ups_mib). extra_oids: metric name -> ExtraOid for values no profile covers.
    max_repetitions: rows per GETBULK request (25).
    """

    name: str
    address: str
    port: int = 161
    version: Literal["2c", "3"] = "2c"
    community: str = ""
    v3: SnmpV3User | None = None
    timeout: str = "2s"
    retries: int = 1
    deadline: str = "20s"
    profiles: list[str] = msgspec.field(default_factory=lambda: ["system", "if_mib"])
    extra_oids: dict[str, ExtraOid] = {}
    max_repetitions: int = 25

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("device name must not be empty")
        if self.version == "2c" and not self.community:
            raise ValueError(f"device {self.name!r}: version 2c needs a community")
        if self.version == "3" and self.v3 is None:
            raise ValueError(f"device {self.name!r}: version 3 needs a v3 user")
        if not 0 <= self.retries <= 5:
            raise ValueError(f"device {self.name!r}: retries must be 0..5, got {self.retries}")
        unknown = [name for name in self.profiles if name not in builtin_profile_names()]
        if unknown:
            known = ", ".join(builtin_profile_names())
            raise ValueError(
                f"device {self.name!r}: unknown profile {unknown[0]!r}; known: {known}"
            )
        for metric in self.extra_oids:
            if not _METRIC_NAME.match(metric):
                raise ValueError(f"extra_oids: {metric!r} is not a snake_case metric name")
        parse_duration(self.timeout)
        parse_duration(self.deadline)

    def __repr__(self) -> str:
        return _redacted_repr(self, ("community",))

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return _redacted(self, ("community",))

    @property
    def timeout_seconds(self) -> float:
        """Wait per request, in seconds."""
        return parse_duration(self.timeout)

    @property
    def deadline_seconds(self) -> float:
        """Bound on a whole poll, in seconds."""
        return parse_duration(self.deadline)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every credential of this device, so error texts can be scrubbed of them."""
        own = (self.community,) if self.community else ()
        return own + (self.v3.secrets if self.v3 else ())


class TrapSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The SNMP trap receiver.

    listen: "host:port" to receive on, e.g. "0.0.0.0:162" (port 162 needs root or
        CAP_NET_BIND_SERVICE); empty = no receiver.
    communities: accepted SNMPv1/v2c communities (secrets); traps with others are dropped and
        counted. v3_users: accepted SNMPv3 users, each with the sender's engine_id.
    queue_size: traps kept between two agent cycles; beyond it they are dropped and counted.
    """

    listen: str = ""
    communities: list[str] = []
    v3_users: list[SnmpV3User] = []
    queue_size: int = 10000

    def __post_init__(self) -> None:
        if self.listen:
            host, sep, port = self.listen.rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(
                    f"listen: expected host:port like 0.0.0.0:162, got {self.listen!r}"
                )
            if not self.communities and not self.v3_users:
                raise ValueError("a trap receiver needs at least one community or v3 user")
        for user in self.v3_users:
            if not user.engine_id:
                raise ValueError(f"v3 trap user {user.user!r} needs the sender's engine_id")

    def __repr__(self) -> str:
        return _redacted_repr(self, ("communities",))

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return _redacted(self, ("communities",))

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every community and pass phrase, so error texts can be scrubbed of them."""
        return tuple(self.communities) + tuple(s for u in self.v3_users for s in u.secrets)

    @property
    def address(self) -> tuple[str, int]:
        """The listen address as a (host, port) pair."""
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


class SnmpSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """SNMP polling of agentless devices and the trap receiver.

    devices: the devices to poll, each a host of its own in the collector.
    traps: the trap receiver (off unless `listen` is set).
    """

    devices: list[SnmpDevice] = []
    traps: TrapSettings = msgspec.field(default_factory=TrapSettings)

    def __post_init__(self) -> None:
        names = [device.name for device in self.devices]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"device names must be unique; repeated: {', '.join(duplicates)}")
