"""The health report's tables, one per section, with titles in English or Chinese."""

from __future__ import annotations

import datetime as dt

from collector.reports.advice import RESOURCE_NAMES, problem_name, recommendations
from collector.reports.baselines import Baseline
from collector.reports.hardware import DiskRisk
from collector.reports.health import HealthReport
from collector.reports.inventory import HostInventory
from collector.reports.tables import HEADINGS as SLA_HEADINGS
from collector.reports.tables import Language, Table

TITLES: dict[str, dict[Language, str]] = {
    "report": {"en": "Quarterly health check", "zh": "季度健康检查报告"},
    "recommendations": {"en": "Recommendations", "zh": "建议"},
    "baselines": {"en": "Resource baselines and trends", "zh": "资源基线与趋势"},
    "filesystems": {"en": "Filesystem growth", "zh": "文件系统增长"},
    "network": {"en": "Network errors", "zh": "网络错误"},
    "disks": {"en": "Disk health (SMART risk)", "zh": "磁盘健康（SMART 风险）"},
    "components": {"en": "Arrays and controllers", "zh": "阵列与控制器"},
    "sensors": {"en": "BMC sensor extremes", "zh": "BMC 传感器极值"},
    "bmc_log": {"en": "BMC event log of the quarter", "zh": "本季度 BMC 事件日志"},
    "inventory": {"en": "Hardware inventory", "zh": "硬件清单"},
    "hardware": {"en": "Hardware identified by the probes", "zh": "探针识别的硬件"},
    "end_of_life": {"en": "Warranty and support ending", "zh": "保修与支持到期"},
}

HEADINGS: dict[str, dict[Language, str]] = {
    "host": {"en": "Host", "zh": "主机"},
    "resource": {"en": "Resource", "zh": "资源"},
    "days": {"en": "Days", "zh": "天数"},
    "p50": {"en": "Typical day (p50)", "zh": "典型日 (p50)"},
    "p95": {"en": "Busy day (p95)", "zh": "繁忙日 (p95)"},
    "peak": {"en": "Peak", "zh": "峰值"},
    "trend": {"en": "Trend per 30 days", "zh": "每 30 天趋势"},
    "mountpoint": {"en": "Filesystem", "zh": "文件系统"},
    "size_gb": {"en": "Size (GB)", "zh": "容量 (GB)"},
    "used_pct": {"en": "Used %", "zh": "已用 %"},
    "growth_gb_day": {"en": "Growth (GB/day)", "zh": "增长 (GB/天)"},
    "days_until_full": {"en": "Days until full", "zh": "预计写满天数"},
    "interface": {"en": "Interface", "zh": "接口"},
    "errors": {"en": "Errors", "zh": "错误"},
    "drops": {"en": "Drops", "zh": "丢包"},
    "device": {"en": "Disk", "zh": "磁盘"},
    "model": {"en": "Model", "zh": "型号"},
    "serial": {"en": "Serial", "zh": "序列号"},
    "reallocated": {"en": "Reallocated", "zh": "重新分配扇区"},
    "growth": {"en": "Growth", "zh": "本季增长"},
    "pending": {"en": "Pending", "zh": "待处理扇区"},
    "uncorrectable": {"en": "Uncorrectable", "zh": "不可修复扇区"},
    "media_errors": {"en": "Media errors", "zh": "介质错误"},
    "wear_pct": {"en": "Wear %", "zh": "磨损 %"},
    "score": {"en": "Risk score", "zh": "风险分"},
    "risk": {"en": "Risk", "zh": "风险"},
    "component": {"en": "Component", "zh": "部件"},
    "problem": {"en": "Problem", "zh": "问题"},
    "days_bad": {"en": "Days with the problem", "zh": "故障天数"},
    "days_rebuilding": {"en": "Days rebuilding", "zh": "重建天数"},
    "at_end": {"en": "Still at quarter end", "zh": "季度末仍存在"},
    "max_celsius": {"en": "Max °C", "zh": "最高温度 °C"},
    "sensor": {"en": "Sensor", "zh": "传感器"},
    "fan_days": {"en": "Fan failure days", "zh": "风扇故障天数"},
    "psu_days": {"en": "PSU failure days", "zh": "电源故障天数"},
    "bmc_events": {"en": "BMC log entries", "zh": "BMC 日志条目"},
    "purchased": {"en": "Purchased", "zh": "购买日期"},
    "warranty_end": {"en": "Warranty ends", "zh": "保修到期"},
    "support_end": {"en": "Support ends", "zh": "支持到期"},
    "what": {"en": "What ends", "zh": "到期项目"},
    "date": {"en": "Date", "zh": "日期"},
    "days_left": {"en": "Days left", "zh": "剩余天数"},
    "recommendation": {"en": "Recommendation", "zh": "建议"},
    "kind": {"en": "Kind", "zh": "类型"},
    "time_utc": {"en": "Time (UTC)", "zh": "时间 (UTC)"},
    "message": {"en": "Entry", "zh": "条目"},
    "name": {"en": "Name", "zh": "名称"},
    "vendor": {"en": "Vendor", "zh": "厂商"},
    "firmware": {"en": "Firmware", "zh": "固件"},
    "high": {"en": "high", "zh": "高"},
    "watch": {"en": "watch", "zh": "关注"},
    "low": {"en": "low", "zh": "低"},
    "warranty": {"en": "warranty", "zh": "保修"},
    "support": {"en": "support", "zh": "厂商支持"},
}

