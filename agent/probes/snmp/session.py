"""Talking SNMP to one device with pysnmp (imported lazily): GETs and column walks, bounded.

Every failure becomes an `SnmpError` whose message names the device and what to check, and
never carries a community or pass phrase (pysnmp echoes bad pass phrases in its exceptions).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from agent.probes.snmp.profiles import Value
from agent.probes.snmp.settings import SnmpDevice, SnmpV3User
from agent.secret import SecretError

_MAX_VARBINDS = 20  # OIDs per request: keeps responses under common 1472-byte UDP payloads
_MAX_ROWS = 100_000  # bound on one walk, against agents that loop on the same OID

AUTH_PROTOCOLS = {
    "MD5": "USM_AUTH_HMAC96_MD5",
    "SHA": "USM_AUTH_HMAC96_SHA",
    "SHA224": "USM_AUTH_HMAC128_SHA224",
    "SHA256": "USM_AUTH_HMAC192_SHA256",
    "SHA384": "USM_AUTH_HMAC256_SHA384",
    "SHA512": "USM_AUTH_HMAC384_SHA512",
}
PRIV_PROTOCOLS = {
    "none": "USM_PRIV_NONE",
    "DES": "USM_PRIV_CBC56_DES",
    "3DES": "USM_PRIV_CBC168_3DES",
    "AES": "USM_PRIV_CFB128_AES",
    "AES192": "USM_PRIV_CFB192_AES",
    "AES256": "USM_PRIV_CFB256_AES",
}

_HINTS = {
    "RequestTimedOut": "device down, wrong address/port, or wrong community "
    "(SNMPv2c agents silently ignore a bad community; SNMPv3 agents a bad priv password)",
    "WrongDigest": "wrong v3 auth password or auth protocol",
    "UnknownUserName": "the device has no such v3 user",
    "DecryptionError": "wrong v3 priv password or priv protocol",
    "UnsupportedSecLevel": "the v3 user does not allow this security level",
    "NotInTimeWindow": "v3 time window error: retry, or check the device's engine boots",
}


class SnmpError(Exception):
    """A device that could not be read; the message is safe to show and store."""


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Remove every secret from a text that may come from a library's exception."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def usm_user(user: SnmpV3User) -> Any:
    """pysnmp UsmUserData for a configured v3 user; SecretError if a pass phrase is unreadable."""
    from pysnmp.hlapi.v3arch import asyncio as hlapi

    priv = user.priv_key()
    return hlapi.UsmUserData(
        user.user,
        user.auth_key().reveal(),
        priv.reveal() if priv is not None else None,
        authProtocol=getattr(hlapi, AUTH_PROTOCOLS[user.auth_protocol]),
        privProtocol=getattr(hlapi, PRIV_PROTOCOLS[user.priv_protocol]),
    )


def credentials_digest(user: SnmpV3User) -> str:
    """A digest of the user's protocols and pass phrases as they read now (never the phrases)."""
    try:
        priv = user.priv_key()
        keys = [user.auth_key().reveal(), priv.reveal() if priv else ""]
    except SecretError:
        return "unreadable"  # the poll fails on opening the session and says why
    text = "\0".join([user.auth_protocol, user.priv_protocol, *keys])
    return hashlib.sha256(text.encode()).hexdigest()


def convert_value(value: Any) -> Value | None:
    """pysnmp value -> int, str, or None for NoSuchObject / NoSuchInstance / EndOfMibView."""
    from pyasn1.type import univ  # type: ignore[import-untyped,unused-ignore]
    from pysnmp.proto import rfc1902

    if isinstance(value, univ.Null):  # the exception values derive from Null
        return None
    if isinstance(value, univ.Integer):  # Integer32, Counter32/64, Gauge32, TimeTicks
        return int(value)
    if isinstance(value, univ.ObjectIdentifier):
        return str(value.prettyPrint())
    if isinstance(value, univ.OctetString) and value.tagSet == rfc1902.IpAddress.tagSet:
        return ".".join(str(octet) for octet in bytes(value))  # v1 and v2 IpAddress alike
    if isinstance(value, univ.OctetString):
        return decode_text(bytes(value))
    return str(value.prettyPrint())


def decode_text(raw: bytes) -> str:
    """Printable text as is (trailing NULs dropped); binary (a MAC address) as hex."""
    try:
        text = raw.decode("utf-8").rstrip("\x00")
    except UnicodeDecodeError:
        return raw.hex(":")
    return text if text.isprintable() else raw.hex(":")


def oid_suffix(oid: str, prefix: str) -> str | None:
    """ "1.3.6.1.2.1.2.2.1.2.5" below "1.3.6.1.2.1.2.2.1.2" -> "5"; None when not below it."""
    return oid[len(prefix) + 1 :] if oid.startswith(prefix + ".") else None


