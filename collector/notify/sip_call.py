"""One outbound SIP call over UDP: INVITE (digest auth if challenged), ACK, audio out, DTMF in, BYE.

A small RFC 3261 user agent client for one purpose: ring a number through a PBX or SIP trunk,
play a recorded prompt, listen for keys (RFC 4733 telephone-events or SIP INFO) and hang up.
Every request goes to the configured server, which acts as outbound proxy for the dialog.
"""

from __future__ import annotations

import logging
import re
import secrets
import select
import socket
import time
from dataclasses import dataclass, field
from typing import NoReturn

from collector.notify.channels import DeliveryError
from collector.notify.rtp import (
    FRAME_SECONDS,
    DtmfReceiver,
    RtpPacket,
    RtpStream,
    frames,
    parse_rtp,
)
from collector.notify.sip_message import (
    MediaAnswer,
    SipMessage,
    build_request,
    build_response,
    digest_authorization,
    failure_reason,
    info_digit,
    new_branch,
    new_tag,
    parse_challenge,
    parse_message,
    parse_sdp_answer,
    sdp_offer,
    uri_of,
)
from collector.notify.tts import SILENCE

logger = logging.getLogger(__name__)

T1 = 0.5  # RFC 3261 retransmission interval, doubled up to T2
T2 = 4.0
TIMER_B = 32.0  # an INVITE nobody answers at all
BYE_TIMEOUT = 8.0
CANCEL_TIMEOUT = 4.0
USER_AGENT = "Watchkeeper"


@dataclass(frozen=True)
class CallPlan:
    """Whom to ring, through which server, from which local addresses, for how long."""

    server_host: str
    server_port: int
    user: str
    password: str | None
    number: str
    local_ip: str | None = None
    local_port: int = 0
    rtp_port: int = 0
    ring_timeout: float = 45.0
    ack_wait: float = 10.0


@dataclass(frozen=True)
class CallAudio:
    """What the callee hears, as PCMU: the message, and the reply once they pressed 1."""

    prompt: bytes
    confirmation: bytes


@dataclass(frozen=True)
class CallResult:
    """How an answered call went: keys pressed, and who hung up."""

    digits: str
    ended_by_callee: bool

    @property
    def acknowledged(self) -> bool:
        """Whether the callee pressed 1."""
        return "1" in self.digits


@dataclass
class Dialog:
    """The call's identity and the state of its requests (RFC 3261 §12)."""

    call_id: str
    local: str  # our From value, tag included
    remote: str  # their To value; the tag arrives with the answer
    target: str  # Request-URI: the number at first, the callee's Contact once answered
    cseq: int = 1
    route: list[str] = field(default_factory=list)


Event = SipMessage | RtpPacket