COLUMNS: dict[str, tuple[str, ...]] = {
    "recommendations": ("recommendation",),
    "baselines": ("host", "resource", "days", "p50", "p95", "peak", "trend"),
    "filesystems": (
        "host",
        "mountpoint",
        "size_gb",
        "used_pct",
        "growth_gb_day",
        "days_until_full",
    ),
    "network": ("host", "interface", "errors", "drops"),
    "disks": (
        "host",
        "device",
        "model",
        "serial",
        "reallocated",
        "growth",
        "pending",
        "uncorrectable",
        "media_errors",
        "wear_pct",
        "score",
        "risk",
    ),
    "components": ("host", "component", "problem", "days_bad", "days_rebuilding", "at_end"),
    "sensors": ("host", "max_celsius", "sensor", "fan_days", "psu_days", "bmc_events"),
    "bmc_log": ("time_utc", "host", "message"),
    "inventory": ("host", "model", "serial", "purchased", "warranty_end", "support_end"),
    "hardware": ("host", "kind", "name", "vendor", "model", "serial", "firmware"),
    "end_of_life": ("host", "what", "date", "days_left"),
}

Rows = list[list[str]]


def health_tables(report: HealthReport, language: Language = "en") -> list[Table]:
    """Every table of the report, in reading order."""
    return [
        Table(
            name,
            TITLES[name][language],
            [HEADINGS[k][language] for k in columns],
            _rows(report, name, language),
        )
        for name, columns in COLUMNS.items()
    ]


def _say(key: str, language: Language) -> str:
    return HEADINGS.get(key, SLA_HEADINGS.get(key, {})).get(language, key)


def _rows(report: HealthReport, name: str, language: Language) -> Rows:  # noqa: PLR0911 - one per table
    if name == "recommendations":
        return [[text] for text in recommendations(report, language)]
    if name == "baselines":
        return [_baseline(b, language) for b in report.baselines]
    if name == "filesystems":
        return [
            [
                f.host,
                f.mountpoint,
                _gb(f.size_bytes),
                f"{100 * f.used_ratio:.1f}",
                _growth(f.growth_bytes_per_day),
                "" if f.days_until_full is None else f"{f.days_until_full:.0f}",
            ]
            for f in report.filesystems
        ]
    if name == "network":
        return [[n.host, n.interface, f"{n.errors:g}", f"{n.drops:g}"] for n in report.network]
    if name == "disks":
        return [_disk(d, language) for d in report.disks]
    if name == "components":
        return [
            [
                c.host,
                c.component,
                problem_name(c.problem, language),
                str(c.days_bad),
                str(c.days_rebuilding),
                _say("yes" if c.bad_at_end else "no", language),
            ]
            for c in report.components
        ]
    if name == "sensors":
        return _sensors(report)
    if name == "inventory":
        return [_inventory(report, h, i) for h, i in report.inventory.items()]
    if name == "bmc_log":
        return [[_utc(e.time), e.host, e.message] for e in report.bmc_log]
    if name == "hardware":
        return [
            [h, i.kind, i.name, i.vendor, i.model, i.serial, i.firmware]
            for h, items in report.hardware.items()
            for i in items
        ]
    return [
        [e.host, _say(e.kind, language), e.date.isoformat(), str(e.days_left)]
        for e in report.end_of_life
    ]


def _baseline(b: Baseline, language: Language) -> list[str]:
    def shown(value: float) -> str:
        return f"{value:.2f}" if b.resource == "load" else f"{100 * value:.1f} %"

    trend = (
        ""
        if b.trend is None
        else (f"{b.trend:+.2f}" if b.resource == "load" else f"{100 * b.trend:+.1f} pt")
    )
    name = RESOURCE_NAMES[b.resource][language]
    return [b.host, name, str(b.days), shown(b.p50), shown(b.p95), shown(b.peak), trend]


def _disk(d: DiskRisk, language: Language) -> list[str]:
    f = d.figures

    def figure(metric: str) -> str:
        return f"{f[metric]:g}" if metric in f else ""

    level = "high" if d.high else ("watch" if d.score > 0 else "low")
    return [
        d.host,
        d.device,
        d.model,
        d.serial,
        figure("smart_reallocated_sectors"),
        f"{d.reallocated_growth:g}",
        figure("smart_pending_sectors"),
        figure("smart_offline_uncorrectable_sectors"),
        figure("smart_nvme_media_errors"),
        "" if d.wear is None else f"{100 * d.wear:.0f}",
        f"{d.score:g}",
        _say(level, language),
    ]


def _sensors(report: HealthReport) -> Rows:
    hosts = sorted({s.host for s in report.sensors} | set(report.bmc_events))
    by_host = {s.host: s for s in report.sensors}
    rows = []
    for host in hosts:
        s = by_host.get(host)
        peak = "" if s is None or s.max_celsius is None else f"{s.max_celsius:g}"
        rows.append(
            [
                host,
                peak,
                s.hottest if s else "",
                str(s.fan_failure_days if s else 0),
                str(s.psu_failure_days if s else 0),
                str(report.bmc_events.get(host, 0)),
            ]
        )
    return rows


def _inventory(report: HealthReport, host: str, item: HostInventory) -> list[str]:
    """The file's entry; model and serial from the probes' `system` item when it has none."""
    system = next((i for i in report.hardware.get(host, []) if i.kind == "system"), None)
    model = item.model or (f"{system.vendor} {system.model}".strip() if system else "")
    serial = item.serial or (system.serial if system else "")
    dates = (item.purchased, item.warranty_end, item.support_end)
    return [host, model, serial, *(_date(d) for d in dates)]


def _growth(bytes_per_day: float | None) -> str:
    """GB a day with two decimals ("" unknown; a flat filesystem shows 0.00, never -0.00)."""
    return "" if bytes_per_day is None else f"{round(bytes_per_day / 1e9, 2) + 0.0:.2f}"


def _utc(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M")


def _gb(value: float) -> str:
    return f"{value / 1e9:.1f}"


def _date(value: dt.date | None) -> str:
    return "" if value is None else value.isoformat()