class SnmpSession:
    """One device's credentials and transport for one poll, over the agent's shared engine."""

    def __init__(self, device: SnmpDevice, engine: Any) -> None:
        self.device = device
        self._engine = engine
        self._auth: Any = None
        self._target: Any = None

    async def open(self) -> None:
        """Build the credentials and transport target; a bad address is an SnmpError."""
        from pysnmp.hlapi.v3arch import asyncio as hlapi

        device = self.device
        try:
            if device.v3 is not None and device.version == "3":
                self._auth = usm_user(device.v3)
            else:
                self._auth = hlapi.CommunityData(device.community_value().reveal(), mpModel=1)
        except SecretError as exc:
            raise self.failure(str(exc)) from None
        try:
            self._target = await hlapi.UdpTransportTarget.create(
                (device.address, device.port),
                timeout=device.timeout_seconds,
                retries=device.retries,
            )
        except Exception as exc:
            raise self.failure(f"cannot resolve address {device.address!r}: {exc}") from exc

    def failure(self, what: str) -> SnmpError:
        """An SnmpError naming the device, with secrets scrubbed."""
        where = f"{self.device.address}:{self.device.port}"
        return SnmpError(scrub(f"SNMP {where}: {what}", self.device.secrets))

    def _check(self, indication: Any, status: Any, index: Any, request: str) -> None:
        if indication:
            name = type(indication).__name__
            hint = _HINTS.get(name, "")
            timing = ""
            if name == "RequestTimedOut":
                tries = self.device.retries + 1
                timing = f" within {self.device.timeout_seconds:g} s x {tries} tries"
            suffix = f" ({hint})" if hint else ""
            raise self.failure(f"{request}: {indication}{timing}{suffix}")
        if status:
            raise self.failure(f"{request}: device answered {status.prettyPrint()} at #{index}")

    async def get(self, oids: Sequence[str]) -> dict[str, Value]:
        """GET instances; absent ones (NoSuchObject/NoSuchInstance) are left out."""
        found: dict[str, Value] = {}
        for start in range(0, len(oids), _MAX_VARBINDS):
            chunk = oids[start : start + _MAX_VARBINDS]
            for oid, value in await self._request("GET", chunk):
                if value is not None:
                    found[oid] = value
        return found

    async def walk(self, columns: Sequence[str]) -> dict[str, dict[str, Value]]:
        """Walk table columns together with GETBULK: column OID -> row index -> value."""
        found: dict[str, dict[str, Value]] = {column: {} for column in columns}
        for start in range(0, len(columns), _MAX_VARBINDS):
            await self._walk_chunk(list(columns[start : start + _MAX_VARBINDS]), found)
        return found

    async def _walk_chunk(self, columns: list[str], found: dict[str, dict[str, Value]]) -> None:
        cursor = {column: column for column in columns}
        rows = 0
        while cursor and rows < _MAX_ROWS:
            active = list(cursor)
            answer = await self._request("GETBULK", [cursor[c] for c in active])
            for position, (oid, value) in enumerate(answer):
                column = active[position % len(active)]
                if column in cursor:
                    self._advance(column, oid, value, cursor, found)
            rows += max(1, len(answer) // len(active))

    @staticmethod
    def _advance(
        column: str,
        oid: str,
        value: Value | None,
        cursor: dict[str, str],
        found: dict[str, dict[str, Value]],
    ) -> None:
        index = oid_suffix(oid, column)
        # Past the column, end of MIB, or an agent answering a non-increasing OID: column done.
        if index is None or value is None or not _increasing(cursor[column], oid):
            del cursor[column]
            return
        found[column][index] = value
        cursor[column] = oid

    async def _request(self, kind: str, oids: Sequence[str]) -> list[tuple[str, Value | None]]:
        from pysnmp.hlapi.v3arch import asyncio as hlapi

        binds = [hlapi.ObjectType(hlapi.ObjectIdentity(oid)) for oid in oids]
        args = (self._engine, self._auth, self._target, hlapi.ContextData())
        try:
            if kind == "GET":
                result = await hlapi.get_cmd(*args, *binds, lookupMib=False)
            else:
                reps = self.device.max_repetitions
                result = await hlapi.bulk_cmd(*args, 0, reps, *binds, lookupMib=False)
        except Exception as exc:  # pysnmp raises on bad keys, encodings and the like
            raise self.failure(f"{kind} failed: {type(exc).__name__}: {exc}") from None
        indication, status, index, varbinds = result
        self._check(indication, status, index, kind)
        return [(str(oid), convert_value(value)) for oid, value in varbinds]


def _increasing(before: str, after: str) -> bool:
    return tuple(map(int, after.split("."))) > tuple(map(int, before.split(".")))
