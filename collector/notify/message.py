"""The messages people get about an incident: plain text, English or Chinese, one SMS title.

Every message carries the ticket number; values are shown in human units; e-mails of one
incident form one thread (the opening message's Message-ID is every later one's parent).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, get_args

from collector.incidents.commands import MessageEvent
from collector.incidents.model import Incident
from collector.notify.attachments import Attachment
from collector.notify.units import format_duration, format_quantity
from rules.priority import Priority

NotificationEvent = MessageEvent
Language = Literal["en", "zh"]

# One SMS segment: the title must survive being the only thing a pager shows.
TITLE_MAX_CHARS = 160
MESSAGE_ID_DOMAIN = "watchkeeper"

_WORDS: dict[Language, dict[str, str]] = {
    "en": {
        "opened": "OPEN",
        "reopened": "REOPENED",
        "resolved": "RESOLVED",
        "renotify": "STILL OPEN",
        "regraded": "RAISED",
        "escalated": "ESCALATED",
        "sla_warning": "SLA WARNING",
        "sla_breach": "SLA BREACHED",
        "update": "UPDATE",
        "update_reminder": "UPDATE DUE",
        "flapping": "FLAPPING",
        "settled": "STILL FAILING",
        "on": " on ",
        "ticket": "Ticket",
        "meaning": "What it means",
        "host": "Host",
        "rule": "Rule",
        "priority": "Priority",
        "labels": "Labels",
        "value": "Value",
        "threshold": "Threshold",
        "value_now": "Value now",
        "opened_at": "Opened",
        "resolved_at": "Resolved",
        "duration": "Time to resolve",
        "reporter": "Reported by",
        "link": "Link",
        "vip": "VIP customer",
        "resolved_lead": "Resolved after {duration}: value now {value}.",
        "resolved_lead_plain": "Resolved after {duration}.",
        "renotify_lead": "Still not acknowledged, open for {duration}.",
        "reopened_lead": "It is back (reopened {count} time(s)).",
        "escalated_lead": "Escalated: nobody has acknowledged it yet, open for {duration}.",
        "auto_update": "Status after {duration}: {state}{who}; value {value}.",
        "on_it": ", {who} on it",
    },
    "zh": {
        "opened": "告警",
        "reopened": "重新打开",
        "resolved": "已恢复",
        "renotify": "仍未确认",
        "regraded": "升级",
        "escalated": "已升级",
        "sla_warning": "SLA 预警",
        "sla_breach": "SLA 超时",
        "update": "进展",
        "update_reminder": "请更新进展",
        "flapping": "状态反复",
        "settled": "仍未恢复",
        "on": "，主机 ",
        "ticket": "工单",
        "meaning": "含义",
        "host": "主机",
        "rule": "规则",
        "priority": "优先级",
        "labels": "标签",
        "value": "数值",
        "threshold": "阈值",
        "value_now": "当前数值",
        "opened_at": "开始时间",
        "resolved_at": "恢复时间",
        "duration": "处理时长",
        "reporter": "报告人",
        "link": "链接",
        "vip": "VIP 客户",
        "resolved_lead": "已恢复，历时 {duration}：当前数值 {value}。",
        "resolved_lead_plain": "已恢复，历时 {duration}。",
        "renotify_lead": "仍未确认，已持续 {duration}。",
        "reopened_lead": "问题再次出现（第 {count} 次重新打开）。",
        "escalated_lead": "已升级：仍无人确认，已持续 {duration}。",
        "auto_update": "进展（已持续 {duration}）：{state}{who}；当前数值 {value}。",
        "on_it": "，{who} 正在处理",
    },
}


@dataclass(frozen=True)
class Notification:
    """One message about one incident event for one channel, ready to send.

    `time` is the event's Unix time; `title` fits one SMS; `body` is plain text.
    """

    incident_key: str
    incident_id: int | None
    event: NotificationEvent
    priority: Priority
    host: str
    rule: str
    summary: str
    title: str
    body: str
    labels: dict[str, str] = field(default_factory=dict)
    value: float | str | None = None
    time: float = 0.0
    number: str = ""
    # Delivery identity: the outbox row's key (webhook Idempotency-Key), the e-mail Message-ID
    # derived from it, and the Message-ID of the incident's first message (threading).
    idempotency_key: str = ""
    message_id: str = ""
    in_reply_to: str | None = None
    attachments: tuple[Attachment, ...] = ()  # files sent along (a report's PDF); mail only


def is_vip(incident: Incident) -> bool:
    """Whether the incident's customer was a VIP when it opened (frozen in its annotations)."""
    return incident.annotations.get("vip") == "yes"


