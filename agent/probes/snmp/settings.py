"""Configuration of SNMP polling and of the trap receiver, with every secret kept out of reprs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

import msgspec

from agent.configfile import parse_duration, repeated_names
from agent.probes.snmp.profiles import builtin_profile_names
from agent.secret import Secret, SecretError, SecretSource, check_one_source, secret_source

AuthProtocol = Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"]
PrivProtocol = Literal["none", "DES", "3DES", "AES", "AES192", "AES256"]

_OID = re.compile(r"^\.?\d+(\.\d+)+$")
_METRIC_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_HEX = re.compile(r"^(0x)?([0-9a-fA-F]{2})+$")
_MIN_V3_PASSWORD = 8  # RFC 3414 2.6: shorter pass phrases are refused (pysnmp echoes them back)


def check_pass_phrase(name: str, secret: Secret) -> None:
    """RFC 3414's minimum length; the message names the setting, never the value."""
    if len(secret.reveal()) < _MIN_V3_PASSWORD:
        raise ValueError(f"{name} needs at least {_MIN_V3_PASSWORD} characters")


def read_pass_phrase(source: SecretSource) -> Secret:
    """A pass phrase read now, held to the minimum length; SecretError if it falls short."""
    secret = source.read()
    try:
        check_pass_phrase(source.name, secret)
    except ValueError as exc:
        where = source.file or source.env or "inline"
        raise SecretError(f"{exc} (from {where})") from None
    return secret


def revealed(sources: Iterable[SecretSource]) -> tuple[str, ...]:
    """The values of the sources that can be read now (for scrubbing texts of them)."""
    secrets = (source.read_or_none() for source in sources)
    return tuple(secret.reveal() for secret in secrets if secret)


def _lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read().splitlines()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SecretError(f"cannot read communities_file {path}: {reason}") from exc


def check_oid(oid: str, what: str) -> str:
    """A numeric OID without its leading dot; names need MIB files Debian does not ship."""
    if not _OID.match(oid):
        raise ValueError(f"{what}: expected a numeric OID like 1.3.6.1.2.1.1.3.0, got {oid!r}")
    return oid.lstrip(".")