class SipCall:
    """Places one call per `run`; the sockets live only for that call."""

    def __init__(self, plan: CallPlan) -> None:
        self.plan = plan
        self.server = _resolve(plan.server_host, plan.server_port)
        self.local_ip = plan.local_ip or _route_to(self.server)
        self._sip = _bind(self.local_ip, plan.local_port, "SIP")
        try:
            self._rtp = _bind(self.local_ip, plan.rtp_port, "RTP")
        except DeliveryError:
            self._sip.close()
            raise
        self.sip_port = self._sip.getsockname()[1]
        self.rtp_port = self._rtp.getsockname()[1]
        self.request_uri = f"sip:{plan.number}@{_hostport(plan.server_host, plan.server_port)}"
        self._media_sources = {self.server[0]}
        self._ack: bytes = b""

    def run(self, audio: CallAudio) -> CallResult:
        """Ring, speak, listen, hang up; DeliveryError if the call is not answered."""
        try:
            dialog, answer = self._establish()
            try:
                media = parse_sdp_answer(answer.body)
            except ValueError as exc:
                self._hang_up(dialog)
                raise DeliveryError(f"answered but unusable media: {exc}") from exc
            result = self._converse(dialog, media, audio)
            if not result.ended_by_callee:
                self._hang_up(dialog)
            return result
        finally:
            self._sip.close()
            self._rtp.close()

    # --- INVITE --------------------------------------------------------------------------

    def _establish(self) -> tuple[Dialog, SipMessage]:
        host = _hostport(self.plan.server_host, self.plan.server_port)
        dialog = Dialog(
            call_id=f"{secrets.token_hex(12)}@{self.local_ip}",
            local=f'"{USER_AGENT}" <sip:{self.plan.user}@{host}>;tag={new_tag()}',
            remote=f"<{self.request_uri}>",
            target=self.request_uri,
        )
        offer = sdp_offer(self.local_ip, self.rtp_port, secrets.randbelow(2**31))
        credentials: tuple[str, str] | None = None
        while True:
            branch = new_branch()
            invite = self._invite(dialog, branch, offer, credentials)
            response = self._invite_transaction(dialog, invite, branch)
            if response.status < 300:
                self._confirm(dialog, response)
                return dialog, response
            self._ack_failure(dialog, branch, response)
            if response.status not in (401, 407):
                raise DeliveryError(failure_reason(response, self.plan.number))
            if credentials is not None:
                raise DeliveryError(
                    f"authentication failed for SIP user {self.plan.user!r} "
                    f"({response.status} {response.reason}); check user and password in the "
                    "sip:// URL"
                )
            credentials = self._credentials(response, offer)
            dialog.cseq += 1

    def _invite(
        self, dialog: Dialog, branch: str, offer: bytes, credentials: tuple[str, str] | None
    ) -> bytes:
        headers = [
            *self._common_headers(dialog, branch, "INVITE"),
            ("Contact", f"<sip:{self.plan.user}@{self.local_ip}:{self.sip_port}>"),
            ("Allow", "INVITE, ACK, CANCEL, BYE, INFO, OPTIONS"),
            ("User-Agent", USER_AGENT),
            ("Content-Type", "application/sdp"),
        ]
        if credentials is not None:
            headers.append(credentials)
        return build_request("INVITE", dialog.target, headers, offer)

    def _common_headers(self, dialog: Dialog, branch: str, method: str) -> list[tuple[str, str]]:
        headers = [
            ("Via", f"SIP/2.0/UDP {self.local_ip}:{self.sip_port};branch={branch};rport"),
            ("Max-Forwards", "70"),
            ("From", dialog.local),
            ("To", dialog.remote),
            ("Call-ID", dialog.call_id),
            ("CSeq", f"{dialog.cseq} {method}"),
        ]
        if dialog.route:
            headers.append(("Route", ", ".join(dialog.route)))
        return headers

    def _invite_transaction(self, dialog: Dialog, invite: bytes, branch: str) -> SipMessage:
        """The INVITE's final response; CANCEL and DeliveryError once the ring timeout is up."""
        started = time.monotonic()
        silent_limit = min(self.plan.ring_timeout, TIMER_B)
        interval, next_send, ringing = T1, started, False
        while True:
            now = time.monotonic()
            if ringing and now - started >= self.plan.ring_timeout:
                self._cancel(dialog, branch)
            if not ringing and now - started >= silent_limit:
                raise DeliveryError(
                    f"no response from SIP server {self.server[0]}:{self.server[1]} within "
                    f"{silent_limit:g} s; check the host, the port and that it takes UDP"
                )
            if not ringing and now >= next_send:
                self._sip.sendto(invite, self.server)
                next_send, interval = now + interval, min(interval * 2, T2)
            limit = started + (self.plan.ring_timeout if ringing else silent_limit)
            event = self._poll(limit if ringing else min(next_send, limit))
            if isinstance(event, SipMessage) and _answers(event, dialog, "INVITE"):
                if event.status >= 200:
                    return event
                ringing = True
            elif isinstance(event, SipMessage) and not event.is_response:
                self._answer_request(event, dialog)

    def _cancel(self, dialog: Dialog, branch: str) -> NoReturn:
        """Give up ringing: CANCEL, ACK the 487 (or hang up a late answer), DeliveryError."""
        cancel = build_request(
            "CANCEL", dialog.target, self._common_headers(dialog, branch, "CANCEL")
        )
        deadline = time.monotonic() + CANCEL_TIMEOUT
        next_send = time.monotonic()
        while time.monotonic() < deadline:
            if time.monotonic() >= next_send:
                self._sip.sendto(cancel, self.server)
                next_send = time.monotonic() + T1
            event = self._poll(min(next_send, deadline))
            if isinstance(event, SipMessage) and _answers(event, dialog, "CANCEL"):
                next_send = deadline  # CANCEL taken; the INVITE's 487 is still to come
            elif isinstance(event, SipMessage) and _answers(event, dialog, "INVITE"):
                if 200 <= event.status < 300:  # answered just as we gave up
                    self._confirm(dialog, event)
                    self._hang_up(dialog)
                    break
                if event.status >= 300:
                    self._ack_failure(dialog, branch, event)
                    break
        raise DeliveryError(f"no answer within {self.plan.ring_timeout:g} s")

    def _ack_failure(self, dialog: Dialog, branch: str, response: SipMessage) -> None:
        """ACK a non-2xx final response: same branch, the response's To (RFC 3261 §17.1.1.3)."""
        headers = self._common_headers(dialog, branch, "ACK")
        headers[3] = ("To", response.header("To") or dialog.remote)
        self._sip.sendto(build_request("ACK", dialog.target, headers), self.server)

    def _confirm(self, dialog: Dialog, answer: SipMessage) -> None:
        """Enter the dialog from a 2xx and ACK it (a new transaction, RFC 3261 §13.2.2.4)."""
        dialog.remote = answer.header("To") or dialog.remote
        contact = answer.header("Contact")
        dialog.target = uri_of(contact) if contact else dialog.target
        records = re.findall(r"<[^>]+>", ", ".join(answer.header_values("Record-Route")))
        dialog.route = list(reversed(records))
        self._ack = build_request(
            "ACK", dialog.target, self._common_headers(dialog, new_branch(), "ACK")
        )
        self._sip.sendto(self._ack, self.server)

    def _credentials(self, challenge: SipMessage, offer: bytes) -> tuple[str, str]:
        proxy = challenge.status == 407
        header = challenge.header("Proxy-Authenticate" if proxy else "WWW-Authenticate")
        if self.plan.password is None:
            raise DeliveryError(
                f"the SIP server asks for a password ({challenge.status}) but the sip:// URL has "
                "none; write it as sip://user:password@host/number"
            )
        try:
            value = digest_authorization(
                parse_challenge(header or ""),
                method="INVITE",
                uri=self.request_uri,
                user=self.plan.user,
                password=self.plan.password,
                body=offer,
            )
        except ValueError as exc:
            raise DeliveryError(f"cannot answer the SIP server's challenge: {exc}") from exc
        return ("Proxy-Authorization" if proxy else "Authorization", value)

    # --- the answered call -----------------------------------------------------------------

    def _converse(self, dialog: Dialog, media: MediaAnswer, audio: CallAudio) -> CallResult:
        """Play the prompt, then wait `ack_wait`; a 1 switches to the confirmation, then ends."""
        self._media_sources.add(media.address)
        destination = (media.address, media.port)
        stream, keys = RtpStream(), DtmfReceiver(media.telephone_events)
        queue, position, started = frames(audio.prompt, SILENCE), 0, time.monotonic()
        digits, wait_until = "", 0.0
        while True:
            now = time.monotonic()
            if position < len(queue):
                deadline = started + position * FRAME_SECONDS
                if now >= deadline:
                    self._rtp.sendto(stream.packet(queue[position]), destination)
                    position += 1
                    continue
            elif "1" in digits:
                return CallResult(digits, ended_by_callee=False)
            else:
                wait_until = wait_until or now + self.plan.ack_wait
                if now >= wait_until:
                    return CallResult(digits, ended_by_callee=False)
                deadline = wait_until
            event = self._poll(deadline)
            if isinstance(event, SipMessage) and _in_dialog(event, dialog, "BYE"):
                self._sip.sendto(build_response(event, 200, "OK"), self.server)
                return CallResult(digits, ended_by_callee=True)
            digit = self._digit(event, keys, dialog)
            if digit is not None:
                logger.info("call %s: callee pressed %s", dialog.call_id, digit)
                digits += digit
                if digit == "1" and digits.count("1") == 1:
                    queue, position = frames(audio.confirmation, SILENCE), 0
                    started = time.monotonic()

    def _digit(self, event: Event | None, keys: DtmfReceiver, dialog: Dialog) -> str | None:
        if isinstance(event, RtpPacket):
            return keys.digit(event)
        if event is None:
            return None
        if event.is_response:
            if _answers(event, dialog, "INVITE") and event.status < 300:
                self._sip.sendto(self._ack, self.server)  # our ACK was lost: 2xx again
            return None
        self._answer_request(event, dialog)
        return info_digit(event) if _in_dialog(event, dialog, "INFO") else None

    def _answer_request(self, request: SipMessage, dialog: Dialog) -> None:
        if request.method == "ACK":
            return
        if request.method == "OPTIONS":
            status, reason = 200, "OK"
        elif request.header("Call-ID") != dialog.call_id:
            status, reason = 481, "Call/Transaction Does Not Exist"
        elif request.method in ("INFO", "BYE"):
            status, reason = 200, "OK"
        else:
            status, reason = 501, "Not Implemented"
        self._sip.sendto(build_response(request, status, reason), self.server)

    def _hang_up(self, dialog: Dialog) -> None:
        """BYE, retransmitted until answered; an unanswered BYE is logged, not raised."""
        dialog.cseq += 1
        bye = build_request("BYE", dialog.target, self._common_headers(dialog, new_branch(), "BYE"))
        started = time.monotonic()
        interval, next_send = T1, started
        while time.monotonic() - started < BYE_TIMEOUT:
            if time.monotonic() >= next_send:
                self._sip.sendto(bye, self.server)
                next_send, interval = time.monotonic() + interval, min(interval * 2, T2)
            event = self._poll(min(next_send, started + BYE_TIMEOUT))
            if isinstance(event, SipMessage) and _answers(event, dialog, "BYE"):
                if event.status >= 200:
                    return
            elif isinstance(event, SipMessage) and not event.is_response:
                self._answer_request(event, dialog)
        logger.warning("call %s: no answer to BYE within %g s", dialog.call_id, BYE_TIMEOUT)

    # --- sockets ---------------------------------------------------------------------------

    def _poll(self, deadline: float) -> Event | None:
        """The next SIP message from the server or RTP packet from the callee, before `deadline`."""
        while (timeout := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self._sip, self._rtp], [], [], timeout)
            for sock in readable:
                data, source = sock.recvfrom(65535)
                if sock is self._sip and source[0] == self.server[0]:
                    try:
                        return parse_message(data)
                    except ValueError:
                        logger.debug("ignoring a datagram that is not SIP from %s", source)
                elif sock is self._rtp and source[0] in self._media_sources:
                    packet = parse_rtp(data)
                    if packet is not None:
                        return packet
        return None


