"""A hostile client cannot starve a real collector process on loopback. Each case states its
bound: bytes read before refusing, memory growth, time to an answer, connections held."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from agent.report import SCHEMA_V1, ProbeResult, Report, Sample, encode_report
from tests.peers import free_port, wait_until

WATCHKEEPER = str(Path(sys.executable).parent / "watchkeeper")
TOKEN = "abuse-agent-token-4e1f"
EAGER = "abuse-eager-token-90b3"  # 2 reports/s, bursts of 10
ADMIN_TOKEN = "abuse-admin-token-93bb"
VIEWER = {"Authorization": "Bearer abuse-viewer-token-77aa"}
MIB = 1024 * 1024


@dataclass
class Collector:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_bytes(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1]) * 1024

    def healthy(self) -> bool:
        return requests.get(f"{self.url}/-/healthy", timeout=2).ok


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    tmp = tmp_path_factory.mktemp("abuse")
    port = free_port()
    config = tmp / "collector.yaml"
    config.write_text(
        f"listen: 127.0.0.1:{port}\n"
        f"database: sqlite:///{tmp / 'wk.db'}\n"
        "builtin_rules: false\n"
        f"agents: [{{name: fleet, token: {TOKEN}, max_hosts: 50, reports_per_second: 40}},"
        f" {{name: eager, token: {EAGER}, reports_per_second: 2}}]\n"
        "api_tokens: [{name: viewer, token: abuse-viewer-token-77aa, role: viewer},"
        f" {{name: ops, token: {ADMIN_TOKEN}, role: admin}}]\n"
        "limits: {max_body_bytes: 1048576, header_timeout: 1s, body_timeout: 2s,"
        " max_connections: 400}\n"
    )
    log = tmp / "collector.log"
    process = subprocess.Popen(
        [WATCHKEEPER, "collector", "--config", str(config)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={"WATCHKEEPER_ADMIN_PASSWORD": "abuse admin password", "PATH": "/usr/bin:/bin"},
    )
    running = Collector(process, port, log)
    try:
        wait_until(running.healthy, 30, "collector")
        yield running
    finally:
        process.terminate()
        process.wait(15)


def report(host: str, value: float = 0.5) -> bytes:
    sample = Sample("memory_used_ratio", value)
    probe = ProbeResult("host", "ok", 0.001, samples=[sample])
    return gzip.compress(encode_report(Report(SCHEMA_V1, host, time.time(), 1, "t", 10.0, [probe])))


def post(
    collector: Collector, body: bytes, gzip_body: bool = True, token: str = TOKEN
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if gzip_body:
        headers["Content-Encoding"] = "gzip"
    return requests.post(f"{collector.url}/api/v1/reports", data=body, headers=headers, timeout=10)


def stream_chunked(
    collector: Collector, headers: str, total: int, path: str = "/api/v1/reports"
) -> tuple[bytes, int, float]:
    """Send a chunked POST of up to `total` bytes; (answer, bytes sent, seconds to answer)."""
    sock = socket.create_connection(("127.0.0.1", collector.port), timeout=10)
    chunk = b"x" * MIB
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    sent, started = 0, time.monotonic()
    start = f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    sock.sendall(f"{start}{headers}\r\n".encode())
    try:
        while sent < total and time.monotonic() - started < 20:
            sock.sendall(framed)
            sent += len(chunk)
    except OSError:
        pass  # the collector answered and closed: exactly what should happen
    sock.settimeout(5)
    try:
        answer = sock.recv(4096)
    except OSError:
        answer = b""
    sock.close()
    return answer, sent, time.monotonic() - started


def test_a_huge_chunked_body_without_a_token_is_refused_before_it_is_read(
    collector: Collector,
) -> None:
    before = collector.rss_bytes()
    answer, sent, _ = stream_chunked(collector, "", 600 * MIB)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert sent < 64 * MIB, f"the collector kept reading: {sent // MIB} MiB sent"
    assert collector.rss_bytes() - before < 20 * MIB
    assert collector.healthy()


def test_a_chunked_body_past_the_limit_is_cut_off_at_the_limit(collector: Collector) -> None:
    before = collector.rss_bytes()
    answer, sent, _ = stream_chunked(collector, f"Authorization: Bearer {TOKEN}\r\n", 600 * MIB)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 64 * MIB, f"the collector kept reading: {sent // MIB} MiB sent"
    assert collector.rss_bytes() - before < 20 * MIB
    sock = socket.create_connection(("127.0.0.1", collector.port), timeout=5)
    sock.sendall(
        f"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Length: {600 * MIB}\r\n\r\n".encode()
    )
    assert sock.recv(4096).startswith(b"HTTP/1.1 413"), "refused from Content-Length alone"
    sock.close()


@pytest.mark.parametrize("path", ["/api/v1/silences", "/api/v1/people", "/api/v1/incidents"])
def test_an_api_body_past_its_limit_is_cut_off_whoever_sends_it(
    collector: Collector, path: str
) -> None:
    """Not only agents' reports: every JSON endpoint stops reading at 1 MiB (an admin's token
    or a buggy script must not make the collector hold gigabytes)."""
    before = collector.rss_bytes()
    auth = f"Authorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\n"
    answer, sent, _ = stream_chunked(collector, auth, 600 * MIB, path)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"1048576 bytes" in answer and sent < 64 * MIB
    assert collector.rss_bytes() - before < 20 * MIB
    assert collector.healthy()


def test_half_sent_requests_are_dropped_and_agents_get_through(collector: Collector) -> None:
    slow = []
    for _ in range(300):  # stated bound: 300 half-sent requests, each dropped after 1 s
        sock = socket.create_connection(("127.0.0.1", collector.port), timeout=5)
        sock.sendall(b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nAuthor")
        slow.append(sock)
    time.sleep(1.5)
    closed = 0
    for sock in slow:
        sock.settimeout(3)
        try:
            closed += sock.recv(1) == b""
        except OSError:
            closed += 1
        sock.close()
    assert closed == 300, f"{300 - closed} half-sent requests still held"
    assert post(collector, report("web-0")).status_code == 202


def test_a_stalled_body_times_out_with_408(collector: Collector) -> None:
    sock = socket.create_connection(("127.0.0.1", collector.port), timeout=10)
    sock.sendall(
        f"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        'Content-Length: 1000\r\n\r\n{"schema"'.encode()
    )
    started = time.monotonic()
    answer = sock.recv(4096)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 4


def test_one_token_cannot_invent_unlimited_hosts(collector: Collector) -> None:
    statuses = [post(collector, report(f"flood-{i:03d}")).status_code for i in range(60)]
    accepted = statuses.count(202)
    assert accepted <= 50 and statuses.count(403) >= 10, statuses
    refused = post(collector, report("flood-999"))
    assert refused.json()["error"]["code"] == "too_many_hosts"
    assert "limit is 50" in refused.json()["error"]["message"]
    hosts = requests.get(f"{collector.url}/api/v1/hosts", headers=VIEWER, timeout=5).json()
    assert len(hosts) <= 50


def test_a_token_over_its_rate_gets_429_with_retry_after(collector: Collector) -> None:
    answers = [post(collector, report("eager-0"), token=EAGER) for _ in range(30)]
    limited = [a for a in answers if a.status_code == 429]
    assert len(limited) >= 10, "30 reports at once exceed a burst of 10 (2/s for 5 s)"
    retry_after = int(limited[0].headers["retry-after"])
    assert 1 <= retry_after <= 2
    assert limited[0].json()["error"]["code"] == "too_many_requests"
    assert post(collector, report("web-0")).status_code == 202, "other tokens unaffected"
    time.sleep(retry_after)
    assert post(collector, report("eager-0"), token=EAGER).status_code == 202


def test_json_nested_1000_deep_is_a_400_and_infinities_do_not_break_answers(
    collector: Collector,
) -> None:
    deep = b'{"schema": "' + SCHEMA_V1.encode() + b'", "x": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    answer = post(collector, deep, gzip_body=False)
    assert answer.status_code == 400 and "nested too deeply" in answer.json()["error"]["message"]
    infinite = json.loads(gzip.decompress(report("web-inf")))
    body = json.dumps(infinite).replace("0.5", "1e999").encode()
    assert post(collector, body, gzip_body=False).status_code in (202, 400)
    assert requests.get(f"{collector.url}/api/v1/hosts", headers=VIEWER, timeout=5).ok
    assert requests.get(f"{collector.url}/metrics", headers=VIEWER, timeout=5).ok


def test_client_disconnects_are_not_errors_in_the_log(collector: Collector) -> None:
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", collector.port), timeout=5)
        sock.sendall(
            f"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            'Content-Length: 5000\r\n\r\n{"sch'.encode()
        )
        sock.close()
    time.sleep(0.5)
    assert collector.healthy()
    log = collector.log.read_text()
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
