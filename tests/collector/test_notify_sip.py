"""SipCallChannel: phone calls against a real sipp on 127.0.0.1, and the pieces they are made of."""

from __future__ import annotations

import hashlib
import re
import socket
from collections.abc import Iterator
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest

from collector.notify.channels import DeliveryError, channel_from_url
from collector.notify.message import Language, Notification
from collector.notify.rtp import DtmfReceiver, RtpPacket, telephone_event
from collector.notify.sip import SipCallChannel, call_plan, call_script, spoken_ticket
from collector.notify.sip_message import (
    digest_authorization,
    info_digit,
    parse_message,
    parse_sdp_answer,
)
from collector.notify.tts import EspeakSpeech, linear_to_ulaw, resample
from rules.priority import Priority
from tests.peers import require_tool
from tests.peers.sipp import (
    RtpCounter,
    SippPeer,
    answering,
    challenging,
    dtmf_pcap,
    info_key,
    play_pcap,
    refusing,
    ringing,
)

PASSWORD = "Tr0ub4dor-s3cret"
NUMBER = "+8613800000000"


def make_notification(**changes: object) -> Notification:
    note = Notification(
        incident_key="FilesystemFull|web1|mountpoint=/",
        incident_id=17,
        event="opened",
        priority=Priority.P1,
        host="web1",
        rule="FilesystemFull",
        summary="/ is 96% full",
        title="[P1] INC-2026-000123 OPEN FilesystemFull on web1: / is 96% full",
        body="/ is 96% full",
        number="INC-2026-000123",
    )
    return replace(note, **changes)  # type: ignore[arg-type]


