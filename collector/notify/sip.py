"""Phone calls through the team's own PBX or SIP trunk: the sip:// notification channel.

Library choice (evaluated 2026-11, sources read): none fits, so sip_call.py is a small SIP
user agent client (UDP, one call at a time) built on the stdlib.

- pyVoIP 1.6.8 (last release 2024-01, project frozen): its outbound INVITE answers only a
  401 (not 407 Proxy-Authenticate, no qop), waits for the first response on a blocking
  recv() with no timeout (an unreachable PBX hangs the delivery thread), needs a REGISTER
  before it calls, never tells the caller why a call failed (busy vs declined), and has no
  SIP INFO DTMF.
- rfcvoip 2.10.3 (maintained pyVoIP fork): fixes digest auth (401/407, qop, SHA-256) and
  adds TLS, but keeps pyVoIP's phone model: it registers on start, reports a failed call only
  through warnings.warn() and an ENDED state (no status code for "busy"/"declined"), has no
  SIP INFO DTMF, and brings about 13,000 lines of thread-per-stream code for a 20 s call.
- aiosipua 0.7.1 (typed, asyncio, young, one maintainer): a good signalling library with
  UAC digest auth and INFO, but signalling only; RTP needs its companion aiortp (0.x) and an
  event loop inside the outbox's delivery thread. Worth revisiting if calls need TCP/TLS,
  re-INVITEs or NAT traversal.

What this channel needs is narrow (INVITE, digest auth, CANCEL, ACK, BYE, PCMU out,
RFC 4733 and SIP INFO keys in) and fits in about 600 lines we can test against sipp.
Speech comes from espeak-ng (tts.py); µ-law and resampling are computed here, so nothing
depends on the stdlib audioop that Python 3.13 removed.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from collections.abc import Callable
from urllib.parse import parse_qs, unquote, urlsplit

from collector.notify.channels import DeliveryError
from collector.notify.message import Language, Notification
from collector.notify.sip_call import CallAudio, CallPlan, CallResult, SipCall
from collector.notify.tts import EspeakSpeech, Speech, SpeechError
from rules.priority import Priority

logger = logging.getLogger(__name__)

URL_EXAMPLE = "sip://user:password@pbx.example.net:5060/+8613800000000?language=zh"
_QUERY_KEYS = (
    "transport",
    "language",
    "local_ip",
    "local_port",
    "rtp_port",
    "ring_timeout",
    "ack_wait",
)
_LANGUAGES: dict[str, Language] = {"en": "en", "zh": "zh"}
_NUMBER = re.compile(r"^[0-9A-Za-z+*#._-]+$")

_SCRIPTS: dict[Language, dict[str, str]] = {
    "en": {
        "intro": "This is Watchkeeper.",
        "message": "Priority {priority} incident, ticket {ticket}, on host {host}: {summary}.",
        "again": "Again:",
        "prompt": "Press 1 to acknowledge.",
        "confirmation": "Acknowledged. Thank you, goodbye.",
    },
    "zh": {
        "intro": "这里是 Watchkeeper 监控告警。",
        "message": "{priority} 级事件，工单 {ticket}，主机 {host}：{summary}。",
        "again": "重复一遍：",
        "prompt": "确认请按 1。",
        "confirmation": "已确认，谢谢，再见。",
    },
}


class SipCallChannel:
    """Rings a phone through a PBX or SIP trunk and speaks the incident; 1 acknowledges it.

    URL: sip://USER[:PASSWORD]@HOST[:PORT]/NUMBER[?KEY=VALUE&...]

    - USER, PASSWORD: the SIP account (From user and digest credentials; percent-encode
      reserved characters). The password is used only if the server challenges (401/407).
    - HOST, PORT: the PBX or trunk, UDP, port 5060 by default; every request goes there.
    - NUMBER: what to dial, e.g. +8613800000000 or an extension such as 1001.
    - transport=udp: the only transport (TCP and TLS are not implemented; sips:// is refused).
    - language=en|zh (default en): the voice and words of the message.
    - local_ip=A.B.C.D: the address to bind and advertise in Via, Contact and SDP (default:
      the one the kernel routes to HOST). No NAT traversal: it must reach the PBX directly.
    - local_port=N, rtp_port=N (default 0, any free port): SIP and RTP source ports.
    - ring_timeout=SECONDS (default 30): hang up (CANCEL) if nobody answers.
    - ack_wait=SECONDS (default 10): how long to wait for a key after the message.

    The call says the ticket number, priority, host and summary twice, then "press 1 to
    acknowledge". send() returns once an answered call has ended, and raises DeliveryError
    ("busy (486 Busy Here)", "declined 603 (...)", "no answer within 30 s", ...) for a call
    nobody took, so the outbox retries or moves on. When the callee pressed 1 (RFC 4733
    telephone-event or SIP INFO), `on_acknowledged(notification)` runs after the call ends;
    the collector points it at the incident service's Acknowledge action. One call at a time:
    sends wait for each other. A call lasts up to ring_timeout + the speech + ack_wait, so
    the delivery timeout of the outbox must allow that.
    """

    def __init__(
        self,
        url: str,
        *,
        min_priority: Priority | None = None,
        on_acknowledged: Callable[[Notification], None] | None = None,
        speech: Speech | None = None,
    ) -> None:
        self.min_priority = min_priority
        self.on_acknowledged = on_acknowledged
        self.plan, self.language = call_plan(url)
        self.last_result: CallResult | None = None
        self._speech = speech or EspeakSpeech()
        self._description = _describe(url, self.plan)
        self._lock = threading.Lock()

    @property
    def max_send_seconds(self) -> float:
        """The longest one call can take: ringing, the message twice, waiting for a key."""
        return self.plan.ring_timeout + self.plan.ack_wait + 60.0

    def describe(self) -> str:
        """sip://user:****@host:port/number and the query, password masked."""
        return self._description

    def send(self, notification: Notification) -> None:
        """Call, speak, listen for 1; DeliveryError if the call was not answered."""
        prompt, confirmation = call_script(notification, self.language)
        with self._lock:
            try:
                audio = CallAudio(
                    self._speech.pcmu(prompt, self.language),
                    self._speech.pcmu(confirmation, self.language),
                )
            except SpeechError as exc:
                raise DeliveryError(f"cannot speak the message: {exc}") from exc
            try:
                result = SipCall(self.plan).run(audio)
            except OSError as exc:
                raise DeliveryError(
                    f"network error calling through {self.plan.server_host}: {exc.strerror or exc}"
                ) from exc
            self.last_result = result
        logger.info(
            "call about %s to %s answered; keys %r%s",
            notification.number or notification.incident_key,
            self.plan.number,
            result.digits,
            ", acknowledged" if result.acknowledged else "",
        )
        if result.acknowledged and self.on_acknowledged is not None:
            self._acknowledge(notification)

    def close(self) -> None:
        """Nothing to release: each call opens and closes its own sockets."""

    def _acknowledge(self, notification: Notification) -> None:
        assert self.on_acknowledged is not None
        try:
            self.on_acknowledged(notification)
        except Exception:  # the call was delivered: a retry would ring the person again
            logger.exception(
                "callee pressed 1 for %s but acknowledging it failed", notification.number
            )


def call_script(notification: Notification, language: Language) -> tuple[str, str]:
    """What the call says: the message twice and the prompt, and the reply to a 1."""
    words = _SCRIPTS[language]
    message = words["message"].format(
        priority=notification.priority.rank if language == "en" else notification.priority,
        ticket=spoken_ticket(notification.number) or notification.incident_key,
        host=notification.host,
        summary=notification.summary.rstrip(".。"),
    )
    prompt = " ".join([words["intro"], message, words["again"], message, words["prompt"]])
    return prompt, words["confirmation"]


def spoken_ticket(number: str) -> str:
    """A ticket number read digit by digit: "INC-2026-000123" -> "I N C, 2 0 2 6, 0 0 0 1 2 3"."""
    parts = [part for part in re.split(r"[-_/\s]+", number) if part]
    # Digits and short letter prefixes one by one: "I N C", not "ink".
    spell = [part.isdigit() or (part.isalpha() and len(part) <= 4) for part in parts]
    return ", ".join(" ".join(part) if s else part for part, s in zip(parts, spell, strict=True))


def call_plan(url: str) -> tuple[CallPlan, Language]:
    """The call settings in a sip:// URL; ValueError naming the part and the fix (never the
    password)."""
    try:
        parts = urlsplit(url)
        port = parts.port or 5060
    except ValueError as exc:
        raise ValueError(f"invalid sip:// URL ({exc}); expected e.g. {URL_EXAMPLE}") from exc
    if parts.scheme.lower() != "sip":
        raise ValueError(
            f"phone calls take sip:// URLs only (UDP), not {parts.scheme}://; e.g. {URL_EXAMPLE}"
        )
    if not parts.hostname or not parts.username:
        raise ValueError(f"sip:// URL needs a user and a host, e.g. {URL_EXAMPLE}")
    number = unquote(parts.path.strip("/"))
    if not _NUMBER.match(number):
        raise ValueError(
            f"sip:// URL needs the number to call as its path (digits, +, *, #), e.g. {URL_EXAMPLE}"
        )
    query = _query(parts.query)
    language = _LANGUAGES.get(query.get("language", "en"))
    if language is None:
        raise ValueError(f"sip:// URL language={query['language']!r}: expected 'en' or 'zh'")
    plan = CallPlan(
        server_host=parts.hostname,
        server_port=port,
        user=unquote(parts.username),
        password=unquote(parts.password) if parts.password is not None else None,
        number=number,
        local_ip=_local_ip(query.get("local_ip")),
        local_port=_port(query, "local_port"),
        rtp_port=_port(query, "rtp_port"),
        ring_timeout=_seconds(query, "ring_timeout", 30.0),
        ack_wait=_seconds(query, "ack_wait", 10.0),
    )
    return plan, language


def _query(text: str) -> dict[str, str]:
    values = {key.lower(): found[-1] for key, found in parse_qs(text).items()}
    unknown = sorted(set(values) - set(_QUERY_KEYS))
    if unknown:
        raise ValueError(f"sip:// URL has unknown option(s) {unknown}; known: {list(_QUERY_KEYS)}")
    if values.get("transport", "udp").lower() != "udp":
        raise ValueError(
            f"sip:// URL transport={values['transport']!r}: only udp is supported; "
            "remove transport= or set transport=udp"
        )
    return values


def _local_ip(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError as exc:
        raise ValueError(f"sip:// URL local_ip={value!r}: expected an IPv4 address") from exc


def _port(query: dict[str, str], key: str) -> int:
    value = query.get(key, "0")
    if not value.isdecimal() or int(value) > 65535:
        raise ValueError(f"sip:// URL {key}={value!r}: expected a port 0-65535 (0: any free)")
    return int(value)


def _seconds(query: dict[str, str], key: str, default: float) -> float:
    value = query.get(key)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 600:
        raise ValueError(f"sip:// URL {key}={value!r}: expected seconds between 0 and 600")
    return seconds


def _describe(url: str, plan: CallPlan) -> str:
    secret = ":****" if plan.password is not None else ""
    query = urlsplit(url).query
    base = f"sip://{plan.user}{secret}@{plan.server_host}:{plan.server_port}/{plan.number}"
    return base + (f"?{query}" if query else "")


__all__ = ["SipCallChannel", "call_plan", "call_script", "spoken_ticket"]
