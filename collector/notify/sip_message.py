"""SIP messages (RFC 3261) as one call needs them: parse, build, digest auth, SDP offer/answer."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

_COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "k": "supported",
}
_HASHES: dict[str, Callable[[bytes], str]] = {
    "MD5": lambda data: hashlib.md5(data).hexdigest(),  # RFC 2617's default; not our choice
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
}
_PARAM = re.compile(r'\s*([\w-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


@dataclass(frozen=True)
class SipMessage:
    """One request or response: start line, headers in order (names as received), body."""

    start_line: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    @property
    def is_response(self) -> bool:
        """Whether this is a response (its start line is SIP/2.0 CODE REASON)."""
        return self.start_line.startswith("SIP/2.0 ")

    @property
    def status(self) -> int:
        """The response code, 0 for a request."""
        parts = self.start_line.split(" ", 2)
        return int(parts[1]) if self.is_response and parts[1].isdecimal() else 0

    @property
    def reason(self) -> str:
        """The response's reason phrase ("Busy Here"), empty for a request."""
        return self.start_line.split(" ", 2)[2] if self.is_response else ""

    @property
    def method(self) -> str:
        """The request method, or the CSeq method of a response."""
        if self.is_response:
            return (self.header("CSeq") or " ").split()[-1].upper()
        return self.start_line.split(" ", 1)[0].upper()

    @property
    def cseq(self) -> int:
        """The CSeq number, 0 if missing or malformed."""
        number = (self.header("CSeq") or "").split(" ", 1)[0]
        return int(number) if number.isdecimal() else 0

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive, compact forms understood)."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        """Every value of header `name`, in order."""
        wanted = name.lower()
        return [value for key, value in self.headers if _COMPACT.get(key, key) == wanted]


def parse_message(data: bytes) -> SipMessage:
    """The SIP message in one UDP datagram; ValueError if it is not one."""
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        head, separator, body = data.partition(b"\n\n")
    lines = head.decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n")
    start = lines[0].strip()
    if not (start.startswith("SIP/2.0 ") or start.endswith(" SIP/2.0")):
        raise ValueError(f"not a SIP message: {start[:60]!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # folded continuation line
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
        elif ":" in line:
            name, _, value = line.partition(":")
            headers.append((name.strip().lower(), value.strip()))
    return SipMessage(start, tuple(headers), body)


def build_request(
    method: str, uri: str, headers: list[tuple[str, str]], body: bytes = b""
) -> bytes:
    """A request ready for the wire; Content-Length is added."""
    lines = [f"{method} {uri} SIP/2.0", *(f"{name}: {value}" for name, value in headers)]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def build_response(request: SipMessage, status: int, reason: str) -> bytes:
    """A body-less response to `request` (Via, From, To, Call-ID and CSeq copied)."""
    lines = [f"SIP/2.0 {status} {reason}"]
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        lines += [f"{name}: {value}" for value in request.header_values(name)]
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def new_branch() -> str:
    """A Via branch with RFC 3261's magic cookie."""
    return "z9hG4bK" + secrets.token_hex(10)


def new_tag() -> str:
    """A From tag or Call-ID part: random, 64 bits."""
    return secrets.token_hex(8)


def tag_of(header: str) -> str:
    """The tag parameter of a From or To value, empty if none."""
    match = re.search(r";\s*tag=([^;>\s]+)", header)
    return match.group(1) if match else ""


def uri_of(header: str) -> str:
    """The URI inside a Contact, From, To or Record-Route value (<sip:...> or bare)."""
    match = re.search(r"<([^>]+)>", header)
    return match.group(1) if match else header.split(";", 1)[0].strip()


