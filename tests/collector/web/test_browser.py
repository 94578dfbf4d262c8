"""The console in a real browser (Playwright driving Debian's chromium): an incident opened by
posted reports appears on the overview without a reload, and a person acknowledges, notes,
re-grades, resolves and closes it; every page in English and Chinese at desktop and phone
width is screenshotted into build/screenshots/ and never scrolls sideways at 390 px."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.report import SCHEMA_V1, ProbeResult, Report
from tests.collector.harness import FakeClock, RunningCollector, host_report
from tests.collector.web.conftest import PASSWORD, Browser, open_incident
from tests.collector.web.test_hosts import host_cycle
from tests.peers import REQUIRE_PEERS

pytestmark = pytest.mark.peer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "build" / "screenshots"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
WAIT_MS = 20_000  # the overview polls every 5 s


def _missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} not installed (Debian package chromium; .ci/run installs it)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _missing()
    if reason:
        if REQUIRE_PEERS:
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


RESPONSE = """\
people:
  - {id: wang-wei, name: 王伟, timezone: Asia/Shanghai, language: zh}
  - {id: alice, name: Alice Becker-Featherstonehaugh, timezone: Europe/Berlin}
teams:
  - {id: platform, name: Platform operations, members: [wang-wei, alice], schedules: [primary]}
schedules:
  - id: primary
    name: Platform primary
    timezone: Europe/Berlin
    layers:
      - {participants: [wang-wei, alice], start: "2026-01-05T09:00", length: daily}
policies:
  - id: ops
    tiers:
      - targets: [{schedule: primary}]
        timeout: 5m
      - targets: [{team: platform}]
        timeout: 15m
"""


def with_response(tmp_path: Path, clock: FakeClock) -> RunningCollector:
    """A collector with on-call schedules, a policy and the console's users."""
    from collector.auth.roles import Role

    (tmp_path / "response.yaml").write_text(RESPONSE)
    running = RunningCollector(tmp_path, clock, response=tmp_path / "response.yaml")
    running.collector.access.add_user("carol", PASSWORD, Role.RESPONDER)
    return running


