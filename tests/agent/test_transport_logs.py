"""Logs people can read: one line when the collector goes away (with the spool size), one when
it is back (with the reports resent), a rejection once until its reason changes — tested with a
real HTTP server on 127.0.0.1 that is stopped and started again on the same port."""

from __future__ import annotations

import logging

import pytest

from agent.spool import MemorySpool
from agent.transport import ReportSender, TransportSecurity
from tests.agent.collector_stub import CollectorStub
from tests.agent.test_transport import TOKEN, report
from tests.peers import free_port


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.levelname} {r.getMessage()}"
        for r in caplog.records
        if r.name == "agent.transport" and r.levelno >= logging.INFO
    ]


def test_one_line_when_the_collector_goes_away_and_one_when_it_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="agent.transport")
    stub, clock = CollectorStub(), Clock()
    port, url = stub.port, f"{stub.url}/api/v1/reports"
    sender = ReportSender(stub.url, TOKEN, MemorySpool(1 << 20), 2.0, clock=clock)
    assert sender.send(report(1)) == "sent"
    stub.stop()
    for sequence in range(2, 7):
        assert sender.send(report(sequence)) == "spooled"
        clock.now += 30
    back = CollectorStub(port=port)
    try:
        assert sender.send(report(7)) == "sent"
        assert back.sequences() == [7, 2, 3, 4, 5, 6]
        assert sender.send(report(8)) == "sent"
    finally:
        back.stop()
    assert lines(caplog) == [
        f"WARNING collector {url} unreachable (1 report waiting in the spool): connection "
        "refused; is the collector running, and listening on that port?",
        f"INFO collector {url} reachable again after 2 min; resent 5 reports",
    ]


def test_reports_still_spooled_are_mentioned_when_it_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="agent.transport")
    port = free_port()
    clock = Clock()
    sender = ReportSender(
        f"http://127.0.0.1:{port}", TOKEN, MemorySpool(1 << 20), 2.0, 2, clock=clock
    )
    for sequence in range(1, 5):
        sender.send(report(sequence))
    clock.now += 3 * 3600 + 300
    stub = CollectorStub(port=port)
    try:
        assert sender.send(report(5)) == "sent"
    finally:
        stub.stop()
    assert lines(caplog)[-1] == (
        f"INFO collector {stub.url}/api/v1/reports reachable again after 3 h 5 min; "
        "resent 2 reports (2 still spooled, 2 sent per cycle)"
    )


def test_a_rejection_is_logged_once_until_its_reason_changes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    envelope = '{"error": {"code": "unauthorized", "message": "unknown agent token"}}'
    stub = CollectorStub()
    stub.answers.extend([(401, envelope)] * 3 + [(400, "invalid report: bad host")])
    sender = ReportSender(stub.url, TOKEN, MemorySpool(1 << 20), 2.0)
    try:
        outcomes = [sender.send(report(n)) for n in range(1, 5)]
    finally:
        stub.stop()
    assert outcomes == ["rejected"] * 4 and sender.reports_rejected_total == 4
    url = f"{stub.url}/api/v1/reports"
    assert lines(caplog) == [
        f"ERROR collector {url} rejected the report, dropped: HTTP 401: unknown agent token "
        "(check token or token_file against the collector's `agents`)",
        f"ERROR collector {url} rejected the report, dropped: HTTP 400: invalid report: bad host",
    ]


def test_https_to_a_plain_http_collector_says_to_use_http(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stub = CollectorStub()
    try:
        url = stub.url.replace("http://", "https://")
        assert ReportSender(url, TOKEN, MemorySpool(1 << 20), 2.0).send(report(1)) == "spooled"
    finally:
        stub.stop()
    assert lines(caplog) == [
        f"WARNING collector {url}/api/v1/reports unreachable (1 report waiting in the spool): "
        "TLS handshake failed; the collector does not speak https on that port: use http://"
    ]


@pytest.mark.parametrize(
    ("security", "expected"),
    [
        ({"ca_file": "/nonexistent/ca.pem"}, "cannot load ca_file /nonexistent/ca.pem: No such"),
        (
            {"ca_file": __file__},
            f"cannot load ca_file {__file__}: ",
        ),
        (
            {"client_cert_file": "/nonexistent/agent.crt"},
            "cannot load client_cert_file /nonexistent/agent.crt: No such file",
        ),
    ],
    ids=["missing-ca", "not-a-pem", "missing-client-cert"],
)  # fmt: skip
def test_tls_files_that_will_not_load_are_named_not_a_crash(
    caplog: pytest.LogCaptureFixture, security: dict[str, str], expected: str
) -> None:
    url = f"https://127.0.0.1:{free_port()}"
    sender = ReportSender(
        url, TOKEN, MemorySpool(1 << 20), 2.0, security=TransportSecurity(**security)
    )
    assert sender.send(report(1)) == "spooled"
    [line] = lines(caplog)
    assert line.startswith(f"WARNING collector {url}/api/v1/reports unreachable (1 report waiting")
    assert f"spool): {expected}" in line