class SnmpV3User(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """An SNMPv3 USM user (authPriv when both passwords are set).

    user: the USM user name.
    auth_protocol: MD5, SHA (SHA-1), SHA224, SHA256, SHA384 or SHA512.
    auth_password: authentication pass phrase (secret, at least 8 characters); or
        auth_password_file (a file's first line) or auth_password_env (a variable's name).
    priv_protocol: none, DES, 3DES, AES (AES-128), AES192 or AES256.
    priv_password: privacy pass phrase (secret, at least 8 characters; none for authNoPriv);
        or priv_password_file / priv_password_env.
    engine_id: for the trap receiver only: the sender's snmpEngineID in hex ("8000000001020304"),
        which SNMPv3 traps need to localise the keys.
    """

    user: str
    auth_protocol: AuthProtocol = "SHA"
    auth_password: Secret | None = None
    auth_password_file: str | None = None
    auth_password_env: str | None = None
    priv_protocol: PrivProtocol = "AES"
    priv_password: Secret | None = None
    priv_password_file: str | None = None
    priv_password_env: str | None = None
    engine_id: str = ""

    def __post_init__(self) -> None:
        what = f"v3 user {self.user!r}"
        try:
            check_one_source(self, "auth_password")
            check_one_source(self, "priv_password")
            self._check_pass_phrase("auth_password", "")
            if self.priv_protocol != "none":
                self._check_pass_phrase(
                    "priv_password", " (or set priv_protocol: none for authNoPriv)"
                )
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
        if self.engine_id and not _HEX.match(self.engine_id):
            raise ValueError(f"{what}: engine_id must be hex, like 8000000001020304")

    def _check_pass_phrase(self, name: str, hint: str) -> None:
        source = secret_source(self, name)
        if not source.given:
            raise ValueError(f"{name} (or {name}_file / {name}_env) is required{hint}")
        if source.inline is not None:  # files and variables are checked when read
            check_pass_phrase(name, source.inline)

    def auth_key(self) -> Secret:
        """The auth pass phrase now (a file or variable is read here); SecretError if not."""
        return read_pass_phrase(secret_source(self, "auth_password"))

    def priv_key(self) -> Secret | None:
        """The priv pass phrase now, or None for authNoPriv."""
        if self.priv_protocol == "none":
            return None
        return read_pass_phrase(secret_source(self, "priv_password"))

    @property
    def secrets(self) -> tuple[str, ...]:
        """The pass phrases that can be read now, so error texts can be scrubbed of them."""
        sources = (secret_source(self, "auth_password"), secret_source(self, "priv_password"))
        return revealed(sources)


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
    version: "2c" or "3". community: SNMPv2c community (secret), or community_file (a file's
        first line) or community_env (a variable's name). v3: the USM user for version 3.
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
    community: Secret | None = None
    community_file: str | None = None
    community_env: str | None = None
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
        try:
            check_one_source(self, "community")
        except ValueError as exc:
            raise ValueError(f"device {self.name!r}: {exc}") from None
        if self.version == "2c" and not secret_source(self, "community").given:
            raise ValueError(
                f"device {self.name!r}: version 2c needs a community "
                "(community, community_file or community_env)"
            )
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

    def community_value(self) -> Secret:
        """The v2c community now (a file or variable is read here); SecretError if not."""
        return secret_source(self, "community").read()

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
        """Every credential of this device that can be read now, to scrub error texts of."""
        own = revealed([secret_source(self, "community")])
        return own + (self.v3.secrets if self.v3 else ())


class TrapSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The SNMP trap receiver.

    listen: "host:port" to receive on, e.g. "0.0.0.0:162" (port 162 needs root or
        CAP_NET_BIND_SERVICE); empty = no receiver.
    communities: accepted SNMPv1/v2c communities (secrets); traps with others are dropped and
        counted. communities_file: a file with more of them, one per line.
        communities_env: a variable holding more of them, separated by commas.
        v3_users: accepted SNMPv3 users, each with the sender's engine_id.
    queue_size: traps kept between two agent cycles; beyond it they are dropped and counted.
    """

    listen: str = ""
    communities: list[Secret] = []
    communities_file: str | None = None
    communities_env: str | None = None
    v3_users: list[SnmpV3User] = []
    queue_size: int = 10000

    def __post_init__(self) -> None:
        if self.listen:
            host, sep, port = self.listen.rpartition(":")
            if not sep or not host or not port.isdecimal():
                raise ValueError(
                    f"listen: expected host:port like 0.0.0.0:162, got {self.listen!r}"
                )
            has_communities = self.communities or self.communities_file or self.communities_env
            if not has_communities and not self.v3_users:
                raise ValueError("a trap receiver needs at least one community or v3 user")
        for user in self.v3_users:
            if not user.engine_id:
                raise ValueError(f"v3 trap user {user.user!r} needs the sender's engine_id")

    def community_values(self) -> list[Secret]:
        """Every accepted community now (the file and variable are read here); SecretError."""
        found = list(self.communities)
        if self.communities_file is not None:
            found += [Secret(line.strip()) for line in _lines(self.communities_file)]
        if self.communities_env is not None:
            joined = SecretSource("communities", env=self.communities_env).read().reveal()
            found += [Secret(part.strip()) for part in joined.split(",") if part.strip()]
        return [community for community in found if community]

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every community and pass phrase readable now, so error texts can be scrubbed."""
        try:
            communities = tuple(c.reveal() for c in self.community_values())
        except SecretError:
            communities = tuple(c.reveal() for c in self.communities)
        return communities + tuple(s for u in self.v3_users for s in u.secrets)

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
        duplicates = repeated_names(device.name for device in self.devices)
        if duplicates:
            raise ValueError(f"device names must be unique; repeated: {', '.join(duplicates)}")
