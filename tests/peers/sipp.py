"""sipp (Debian package sip-tester) as the called party on 127.0.0.1, plus an RTP packet counter.

Each test writes its own UAS scenario; sipp takes one call (-m 1), is bounded by -timeout and
stopped by the PID we started. The scenarios below answer, refuse or let a call ring.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from collector.notify.rtp import RtpPacket, parse_rtp, telephone_event
from tests.peers import free_udp_port, wait_until

_HEAD = '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="{name}">\n'
# The caller's From header and Contact URI, kept for requests sipp sends back in the dialog.
_KEEP_CALLER = """
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="caller"/>
      <ereg regexp="sip:[^>;]*" search_in="hdr" header="Contact:" assign_to="contact"/>
    </action>"""
_RESPONSE = """
  <send{retrans}><![CDATA[
SIP/2.0 {status}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
{cseq}
Contact: <sip:callee@[local_ip]:[local_port]>
{extra}Content-Length: [len]
{body}
  ]]></send>"""
_SDP_TYPE = "Content-Type: application/sdp\n"
_ANSWER_SDP = """
v=0
o=callee 1 1 IN IP4 127.0.0.1
s=sipp
c=IN IP4 127.0.0.1
t=0 0
m=audio {media_port} RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15"""
_IN_DIALOG = """
  <send><![CDATA[
{method} [$contact] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:callee@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: [$caller]
[last_Call-ID:]
CSeq: {cseq} {method}
Contact: <sip:callee@[local_ip]:[local_port]>
{extra}Content-Length: [len]
{body}
  ]]></send>
  <recv response="200"/>"""


def response(status: str, *, cseq: str = "[last_CSeq:]", extra: str = "", sdp_port: int = 0) -> str:
    """A response to the last request; with `sdp_port`, an SDP answer sending media there."""
    body = ""
    if sdp_port:
        extra += _SDP_TYPE
        body = _ANSWER_SDP.format(media_port=sdp_port)
    retrans = ' retrans="500"' if sdp_port else ""  # the answer is resent until the ACK
    return _RESPONSE.format(status=status, cseq=cseq, extra=extra, body=body, retrans=retrans)


def answering(media_port: int, after_answer: str) -> str:
    """Ring, answer with SDP pointing at `media_port`, run `after_answer`, take the BYE."""
    keep = _KEEP_CALLER if "[$caller]" in after_answer else ""  # sipp rejects unused variables
    return (
        _HEAD.format(name="answer")
        + f'  <recv request="INVITE">{keep}\n  </recv>'
        + response("180 Ringing")
        + response("200 OK", sdp_port=media_port)
        + '\n  <recv request="ACK"/>'
        + after_answer
        + '\n  <recv request="BYE"/>'
        + response("200 OK")
        + "\n</scenario>\n"
    )


def play_pcap(path: Path, pause_ms: int = 1000) -> str:
    """After `pause_ms`, replay the RTP in a pcap (RFC 4733 events) to the caller's media."""
    return f"""
  <pause milliseconds="{pause_ms}"/>
  <nop><action><exec play_pcap_audio="{path}"/></action></nop>"""


def info_key(digit: str, pause_ms: int = 1000) -> str:
    """After `pause_ms`, press `digit` by SIP INFO (application/dtmf-relay)."""
    body = f"\nSignal={digit}\nDuration=160"
    extra = "Content-Type: application/dtmf-relay\n"
    return f'\n  <pause milliseconds="{pause_ms}"/>' + _IN_DIALOG.format(
        method="INFO", cseq=1, extra=extra, body=body
    )


def hangs_up(pause_ms: int = 1000) -> str:
    """Scenario ending: after `pause_ms` the callee hangs up (BYE) and sipp's call ends."""
    return (
        f'\n  <pause milliseconds="{pause_ms}"/>'
        + _IN_DIALOG.format(method="BYE", cseq=1, extra="", body="")
        + "\n</scenario>\n"
    )


def answering_then_hanging_up(media_port: int, pause_ms: int = 1000) -> str:
    """Answer, then hang up without a key after `pause_ms`."""
    return (
        _HEAD.format(name="answer-hangup")
        + f'  <recv request="INVITE">{_KEEP_CALLER}\n  </recv>'
        + response("200 OK", sdp_port=media_port)
        + '\n  <recv request="ACK"/>'
        + hangs_up(pause_ms)
    )


def refusing(status: str) -> str:
    """Answer the INVITE with a final error such as "486 Busy Here" and take the ACK."""
    return (
        _HEAD.format(name="refuse")
        + '  <recv request="INVITE"/>'
        + response("100 Trying")
        + response(status)
        + '\n  <recv request="ACK"/>\n</scenario>\n'
    )


def ringing() -> str:
    """Ring until the caller gives up: 180, then CANCEL, 200 for it, 487 and the ACK."""
    return (
        _HEAD.format(name="ring")
        + '  <recv request="INVITE"/>'
        + response("180 Ringing")
        + '\n  <recv request="CANCEL"/>'
        + response("200 OK")
        + response("487 Request Terminated", cseq="CSeq: 1 INVITE")
        + '\n  <recv request="ACK"/>\n</scenario>\n'
    )