def _in_dialog(request: SipMessage, dialog: Dialog, method: str) -> bool:
    return (
        not request.is_response
        and request.method == method
        and request.header("Call-ID") == dialog.call_id
    )


def _answers(response: SipMessage, dialog: Dialog, method: str) -> bool:
    return (
        response.is_response
        and response.header("Call-ID") == dialog.call_id
        and response.method == method
        and response.cseq == dialog.cseq
    )


def _resolve(host: str, port: int) -> tuple[str, int]:
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)
    except socket.gaierror as exc:
        raise DeliveryError(f"cannot resolve SIP server {host!r}: {exc.strerror}") from exc
    address = infos[0][4]
    return str(address[0]), int(address[1])


def _route_to(server: tuple[str, int]) -> str:
    """The local address the kernel would use towards `server` (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(server)
        except OSError as exc:
            raise DeliveryError(f"no route to SIP server {server[0]}: {exc.strerror}") from exc
        return str(probe.getsockname()[0])


def _bind(address: str, port: int, what: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((address, port))
    except OSError as exc:
        sock.close()
        raise DeliveryError(
            f"cannot bind the {what} socket to {address}:{port}: {exc.strerror}; pick another "
            f"{'local_port' if what == 'SIP' else 'rtp_port'} or local_ip in the sip:// URL"
        ) from exc
    return sock


def _hostport(host: str, port: int) -> str:
    return host if port == 5060 else f"{host}:{port}"
