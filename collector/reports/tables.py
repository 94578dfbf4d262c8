"""The report's tables, one per section, with titles in English or Chinese (HTML and CSV)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from collector.reports.figures import TimeStats
from collector.reports.satisfaction import satisfaction_rows
from collector.reports.sla import SlaReport

Language = Literal["en", "zh"]

TITLES: dict[str, dict[Language, str]] = {
    "report": {"en": "Monthly SLA report", "zh": "月度服务水平报告"},
    "volume_priority": {"en": "Tickets by priority", "zh": "按优先级统计的工单"},
    "volume_source": {"en": "Tickets by source", "zh": "按来源统计的工单"},
    "volume_rule": {"en": "Tickets by rule", "zh": "按规则统计的工单"},
    "volume_customer": {"en": "Tickets by customer", "zh": "按客户统计的工单"},
    "volume_category": {"en": "Tickets by root-cause category", "zh": "按故障类别统计的工单"},
    "mtta": {"en": "Time to acknowledge (MTTA)", "zh": "平均确认时间 (MTTA)"},
    "mttr": {"en": "Time to resolve (MTTR)", "zh": "平均解决时间 (MTTR)"},
    "first_update": {"en": "Time to first update", "zh": "首次进展通报时间"},
    "attainment": {"en": "SLA attainment", "zh": "服务水平达成率"},
    "breaches": {"en": "SLA breaches", "zh": "服务水平违约"},
    "availability": {"en": "Availability", "zh": "可用性"},
    "noise": {"en": "Noise: where to tune", "zh": "告警噪音"},
    "satisfaction": {"en": "Customer verification and satisfaction", "zh": "客户确认与满意度"},
}

HEADINGS: dict[str, dict[Language, str]] = {
    "priority": {"en": "Priority", "zh": "优先级"},
    "this_month": {"en": "This month", "zh": "本月"},
    "month_minus_1": {"en": "Month −1", "zh": "上月"},
    "month_minus_2": {"en": "Month −2", "zh": "前月"},
    "source": {"en": "Source", "zh": "来源"},
    "rule": {"en": "Rule", "zh": "规则"},
    "customer": {"en": "Customer", "zh": "客户"},
    "category": {"en": "Category", "zh": "类别"},
    "root_cause": {"en": "Root cause", "zh": "根本原因"},
    "tickets": {"en": "Tickets", "zh": "工单数"},
    "count": {"en": "Count", "zh": "数量"},
    "mean_min": {"en": "Mean (min)", "zh": "平均 (分钟)"},
    "median_min": {"en": "Median (min)", "zh": "中位数 (分钟)"},
    "p90_min": {"en": "p90 (min)", "zh": "p90 (分钟)"},
    "clock": {"en": "Clock", "zh": "时钟"},
    "met": {"en": "Met", "zh": "达成"},
    "breached": {"en": "Breached", "zh": "违约"},
    "running": {"en": "Running", "zh": "进行中"},
    "percent_met": {"en": "% met", "zh": "达成率 %"},
    "ticket": {"en": "Ticket", "zh": "工单"},
    "due": {"en": "Due (UTC)", "zh": "截止 (UTC)"},
    "late_min": {"en": "Late by (min)", "zh": "超时 (分钟)"},
    "missed": {"en": "Missed", "zh": "缺失次数"},
    "host": {"en": "Host", "zh": "主机"},
    "availability_pct": {"en": "Availability %", "zh": "可用性 %"},
    "commitment_pct": {"en": "Commitment %", "zh": "承诺 %"},
    "allowed_min": {"en": "Allowed (min)", "zh": "允许停机 (分钟)"},
    "used_min": {"en": "Used (min)", "zh": "已用停机 (分钟)"},
    "maintenance_min": {"en": "Maintenance (min)", "zh": "维护窗口 (分钟)"},
    "within": {"en": "Within", "zh": "达标"},
    "notifications": {"en": "Notifications sent", "zh": "已发送通知"},
    "flaps": {"en": "Flaps", "zh": "抖动次数"},
    "ack_rate": {"en": "Ack rate %", "zh": "确认率 %"},
    "yes": {"en": "yes", "zh": "是"},
    "no": {"en": "no", "zh": "否"},
    "answer": {"en": "Answer", "zh": "结果"},
}


@dataclass(frozen=True)
class Table:
    """One section's table: a file-friendly name, a title, column headings and text cells."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[str]]