def thread_root(incident: Incident) -> str:
    """The Message-ID of an incident's opening message: the parent of all the others."""
    return f"<{incident.number or incident.id}@{MESSAGE_ID_DOMAIN}>"


def delivery_key(incident: Incident, event: NotificationEvent, channel: str) -> str:
    """Stable key of one message to one channel (the incident's version marks the change)."""
    text = f"{incident.id}\x1f{incident.version}\x1f{event}\x1f{channel}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def compose_notification(
    incident: Incident,
    event: NotificationEvent,
    language: Language = "en",
    console_url: str | None = None,
    channel: str = "",
    now: float | None = None,
    text: str = "",
) -> Notification:
    """The message for `event` of `incident` to `channel`, in `language`; `text` is the words
    of an update or of an SLA warning."""
    if event not in get_args(NotificationEvent):
        raise ValueError(f"notification event must be one of {get_args(NotificationEvent)}")
    if language not in _WORDS:
        raise ValueError(f"notification language must be 'en' or 'zh', not {language!r}")
    time = _event_time(incident, event, now)
    key = delivery_key(incident, event, channel)
    root = thread_root(incident)
    opening = event == "opened"
    return Notification(
        incident_key=incident.key or "",
        incident_id=incident.id,
        event=event,
        priority=incident.priority,
        host=incident.host,
        rule=incident.rule,
        summary=incident.summary,
        title=compose_title(incident, event, language, time),
        body=_compose_body(incident, event, language, console_url, time, text),
        labels=dict(incident.labels),
        value=incident.value,
        time=time,
        number=incident.number,
        idempotency_key=key,
        message_id=root if opening else f"<{key}@{MESSAGE_ID_DOMAIN}>",
        in_reply_to=None if opening else root,
    )


def compose_title(
    incident: Incident, event: NotificationEvent, language: Language, time: float | None = None
) -> str:
    """ "[P1] INC-2026-000123 OPEN FilesystemFull on web1: / is 96% full", cut to one SMS."""
    words = _WORDS[language]
    what = incident.rule or incident.summary
    vip = "[VIP]" if is_vip(incident) else ""
    parts = (f"[{incident.priority}]", vip, incident.number, words[event], what)
    head = " ".join(p for p in parts if p)
    if incident.host and incident.host not in incident.summary and incident.host not in what:
        head += f"{words['on']}{incident.host}"
    if event == "resolved" and time is not None:
        tail = _resolved_lead(incident, language, time)
    elif incident.rule:
        tail = incident.summary
    else:
        tail = ""
    separator = "：" if language == "zh" else ": "
    return _shorten(f"{head}{separator}{tail}" if tail else head, TITLE_MAX_CHARS)