class SilentSpeech:
    """Speech without espeak-ng: one second of µ-law silence per text."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, Language]] = []

    def pcmu(self, text: str, language: Language) -> bytes:
        self.texts.append((text, language))
        return b"\xff" * 8000


@pytest.fixture
def sipp() -> str:
    require_tool("espeak-ng", "espeak-ng")
    return require_tool("sipp", "sip-tester")


@pytest.fixture
def counter() -> Iterator[RtpCounter]:
    with RtpCounter() as ear:
        yield ear


def channel_for(peer: SippPeer, acks: list[Notification], query: str = "") -> SipCallChannel:
    url = f"sip://pager:{PASSWORD}@127.0.0.1:{peer.port}/{NUMBER}?ring_timeout=2&ack_wait=2"
    return SipCallChannel(url + query, on_acknowledged=acks.append)


# --- calls against sipp -------------------------------------------------------------------


@pytest.mark.peer
@pytest.mark.parametrize(
    ("key", "language"),
    [("rfc4733", "en"), ("sip-info", "zh")],
    ids=["rfc4733-telephone-event-en", "sip-info-zh"],
)
def test_answered_call_speaks_and_key_1_acknowledges(
    sipp: str, counter: RtpCounter, tmp_path: Path, key: str, language: str
) -> None:
    pressed = play_pcap(dtmf_pcap(tmp_path / "key1.pcap", "1")) if key == "rfc4733" else None
    scenario = answering(counter.port, pressed or info_key("1"))
    acks: list[Notification] = []
    note = make_notification()
    with SippPeer(sipp, tmp_path, scenario) as peer:
        channel = channel_for(peer, acks, f"&language={language}")
        channel.send(note)
        assert peer.finish() == 0, peer.log()
    assert acks == [note]
    assert channel.last_result is not None and channel.last_result.digits == "1"
    log = peer.messages()
    assert f"INVITE sip:{NUMBER}@127.0.0.1:{peer.port} SIP/2.0" in log
    assert "m=audio" in log and re.search(r"^ACK sip:", log, re.MULTILINE)
    assert re.search(r"^BYE sip:callee@127\.0\.0\.1", log, re.MULTILINE), "we hang up"
    audio = counter.packets
    # A second before the key, then the short confirmation: far less than the whole message.
    assert 50 <= len(audio) < 600, len(audio)
    assert {(p.payload_type, len(p.payload), p.ssrc) for p in audio} == {(0, 160, audio[0].ssrc)}
    assert audio[0].marker and not any(p.marker for p in audio[1:])
    assert all((b.sequence - a.sequence) & 0xFFFF == 1 for a, b in pairwise(audio))
    assert all((b.timestamp - a.timestamp) & 0xFFFFFFFF == 160 for a, b in pairwise(audio))
    assert sum(byte != 0xFF for p in audio for byte in p.payload) > 2000, "speech, not silence"


@pytest.mark.peer
@pytest.mark.parametrize(
    ("status", "reason"),
    [("486 Busy Here", "busy (486 Busy Here)"), ("603 Decline", "declined 603 (Decline)")],
    ids=["busy", "declined"],
)
def test_refused_call_raises_for_the_next_method(
    sipp: str, tmp_path: Path, status: str, reason: str
) -> None:
    acks: list[Notification] = []
    with SippPeer(sipp, tmp_path, refusing(status)) as peer:
        with pytest.raises(DeliveryError) as caught:
            channel_for(peer, acks).send(make_notification())
        assert peer.finish() == 0, peer.log()  # sipp got its ACK
    assert caught.value.reason == reason
    assert acks == []


@pytest.mark.peer
def test_unanswered_call_is_cancelled_after_the_ring_timeout(sipp: str, tmp_path: Path) -> None:
    with SippPeer(sipp, tmp_path, ringing()) as peer:
        with pytest.raises(DeliveryError, match=r"^no answer within 2 s$"):
            channel_for(peer, []).send(make_notification())
        assert peer.finish() == 0, peer.log()  # CANCEL, 200, 487 and its ACK all happened
    assert "CANCEL sip:" in peer.messages()


@pytest.mark.peer
@pytest.mark.parametrize("proxy", [False, True], ids=["401-www-authenticate", "407-proxy"])
def test_digest_challenge_is_answered(
    sipp: str, counter: RtpCounter, tmp_path: Path, proxy: bool
) -> None:
    acks: list[Notification] = []
    scenario = challenging("pager", PASSWORD, counter.port, proxy=proxy)
    with SippPeer(sipp, tmp_path, scenario) as peer:
        channel = channel_for(peer, acks)
        channel.send(make_notification())  # for 401 sipp checks the credentials (else 403)
        assert peer.finish() == 0, peer.log()
    header = "Proxy-Authorization" if proxy else "Authorization"
    found = re.search(rf"^{header}: Digest (.*)$", peer.messages(), re.MULTILINE)
    assert found is not None
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', found[1]))
    assert (params["username"], params["qop"], params["nc"]) == ("pager", "auth", "00000001")
    assert params["uri"] == f"sip:{NUMBER}@127.0.0.1:{peer.port}"
    assert params["response"] == rfc2617_response(params, PASSWORD, "INVITE")
    assert PASSWORD not in peer.messages()
    # The callee hung up without a key: delivered, not acknowledged.
    assert channel.last_result is not None and channel.last_result.ended_by_callee
    assert acks == [] and len(counter.packets) > 20


def rfc2617_response(params: dict[str, str], password: str, method: str) -> str:
    """The digest a server expects (RFC 2617 §3.2.2.1, MD5, qop=auth), computed independently."""

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1 = md5(f"{params['username']}:{params['realm']}:{password}")
    ha2 = md5(f"{method}:{params['uri']}")
    return md5(f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}")


@pytest.mark.peer
def test_wrong_password_is_reported(sipp: str, counter: RtpCounter, tmp_path: Path) -> None:
    with SippPeer(sipp, tmp_path, challenging("pager", "another", counter.port)) as peer:
        with pytest.raises(DeliveryError) as caught:
            channel_for(peer, []).send(make_notification())
        assert peer.finish() == 0, peer.log()
    assert caught.value.reason == f"call to {NUMBER} failed: 403 Forbidden"
    assert PASSWORD not in caught.value.reason


# --- without a peer -----------------------------------------------------------------------


def test_silent_server_times_out_naming_it() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        speech = SilentSpeech()
        channel = SipCallChannel(f"sip://pager@127.0.0.1:{port}/1001?ring_timeout=1", speech=speech)
        with pytest.raises(DeliveryError) as caught:
            channel.send(make_notification())
        invites = []
        silent.settimeout(0.1)
        while True:
            try:
                invites.append(silent.recv(4096))
            except TimeoutError:
                break
    assert caught.value.reason.startswith(
        f"no response from SIP server 127.0.0.1:{port} within 1 s"
    )
    assert len(invites) >= 2, "the INVITE is retransmitted over UDP"
    assert [language for _, language in speech.texts] == ["en", "en"]


def test_missing_espeak_is_a_delivery_error_saying_what_to_install() -> None:
    channel = SipCallChannel(
        "sip://pager@127.0.0.1:5060/1001", speech=EspeakSpeech(program="no-such-espeak-ng")
    )
    with pytest.raises(DeliveryError, match="install the Debian package espeak-ng"):
        channel.send(make_notification())


def test_url_gives_the_plan_and_a_masked_description() -> None:
    url = (
        f"sip://pager:{PASSWORD}@pbx.example.net:5070/%2B8613800000000?transport=udp"
        "&language=zh&local_ip=192.0.2.10&local_port=5062&rtp_port=40000&ring_timeout=25"
        "&ack_wait=15"
    )
    plan, language = call_plan(url)
    assert (plan.server_host, plan.server_port, plan.user, plan.password) == (
        "pbx.example.net",
        5070,
        "pager",
        PASSWORD,
    )
    assert (plan.number, plan.local_ip, plan.local_port, plan.rtp_port) == (
        NUMBER,
        "192.0.2.10",
        5062,
        40000,
    )
    assert (plan.ring_timeout, plan.ack_wait, language) == (25.0, 15.0, "zh")
    channel = channel_from_url(url)
    assert isinstance(channel, SipCallChannel)
    assert channel.describe().startswith("sip://pager:****@pbx.example.net:5070/+8613800000000?")
    assert PASSWORD not in channel.describe()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"sips://u:{PASSWORD}@pbx/1001", "sip:// URLs only"),
        (f"sip://u:{PASSWORD}@pbx/", "number to call"),
        ("sip://pbx/1001", "needs a user and a host"),
        (f"sip://u:{PASSWORD}@pbx/1001?transport=tls", "only udp"),
        (f"sip://u:{PASSWORD}@pbx/1001?language=fr", "expected 'en' or 'zh'"),
        (f"sip://u:{PASSWORD}@pbx/1001?voice=f3", "unknown option"),
        (f"sip://u:{PASSWORD}@pbx/1001?rtp_port=70000", "rtp_port='70000'"),
        (f"sip://u:{PASSWORD}@pbx/1001?ring_timeout=0", "ring_timeout='0'"),
        (f"sip://u:{PASSWORD}@pbx/1001?local_ip=pbx.lan", "IPv4 address"),
    ],
    ids=["sips", "no-number", "no-user", "tls", "language", "unknown", "port", "timeout", "ip"],
)
def test_bad_urls_say_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        channel_from_url(url)
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", ["Priority 1 incident, ticket I N C, 2 0 2 6, 0 0 0 1 2 3, on host web1"]),
        ("zh", ["P1 级事件，工单 I N C, 2 0 2 6, 0 0 0 1 2 3，主机 web1"]),
    ],
    ids=["en", "zh"],
)
def test_script_says_the_incident_twice_then_the_prompt(
    language: Language, expected: list[str]
) -> None:
    prompt, confirmation = call_script(make_notification(), language)
    assert prompt.count(expected[0]) == 2
    assert prompt.count("/ is 96% full") == 2
    assert prompt.endswith("Press 1 to acknowledge." if language == "en" else "确认请按 1。")
    assert confirmation


def test_spoken_ticket_reads_digits_and_short_prefixes_one_by_one() -> None:
    assert spoken_ticket("WK-41") == "W K, 4 1"
    assert spoken_ticket("INCIDENT-7") == "INCIDENT, 7"
    assert spoken_ticket("") == ""


@pytest.mark.parametrize(
    ("challenge", "password", "uri", "cnonce", "response"),
    [
        (  # RFC 2617 §3.5
            {"realm": "testrealm@host.com", "nonce": "dcd98b7102dd2f0e8b11d0f600bfb0c093",
             "qop": "auth,auth-int", "opaque": "5ccc069c403ebaf9f0171e9517f40e41"},
            "Circle Of Life", "/dir/index.html", "0a4f113b", "6629fae49393a05397450978507c4ef1",
        ),
        (  # RFC 7616 §3.9.1, SHA-256
            {"realm": "http-auth@example.org", "qop": "auth, auth-int", "algorithm": "SHA-256",
             "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
             "opaque": "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"},
            "Circle of Life", "/dir/index.html", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        ),
    ],
    ids=["rfc2617-md5", "rfc7616-sha256"],
)  # fmt: skip
def test_digest_matches_the_rfc_examples(
    challenge: dict[str, str], password: str, uri: str, cnonce: str, response: str
) -> None:
    value = digest_authorization(
        challenge, method="GET", uri=uri, user="Mufasa", password=password, cnonce=cnonce
    )
    assert f'response="{response}"' in value
    assert f'opaque="{challenge["opaque"]}"' in value and "qop=auth," in value


def test_ulaw_matches_g711_reference_points() -> None:
    assert [linear_to_ulaw(s) for s in (0, -1, 32767, -32768, 1000, -1000)] == [
        0xFF,
        0x7F,
        0x80,
        0x00,
        0xCE,
        0x4E,
    ]


def test_resample_keeps_duration_and_level() -> None:
    out = resample([1000] * 22050, 22050, 8000)
    assert len(out) == 8000 and set(out) == {1000}


def test_each_key_press_counts_once() -> None:
    receiver = DtmfReceiver(frozenset({101}))
    presses = [
        RtpPacket(101, seq, stamp, 7, telephone_event(digit, 160 * seq, end=seq > 3))
        for stamp, digit in ((800, "1"), (1600, "#"))
        for seq in range(6)
    ]
    audio = RtpPacket(0, 12, 1760, 7, b"\xff" * 160)
    digits = [receiver.digit(packet) for packet in [*presses, audio]]
    assert "".join(filter(None, digits)) == "1#"


@pytest.mark.parametrize(
    ("content_type", "body", "digit"),
    [
        ("application/dtmf-relay", "Signal=1\r\nDuration=160\r\n", "1"),
        ("application/dtmf-relay", "signal= #\r\n", "#"),
        ("application/dtmf", "1", "1"),
        ("text/plain", "Signal=1", None),
    ],
    ids=["dtmf-relay", "relay-hash", "dtmf", "other-type"],
)
def test_sip_info_keys(content_type: str, body: str, digit: str | None) -> None:
    info = parse_message(
        f"INFO sip:x@h SIP/2.0\r\nCall-ID: a\r\nContent-Type: {content_type}\r\n\r\n{body}".encode()
    )
    assert info_digit(info) == digit


def test_sdp_answer_without_pcmu_is_refused() -> None:
    sdp = b"v=0\r\nc=IN IP4 192.0.2.5\r\nm=audio 4000 RTP/AVP 8 101\r\n"
    with pytest.raises(ValueError, match="does not accept PCMU"):
        parse_sdp_answer(sdp)
    answer = parse_sdp_answer(
        sdp.replace(b" 8 101", b" 0 96") + b"a=rtpmap:96 telephone-event/8000\r\n"
    )
    assert (answer.address, answer.port, answer.telephone_events) == (
        "192.0.2.5",
        4000,
        frozenset({96, 101}),
    )
