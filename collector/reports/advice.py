"""Recommendations in plain language, made from the health report's figures (English, Chinese)."""

from __future__ import annotations

from collections.abc import Iterator

from collector.reports.health import HealthReport
from collector.reports.tables import Language

FULL_WITHIN_DAYS = 90  # a filesystem full sooner than this gets a recommendation
BUSY = {"cpu": 0.9, "memory": 0.9, "load": 1.5}  # p95 of a busy day from which it is said
NETWORK_ERRORS = 1000

TEXT: dict[str, dict[Language, str]] = {
    "filesystem": {
        "en": "Filesystem {mount} on {host} will be full in about {days} days at its current "
        "growth ({rate} GB a day); extend it or clean up.",
        "zh": "{host} 上的文件系统 {mount} 按当前增长速度（每天 {rate} GB）约 {days} 天后写满；"
        "请扩容或清理。",
    },
    "disk": {
        "en": "Disk {device} on {host} has {realloc} reallocated and {pending} pending sectors"
        "{rising}: plan a replacement.",
        "zh": "{host} 上的磁盘 {device} 有 {realloc} 个重新分配扇区和 {pending} 个待处理扇区"
        "{rising}：请计划更换。",
    },
    "rising": {
        "en": " and rising (+{growth} this quarter)",
        "zh": "，且仍在增加（本季度 +{growth}）",
    },
    "busy": {
        "en": "{resource} on {host} is busy: {p95} on a busy day (95th percentile); review the "
        "workload or add capacity.",
        "zh": "{host} 的{resource}负载偏高：繁忙日的第 95 百分位为 {p95}；请检查工作负载或扩容。",
    },
    "component": {
        "en": "{component} on {host} still had a problem at the end of the quarter ({problem}, "
        "{days} days in all); replace the failed part and let it rebuild.",
        "zh": "{host} 上的 {component} 在季度末仍存在问题（{problem}，共 {days} 天）；"
        "请更换故障部件并完成重建。",
    },
    "fan": {
        "en": "A fan or power supply of {host} failed on {days} days this quarter; have it "
        "checked.",
        "zh": "{host} 的风扇或电源本季度有 {days} 天出现故障；请安排检修。",
    },
    "network": {
        "en": "Interface {interface} on {host} counted {errors} errors this quarter; check the "
        "cable, the switch port and the duplex setting.",
        "zh": "{host} 的网络接口 {interface} 本季度出现 {errors} 个错误；"
        "请检查网线、交换机端口和双工设置。",
    },
    "warranty": {
        "en": "The warranty of {host} ends on {date} (in {days} days); renew it or plan the "
        "replacement.",
        "zh": "{host} 的保修将于 {date} 到期（还有 {days} 天）；请续保或计划更换。",
    },
    "warranty_past": {
        "en": "The warranty of {host} ended on {date}; renew it or plan the replacement.",
        "zh": "{host} 的保修已于 {date} 到期；请续保或计划更换。",
    },
    "support": {
        "en": "Vendor support for {host} ends on {date} (in {days} days); plan the replacement.",
        "zh": "{host} 的厂商支持将于 {date} 结束（还有 {days} 天）；请计划更换。",
    },
    "support_past": {
        "en": "Vendor support for {host} ended on {date}; plan the replacement.",
        "zh": "{host} 的厂商支持已于 {date} 结束；请计划更换。",
    },
}
RESOURCE_NAMES: dict[str, dict[Language, str]] = {
    "cpu": {"en": "CPU", "zh": "CPU"},
    "memory": {"en": "Memory", "zh": "内存"},
    "load": {"en": "Load per core", "zh": "每核负载"},
}

PROBLEMS: dict[str, dict[Language, str]] = {
    "degraded": {"en": "degraded", "zh": "降级"},
    "failed": {"en": "failed", "zh": "故障"},
    "offline": {"en": "offline", "zh": "离线"},
    "controller fault": {"en": "controller fault", "zh": "控制器故障"},
    "battery fault": {"en": "battery fault", "zh": "电池故障"},
    "rebuilt": {"en": "rebuilt", "zh": "已重建"},
}


def problem_name(problem: str, language: Language) -> str:
    """A component's problem in the report's language."""
    return PROBLEMS.get(problem, {}).get(language, problem)


def recommendations(report: HealthReport, language: Language = "en") -> list[str]:
    """Every recommendation, the most urgent kinds first."""
    return list(_all(report, language))


def _say(key: str, language: Language, **values: object) -> str:
    return TEXT[key][language].format(**values)


def _all(report: HealthReport, language: Language) -> Iterator[str]:
    for fs in report.filesystems:
        if fs.days_until_full is not None and fs.days_until_full <= FULL_WITHIN_DAYS:
            rate = f"{(fs.growth_bytes_per_day or 0) / 1e9:.1f}"
            yield _say(
                "filesystem",
                language,
                mount=fs.mountpoint,
                host=fs.host,
                days=round(fs.days_until_full),
                rate=rate,
            )
    for disk in report.disks:
        if disk.high:
            rising = _say("rising", language, growth=f"{disk.reallocated_growth:g}")
            yield _say(
                "disk",
                language,
                device=disk.device,
                host=disk.host,
                realloc=f"{disk.figures.get('smart_reallocated_sectors', 0):g}",
                pending=f"{disk.figures.get('smart_pending_sectors', 0):g}",
                rising=rising if disk.reallocated_growth > 0 else "",
            )
    for part in report.components:
        if part.bad_at_end:
            yield _say(
                "component",
                language,
                component=part.component,
                host=part.host,
                problem=problem_name(part.problem, language),
                days=part.days_bad,
            )
    for sensors in report.sensors:
        if sensors.fan_failure_days or sensors.psu_failure_days:
            days = max(sensors.fan_failure_days, sensors.psu_failure_days)
            yield _say("fan", language, host=sensors.host, days=days)
    for item in report.end_of_life:
        key = item.kind + ("_past" if item.days_left < 0 else "")
        yield _say(key, language, host=item.host, date=item.date, days=item.days_left)
    yield from _busy(report, language)
    for nic in report.network:
        if nic.errors >= NETWORK_ERRORS:
            yield _say(
                "network",
                language,
                interface=nic.interface,
                host=nic.host,
                errors=f"{nic.errors:g}",
            )


def _busy(report: HealthReport, language: Language) -> Iterator[str]:
    for base in report.baselines:
        if base.p95 >= BUSY[base.resource]:
            shown = f"{base.p95:.2f}" if base.resource == "load" else f"{100 * base.p95:.0f} %"
            yield _say(
                "busy",
                language,
                resource=RESOURCE_NAMES[base.resource][language],
                host=base.host,
                p95=shown,
            )
