"""The console's reports page: viewers list the months and quarters and download each report
(PDF, HTML, CSV); customers are refused; a real browser downloads the PDF from the link."""

from __future__ import annotations

import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from collector.auth.roles import Role
from tests.collector.harness import RunningCollector
from tests.collector.web.conftest import PASSWORD, Browser
from tests.collector.web.test_browser import SCREENSHOTS, WIDTHS, browser  # noqa: F401 - fixture

# The harness clock starts on 2027-01-15 (UTC).


def test_a_viewer_lists_the_periods_and_downloads_each_format(
    running: RunningCollector, vera: Browser
) -> None:
    page = vera.get("/reports")
    assert page.status_code == 200
    assert 'href="/reports/sla/2027-01?timezone=UTC&amp;language=en&amp;format=pdf"' in page.text
    assert "2026-02" in page.text and "2026-01" not in page.text  # this month and 11 before
    assert "/reports/health/2026-Q2?" in page.text and "2026-Q1" not in page.text
    pdf = vera.get("/reports/sla/2026-12?format=pdf&language=zh")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-disposition"] == 'attachment; filename="sla-2026-12.pdf"'
    csv = vera.get("/reports/health/2026-Q4?format=csv&timezone=Asia/Shanghai")
    with zipfile.ZipFile(BytesIO(csv.content)) as archive:
        assert "recommendations.csv" in archive.namelist()
    html = vera.get("/reports/health/2026-Q4?format=html")
    assert "<h1>Quarterly health check — 2026-Q4</h1>" in html.text


@pytest.mark.parametrize(
    "path",
    ["/reports?customer=nobody", "/reports/sla/2026-13", "/reports/sla/2026-12?format=doc",
     "/reports/health/2026-Q3?timezone=Mars/Base"],
    ids=["customer", "month", "format", "timezone"],
)  # fmt: skip
def test_unknown_choices_answer_not_found(vera: Browser, path: str) -> None:
    assert vera.get(path).status_code == 404


def test_a_customer_user_may_not_download_reports(running: RunningCollector) -> None:
    running.collector.access.add_user("cust", PASSWORD, Role.CUSTOMER, "acme")
    customer = Browser(running, "cust")
    assert customer.get("/reports").status_code == 403
    assert customer.get("/reports/sla/2026-12").status_code == 403
    assert 'href="/reports"' not in customer.get("/").text


@pytest.mark.peer
def test_the_download_button_saves_the_pdf_in_a_real_browser(
    browser: Any,  # noqa: F811 - the fixture imported above
    running: RunningCollector,
    tmp_path: Path,
) -> None:
    context = browser.new_context(viewport={"width": WIDTHS["desktop"][0], "height": 900},
                                  accept_downloads=True)  # fmt: skip
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(f"{running.url}/login")
    page.fill("input[name=user]", "vera")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{running.url}/")
    page.click("a[href='/reports']")
    with page.expect_download() as started:
        page.click("#sla-reports tbody tr:nth-child(2) a.download")  # last month's PDF
    download = started.value
    assert download.suggested_filename == "sla-2026-12.pdf"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF-")
    context.close()


def test_the_consoles_health_report_lists_the_hardware_an_agent_identified(
    running: RunningCollector, vera: Browser
) -> None:
    from agent.report import SCHEMA_V1, InventoryItem, ProbeResult, Report

    item = InventoryItem("system", "system", "Dell Inc.", "PowerEdge R750", "8YK3M04", "2.19.1")
    probe = ProbeResult("inventory", "ok", 0.01, inventory=[item])
    clock = running.clock
    assert running.post(Report(SCHEMA_V1, "db-9", clock(), 1, "t", 60.0, [probe])).ok
    html = vera.get("/reports/health/2027-Q1?format=html").text
    assert "Hardware identified by the probes" in html
    assert "<td>db-9</td>" in html and "<td>8YK3M04</td>" in html and "<td>2.19.1</td>" in html


@pytest.mark.peer
def test_the_reports_page_fits_a_phone_in_both_languages_and_is_screenshotted(
    browser: Any,  # noqa: F811 - the fixture imported above
    running: RunningCollector,
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width_name, size in WIDTHS.items():
        context = browser.new_context(viewport={"width": size[0], "height": size[1]})
        page = context.new_page()
        page.goto(f"{running.url}/login")
        page.fill("input[name=user]", "vera")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{running.url}/")
        for lang in ("en", "zh"):
            page.goto(f"{running.url}/reports?lang={lang}")
            assert page.evaluate("document.documentElement.lang").startswith(lang)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"reports ({lang}) scrolls sideways at {size[0]} px"
            page.screenshot(
                path=str(SCREENSHOTS / f"reports-{lang}-{width_name}.png"), full_page=True
            )
        context.close()


def test_the_reports_page_defaults_to_the_readers_time_zone(vera: Browser) -> None:
    assert 'name="timezone" value="UTC"' in vera.get("/reports").text, "nothing chosen: UTC"
    vera.session.cookies.set("tz", "Asia/Shanghai")  # the browser's zone, as zone.js sets it
    page = vera.get("/reports").text
    assert 'name="timezone" value="Asia/Shanghai"' in page
    assert (
        'name="timezone" value="Europe/Berlin"' in vera.get("/reports?timezone=Europe/Berlin").text
    )
