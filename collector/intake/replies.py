"""Mail to the sender of a ticket (the ticket number, the verification request): outbox rows
for the one reply channel, which sends each to the address the row names, threaded."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from collector.incidents.model import Incident
from collector.noise.contacts import contact_url
from collector.notify.channels import Channel, DeliveryError
from collector.notify.message import MESSAGE_ID_DOMAIN, Language, Notification
from rules.priority import Priority

log = logging.getLogger(__name__)

REPLY_CHANNEL = "mail-reply://"  # the outbox channel of every reply
TO_LABEL = "to"  # the payload label naming the recipient

_WORDS: dict[Language, dict[str, str]] = {
    "en": {
        "opened_title": "[{number}] Re: {subject}",
        "opened_body": (
            "Hello,\n\nwe have received your message and opened ticket {number} for it"
            " (priority {priority}).\nReply to this e-mail to add to the ticket; keep {number}"
            " in the subject.\n\nWatchkeeper support"
        ),
    },
    "zh": {
        "opened_title": "[{number}] 回复：{subject}",
        "opened_body": (
            "您好：\n\n我们已收到您的邮件，并为此建立了工单 {number}（优先级 {priority}）。\n"
            "如需补充信息，请直接回复本邮件，并在主题中保留 {number}。\n\nWatchkeeper 支持团队"
        ),
    },
}


def reply_row(
    incident: Incident,
    to: str,
    title: str,
    body: str,
    event: str,
    in_reply_to: str | None,
    now: float,
) -> dict[str, Any]:
    """An outbox row for one e-mail to `to` about `incident`, answering `in_reply_to`."""
    identity = f"{incident.id}\x1f{event}\x1f{incident.version}\x1f{to}\x1f{in_reply_to}"
    key = hashlib.sha256(identity.encode()).hexdigest()[:32]
    payload = {
        "title": title,
        "body": body,
        "event": event,
        "priority": incident.priority.value,
        "number": incident.number,
        "summary": incident.summary,
        "labels": {TO_LABEL: to},
        "time": now,
        "message_id": message_id_of(key),
        "in_reply_to": in_reply_to,
    }
    return {
        "idempotency_key": key,
        "incident_id": incident.id,
        "channel": REPLY_CHANNEL,
        "event": event,
        "payload": payload,
        "due_at": now,
        "group_key": None,
    }


def message_id_of(key: str) -> str:
    """The Message-ID of the reply with outbox key `key` (a reply to it names it)."""
    return f"<reply-{key}@{MESSAGE_ID_DOMAIN}>"


def ticket_reply(
    incident: Incident,
    to: str,
    subject: str,
    in_reply_to: str | None,
    language: Language,
    now: float,
) -> dict[str, Any]:
    """The reply that tells a sender their ticket number."""
    words = _WORDS[language]
    values = {"number": incident.number, "subject": subject, "priority": incident.priority.value}
    title = words["opened_title"].format(**values)
    return reply_row(
        incident, to, title, words["opened_body"].format(**values), "ticket", in_reply_to, now
    )


class ReplyChannel:
    """Sends each reply to the address its row names, through a mail channel per address
    built from the reply URL (its to= replaced)."""

    def __init__(self, url: str, make: Callable[[str], Channel]) -> None:
        self.min_priority: Priority | None = None
        self._url = url
        self._make = make
        self._channels: dict[str, Channel] = {}
        self._lock = threading.Lock()

    def describe(self) -> str:
        """mail-reply://"""
        return REPLY_CHANNEL

    def send(self, notification: Notification) -> None:
        """Send to the notification's `to` label; DeliveryError when it has none."""
        to = notification.labels.get(TO_LABEL, "")
        if "@" not in to:
            raise DeliveryError(f"reply for {notification.number} names no recipient")
        with self._lock:
            channel = self._channels.get(to)
            if channel is None:
                channel = self._channels[to] = self._make(contact_url(self._url, to))
        channel.send(notification)

    def close(self) -> None:
        """Close every per-address channel."""
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()
