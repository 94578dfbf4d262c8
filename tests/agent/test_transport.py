"""ReportSender against a real HTTP server on 127.0.0.1: body, headers, spool, drain, reject."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.report import SCHEMA_V1, ProbeResult, Report, Sample
from agent.spool import DirectorySpool, MemorySpool
from agent.transport import INGEST_PATH, ReportSender, encode_body, retry_after_seconds
from tests.agent.collector_stub import CollectorStub
from tests.peers import free_port

TOKEN = "s3cr3t-agent-token"


def report(sequence: int) -> Report:
    sample = Sample("filesystem_used_ratio", 0.42, {"mountpoint": "/"})
    result = ProbeResult("host", "ok", 0.001, samples=[sample])
    return Report(
        SCHEMA_V1, "web-01", 1_700_000_000.0 + sequence, sequence, "0.1.0", 10.0, [result]
    )


@pytest.fixture
def stub() -> Iterator[CollectorStub]:
    server = CollectorStub()
    yield server
    server.stop()


def sender_for(
    url: str, spool: MemorySpool | DirectorySpool | None = None, **kw: float
) -> ReportSender:
    return ReportSender(url, TOKEN, spool or MemorySpool(1 << 20), timeout_seconds=2.0, **kw)  # type: ignore[arg-type]


def test_posts_gzip_json_report_with_bearer_token(stub: CollectorStub) -> None:
    sender = sender_for(stub.url + "/")
    assert sender.send(report(1)) == "sent"
    (request,) = stub.received
    assert request.path == INGEST_PATH
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-encoding"] == "gzip"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("watchkeeper-agent/")
    assert request.report() == report(1)
    assert sender.reports_sent_total == 1


def test_session_is_kept_across_reports(stub: CollectorStub) -> None:
    sender = sender_for(stub.url)
    for sequence in (1, 2, 3):
        sender.send(report(sequence))
    assert stub.sequences() == [1, 2, 3]
    assert {r.headers.get("connection", "keep-alive").lower() for r in stub.received} == {
        "keep-alive"
    }


def test_spools_while_down_then_drains_oldest_first(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()
    sender = sender_for(f"http://127.0.0.1:{port}")
    assert [sender.send(report(n)) for n in (1, 2, 3)] == ["spooled"] * 3
    assert sender.spool.count == 3 and sender.send_failures_total == 3
    server = CollectorStub(port)
    try:
        assert sender.send(report(4)) == "sent"
        assert server.sequences() == [4, 1, 2, 3]
    finally:
        server.stop()
    assert sender.spool.count == 0 and sender.reports_sent_total == 4
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("status", [500, 503, 429], ids=["500", "503", "429"])
def test_busy_collector_keeps_the_report(stub: CollectorStub, status: int) -> None:
    stub.answers.append((status, "try later"))
    sender = sender_for(stub.url)
    assert sender.send(report(1)) == "spooled"
    assert sender.send(report(2)) == "sent"
    assert stub.sequences() == [1, 2, 1]


def test_429_retry_after_is_honoured_without_posting_meanwhile(
    stub: CollectorStub, caplog: pytest.LogCaptureFixture
) -> None:
    now = [100.0]
    stub.answers.append((429, "over its report rate", {"Retry-After": "30"}))
    sender = ReportSender(stub.url, TOKEN, MemorySpool(1 << 20), 2.0, clock=lambda: now[0])
    assert sender.send(report(1)) == "spooled"
    assert "busy (1 report waiting in the spool): HTTP 429, asks for 30 s without" in caplog.text
    now[0] += 29.0
    assert sender.send(report(2)) == "spooled"
    assert sender.drain() == 0
    assert stub.sequences() == [1], "nothing posted while told to wait"
    now[0] += 1.5
    assert sender.send(report(3)) == "sent"
    assert stub.sequences() == [1, 3, 1, 2] and sender.spool.count == 0


@pytest.mark.parametrize(
    ("header", "expected"),
    [("12", 12.0), ("0", 0.0), ("-5", 0.0), ("86400", 600.0), ("soon", 0.0), (None, 0.0)],
    ids=["seconds", "zero", "negative", "capped", "garbage", "absent"],
)
def test_retry_after_is_read_within_bounds(header: str | None, expected: float) -> None:
    assert retry_after_seconds(header) == expected


def test_rejected_report_is_logged_and_never_retried(
    stub: CollectorStub, caplog: pytest.LogCaptureFixture
) -> None:
    stub.answers.append((400, '{"error": "invalid report: Expected `float` - at `$.time`"}'))
    sender = sender_for(stub.url)
    assert sender.send(report(1)) == "rejected"
    assert sender.send(report(2)) == "sent"
    assert sender.send(report(3)) == "sent"
    assert stub.sequences() == [1, 2, 3]
    assert sender.reports_rejected_total == 1 and sender.spool.count == 0
    assert "HTTP 400" in caplog.text and "Expected `float`" in caplog.text
    assert TOKEN not in caplog.text


def test_unknown_token_401_is_dropped(stub: CollectorStub) -> None:
    stub.answers.append((401, "unknown agent token"))
    sender = sender_for(stub.url)
    assert sender.send(report(1)) == "rejected"
    assert sender.spool.count == 0


def test_timeout_spools(tmp_path: Path) -> None:
    slow = CollectorStub(delay_seconds=1.0)
    try:
        sender = ReportSender(slow.url, None, MemorySpool(1 << 20), timeout_seconds=0.2)
        assert sender.send(report(1)) == "spooled"
    finally:
        slow.stop()


def test_drain_is_bounded_per_cycle(stub: CollectorStub) -> None:
    spool = MemorySpool(1 << 20)
    for sequence in (1, 2, 3, 4, 5):
        spool.push(encode_body(report(sequence)))
    sender = sender_for(stub.url, spool, drain_per_cycle=2)
    sender.send(report(6))
    assert stub.sequences() == [6, 1, 2]
    assert spool.count == 3


def test_drain_stops_at_the_first_failure_and_drops_rejected(stub: CollectorStub) -> None:
    spool = MemorySpool(1 << 20)
    for sequence in (1, 2, 3):
        spool.push(encode_body(report(sequence)))
    stub.answers.extend([(204, ""), (422, "bad"), (503, "busy")])
    sender = sender_for(stub.url, spool)
    sender.send(report(4))
    assert stub.sequences() == [4, 1, 2]
    # 1 was rejected for good; 2 met a busy collector, so 2 and 3 wait for the next cycle.
    assert spool.count == 2 and spool.oldest() == encode_body(report(2))


def test_memory_spool_drops_oldest_beyond_budget() -> None:
    bodies = [encode_body(report(n)) for n in (1, 2, 3)]
    spool = MemorySpool(max_bytes=len(bodies[0]) + len(bodies[1]) + 5)
    for body in bodies:
        spool.push(body)
    assert (spool.count, spool.dropped_total) == (2, 1)
    assert spool.oldest() == bodies[1]


def test_directory_spool_survives_restart_and_drops_oldest(
    tmp_path: Path, stub: CollectorStub
) -> None:
    down = sender_for(
        f"http://127.0.0.1:{free_port()}", DirectorySpool(tmp_path / "spool", 1 << 20)
    )
    for sequence in (1, 2, 3):
        down.send(report(sequence))
    assert len(list((tmp_path / "spool").glob("*.json.gz"))) == 3
    size = len(encode_body(report(1)))
    restarted = DirectorySpool(tmp_path / "spool", max_bytes=2 * size + 10)
    assert restarted.count == 3
    restarted.push(encode_body(report(4)))  # over budget: 1 and 2 go
    assert (restarted.count, restarted.dropped_total) == (2, 2)
    sender_for(stub.url, restarted).send(report(5))
    assert stub.sequences() == [5, 3, 4]
    assert list((tmp_path / "spool").iterdir()) == []
