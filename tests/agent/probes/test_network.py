"""NetworkProbe against real peers on loopback and in network namespaces.

TCP: a listener this test opens, and a port nobody listens on. HTTP(S): stdlib http.server in a
thread, the HTTPS one with a certificate made here that expires in 2 days. ICMP: echo to
127.0.0.1; the unprivileged ping-socket path and its failure in namespaces where this test sets
net.ipv4.ping_group_range itself (root only); loss and delay from a peer in a namespace that
answers every other echo 100 ms late, and through `tc netem` where the kernel has it.
"""

from __future__ import annotations

import datetime as dt
import http.server
import itertools
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from agent.configfile import load_yaml_file
from agent.probe import ProbeData, ProbeError
from agent.probes.kind import ProbeContext
from agent.probes.network.checks import certificate_not_after
from agent.probes.network.icmp import (
    IcmpPermissionError,
    OpenedSocket,
    Pinger,
    parse_echo_reply,
    permission_advice,
)
from agent.probes.network.probe import NetworkProbe, build_network_probes
from agent.probes.network.settings import NetworkSettings
from agent.report import Sample
from agent.settings import settings_from_document
from rules.engine import RuleEngine, SignalKind
from rules.loader import load_rules
from tests.conftest import ROOT
from tests.rules.conftest import report

crypto = pytest.importorskip("cryptography", reason="needs `cryptography` to make a certificate")
from tests.peers.certs import self_signed  # noqa: E402

Series = dict[tuple[str, str], float | str]
_NAMESPACES = itertools.count()


def collect(*targets: dict[str, Any], **options: Any) -> ProbeData:
    settings = msgspec.convert({"targets": list(targets), **options}, NetworkSettings)
    return NetworkProbe(settings).collect()


def series(data: ProbeData) -> Series:
    """(target, metric) -> value."""
    return {(s.labels["target"], s.metric): s.value for s in data.samples}


def incidents(samples: list[Sample]) -> set[tuple[str, str]]:
    """(rule, priority) of what the built-in packs open once every `for:` has passed."""
    engine = RuleEngine(load_rules())
    signals = engine.evaluate(report("h1", *samples, probe="network"), 0.0)
    signals += engine.evaluate(report("h1", *samples, probe="network"), 3600.0)
    signals += engine.tick(3600.0)
    return {(s.rule.name, s.rule.rule.priority.value) for s in signals if s.kind is SignalKind.FIRE}


# --- peers ---------------------------------------------------------------------------------


@pytest.fixture
def tcp_listener() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again on leaving: nobody listens there


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(3)
        self.send_response(404 if self.path == "/missing" else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(context: ssl.SSLContext | None = None) -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def http_server() -> Iterator[int]:
    yield from _serve()


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[tuple[int, Path, dt.datetime]]:
    """(port, CA file, notAfter): a server whose certificate expires in 2 days."""
    not_after = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).replace(microsecond=0)
    issued = self_signed(tmp_path, not_after)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert, issued.key)
    for port in _serve(context):
        yield port, issued.cert, not_after


# --- TCP -----------------------------------------------------------------------------------


def test_tcp_listener_is_up_with_its_handshake_latency(tcp_listener: int) -> None:
    data = collect({"kind": "tcp", "name": "db", "host": "127.0.0.1", "port": tcp_listener})
    got = series(data)
    assert got[("db", "network_probe_up")] == 1.0
    assert got[("db", "network_probe_result")] == "ok"
    assert 0 < float(got[("db", "network_probe_latency_seconds")]) < 0.5
    assert {s.labels["kind"] for s in data.samples} == {"tcp"}


def test_closed_port_is_a_down_sample_not_a_probe_failure(closed_port: int) -> None:
    data = collect({"kind": "tcp", "name": "db", "host": "127.0.0.1", "port": closed_port})
    got = series(data)
    assert got[("db", "network_probe_up")] == 0.0
    assert got[("db", "network_probe_result")] == "refused"
    assert ("db", "network_probe_latency_seconds") not in got
    assert not data.source_errors
    assert incidents(data.samples) == {("NetworkTargetDown", "P2")}


