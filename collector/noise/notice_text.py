"""The words of a maintenance notice to a customer's contact, in English or Chinese.

"Planned maintenance on your servers: Sunday 2027-01-17 02:00–04:00 (Asia/Shanghai)", then
the reason, the servers and a reference; the end notice says it is finished.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from collector.noise.notices import DueNotice
from collector.notify.message import Language

MAX_HOSTS = 20  # servers named in a notice; the rest are counted

_DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "zh": ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"),
}

_WORDS: dict[Language, dict[str, str]] = {
    "en": {
        "before_title": "Planned maintenance on your servers: {when}",
        "end_title": "Maintenance finished on your servers: {when}",
        "greeting": "Dear {name},",
        "before_lead": "we will carry out planned maintenance on your servers on {when}. "
        "They may be unreachable or restart during this time; we expect this and watch them.",
        "end_lead": "the planned maintenance on your servers ({when}) has finished. If "
        "anything does not work as before, please reply to this message.",
        "reason": "Reason",
        "servers": "Servers",
        "more": "and {count} more",
        "reference": "Reference",
        "when": "{day} {date} {start}–{end} ({zone})",
    },
    "zh": {
        "before_title": "计划维护：您的服务器将于{when}进行维护",
        "end_title": "维护已完成：您的服务器{when}的维护已结束",
        "greeting": "{name}，您好：",
        "before_lead": "我们将于{when}对您的服务器进行计划维护。"
        "维护期间服务器可能无法访问或重启，这在我们的预期之内，我们会持续监控。",
        "end_lead": "您的服务器{when}的计划维护已经完成。如有任何异常，请直接回复本邮件。",
        "reason": "原因",
        "servers": "服务器",
        "more": "等共 {total} 台",
        "reference": "编号",
        "when": "{date}（{day}）{start}–{end}（{zone}）",
    },
}


@dataclass(frozen=True)
class NoticeText:
    """A notice's subject line and plain-text body."""

    title: str
    body: str


def window_time(start: float, end: float, zone_name: str, language: Language) -> str:
    """ "Sunday 2027-01-17 02:00–04:00 (Asia/Shanghai)" in the window's time zone."""
    zone = ZoneInfo(zone_name)
    first, last = dt.datetime.fromtimestamp(start, zone), dt.datetime.fromtimestamp(end, zone)
    end_text = last.strftime("%H:%M")
    if last.date() != first.date():
        end_text = last.strftime("%Y-%m-%d %H:%M")
    return _WORDS[language]["when"].format(
        day=_DAYS[language][first.weekday()],
        date=first.strftime("%Y-%m-%d"),
        start=first.strftime("%H:%M"),
        end=end_text,
        zone=zone_name,
    )


def notice_text(
    notice: DueNotice, contact: str, hosts: Sequence[str], language: Language
) -> NoticeText:
    """The notice for one contact (by name) in their language."""
    words = _WORDS[language]
    window = notice.window
    zone = window.notices.timezone if window.notices else "UTC"
    when = window_time(notice.occurrence.start, notice.occurrence.end, zone, language)
    phase = "end" if notice.ending else "before"
    colon = "：" if language == "zh" else ": "
    lines = [
        words["greeting"].format(name=contact),
        "",
        words[f"{phase}_lead"].format(when=when),
        "",
        f"{words['reason']}{colon}{window.reason}",
    ]
    if hosts:
        lines.append(f"{words['servers']}{colon}{_host_list(hosts, language)}")
    lines.append(f"{words['reference']}{colon}maintenance #{window.id}")
    return NoticeText(words[f"{phase}_title"].format(when=when), "\n".join(lines))


def _host_list(hosts: Sequence[str], language: Language) -> str:
    shown = ", ".join(hosts[:MAX_HOSTS])
    if len(hosts) <= MAX_HOSTS:
        return shown
    more = _WORDS[language]["more"].format(count=len(hosts) - MAX_HOSTS, total=len(hosts))
    return f"{shown} {more}"
