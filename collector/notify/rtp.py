"""RTP for one phone call: PCMU packets out in 20 ms frames, DTMF (RFC 4733 events) in."""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass

PCMU = 0
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
FRAME_SECONDS = 0.02
# RFC 4733 event codes 0-15 are the keypad: 0-9, *, #, A-D.
DTMF_DIGITS = "0123456789*#ABCD"
_HEADER = struct.Struct("!BBHII")


@dataclass(frozen=True)
class RtpPacket:
    """The RTP fields this channel uses (RFC 3550), without CSRCs or extensions."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False

    def encode(self) -> bytes:
        """The packet as sent on the wire: version 2, no padding, extension or CSRC."""
        second = (0x80 if self.marker else 0) | self.payload_type
        return _HEADER.pack(0x80, second, self.sequence, self.timestamp, self.ssrc) + self.payload


def parse_rtp(data: bytes) -> RtpPacket | None:
    """The packet in `data`, or None if it is not RTP version 2."""
    if len(data) < _HEADER.size:
        return None
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != 2:
        return None
    offset = _HEADER.size + 4 * (first & 0x0F)
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in words
        if len(data) < offset + 4:
            return None
        offset += 4 + 4 * struct.unpack_from("!H", data, offset + 2)[0]
    end = len(data)
    if first & 0x20 and end > offset:  # padding: the last byte counts it
        end -= data[-1]
    if end < offset:
        return None
    return RtpPacket(
        second & 0x7F, sequence, timestamp, ssrc, data[offset:end], bool(second & 0x80)
    )


class RtpStream:
    """Numbers outgoing PCMU frames: random SSRC, sequence and timestamp start (RFC 3550)."""

    def __init__(self, payload_type: int = PCMU) -> None:
        self.payload_type = payload_type
        self.ssrc = secrets.randbits(32)
        self._sequence = secrets.randbits(16)
        self._timestamp = secrets.randbits(32)
        self._first = True

    def packet(self, frame: bytes) -> bytes:
        """The next packet carrying `frame` (160 PCMU bytes); the first one has the marker."""
        packet = RtpPacket(
            self.payload_type, self._sequence, self._timestamp, self.ssrc, frame, self._first
        )
        self._first = False
        self._sequence = (self._sequence + 1) & 0xFFFF
        self._timestamp = (self._timestamp + len(frame)) & 0xFFFFFFFF
        return packet.encode()


def frames(audio: bytes, filler: bytes) -> list[bytes]:
    """`audio` cut into 20 ms frames, the last one padded with `filler` (one byte of silence)."""
    chunks = [audio[start : start + FRAME_SAMPLES] for start in range(0, len(audio), FRAME_SAMPLES)]
    if chunks and len(chunks[-1]) < FRAME_SAMPLES:
        chunks[-1] += filler * (FRAME_SAMPLES - len(chunks[-1]))
    return chunks


class DtmfReceiver:
    """Turns RFC 4733 telephone-event packets into digits, each key press once.

    A press is sent as several packets sharing one timestamp (updates, then three copies of
    the end packet): the first packet of a new timestamp is the press.
    """

    def __init__(self, payload_types: frozenset[int]) -> None:
        self.payload_types = payload_types
        self._seen: set[tuple[int, int]] = set()

    def digit(self, packet: RtpPacket) -> str | None:
        """The digit pressed, if `packet` starts a new key press."""
        if packet.payload_type not in self.payload_types or len(packet.payload) < 4:
            return None
        event = packet.payload[0]
        key = (packet.ssrc, packet.timestamp)
        if event >= len(DTMF_DIGITS) or key in self._seen:
            return None
        self._seen.add(key)
        return DTMF_DIGITS[event]


def telephone_event(digit: str, duration: int, *, end: bool, volume: int = 10) -> bytes:
    """An RFC 4733 event payload for `digit` (what a phone sends; tests send it to us)."""
    flags = (0x80 if end else 0) | (volume & 0x3F)
    return struct.pack("!BBH", DTMF_DIGITS.index(digit), flags, duration)
