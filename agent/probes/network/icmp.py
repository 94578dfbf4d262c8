"""ICMP echo: unprivileged ping sockets where the kernel allows them, else a raw socket.

Linux lets any process whose group is inside `net.ipv4.ping_group_range` open a
`SOCK_DGRAM, IPPROTO_ICMP` socket (the kernel picks the echo identifier and hands back only
the replies meant for it). Where that range excludes the agent, a raw socket needs
CAP_NET_RAW; with neither, `IcmpPermissionError` says which one to grant.
"""

from __future__ import annotations

import errno
import os
import secrets
import select
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

_ECHO_REQUEST: dict[int, int] = {socket.AF_INET: 8, socket.AF_INET6: 128}
_ECHO_REPLY: dict[int, int] = {socket.AF_INET: 0, socket.AF_INET6: 129}
_PROTOCOL: dict[int, int] = {
    socket.AF_INET: socket.IPPROTO_ICMP,
    socket.AF_INET6: socket.IPPROTO_ICMPV6,
}
_HEADER = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence
_PAYLOAD = b"watchkeeper-echo"
_DENIED = (errno.EACCES, errno.EPERM)


class IcmpPermissionError(PermissionError):
    """Neither a ping socket nor a raw socket may be opened; the message says what to grant."""


class EchoSocket(Protocol):
    """The part of a socket the pinger uses (a real socket, or a test's stand-in)."""

    def sendto(self, data: bytes, address: tuple[str, int], /) -> int: ...

    def recvfrom(self, size: int, /) -> tuple[bytes, tuple[str, int]]: ...

    def fileno(self) -> int: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class OpenedSocket:
    """An ICMP socket and whether it is raw (raw IPv4 reads start with the IP header)."""

    sock: EchoSocket
    raw: bool


SocketOpener = Callable[[int], OpenedSocket]


def permission_advice(family: int) -> str:
    """What to change so this process may send echo requests."""
    gid = os.getgid()
    version = "IPv6" if family == socket.AF_INET6 else "IPv4"
    return (
        f"cannot open an ICMP ({version}) socket: ping sockets are not allowed for group {gid} "
        "and there is no CAP_NET_RAW for a raw socket. Either widen the sysctl "
        f'net.ipv4.ping_group_range to include gid {gid} (e.g. "0 2147483647" in '
        "/etc/sysctl.d/60-ping.conf, then `sysctl --system`), or give the agent CAP_NET_RAW "
        "(AmbientCapabilities=CAP_NET_RAW in its systemd unit)"
    )


def open_echo_socket(family: int) -> OpenedSocket:
    """A ping socket if the kernel allows one, else a raw socket, else IcmpPermissionError."""
    protocol = _PROTOCOL[family]
    try:
        return OpenedSocket(socket.socket(family, socket.SOCK_DGRAM, protocol), raw=False)
    except OSError as exc:
        if exc.errno not in _DENIED:
            raise
    try:
        return OpenedSocket(socket.socket(family, socket.SOCK_RAW, protocol), raw=True)
    except OSError as exc:
        if exc.errno not in _DENIED:
            raise
        raise IcmpPermissionError(permission_advice(family)) from exc


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of `data`."""
    if len(data) % 2:
        data += b"\0"
    total = sum(int(word) for word in struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build_echo_request(family: int, identifier: int, sequence: int) -> bytes:
    """One echo request; IPv6 checksums are the kernel's job (they cover a pseudo-header)."""
    kind = _ECHO_REQUEST[family]
    packet = _HEADER.pack(kind, 0, 0, identifier, sequence) + _PAYLOAD
    if family == socket.AF_INET:
        packet = _HEADER.pack(kind, 0, checksum(packet), identifier, sequence) + _PAYLOAD
    return packet


def parse_echo_reply(data: bytes, family: int, *, raw: bool) -> tuple[int, int] | None:
    """(identifier, sequence) of an echo reply, or None for any other ICMP message."""
    if raw and family == socket.AF_INET and data:
        data = data[(data[0] & 0x0F) * 4 :]  # skip the IPv4 header (IHL words)
    if len(data) < _HEADER.size:
        return None
    kind, code, _, identifier, sequence = _HEADER.unpack_from(data)
    if kind != _ECHO_REPLY[family] or code != 0:
        return None
    return identifier, sequence


@dataclass(frozen=True)
class EchoResult:
    """What `count` echo requests got back: one round-trip time per answered request."""

    sent: int
    round_trips: tuple[float, ...]

    @property
    def loss_ratio(self) -> float:
        """Share of requests left unanswered (0.0 to 1.0)."""
        return 1.0 - len(self.round_trips) / self.sent if self.sent else 1.0


class Pinger:
    """Sends `count` echo requests `interval` apart to one address and awaits the replies."""

    def __init__(
        self, opener: SocketOpener = open_echo_socket, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self._opener = opener
        self._timer = timer

    def ping(
        self, address: str, family: int, count: int, interval: float, deadline: float
    ) -> EchoResult:
        """Echo `address` until every reply is in or the timer passes `deadline`."""
        opened = self._opener(family)
        try:
            return self._exchange(opened, address, family, count, interval, deadline)
        finally:
            opened.sock.close()

    def _exchange(
        self,
        opened: OpenedSocket,
        address: str,
        family: int,
        count: int,
        interval: float,
        deadline: float,
    ) -> EchoResult:
        # A raw socket sees every echo reply on the host: our random identifier picks ours out.
        # A ping socket's identifier is the kernel's choice and it filters for us.
        identifier = secrets.randbelow(0xFFFF) + 1
        sent_at: dict[int, float] = {}
        round_trips: dict[int, float] = {}
        next_send = self._timer()
        while self._timer() < deadline and len(round_trips) < count:
            now = self._timer()
            if len(sent_at) < count and now >= next_send:
                sequence = len(sent_at) + 1
                packet = build_echo_request(family, identifier, sequence)
                opened.sock.sendto(packet, (address, 0))
                sent_at[sequence] = now
                next_send = now + interval
            wake = deadline if len(sent_at) >= count else min(next_send, deadline)
            reply = self._receive(opened, family, max(0.0, wake - self._timer()))
            if reply is None:
                continue
            peer, (their_id, sequence) = reply
            mine = not opened.raw or (their_id == identifier and peer == address)
            if mine and sequence in sent_at and sequence not in round_trips:  # no duplicates
                round_trips[sequence] = self._timer() - sent_at[sequence]
        return EchoResult(len(sent_at), tuple(round_trips.values()))

    def _receive(
        self, opened: OpenedSocket, family: int, wait: float
    ) -> tuple[str, tuple[int, int]] | None:
        """(sender, (identifier, sequence)) of the next echo reply within `wait`, or None."""
        readable, _, _ = select.select([opened.sock], [], [], wait)
        if not readable:
            return None
        data, sender = opened.sock.recvfrom(2048)
        reply = parse_echo_reply(data, family, raw=opened.raw)
        return None if reply is None else (str(sender[0]), reply)