def signed_in(
    browser: Any,
    running: RunningCollector,
    size: tuple[int, int],
    user: str = "carol",
    zone: str = "Asia/Shanghai",
) -> Any:
    """A page signed in as `user` in a browser whose clock is in `zone`."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, timezone_id=zone)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(f"{running.url}/login")
    page.fill("input[name=user]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{running.url}/")
    return page


def trip_memory_rule(running: RunningCollector, clock: FakeClock) -> None:
    for sequence in range(1, 8):  # HostMemoryHigh: above 90 % for 5 minutes
        assert running.post(host_report("web1", clock, sequence, memory_used_ratio=0.95)).ok
        running.tick()
        clock.advance(60)


def test_an_incident_appears_live_and_is_worked_to_closed(
    browser: Any, running: RunningCollector, clock: FakeClock
) -> None:
    from playwright.sync_api import expect

    page = signed_in(browser, running, WIDTHS["desktop"])
    expect(page.locator("#no-incidents")).to_be_visible()
    page.evaluate("window.notReloaded = true")
    trip_memory_rule(running, clock)
    row = page.locator("#live tr.incident")
    expect(row).to_have_count(1, timeout=WAIT_MS)
    expect(row).to_contain_text("web1")
    assert page.evaluate("window.notReloaded === true"), "htmx swapped the fragment in place"

    row.locator("a").click()
    expect(page.locator("#state")).to_have_attribute("data-state", "triggered")
    page.fill("#form-ack input[name=note]", "on it")
    page.click("#form-ack button")
    expect(page.locator("#state")).to_have_attribute("data-state", "acknowledged")
    page.fill("#form-note textarea[name=text]", "restarted the leaking worker")
    page.click("#form-note button")
    expect(page.locator("#timeline")).to_contain_text("restarted the leaking worker")
    page.select_option("#form-regrade select[name=priority]", "P3")
    page.fill("#form-regrade input[name=reason]", "one worker, no customers")
    page.click("#form-regrade button")
    expect(page.locator("#title .badge")).to_have_text("P3")
    page.click("#form-resolve button")
    expect(page.locator("#state")).to_have_attribute("data-state", "resolved")
    page.click("#form-close button")
    expect(page.locator("#state")).to_have_attribute("data-state", "closed")
    names = page.locator("#timeline tbody tr td:nth-child(2)").all_inner_texts()
    assert names[-5:] == ["ACK", "NOTE", "REGRADE", "RESOLVE", "CLOSE"]

    page.goto(f"{running.url}/")
    expect(page.locator("#no-incidents")).to_be_visible()
    page.context.clear_cookies()  # the session ends: the next poll leads to the sign-in page
    page.wait_for_url(f"{running.url}/login?next=/")
    page.context.close()


def test_a_customer_opens_a_ticket_on_a_phone_and_lands_on_it(
    browser: Any, tmp_path: Path, clock: FakeClock
) -> None:
    from playwright.sync_api import expect

    from collector.auth.roles import Role

    (tmp_path / "customers.yaml").write_text('customers:\n  - {name: acme, hosts: ["acme-*"]}\n')
    running = RunningCollector(tmp_path, clock, customers=tmp_path / "customers.yaml")
    try:
        assert running.post(host_report("acme-web1", clock)).ok
        running.collector.access.add_user("ann", PASSWORD, Role.CUSTOMER, "acme")
        page = signed_in(browser, running, WIDTHS["phone"], user="ann")
        page.click("#nav-new-ticket")
        page.fill("#form-ticket input[name=title]", "checkout fails since 9:00")
        page.select_option("#form-ticket select[name=impact]", "high")
        page.check("#form-ticket input[name='host:acme-web1']")
        page.click("#form-ticket button[type=submit]")
        expect(page.locator("#state")).to_have_attribute("data-state", "triggered")
        expect(page.locator("#title")).to_contain_text("checkout fails since 9:00")
        expect(page.locator("#plain-state")).to_be_visible()
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, "the customer's ticket page scrolls sideways on a phone"
        page.context.close()
    finally:
        running.stop()


def test_every_page_in_both_languages_fits_a_phone_and_is_screenshotted(
    browser: Any, tmp_path: Path, clock: FakeClock
) -> None:
    running = with_response(tmp_path, clock)
    try:
        every_page_screenshotted(browser, running, clock)
    finally:
        running.stop()


def every_page_screenshotted(browser: Any, running: RunningCollector, clock: FakeClock) -> None:
    for sequence in range(1, 121):  # two hours of charts, a report a minute
        running.post(host_cycle("web1", clock, sequence, 0.2 + (sequence % 30) / 100))
        clock.advance(60)
    failing = ProbeResult(probe="smart", status="error", duration_seconds=0.1, error="timeout")
    report = host_report("db-primary-with-a-long-name.example.internal", clock)
    running.post(Report(SCHEMA_V1, report.host, clock(), 1, "test", 10.0, [failing]))
    number = open_incident(
        running,
        "Replication lag on db-primary-with-a-long-name.example.internal above 300 s",
        priority="P2",
        description="Check the replica's disk and network; /var/lib/postgresql/data is " + "x" * 80,
        hosts=["db-primary-with-a-long-name.example.internal"],
    )["number"]
    Browser(running, "carol").submit(
        "/silences", matchers="host=web1\nrule=~Disk.*", duration="3h", reason="disk swap"
    )
    pages = {
        "login": "/login",
        "overview": "/",
        "incidents": "/incidents?state=all",
        "incident": f"/incidents/{number}",
        "new-ticket": "/tickets/new",
        "silences": "/silences",
        "hosts": "/hosts",
        "host": "/hosts/web1",
        "oncall": "/oncall",
        "reports": "/reports",
        "me": "/me",
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width_name, size in WIDTHS.items():
        page = signed_in(browser, running, size)
        for lang in ("en", "zh"):
            for name, path in pages.items():
                separator = "&" if "?" in path else "?"
                page.goto(f"{running.url}{path}{separator}lang={lang}")
                assert page.evaluate("document.documentElement.lang").startswith(lang)
                if name == "me":  # zone.js told the console the browser's zone
                    assert "Asia/Shanghai" in page.locator("#zone").inner_text()
                    assert "UTC+8" in page.locator("#zone-now").inner_text()
                if name == "host":  # drawn: 2 h of 24 h is a twelfth of the width
                    assert (
                        page.locator("#chart-cpu svg polyline").first.bounding_box()["width"] > 20
                    )
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, f"{name} ({lang}) scrolls sideways at {size[0]} px"
                page.screenshot(
                    path=str(SCREENSHOTS / f"{name}-{lang}-{width_name}.png"), full_page=True
                )
            silence_preview(page, running.url, lang, width_name)
        page.context.close()
    assert len(list(SCREENSHOTS.glob("*-phone.png"))) >= 18


def silence_preview(page: Any, url: str, lang: str, width_name: str) -> None:
    """The silence form's preview, reached by its button (a POST), fits and is screenshotted."""
    from playwright.sync_api import expect

    page.goto(f"{url}/silences?lang={lang}")
    page.fill("#form-silence textarea[name=matchers]", "host=~web.*")
    page.fill("#form-silence input[name=reason]", "deploy")
    page.click("#preview-button")
    expect(page.locator("#preview-hosts")).to_have_text("web1")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"silence preview ({lang}) scrolls sideways at {width_name}"
    page.screenshot(
        path=str(SCREENSHOTS / f"silence-preview-{lang}-{width_name}.png"), full_page=True
    )