def minutes(seconds: float) -> str:
    """Seconds as minutes with one decimal."""
    return f"{seconds / 60:.1f}"


def percent(value: float | None) -> str:
    """A percentage with two decimals ("" when undefined)."""
    return "" if value is None else f"{value:.2f}"


def _utc(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M")


TIMES = ("priority", "count", "mean_min", "median_min", "p90_min")
COLUMNS: dict[str, tuple[str, ...]] = {  # each table, in reading order, with its headings
    "volume_priority": ("priority", "this_month", "month_minus_1", "month_minus_2"),
    "volume_source": ("source", "tickets"),
    "volume_rule": ("rule", "tickets"),
    "volume_customer": ("customer", "tickets"),
    "volume_category": ("category", "tickets"),
    "mtta": TIMES,
    "first_update": TIMES,
    "mttr": TIMES,
    "attainment": ("priority", "clock", "met", "breached", "running", "percent_met"),
    "breaches": ("ticket", "priority", "clock", "due", "late_min", "missed", "root_cause"),
    "availability": (
        "host", "availability_pct", "commitment_pct", "allowed_min", "used_min",
        "maintenance_min", "within",
    ),
    "noise": ("rule", "tickets", "notifications", "flaps", "ack_rate"),
    "satisfaction": ("answer", "tickets"),
}  # fmt: skip

Rows = list[list[str]]


def report_tables(report: SlaReport, language: Language = "en") -> list[Table]:
    """Every table of the report, in reading order."""
    return [
        Table(
            name,
            TITLES[name][language],
            [HEADINGS[key][language] for key in headings],
            table_rows(report, name, language),
        )
        for name, headings in COLUMNS.items()
    ]


def table_rows(report: SlaReport, name: str, language: Language) -> Rows:
    """The cells of table `name` as text."""
    if name == "volume_priority":
        return [[p, *map(str, v)] for p, v in report.volume_by_priority.items()]
    counted = {
        "volume_source": report.volume_by_source,
        "volume_rule": report.volume_by_rule,
        "volume_customer": report.volume_by_customer,
        "volume_category": report.volume_by_category,
    }
    if name in counted:
        return [[k, str(v)] for k, v in counted[name].items()]
    timed = {"mtta": report.mtta, "first_update": report.first_update, "mttr": report.mttr}
    if name in timed:
        return _times(timed[name])
    if name == "availability":
        return _availability(report, language)
    if name == "satisfaction":
        return satisfaction_rows(report.satisfaction)
    return {"attainment": _attainment, "breaches": _breaches, "noise": _noise}[name](report)


def _times(stats: dict[str, TimeStats]) -> Rows:
    return [
        [p, str(s.count), minutes(s.mean), minutes(s.median), minutes(s.p90)]
        for p, s in stats.items()
    ]


def _attainment(report: SlaReport) -> Rows:
    return [
        [a.priority, a.clock, str(a.met), str(a.breached), str(a.running), percent(a.percent)]
        for a in report.attainment
    ]


def _breaches(report: SlaReport) -> Rows:
    return [
        [
            b.number,
            b.priority,
            b.clock,
            "" if b.clock == "update" else _utc(b.due_at),
            "" if b.clock == "update" else minutes(b.late_seconds),
            str(b.missed),
            b.cause,
        ]
        for b in report.breaches
    ]


def _availability(report: SlaReport, language: Language) -> Rows:
    return [
        [
            a.host,
            f"{a.percent:.3f}",
            f"{a.commitment:g}",
            minutes(a.allowed_seconds),
            minutes(a.down_seconds),
            minutes(a.maintenance_seconds),
            HEADINGS["yes" if a.met else "no"][language],
        ]
        for a in report.availability
    ]


def _noise(report: SlaReport) -> Rows:
    return [
        [n.rule, str(n.incidents), str(n.notifications_sent), str(n.flaps), f"{n.ack_rate:.1f}"]
        for n in report.noise
    ]
