"""Retiring a host from its console page, without JavaScript: only an admin sees and may use
the form, it needs the session's CSRF token and the host name typed out, and the host is gone
from the host list afterwards."""

from __future__ import annotations

from agent.report import SCHEMA_V1, ProbeResult, Report, Sample
from collector.auth.roles import Role
from tests.collector.harness import FakeClock, RunningCollector
from tests.collector.web.conftest import PASSWORD, Browser


def _report(host: str, clock: FakeClock) -> Report:
    probe = ProbeResult("host", "ok", 0.01, [Sample("memory_used_ratio", 0.3)])
    return Report(SCHEMA_V1, host, clock(), 1, "test", 10.0, [probe])


def test_an_admin_retires_a_host_from_its_page(running: RunningCollector, clock: FakeClock) -> None:
    running.collector.access.add_user("ada", PASSWORD, Role.ADMIN)
    assert running.post(_report("web1", clock)).ok
    clock.advance(3600)  # web1 falls silent: the overview lists it as needing attention
    assert running.post(_report("web2", clock)).ok
    ada = Browser(running, "ada")
    assert 'href="/hosts/web1"' in ada.get("/").text
    page = ada.get("/hosts/web1").text
    assert 'action="/hosts/web1/retire"' in page and 'name="confirm"' in page

    assert ada.submit("/hosts/web1/retire", csrf="", confirm="web1").status_code == 403
    mistyped = ada.submit("/hosts/web1/retire", confirm="web", reason="moved")
    assert mistyped.status_code == 400 and 'id="refused"' in mistyped.text
    assert 'value="moved"' in mistyped.text, "the form keeps what was typed"
    assert ada.get("/hosts/web1").status_code == 200, "nothing retired yet"

    done = ada.submit("/hosts/web1/retire", confirm="web1", reason="decommissioned")

    assert done.status_code == 303 and done.headers["location"] == "/hosts?retired=web1"
    listing = ada.get(done.headers["location"]).text
    assert 'data-host="web1"' not in listing and 'data-host="web2"' in listing
    assert 'id="retired"' in listing and "web1 was retired." in listing
    assert ada.get("/hosts/web1").status_code == 404
    assert 'href="/hosts/web1"' not in ada.get("/").text, "nor on the overview"
    assert 'id="retired"' not in ada.get("/hosts?retired=web2").text, "a live host is no claim"
    entries = running.get("/api/v1/audit")
    assert any(e["action"] == "RETIRE host web1" and e["actor"] == "ada" for e in entries)


def test_a_responder_neither_sees_nor_uses_the_form(
    running: RunningCollector, clock: FakeClock, carol: Browser
) -> None:
    assert running.post(_report("web1", clock)).ok
    page = carol.get("/hosts/web1").text
    assert "/retire" not in page
    refused = carol.submit("/hosts/web1/retire", confirm="web1")
    assert refused.status_code == 403
    assert [h["name"] for h in running.get("/api/v1/hosts")] == ["web1"]


def test_the_form_reads_in_chinese(running: RunningCollector, clock: FakeClock) -> None:
    running.collector.access.add_user("ada", PASSWORD, Role.ADMIN)
    assert running.post(_report("web1", clock)).ok
    page = Browser(running, "ada").get("/hosts/web1?lang=zh").text
    assert "下线主机" in page and "输入主机名以确认" in page
