"""The console's reports page: the last months' SLA reports and the last quarters' health
checks, each a download link (PDF, HTML, CSV) for all hosts or one customer."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collector.api.context import ApiContext
from collector.reports.downloads import DownloadError, ReportFile, ReportSource
from collector.reports.period import Month, Quarter
from collector.web.me import remember_language
from collector.web.pages import Pages

MONTHS_LISTED = 12
QUARTERS_LISTED = 4


def periods(now: float, timezone: str) -> tuple[list[Month], list[Quarter]]:
    """This month and the 11 before it, this quarter and the 3 before it, newest first."""
    local = dt.datetime.fromtimestamp(now, ZoneInfo(timezone))
    month = Month(local.year, local.month, timezone)
    quarter = Quarter(local.year, (local.month - 1) // 3 + 1, timezone)
    return (
        [month.shifted(-n) for n in range(MONTHS_LISTED)],
        [quarter.shifted(-n) for n in range(QUARTERS_LISTED)],
    )


def report_routes(ctx: ApiContext, source: ReportSource) -> list[Route]:
    """GET /reports (the page) and the two download routes."""
    pages = Pages(ctx.clock, remember_language(ctx))

    async def page(request: Request) -> Response:
        chosen = _choices(request, source, pages.times(request).name)
        if isinstance(chosen, str):
            return pages.render(request, "missing.html", 404, what=chosen)
        customer, timezone = chosen
        months, quarters = periods(ctx.clock(), timezone)
        query = _query(customer, timezone, pages.language(request))
        return pages.render(
            request, "reports.html", months=months, quarters=quarters, query=query,
            customers=source.customers(), customer=customer or "", timezone=timezone,
        )  # fmt: skip

    async def download(request: Request) -> Response:
        kind, label = request.url.path.split("/")[2], request.path_params["period"]
        chosen = _choices(request, source, "UTC")
        if isinstance(chosen, str):
            return pages.render(request, "missing.html", 404, what=chosen)
        customer, timezone = chosen
        form = request.query_params.get("format", "pdf")
        language = "zh" if request.query_params.get("language") == "zh" else "en"
        try:
            made = await run_in_threadpool(
                _make, source, kind, label, timezone, customer, form, language, ctx.clock()
            )
        except (DownloadError, ValueError) as exc:
            return pages.render(request, "missing.html", 404, what=str(exc))
        disposition = f'attachment; filename="{made.filename}"'
        return Response(made.content, media_type=made.media_type,
                        headers={"Content-Disposition": disposition})  # fmt: skip

    return [
        Route("/reports", page, methods=["GET"]),
        Route("/reports/sla/{period}", download, methods=["GET"]),
        Route("/reports/health/{period}", download, methods=["GET"]),
    ]


def _make(source: ReportSource, kind: str, label: str, timezone: str, customer: str | None,
          form: str, language: Any, now: float) -> ReportFile:  # fmt: skip
    if kind == "sla":
        return source.sla(Month.parse(label, timezone), customer, form, language, now)
    return source.health(Quarter.parse(label, timezone), customer, form, language, now)


def _choices(request: Request, source: ReportSource, zone: str) -> tuple[str | None, str] | str:
    """(customer or None, time zone: the reader's `zone` if none given), or what is wrong."""
    customer = request.query_params.get("customer") or None
    timezone = request.query_params.get("timezone") or zone
    if customer is not None and customer not in source.customers():
        return f"customer {customer}"
    try:
        Month.parse("2026-01", timezone)
    except ValueError:
        return f"time zone {timezone}"
    return customer, timezone


def _query(customer: str | None, timezone: str, language: str) -> str:
    from urllib.parse import urlencode

    pairs = {"customer": customer or "", "timezone": timezone, "language": language}
    return urlencode({k: v for k, v in pairs.items() if v})