def challenging(user: str, password: str, media_port: int, *, proxy: bool = False) -> str:
    """401 with a digest challenge (qop=auth); the retried INVITE must carry valid credentials,
    else 403. Answered, the callee hangs up after a second. With `proxy`, 407 and
    Proxy-Authenticate instead, and sipp answers without checking (its verifyauth reads only
    Authorization): the test checks the Proxy-Authorization it logged."""
    status = "407 Proxy Authentication Required" if proxy else "401 Unauthorized"
    challenge = (
        f'{"Proxy" if proxy else "WWW"}-Authenticate: Digest realm="watchkeeper.test", '
        'nonce="7a1e0c8f3b2d4e6f", qop="auth", algorithm=MD5\n'
    )
    verify = f'<action><verifyauth assign_to="authorized" username="{user}" password="{password}"/>'
    keep = "<action>" if proxy else verify  # sipp rejects a variable that is never read
    check = (
        '\n  <nop hide="true" test="authorized" next="good"/>'
        + response("403 Forbidden")
        + '\n  <recv request="ACK" next="end"/>'
    )
    return (
        _HEAD.format(name="challenge")
        + '  <recv request="INVITE"/>'
        + response(status, extra=challenge)
        + '\n  <recv request="ACK"/>'
        + f'\n  <recv request="INVITE">{_KEEP_CALLER.replace("<action>", keep)}\n  </recv>'
        + (check if not proxy else "")
        + '\n  <label id="good"/>'
        + response("200 OK", sdp_port=media_port)
        + '\n  <recv request="ACK"/>'
        + hangs_up(1000).replace("\n</scenario>\n", "")
        + '\n  <label id="end"/>\n</scenario>\n'
    )


@dataclass
class SippPeer:
    """One sipp UAS run: start it, place the call, then `finish()` for its exit code."""

    program: str
    folder: Path
    scenario: str
    port: int = field(default_factory=free_udp_port)
    media_port: int = field(default_factory=free_udp_port)
    timeout: float = 30.0
    _process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SippPeer:
        script = self.folder / "scenario.xml"
        script.write_text(self.scenario, encoding="ascii")
        command = [
            self.program, "-sf", str(script), "-i", "127.0.0.1", "-p", str(self.port),
            "-mi", "127.0.0.1", "-mp", str(self.media_port), "-m", "1", "-nostdin",
            "-timeout", f"{self.timeout:g}s", "-timeout_error",
            "-trace_msg", "-message_file", str(self.folder / "messages.log"),
            "-trace_err", "-error_file", str(self.folder / "errors.log"),
        ]  # fmt: skip
        with (self.folder / "sipp.out").open("wb") as output:
            self._process = subprocess.Popen(
                command, cwd=self.folder, stdin=subprocess.DEVNULL, stdout=output,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            wait_until(self._listening, 10.0, f"sipp on 127.0.0.1:{self.port}")
        except BaseException:
            self.__exit__(None, None, None)  # `with` calls __exit__ only once __enter__ returned
            raise
        return self

    def _listening(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            raise RuntimeError(f"sipp exited with {self._process.returncode}: {self.log()}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", self.port))
            except OSError:
                return True  # sipp holds the port
        return False

    def finish(self, timeout: float = 15.0) -> int:
        """sipp's exit code (0: the scenario ran to its end) once its one call is over."""
        assert self._process is not None
        return self._process.wait(timeout)

    def messages(self) -> str:
        """Every SIP message sipp sent and received (its -trace_msg file)."""
        path = self.folder / "messages.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def log(self) -> str:
        """sipp's output and error log, for assertion messages."""
        parts = [self.folder / name for name in ("sipp.out", "errors.log")]
        return "\n".join(p.read_text(errors="replace") for p in parts if p.exists())

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(5)


class RtpCounter:
    """A UDP socket on 127.0.0.1 that keeps every RTP packet sent to it (the callee's ear)."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self.packets: list[RtpPacket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, name="rtp counter", daemon=True)

    def __enter__(self) -> RtpCounter:
        self._thread.start()
        return self

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(2048)
            except TimeoutError:
                continue
            packet = parse_rtp(data)
            if packet is not None:
                self.packets.append(packet)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()


def dtmf_pcap(path: Path, digit: str) -> Path:
    """A pcap of one RFC 4733 key press (payload type 101): 5 updates and 3 end packets, 20 ms
    apart, as Ethernet/IPv4/UDP frames that sipp's play_pcap_audio replays."""
    frames = [telephone_event(digit, 160 * (n + 1), end=False) for n in range(5)] + [
        telephone_event(digit, 960, end=True)
    ] * 3
    records = []
    for index, event in enumerate(frames):
        rtp = RtpPacket(101, 1000 + index, 8000, 0x5157A11, event, marker=index == 0).encode()
        udp = struct.pack("!HHHH", 6000, 7000, 8 + len(rtp), 0) + rtp
        ip = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), index, 0, 64, 17, 0,
            bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]),
        )  # fmt: skip
        frame = b"\x00" * 12 + b"\x08\x00" + ip + udp
        stamp = 20_000 * index
        records.append(struct.pack("<IIII", 1, stamp, len(frame), len(frame)) + frame)
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    path.write_bytes(header + b"".join(records))
    return path
