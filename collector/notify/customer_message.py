"""What a customer's contact is told about their incident: plain words in their language.

The words come from the rule's `customer_text` (rendered when it fired), else a generic
sentence; the engineer's summary, description, rule name, labels and values never appear.
Every message carries the ticket number and, for a VIP, says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from collector.incidents.model import Incident
from collector.notify.message import Language, format_duration, is_vip
from rules.priority import Priority

CustomerEvent = Literal["opened", "reopened", "update", "resolved", "verification", "eta"]
CUSTOMER_TEXT = "customer_text"  # annotation prefix: customer_text.en, customer_text.zh

_WORDS: dict[Language, dict[str, str]] = {
    "en": {
        "opened": "We are working on a problem affecting your service",
        "reopened": "The problem affecting your service is back; we are on it again",
        "update": "Progress on your ticket",
        "resolved": "The problem affecting your service has been fixed",
        "verification": "Please confirm that your service works again",
        "eta": "When we expect your ticket to be fixed",
        "generic": "We have noticed a problem that may affect your service and are working on it.",
        "greeting": "Hello {name},",
        "ticket": "Your ticket number is {number}; please quote it when you contact us.",
        "server": "Server",
        "priority": "Priority",
        "vip": "As a VIP customer, your ticket is handled first.",
        "update_auto": "We are still working on it (for {duration} so far).",
        "update_note": "Latest from our team: {text}",
        "resolved_lead": "It was fixed after {duration}.",
        "reopened_lead": "The problem came back, so we have reopened the same ticket.",
        "verification_lead": "We believe the problem is fixed. Please check that your service "
        "works again and tell us by replying to this e-mail.",
        "eta_lead": "We expect to have it fixed by {time}.",
        "eta_why": "Why: {reason}",
        "eta_cleared": "We can no longer keep to the time we gave you; we will tell you a new "
        "one as soon as we can.",
        "closing": "Your support team",
        "P1": "urgent",
        "P2": "high",
        "P3": "normal",
        "P4": "low",
    },
    "zh": {
        "opened": "我们正在处理一个影响您服务的问题",
        "reopened": "影响您服务的问题再次出现，我们已重新处理",
        "update": "您的工单进展",
        "resolved": "影响您服务的问题已解决",
        "verification": "请确认您的服务已恢复正常",
        "eta": "您的工单预计解决时间",
        "generic": "我们发现了一个可能影响您服务的问题，正在处理。",
        "greeting": "{name}，您好：",
        "ticket": "您的工单号是 {number}，联系我们时请提供此号码。",
        "server": "服务器",
        "priority": "优先级",
        "vip": "您是 VIP 客户，您的工单将优先处理。",
        "update_auto": "我们仍在处理中（已处理 {duration}）。",
        "update_note": "处理团队最新进展：{text}",
        "resolved_lead": "问题在 {duration} 后解决。",
        "reopened_lead": "问题再次出现，我们已重新打开同一工单。",
        "verification_lead": "我们认为问题已经解决。"
        "请确认您的服务已恢复正常，并回复此邮件告诉我们。",
        "eta_lead": "我们预计在 {time} 前解决。",
        "eta_why": "原因：{reason}",
        "eta_cleared": "我们无法按之前告知的时间解决，确定新的时间后会尽快通知您。",
        "closing": "您的技术支持团队",
        "P1": "紧急",
        "P2": "高",
        "P3": "中",
        "P4": "低",
    },
}


@dataclass(frozen=True)
class CustomerMessage:
    """One message to one contact: a subject line and a plain-text body."""

    title: str
    body: str


def plain_text(incident: Incident, language: Language) -> str:
    """The rule's customer text in `language` (else English), else the generic sentence."""
    annotations = incident.annotations
    found = annotations.get(f"{CUSTOMER_TEXT}.{language}") or annotations.get(f"{CUSTOMER_TEXT}.en")
    return found or _WORDS[language]["generic"]


def compose_customer_message(
    incident: Incident,
    event: CustomerEvent,
    contact_name: str,
    language: Language,
    now: float,
    text: str = "",
) -> CustomerMessage:
    """The message about `event` for a contact; `text` is an update's words or the lines a
    verification request adds (its links)."""
    words = _WORDS[language]
    vip = "[VIP] " if is_vip(incident) else ""
    separator = "：" if language == "zh" else ": "
    title = f"{vip}{incident.number} {words[event]}"
    lines = [words["greeting"].format(name=contact_name), "", plain_text(incident, language)]
    lines += _lead(incident, event, language, now, text)
    lines += ["", words["ticket"].format(number=incident.number)]
    if incident.host:
        lines.append(f"{words['server']}{separator}{', '.join(incident.hosts) or incident.host}")
    lines.append(f"{words['priority']}{separator}{_priority(incident.priority, language)}")
    if vip:
        lines.append(words["vip"])
    lines += ["", words["closing"]]
    return CustomerMessage(title, "\n".join(lines))


def _lead(
    incident: Incident, event: CustomerEvent, language: Language, now: float, text: str
) -> list[str]:
    words = _WORDS[language]
    elapsed = format_duration(max(0.0, now - incident.opened_at))
    if event == "update":
        said = words["update_note"].format(text=text) if text else ""
        return [said or words["update_auto"].format(duration=elapsed)]
    if event == "resolved":
        return [words["resolved_lead"].format(duration=elapsed)]
    if event == "reopened":
        return [words["reopened_lead"]]
    if event == "verification":
        return [words["verification_lead"], *([text] if text else [])]
    if event == "eta":
        return _eta_lead(incident, language, text)
    return []


def _eta_lead(incident: Incident, language: Language, reason: str) -> list[str]:
    """The expected resolution time (UTC, written out), or that it no longer holds."""
    words = _WORDS[language]
    if incident.eta_at is None:
        return [words["eta_cleared"]]
    when = datetime.fromtimestamp(incident.eta_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    lead = [words["eta_lead"].format(time=when)]
    return lead + ([words["eta_why"].format(reason=reason)] if reason else [])


def _priority(priority: Priority, language: Language) -> str:
    return f"{priority.value} ({_WORDS[language][priority.value]})"
