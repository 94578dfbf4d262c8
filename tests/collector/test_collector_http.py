"""The collector over real HTTP: ingest, rejections, API views, /metrics, email on breach."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.report import SCHEMA_V1, Report
from collector.notify.channels import RecordingChannel, channel_from_url
from rules.priority import Priority
from tests.collector.harness import FakeClock, RunningCollector, host_report, wait_for
from tests.peers import promtool_problems
from tests.peers.smtp import SmtpServer


@pytest.fixture
def recorder() -> RecordingChannel:
    return RecordingChannel("test")


@pytest.fixture
def running(
    tmp_path: Path, clock: FakeClock, recorder: RecordingChannel
) -> Iterator[RunningCollector]:
    collector = RunningCollector(tmp_path, clock, channels=[recorder])
    yield collector
    collector.stop()


def test_builtin_memory_rule_opens_once_and_resolves_once_by_email(
    tmp_path: Path, clock: FakeClock
) -> None:
    with SmtpServer() as smtp:
        channel = channel_from_url(smtp.url(), Priority.P4)
        running = RunningCollector(tmp_path, clock, channels=[channel])
        try:
            for seq in range(1, 8):  # 7 reports at 95% over 6 minutes: past `for: 5m`
                assert running.post(host_report("web1", clock, seq, memory_used_ratio=0.95)).ok
                running.tick()
                clock.advance(60)
            mails = smtp.wait_for(1)
            assert "HostMemoryHigh" in mails[0].subject and "web1" in mails[0].subject
            assert "[P2] INC-" in mails[0].subject and "95 %" in mails[0].text
            incidents = running.get("/api/v1/incidents?state=open")
            assert [(i["rule"], i["host"], i["priority"]) for i in incidents] == [
                ("HostMemoryHigh", "web1", "P2")
            ]
            # Bouncing between the clear level (85%) and the threshold changes nothing...
            for seq, value in enumerate([0.88, 0.93, 0.86], start=10):
                running.post(host_report("web1", clock, seq, memory_used_ratio=value))
                clock.advance(10)
            # ...falling below it resolves, once.
            running.post(host_report("web1", clock, 20, memory_used_ratio=0.5))
            mails = smtp.wait_for(2)
            assert "RESOLVED" in mails[1].subject
            assert len(smtp.messages) == 2
            resolved = running.get("/api/v1/incidents?state=resolved")
            assert len(resolved) == 1 and resolved[0]["resolved_at"].endswith("Z")
            assert resolved[0]["number"] in mails[1].subject, "one ticket number throughout"
            detail = running.get(f"/api/v1/incidents/{resolved[0]['number']}")
            transitions = [e["name"] for e in detail["timeline"] if e["kind"] == "transition"]
            assert transitions == ["OPEN", "RESOLVE"]
            wait_for(
                lambda: (
                    [
                        d["status"]
                        for d in running.get(f"/api/v1/incidents/{resolved[0]['id']}")["deliveries"]
                    ]
                    == ["sent", "sent"]
                )
            )
        finally:
            running.stop()


def test_silent_agent_opens_incident_on_the_timer(
    running: RunningCollector, clock: FakeClock, recorder: RecordingChannel
) -> None:
    running.post(host_report("db1", clock, memory_used_ratio=0.1))
    clock.advance(119)
    assert running.tick() == 0
    clock.advance(2)
    assert running.tick() == 1
    open_ = running.get("/api/v1/incidents?state=open")
    assert [(i["rule"], i["host"]) for i in open_] == [("AgentSilent", "db1")]
    hosts = running.get("/api/v1/hosts")
    assert hosts[0]["name"] == "db1" and hosts[0]["health"] == "silent"
    running.post(host_report("db1", clock, 2, memory_used_ratio=0.1))
    assert running.get("/api/v1/incidents?state=open") == []
    wait_for(lambda: [n.event for n in recorder.notifications] == ["opened", "resolved"])


@pytest.mark.parametrize(
    ("mutate", "status", "code"),
    [
        (lambda r, b, h: (b, {**h, "Authorization": "Bearer wrong"}), 401, "unauthorized"),
        (
            lambda r, b, h: (b, {k: v for k, v in h.items() if k != "Authorization"}),
            401,
            "unauthorized",
        ),
        (lambda r, b, h: (b"{not json", h), 400, "malformed"),
        (lambda r, b, h: (b'{"schema": "watchkeeper.report/v1"}', h), 400, "malformed"),
        (lambda r, b, h: (b.replace(b"report/v1", b"report/v9"), h), 400, "malformed"),
        (lambda r, b, h: (b, {**h, "Content-Encoding": "gzip"}), 400, "malformed"),
        (lambda r, b, h: (b, {**h, "Content-Encoding": "br"}), 415, "unsupported_encoding"),
        (lambda r, b, h: (b" " * (5 * 1024 * 1024), h), 413, "too_large"),
        (
            lambda r, b, h: (
                gzip.compress(b" " * (40 * 1024 * 1024)),
                {**h, "Content-Encoding": "gzip"},
            ),
            413,
            "too_large",
        ),
    ],
    ids=[
        "bad-token",
        "no-token",
        "not-json",
        "missing-fields",
        "unknown-schema",
        "bad-gzip",
        "unknown-encoding",
        "oversized",
        "zip-bomb",
    ],
)
def test_bad_reports_get_a_clear_4xx_and_the_collector_stays_up(
    running: RunningCollector,
    clock: FakeClock,
    mutate,
    status: int,
    code: str,  # type: ignore[no-untyped-def]
) -> None:
    from agent.report import encode_report

    report = host_report("web1", clock, memory_used_ratio=0.2)
    headers = {"Authorization": "Bearer test-token-3f9a", "Content-Type": "application/json"}
    body, headers = mutate(report, encode_report(report), headers)
    response = running.session.post(f"{running.url}/api/v1/reports", data=body, headers=headers)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert running.post(report).status_code == 202, "still accepting good reports"


def test_schema_error_names_the_json_path(running: RunningCollector, clock: FakeClock) -> None:
    from agent.report import encode_report

    body = encode_report(host_report("web1", clock, load1=1.0)).replace(
        b'"value":1.0', b'"value":[1]'
    )
    response = running.session.post(
        f"{running.url}/api/v1/reports",
        data=body,
        headers={"Authorization": "Bearer test-token-3f9a"},
    )
    assert response.status_code == 400
    assert "$.probes[0].samples[0].value" in response.json()["error"]["message"]


def test_out_of_order_report_from_spool_does_not_drive_alerts(
    running: RunningCollector, clock: FakeClock
) -> None:
    running.post(host_report("web1", clock, 2, memory_used_ratio=0.2))
    old = Report(SCHEMA_V1, "web1", clock() - 30, 1, "test", 10.0, [])
    response = running.post(old)
    assert response.status_code == 202
    assert (response.json()["evaluated"], response.json()["replay"]) == (False, True)


def test_metrics_exposes_host_samples_and_passes_promtool(
    running: RunningCollector, clock: FakeClock
) -> None:
    running.post(
        host_report(
            "web1",
            clock,
            memory_used_ratio=0.42,
            swap_in_bytes_total=4096.0,
            raid_array_state="degraded",
        )
    )
    text = running.fetch("/metrics").text
    assert 'watchkeeper_memory_used_ratio{host="web1",probe="host"} 0.42' in text
    assert "# TYPE watchkeeper_swap_in_bytes_total counter" in text
    assert 'watchkeeper_swap_in_bytes_total{host="web1",probe="host"} 4096.0' in text
    assert 'watchkeeper_raid_array_state{host="web1",probe="host",state="degraded"} 1.0' in text
    assert 'watchkeeper_reports_received_total{outcome="accepted"} 1.0' in text
    assert promtool_problems(text) == ""


def test_console_page_lists_hosts_and_incidents(
    running: RunningCollector, clock: FakeClock
) -> None:
    running.post(host_report("web1", clock, memory_used_ratio=0.42))
    page = running.fetch("/").text
    # The overview names the hosts that need attention and counts the healthy ones.
    assert "<title>Watchkeeper</title>" in page and 'href="/hosts"' in page
    assert 'name="viewport"' in page
    assert ">web1<" in running.fetch("/hosts").text


def test_incident_query_rejects_unknown_state(running: RunningCollector) -> None:
    response = running.fetch("/api/v1/incidents?state=maybe")
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"


def test_concurrent_scrapes_share_one_rendering(
    running: RunningCollector, clock: FakeClock
) -> None:
    running.post(host_report("web1", clock, memory_used_ratio=0.42))
    metrics = running.collector.metrics
    first = metrics.render()
    running.post(host_report("web1", clock, 2, memory_used_ratio=0.43))
    again = metrics.render()
    assert again == first and b"} 0.43" not in again, "within the cache time: the same render"