def test_unknown_host_name_is_a_dns_error() -> None:
    data = collect({"kind": "tcp", "name": "x", "host": "no-such-host.invalid", "port": 80})
    assert series(data)[("x", "network_probe_result")] == "dns_error"


# --- HTTP(S) -------------------------------------------------------------------------------


def test_http_server_answers_with_its_status_and_latency(http_server: int) -> None:
    base = f"http://127.0.0.1:{http_server}"
    data = collect(
        {"kind": "http", "name": "home", "url": f"{base}/"},
        {"kind": "http", "name": "missing", "url": f"{base}/missing"},
        {"kind": "http", "name": "gone", "url": f"{base}/missing", "expect_status": [404]},
    )
    got = series(data)
    assert (
        got[("home", "network_probe_up")] == 1.0 and got[("home", "http_probe_status_code")] == 200
    )
    assert 0 < float(got[("home", "network_probe_latency_seconds")]) < 1
    assert got[("missing", "network_probe_up")] == 0.0
    assert got[("missing", "network_probe_result")] == "http_status"
    assert got[("missing", "http_probe_status_code")] == 404
    assert got[("gone", "network_probe_up")] == 1.0, "404 was the expected answer"
    assert ("home", "tls_certificate_expiry_days") not in got, "plain http has no certificate"


def test_https_certificate_expiring_in_two_days_pages(
    https_server: tuple[int, Path, dt.datetime],
) -> None:
    port, ca_file, not_after = https_server
    url = f"https://127.0.0.1:{port}/"
    data = collect({"kind": "http", "name": "shop", "url": url, "ca_file": str(ca_file)})
    got = series(data)
    assert got[("shop", "network_probe_up")] == 1.0, got
    assert got[("shop", "http_probe_status_code")] == 200
    days = float(got[("shop", "tls_certificate_expiry_days")])
    assert days == pytest.approx((not_after.timestamp() - time.time()) / 86400, abs=0.01)
    assert 1.9 < days < 2.0
    assert incidents(data.samples) == {("TlsCertificateExpiresVerySoon", "P2")}


def test_untrusted_certificate_is_down_yet_its_expiry_is_still_read(
    https_server: tuple[int, Path, dt.datetime],
) -> None:
    url = f"https://localhost:{https_server[0]}/"
    data = collect(
        {"kind": "http", "name": "strict", "url": url},
        {"kind": "http", "name": "lenient", "url": url, "verify_tls": False},
    )
    got = series(data)
    assert got[("strict", "network_probe_up")] == 0.0
    assert got[("strict", "network_probe_result")] == "tls_error"
    assert 1.9 < float(got[("strict", "tls_certificate_expiry_days")]) < 2.0
    assert got[("lenient", "network_probe_up")] == 1.0


@pytest.mark.parametrize(
    "not_after",
    [
        dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.UTC),
        dt.datetime(2051, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    ],
    ids=["utctime", "generalizedtime"],
)
def test_certificate_expiry_is_read_from_der(tmp_path: Path, not_after: dt.datetime) -> None:
    der = ssl.PEM_cert_to_DER_cert(self_signed(tmp_path, not_after).cert.read_text())
    assert certificate_not_after(der) == not_after.timestamp()
    with pytest.raises(ValueError, match="cannot read the certificate's expiry"):
        certificate_not_after(der[:40])


# --- deadlines and concurrency -------------------------------------------------------------


def test_slow_targets_are_checked_at_once_and_cut_at_their_deadline(
    http_server: int, tcp_listener: int
) -> None:
    slow = f"http://127.0.0.1:{http_server}/slow"  # answers after 3 s
    targets = [{"kind": "http", "name": f"slow{i}", "url": slow} for i in range(3)]
    fast = {"kind": "tcp", "name": "db", "host": "127.0.0.1", "port": tcp_listener}
    started = time.monotonic()
    data = collect(*targets, fast, timeout="1s")
    took = time.monotonic() - started
    assert took < 2.0, f"3 checks of 1 s each took {took:.1f} s: not concurrent or not cut"
    got = series(data)
    for i in range(3):
        assert got[(f"slow{i}", "network_probe_up")] == 0.0
        assert got[(f"slow{i}", "network_probe_result")] == "timeout"
    assert got[("db", "network_probe_up")] == 1.0


# --- ICMP ----------------------------------------------------------------------------------