def parse_challenge(value: str) -> dict[str, str]:
    """The parameters of a WWW-Authenticate or Proxy-Authenticate value, names lower-cased."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise ValueError(f"authentication scheme {scheme!r} is not Digest")
    params = {}
    for name, raw in _PARAM.findall(rest):
        params[name.lower()] = raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw
    return params


def digest_authorization(
    challenge: dict[str, str],
    *,
    method: str,
    uri: str,
    user: str,
    password: str,
    body: bytes = b"",
    cnonce: str | None = None,
) -> str:
    """The Authorization value answering `challenge` (RFC 2617 / RFC 7616 / RFC 8760).

    MD5 and SHA-256, plain or -sess; qop auth or auth-int, or none. ValueError otherwise.
    """
    algorithm = challenge.get("algorithm", "MD5")
    base = algorithm.upper().removesuffix("-SESS")
    if base not in _HASHES:
        raise ValueError(f"digest algorithm {algorithm!r} unsupported (MD5 or SHA-256 work)")
    digest = _HASHES[base]
    realm, nonce = challenge.get("realm", ""), challenge.get("nonce", "")
    offered = [q.strip() for q in challenge.get("qop", "").split(",") if q.strip()]
    qop = "auth" if "auth" in offered else ("auth-int" if "auth-int" in offered else "")
    cnonce = cnonce or secrets.token_hex(8)
    ha1 = digest(f"{user}:{realm}:{password}".encode())
    if algorithm.upper().endswith("-SESS"):
        ha1 = digest(f"{ha1}:{nonce}:{cnonce}".encode())
    a2 = f"{method}:{uri}" + (f":{digest(body)}" if qop == "auth-int" else "")
    ha2 = digest(a2.encode())
    middle = f"{nonce}:00000001:{cnonce}:{qop}" if qop else nonce
    fields = [
        f'username="{user}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
        f'response="{digest(f"{ha1}:{middle}:{ha2}".encode())}"',
        f"algorithm={algorithm}",
    ]
    if qop:
        fields += [f"qop={qop}", "nc=00000001", f'cnonce="{cnonce}"']
    if "opaque" in challenge:
        fields.append(f'opaque="{challenge["opaque"]}"')
    return "Digest " + ", ".join(fields)


@dataclass(frozen=True)
class MediaAnswer:
    """Where the callee wants our audio, and its telephone-event payload types."""

    address: str
    port: int
    telephone_events: frozenset[int]


TELEPHONE_EVENT = 101


def sdp_offer(address: str, port: int, session: int) -> bytes:
    """Our offer: PCMU and RFC 4733 telephone-events (keys 0-15), 20 ms packets."""
    lines = [
        "v=0",
        f"o=watchkeeper {session} {session} IN IP4 {address}",
        "s=Watchkeeper",
        f"c=IN IP4 {address}",
        "t=0 0",
        f"m=audio {port} RTP/AVP 0 {TELEPHONE_EVENT}",
        "a=rtpmap:0 PCMU/8000",
        f"a=rtpmap:{TELEPHONE_EVENT} telephone-event/8000",
        f"a=fmtp:{TELEPHONE_EVENT} 0-15",
        "a=ptime:20",
        "a=sendrecv",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def parse_sdp_answer(body: bytes) -> MediaAnswer:
    """The callee's media address from its SDP; ValueError if it has no PCMU audio stream."""
    address, port, formats, events = "", 0, [""], {TELEPHONE_EVENT}
    session_address = ""
    for line in body.decode("utf-8", errors="replace").splitlines():
        key, _, value = line.strip().partition("=")
        if key == "c" and value.split()[:2] == ["IN", "IP4"]:
            if port:
                address = value.split()[2].split("/")[0]
            else:
                session_address = value.split()[2].split("/")[0]
        elif key == "m" and value.startswith("audio ") and not port:
            fields = value.split()
            port, formats = int(fields[1]), fields[3:]
        elif key == "a" and value.lower().startswith("rtpmap:") and "telephone-event" in value:
            events.add(int(value[7:].split()[0]))
    if not port:
        raise ValueError("the callee's SDP has no audio stream (m=audio) or refused it (port 0)")
    if "0" not in formats:
        raise ValueError(f"the callee's SDP does not accept PCMU (payload types {formats})")
    address = address or session_address
    if not address:
        raise ValueError("the callee's SDP has no IPv4 connection address (c=IN IP4 ...)")
    return MediaAnswer(address, port, frozenset(events))


def failure_reason(response: SipMessage, number: str) -> str:
    """Why the call failed, in the words the outbox logs: "busy", "declined 603"..."""
    status, reason = response.status, response.reason
    if status in (486, 600):
        return f"busy ({status} {reason})"
    if status == 603:
        return f"declined 603 ({reason})"
    if status in (404, 484, 604):
        return f"number {number} not found ({status} {reason})"
    if status in (408, 480, 487):
        return f"no answer ({status} {reason})"
    return f"call to {number} failed: {status} {reason}"


def info_digit(request: SipMessage) -> str | None:
    """The key in a SIP INFO body: application/dtmf-relay "Signal=1" or application/dtmf "1"."""
    kind = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    text = request.body.decode("utf-8", errors="replace").strip()
    if kind == "application/dtmf-relay":
        match = re.search(r"^\s*signal\s*=\s*([0-9*#A-Da-d])", text, re.IGNORECASE | re.MULTILINE)
        return match.group(1).upper() if match else None
    if kind == "application/dtmf" and len(text) == 1 and text in "0123456789*#ABCDabcd":
        return text.upper()
    return None
