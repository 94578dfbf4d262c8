"""The notification sent when an incident opens or resolves: plain text, English or Chinese."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, get_args

from collector.incidents.model import Incident
from rules.priority import Priority

NotificationEvent = Literal["opened", "resolved"]
Language = Literal["en", "zh"]

# One SMS segment: the title must survive being the only thing a pager shows.
TITLE_MAX_CHARS = 160

_WORDS: dict[Language, dict[str, str]] = {
    "en": {
        "opened": "OPEN",
        "resolved": "RESOLVED",
        "host": "Host",
        "rule": "Rule",
        "priority": "Priority",
        "labels": "Labels",
        "value": "Value",
        "opened_at": "Opened",
        "resolved_at": "Resolved",
        "duration": "Duration",
        "link": "Link",
    },
    "zh": {
        "opened": "告警",
        "resolved": "已恢复",
        "host": "主机",
        "rule": "规则",
        "priority": "优先级",
        "labels": "标签",
        "value": "数值",
        "opened_at": "开始时间",
        "resolved_at": "恢复时间",
        "duration": "持续时间",
        "link": "链接",
    },
}


@dataclass(frozen=True)
class Notification:
    """One message about one incident event, ready for any channel.

    `key` of the incident plus `event` identify the message; `time` is the event's Unix time
    (opened_at or resolved_at); `title` fits one SMS; `body` is plain text.
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


def compose_notification(
    incident: Incident,
    event: NotificationEvent,
    language: Language = "en",
    console_url: str | None = None,
) -> Notification:
    """The message for `event` ("opened" or "resolved") of `incident`, in `language`."""
    if event not in get_args(NotificationEvent):
        raise ValueError(f"notification event must be 'opened' or 'resolved', not {event!r}")
    if language not in _WORDS:
        raise ValueError(f"notification language must be 'en' or 'zh', not {language!r}")
    time = _event_time(incident, event)
    title = compose_title(incident, event, language)
    return Notification(
        incident_key=incident.key,
        incident_id=incident.id,
        event=event,
        priority=incident.priority,
        host=incident.host,
        rule=incident.rule,
        summary=incident.summary,
        title=title,
        body=_compose_body(incident, event, language, console_url),
        labels=dict(incident.labels),
        value=incident.value,
        time=time,
    )


def compose_title(incident: Incident, event: NotificationEvent, language: Language) -> str:
    """ "[P1] OPEN FilesystemFull on web1: / is 96% full", cut to one SMS."""
    head = f"[{incident.priority}] {_WORDS[language][event]} {incident.rule}"
    if language == "zh":
        title = f"{head}（{incident.host}）：{incident.summary}"
    else:
        title = f"{head} on {incident.host}: {incident.summary}"
    return _shorten(title, TITLE_MAX_CHARS)


def _compose_body(
    incident: Incident, event: NotificationEvent, language: Language, console_url: str | None
) -> str:
    words = _WORDS[language]
    fields: list[tuple[str, str]] = [
        ("host", incident.host),
        ("rule", incident.rule),
        ("priority", str(incident.priority)),
    ]
    if incident.labels:
        fields.append(("labels", format_labels(incident.labels)))
    if incident.value is not None:
        fields.append(("value", format_value(incident.value)))
    fields.append(("opened_at", format_time(incident.opened_at)))
    if event == "resolved":
        resolved_at = _event_time(incident, event)
        fields.append(("resolved_at", format_time(resolved_at)))
        fields.append(("duration", format_duration(resolved_at - incident.opened_at)))
    if console_url and incident.id is not None:
        fields.append(("link", f"{console_url.rstrip('/')}/incidents/{incident.id}"))
    colon = "：" if language == "zh" else ": "
    # The summary leads on its own line so an SMS gateway that drops the title still says it.
    return "\n".join([incident.summary, ""] + [f"{words[k]}{colon}{v}" for k, v in fields])


def _event_time(incident: Incident, event: NotificationEvent) -> float:
    if event == "opened":
        return incident.opened_at
    if incident.resolved_at is None:
        raise ValueError(
            f"incident {incident.key} has no resolved_at: resolve it before composing "
            "its 'resolved' notification"
        )
    return incident.resolved_at


def format_time(unix_seconds: float) -> str:
    """UTC ISO 8601 to the second: 2024-05-01T12:00:00Z."""
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_duration(seconds: float) -> str:
    """Compact human duration: 45s, 12m05s, 3h07m, 2d04h."""
    total = max(0, round(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def format_value(value: float | str) -> str:
    """A sample value as a person reads it: 96.23, 1.2e+10, degraded."""
    if isinstance(value, str):
        return value
    return f"{value:.6g}"


def format_labels(labels: dict[str, str]) -> str:
    """device=/dev/sda1, mountpoint=/ (sorted, so messages are stable)."""
    return ", ".join(f"{name}={labels[name]}" for name in sorted(labels))


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