def _ping_range() -> str:
    return Path("/proc/sys/net/ipv4/ping_group_range").read_text().strip()


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"], ids=["ipv4", "ipv6"])
def test_icmp_echo_to_loopback_answers_every_request(address: str) -> None:
    if address == "::1" and not _has_ipv6_loopback():
        pytest.skip("no IPv6 loopback (::1) here")
    target = {"kind": "icmp", "name": "lo", "host": address, "count": 3, "interval": "10ms"}
    try:
        data = collect(target)
    except ProbeError as exc:
        pytest.skip(f"no ICMP here (ping_group_range {_ping_range()!r}, no CAP_NET_RAW): {exc}")
    got = series(data)
    assert got[("lo", "network_probe_up")] == 1.0
    assert got[("lo", "network_probe_loss_ratio")] == 0.0
    assert 0 < float(got[("lo", "network_probe_latency_seconds")]) < 0.1


class _DeniedOpener:
    def __call__(self, family: int) -> OpenedSocket:
        raise IcmpPermissionError(permission_advice(family))


def test_icmp_without_privilege_says_which_sysctl_or_capability_to_set(
    tcp_listener: int,
) -> None:
    settings = msgspec.convert(
        {"targets": [{"kind": "icmp", "name": "gw", "host": "127.0.0.1"}]}, NetworkSettings
    )
    with pytest.raises(ProbeError) as caught:
        NetworkProbe(settings, pinger=Pinger(opener=_DeniedOpener())).collect()
    message = str(caught.value)
    assert "net.ipv4.ping_group_range" in message and f"gid {os.getgid()}" in message
    assert "CAP_NET_RAW" in message
    # Other targets still report; the ICMP one is a source error, never a false "down".
    tcp = {"kind": "tcp", "name": "db", "host": "127.0.0.1", "port": tcp_listener}
    mixed = msgspec.convert({"targets": [*settings.targets, tcp]}, NetworkSettings)
    data = NetworkProbe(mixed, pinger=Pinger(opener=_DeniedOpener())).collect()
    assert set(data.source_errors) == {"gw"} and "CAP_NET_RAW" in data.source_errors["gw"]
    assert {s.labels["target"] for s in data.samples} == {"db"}


@pytest.mark.parametrize(
    ("packet", "raw", "expected"),
    [
        (bytes([0, 0, 0, 0, 0x12, 0x34, 0, 7]), False, (0x1234, 7)),
        (bytes([0x45]) + bytes(19) + bytes([0, 0, 0, 0, 0, 9, 0, 2]), True, (9, 2)),
        (bytes([8, 0, 0, 0, 0, 9, 0, 2]), False, None),  # our own request, seen on loopback
        (bytes([3, 1, 0, 0, 0, 0, 0, 0]), False, None),  # host unreachable
        (bytes([0, 0]), False, None),
    ],
    ids=["ping-socket-reply", "raw-reply-after-ip-header", "request", "unreachable", "short"],
)
def test_only_echo_replies_count(
    packet: bytes, raw: bool, expected: tuple[int, int] | None
) -> None:
    assert parse_echo_reply(packet, socket.AF_INET, raw=raw) == expected


# --- namespaces: the ping-socket path, its failure, loss and delay --------------------------


def _require_namespaces() -> None:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (ip netns add)")
    for tool in ("ip", "setpriv"):
        if shutil.which(tool) is None:
            pytest.skip(f"`{tool}` is not installed (iproute2, util-linux)")


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture
def netns() -> Iterator[Callable[..., str]]:
    """Factory: a fresh namespace with lo up and the given sysctls; all deleted afterwards."""
    _require_namespaces()
    made: list[str] = []

    def create(**sysctls: str) -> str:
        name = f"wk-test-{os.getpid()}-{next(_NAMESPACES)}"
        added = _run("ip", "netns", "add", name)
        if added.returncode != 0:
            pytest.skip(f"cannot create a network namespace: {added.stderr.strip()}")
        made.append(name)
        _run("ip", "-n", name, "link", "set", "lo", "up")
        for key, value in sysctls.items():
            _run("ip", "netns", "exec", name, "sysctl", "-qw", f"{key}={value}")
        return name

    yield create
    for name in made:
        _run("ip", "netns", "del", name)