def _compose_body(
    incident: Incident,
    event: NotificationEvent,
    language: Language,
    console_url: str | None,
    time: float,
    text: str = "",
) -> str:
    words = _WORDS[language]
    metric = incident.annotations.get("metric", "")
    lead = _lead(incident, event, language, time, text)
    fields: list[tuple[str, str]] = [("ticket", incident.number)]
    if is_vip(incident):
        fields.append(("vip", incident.annotations.get("customer", "")))
    if incident.description:
        fields.append(("meaning", incident.description.strip()))
    fields += (
        [("host", ", ".join(incident.hosts) or incident.host)]
        if incident.hosts or incident.host
        else []
    )
    if incident.rule:
        fields.append(("rule", incident.rule))
    fields.append(("priority", str(incident.priority)))
    if incident.labels:
        fields.append(("labels", format_labels(incident.labels)))
    opening_value = incident.annotations.get("opening_value")
    if event == "resolved" and opening_value is not None:
        fields.append(("value", opening_value))
        fields.append(("value_now", format_quantity(incident.value, metric)))
    elif incident.value is not None:
        fields.append(("value", format_quantity(incident.value, metric)))
    if "condition" in incident.annotations:
        fields.append(("threshold", incident.annotations["condition"]))
    fields.append(("opened_at", format_time(incident.opened_at)))
    if event == "resolved":
        fields.append(("resolved_at", format_time(time)))
        fields.append(("duration", format_duration(time - incident.opened_at)))
    if incident.reporter:
        fields.append(("reporter", incident.reporter))
    if console_url:
        fields.append(("link", incident_link(console_url, incident)))
    colon = "：" if language == "zh" else ": "
    # The summary leads on its own line so an SMS gateway that drops the title still says it.
    return "\n".join([*lead, ""] + [f"{words[k]}{colon}{v}" for k, v in fields])


# One SMS segment: 160 GSM-7 characters, or 70 once a Chinese (UCS-2) character is in it.
SMS_CHARS = {"en": 160, "zh": 70}


def sms_text(title: str, language: Language) -> str:
    """The title cut to one SMS; the ticket number stays (it is at the front)."""
    wide = language == "zh" or any(c >= "\u2e80" for c in title)  # CJK needs UCS-2
    limit = SMS_CHARS["zh"] if wide else SMS_CHARS["en"]
    return _shorten(title, limit)


def incident_link(console_url: str, incident: Incident) -> str:
    """The console page of an incident (by ticket number: stable and readable)."""
    return f"{console_url.rstrip('/')}/incidents/{incident.number or incident.id}"


def _lead(
    incident: Incident, event: NotificationEvent, language: Language, time: float, text: str
) -> list[str]:
    """The first lines: what happened now, then the summary (one SMS gateway line)."""
    words = _WORDS[language]
    elapsed = format_duration(time - incident.opened_at)
    if event == "update":
        return [text or _auto_update(incident, language, elapsed), incident.summary]
    if event in ("sla_warning", "sla_breach", "flapping", "settled", "update_reminder"):
        return [text, incident.summary]
    if event == "resolved":
        return [_resolved_lead(incident, language, time), incident.summary]
    extra = {
        "escalated": words["escalated_lead"].format(duration=elapsed),
        "renotify": words["renotify_lead"].format(duration=elapsed),
        "reopened": words["reopened_lead"].format(count=incident.reopen_count),
    }.get(event)
    return [incident.summary, extra] if extra else [incident.summary]


def _auto_update(incident: Incident, language: Language, elapsed: str) -> str:
    words = _WORDS[language]
    who = incident.assignee or incident.acknowledged_by
    value = format_quantity(incident.value, incident.annotations.get("metric", ""))
    return words["auto_update"].format(
        duration=elapsed,
        state=incident.state.value,
        who=words["on_it"].format(who=who) if who else "",
        value=value,
    )


def _resolved_lead(incident: Incident, language: Language, time: float) -> str:
    words = _WORDS[language]
    duration = format_duration(time - incident.opened_at)
    if incident.value is None:
        return words["resolved_lead_plain"].format(duration=duration)
    value = format_quantity(incident.value, incident.annotations.get("metric", ""))
    return words["resolved_lead"].format(duration=duration, value=value)


def _event_time(incident: Incident, event: NotificationEvent, now: float | None) -> float:
    if event == "opened":
        return incident.opened_at
    if event == "resolved" and incident.resolved_at is not None:
        return incident.resolved_at
    return now if now is not None else incident.updated_at


def format_time(unix_seconds: float) -> str:
    """UTC ISO 8601 to the second: 2024-05-01T12:00:00Z."""
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_labels(labels: dict[str, str]) -> str:
    """device=/dev/sda1, mountpoint=/ (sorted, so messages are stable)."""
    return ", ".join(f"{name}={labels[name]}" for name in sorted(labels))


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = [
    "Language",
    "Notification",
    "NotificationEvent",
    "compose_notification",
    "format_duration",
    "format_time",
]
