"""The console's pages over real HTTP as a signed-in person: the overview and its live
fragment (SLA clocks amber and red, hosts by health, silences), the incident list's filters
and pages, and the vendored static files."""

from __future__ import annotations

import re
from dataclasses import replace

import requests

from agent.report import SCHEMA_V1, ProbeResult, Report
from collector.incidents.plan import ResponsePlan, SlaTargets, Tier
from collector.store.incidents import by_reference, update_incident
from tests.collector.harness import FakeClock, RunningCollector, host_report
from tests.collector.web.conftest import Browser, open_incident


def give_plan(running: RunningCollector, number: str, opened_at: float) -> None:
    """Freeze a response plan into an incident, as a configured policy would have at opening."""
    plan = ResponsePlan(
        policy="ops",
        tiers=(Tier(("schedule:primary",), 300.0), Tier(("team:dba",), 600.0)),
        sla=SlaTargets(ack=300.0, resolve=3600.0),
        clocks={"ack": (opened_at, opened_at + 300.0), "resolve": (opened_at, opened_at + 3600.0)},
    )
    with running.collector.repository.engine.begin() as conn:
        incident = by_reference(conn, number)
        assert incident is not None
        update_incident(conn, replace(incident, plan=plan, escalation_step=0))


def sla_classes(page: str, number: str) -> list[str]:
    row = re.search(rf'data-number="{number}".*?</tr>', page, re.S)
    assert row, f"{number} is listed"
    return re.findall(r'class="sla (sla-\w+)"', row.group())


def test_overview_shows_sla_clocks_amber_then_red_and_refreshes_as_a_fragment(
    running: RunningCollector, clock: FakeClock, carol: Browser
) -> None:
    p1 = open_incident(running, "database down", priority="P1")
    p4 = open_incident(running, "printer low on toner", priority="P4")
    give_plan(running, p1["number"], clock())
    clock.advance(100)
    page = carol.get("/").text
    assert page.index(p1["number"]) < page.index(p4["number"]), "P1 above P4"
    assert sla_classes(page, p1["number"]) == ["sla-ok", "sla-ok"]
    assert "3 min 20 s" not in page and "ack: 3 min left" in page.replace("\n", "")
    clock.advance(100)  # 200 s of 300: past the first warning (50 %)
    assert sla_classes(carol.get("/").text, p1["number"]) == ["sla-warning", "sla-ok"]
    clock.advance(200)  # 400 s: the ack clock is breached
    live = carol.get("/overview/live").text
    assert live.startswith('<div id="live"') and "<html" not in live, "only the fragment"
    assert "location.reload()" in live, "a poll that meets the sign-in page reloads the page"
    assert 'hx-trigger="every 5s"' in live
    assert sla_classes(live, p1["number"]) == ["sla-breached", "sla-ok"]
    assert "ack: 1 min overdue" in live
    incident = carol.get(f"/incidents/{p1['number']}").text
    assert "ops: tier 1 of 2 (schedule:primary)" in incident
    assert 'class="sla sla-breached"' in incident


def test_hosts_by_health_a_failing_probe_is_never_ok_and_silences_are_listed(
    running: RunningCollector, clock: FakeClock, carol: Browser
) -> None:
    running.post(host_report("web1", clock, memory_used_ratio=0.42))
    broken = ProbeResult(probe="smart", status="error", duration_seconds=0.1, error="timeout")
    healthy = host_report("db1", clock, memory_used_ratio=0.4)
    running.post(Report(SCHEMA_V1, "db1", clock(), 1, "test", 10.0, [*healthy.probes, broken]))
    running.post(host_report("old1", clock, memory_used_ratio=0.4))
    clock.advance(600)
    running.post(host_report("web1", clock, 2, memory_used_ratio=0.42))
    running.post(Report(SCHEMA_V1, "db1", clock(), 2, "test", 10.0, [*healthy.probes, broken]))
    carol.submit("/silences", matchers="host=web1", duration="1h", reason="kernel update")
    page = carol.get("/").text
    hosts = re.search(r'<table class="list" id="hosts">.*?</table>', page, re.S)
    assert hosts
    rows = re.findall(r"<td[^>]*><a[^>]*>(\w+)</a></td>\s*<td[^>]*health-([\w-]+)", hosts.group())
    assert rows == [("db1", "probe-failing"), ("old1", "silent")], "ok hosts are counted"
    assert 'health-ok">ok: 1<' in page and 'href="/hosts"' in page
    assert ">smart<" in hosts.group()
    assert 'id="active-silences"' in page and "kernel update" in page
    assert "<code>host=web1</code>" in page


def test_incident_list_filters_by_state_priority_rule_host_and_number_and_pages(
    running: RunningCollector, clock: FakeClock, carol: Browser
) -> None:
    opened = [
        open_incident(running, f"case {n}", priority="P2" if n % 2 else "P4", hosts=[f"h{n % 3}"])
        for n in range(55)
    ]
    first = carol.get("/incidents").text
    assert first.count('class="incident"') == 50 and 'rel="next"' in first
    assert 'rel="prev"' not in first
    second = carol.get("/incidents?page=2").text
    assert second.count('class="incident"') == 5 and 'rel="prev"' in second
    assert opened[0]["number"] in second, "oldest last"
    p2 = carol.get("/incidents?priority=P2&state=all").text
    assert p2.count('class="incident"') == 27 and "badge P4" not in p2
    by_host = carol.get("/incidents?host=h1").text
    assert by_host.count('class="incident"') == 18
    number = opened[7]["number"]
    assert carol.get(f"/incidents?number={number[-6:].lower()}").text.count(number) >= 1
    exact = carol.get(f"/incidents?number={number}").text
    assert exact.count('class="incident"') == 1
    assert 'id="no-incidents"' in carol.get("/incidents?state=closed").text
    assert 'id="no-incidents"' in carol.get("/incidents?rule=HostMemoryHigh").text
    oldest = carol.get("/incidents?order=oldest").text
    assert oldest.index(opened[0]["number"]) < oldest.index(opened[1]["number"])
    assert 'order=oldest&amp;page=2" rel="next"' in oldest, "paging keeps the order"
    clock.advance(7200)
    newer = open_incident(running, "after two hours")["number"]
    recent = carol.get("/incidents?since=1h").text
    assert recent.count('class="incident"') == 1 and newer in recent
    odd = carol.get("/incidents?state=bogus&priority=P9&page=-3&since=5y&order=random")
    assert odd.status_code == 200 and odd.text.count('class="incident"') == 50


def test_pages_fit_a_phone_and_use_only_vendored_files(running: RunningCollector) -> None:
    css = requests.get(f"{running.url}/static/console.css", timeout=5)
    js = requests.get(f"{running.url}/static/htmx.min.js", timeout=5)
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert js.status_code == 200 and js.text.startswith("/*! htmx.org 2.")
    assert "Zero-Clause BSD" in js.text[:800], "the license header travels with the file"
    other = requests.get(f"{running.url}/static/nothing.js", allow_redirects=False, timeout=5)
    assert other.status_code == 303, "only the vendored files are public"
    page = requests.get(f"{running.url}/login", timeout=5).text
    assert 'name="viewport"' in page


def test_every_page_links_only_to_this_server(running: RunningCollector, carol: Browser) -> None:
    number = open_incident(running, "disk")["number"]
    for path in ("/", "/incidents", f"/incidents/{number}", "/silences", "/overview/live"):
        page = carol.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//', page), path
        if path != "/overview/live":
            assert 'name="viewport"' in page and "/static/htmx.min.js?v=" in page, path
            assert "carol (responder)" in page and 'action="/logout"' in page, path