# Runs the probe inside a namespace, without CAP_NET_RAW, and prints what it saw as JSON.
_PROBE_SCRIPT = """
import json, sys, msgspec
from agent.probe import ProbeError
from agent.probes.network.probe import NetworkProbe
from agent.probes.network.settings import NetworkSettings
settings = msgspec.convert(json.loads(sys.argv[1]), NetworkSettings)
try:
    data = NetworkProbe(settings).collect()
except ProbeError as exc:
    print(json.dumps({"error": str(exc)}))
else:
    print(json.dumps({"samples": [[s.metric, s.value, s.labels] for s in data.samples]}))
"""


def probe_in(namespace: str, *targets: dict[str, Any]) -> dict[str, Any]:
    settings = json.dumps({"targets": list(targets), "timeout": "3s"})
    no_raw = ("setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw")
    argv = ("ip", "netns", "exec", namespace, *no_raw, sys.executable, "-c", _PROBE_SCRIPT)
    done = subprocess.run(
        (*argv, settings), capture_output=True, text=True, timeout=30, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def samples_of(result: dict[str, Any]) -> list[Sample]:
    return [Sample(metric, value, labels) for metric, value, labels in result["samples"]]


def test_ping_socket_works_without_any_capability_where_the_sysctl_allows(
    netns: Callable[..., str],
) -> None:
    namespace = netns(**{"net.ipv4.ping_group_range": "0 2147483647"})
    target = {"kind": "icmp", "name": "lo", "host": "127.0.0.1", "count": 3, "interval": "10ms"}
    got = series(ProbeData(samples=samples_of(probe_in(namespace, target))))
    assert got[("lo", "network_probe_up")] == 1.0
    assert got[("lo", "network_probe_loss_ratio")] == 0.0


def test_without_ping_sockets_or_cap_net_raw_the_error_says_what_to_set(
    netns: Callable[..., str],
) -> None:
    namespace = netns(**{"net.ipv4.ping_group_range": "1 0"})  # the kernel default: nobody
    result = probe_in(namespace, {"kind": "icmp", "name": "lo", "host": "127.0.0.1"})
    assert "net.ipv4.ping_group_range" in result["error"], result
    assert "CAP_NET_RAW" in result["error"]


# A peer that loses every even-numbered echo request and answers the others 100 ms late: the
# kernel's own echo replies are off in its namespace, so only this raw socket answers.
_LOSSY_PEER = """
import socket, struct, sys, threading
from agent.probes.network.icmp import checksum
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
print("ready", flush=True)
while True:
    data, peer = sock.recvfrom(2048)
    icmp = data[(data[0] & 0x0F) * 4:]
    kind, _, _, ident, seq = struct.unpack_from("!BBHHH", icmp)
    if kind != 8 or seq % 2 == 0:
        continue
    body = struct.pack("!BBHHH", 0, 0, 0, ident, seq) + icmp[8:]
    body = struct.pack("!BBHHH", 0, 0, checksum(body), ident, seq) + icmp[8:]
    threading.Timer(0.1, sock.sendto, (body, peer)).start()
"""


def test_lossy_slow_peer_gives_loss_and_latency_and_opens_both_incidents(
    netns: Callable[..., str],
) -> None:
    namespace = netns(
        **{"net.ipv4.ping_group_range": "0 2147483647", "net.ipv4.icmp_echo_ignore_all": "1"}
    )
    peer = subprocess.Popen(
        ("ip", "netns", "exec", namespace, sys.executable, "-c", _LOSSY_PEER),
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert peer.stdout is not None and peer.stdout.readline().strip() == "ready"
        target = {"kind": "icmp", "name": "peer", "host": "127.0.0.1", "count": 10,
                  "interval": "20ms", "latency_threshold": "50ms"}  # fmt: skip
        samples = samples_of(probe_in(namespace, target))
    finally:
        peer.terminate()
        peer.wait(timeout=10)
    got = series(ProbeData(samples=samples))
    assert got[("peer", "network_probe_up")] == 1.0
    assert got[("peer", "network_probe_loss_ratio")] == 0.5
    assert 0.1 <= float(got[("peer", "network_probe_latency_seconds")]) < 0.3
    assert incidents(samples) == {("NetworkPacketLoss", "P3"), ("NetworkLatencyHigh", "P3")}


def test_loss_and_delay_through_tc_netem(netns: Callable[..., str]) -> None:
    if shutil.which("tc") is None:
        pytest.skip("`tc` (iproute2) is not installed")
    namespace = netns()
    host_end, peer_end = f"wkh{os.getpid() % 100000}", f"wkp{os.getpid() % 100000}"
    steps = [
        ("ip", "link", "add", host_end, "type", "veth", "peer", "name", peer_end),
        ("ip", "link", "set", peer_end, "netns", namespace),
        ("ip", "addr", "add", "10.250.0.1/30", "dev", host_end),
        ("ip", "link", "set", host_end, "up"),
        ("ip", "-n", namespace, "addr", "add", "10.250.0.2/30", "dev", peer_end),
        ("ip", "-n", namespace, "link", "set", peer_end, "up"),
    ]
    try:
        for step in steps:
            done = _run(*step)
            assert done.returncode == 0, f"{' '.join(step)}: {done.stderr}"
        netem = _run("tc", "qdisc", "add", "dev", host_end, "root", "netem",
                     "loss", "50%", "delay", "100ms")  # fmt: skip
        if netem.returncode != 0:
            pytest.skip(f"this kernel has no netem qdisc (sch_netem): {netem.stderr.strip()}")
        target = {"kind": "icmp", "name": "far", "host": "10.250.0.2", "count": 40,
                  "interval": "10ms", "timeout": "3s"}  # fmt: skip
        try:
            data = collect(target)
        except ProbeError as exc:
            pytest.skip(f"no ICMP socket in this process: {exc}")
    finally:
        _run("ip", "link", "del", host_end)  # its peer goes with it (and with the namespace)
    got = series(data)
    assert 0.2 < float(got[("far", "network_probe_loss_ratio")]) < 0.8
    assert 0.1 <= float(got[("far", "network_probe_latency_seconds")]) < 0.5


# --- configuration -------------------------------------------------------------------------


def test_example_config_documents_a_target_of_each_kind() -> None:
    settings = settings_from_document(load_yaml_file(ROOT / "config" / "agent.example.yaml"))
    network = settings.probes.network
    kinds = {type(target).__name__ for target in network.targets}
    assert kinds == {"IcmpTarget", "TcpTarget", "HttpTarget"}
    assert network.timeout == NetworkSettings().timeout
    assert len(build_network_probes(network, ProbeContext())) == 1
    assert build_network_probes(NetworkSettings(), ProbeContext()) == [], "no targets, no probe"


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("targets:\n  - {kind: udp, name: x}\n",
         "probes.network.targets[0].kind: Invalid value 'udp'"),
        ("targets:\n  - {kind: tcp, name: db, host: h}\n", "missing required field `port`"),
        ("targets:\n  - {kind: tcp, name: db, host: h, port: 70000}\n",
         "port: expected 1 to 65535"),
        ("targets:\n  - {kind: tcp, name: db, host: h, port: 1, url: x}\n", "unknown field `url`"),
        ("targets:\n  - {kind: http, name: w, url: ftp://x/}\n", "expected an http:// or https://"),
        ("targets:\n  - {kind: icmp, name: a, host: h}\n  - {kind: icmp, name: a, host: i}\n",
         "each name must be unique; repeated: a"),
        ("targets:\n  - {kind: icmp, name: a, host: h, count: 20, interval: 1s}\n",
         "20 echoes 1s apart take 19s, longer than its timeout (5s)"),
        ("timeout: soon\n", "timeout: expected a duration"),
    ],
    ids=["kind", "port-missing", "port-range", "field-of-another-kind", "scheme", "duplicate",
         "echoes-past-deadline", "timeout"],
)  # fmt: skip
def test_config_errors_name_the_key_and_the_fix(section: str, expected: str) -> None:
    from agent.configfile import ConfigError, parse_yaml

    text = "probes:\n  network:\n" + "".join(f"    {line}\n" for line in section.splitlines())
    with pytest.raises(ConfigError, match=r"^agent\.yaml:\d+: ") as caught:
        settings_from_document(parse_yaml(text, "agent.yaml"))
    assert expected in str(caught.value)
