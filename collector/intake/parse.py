"""One raw e-mail read into what a ticket needs: sender, subject, text, thread ids,
attachments; whatever was odd about it (no sender, a cut body, an unknown charset, HTML only)
is listed in `problems` for the log and the ticket."""

from __future__ import annotations

import email
import email.policy
import html
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import getaddresses

_IDS = re.compile(r"<[^<>\s]+>")
_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]+>", re.IGNORECASE | re.DOTALL)
_BREAKS = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h\d)\b[^>]*>", re.IGNORECASE)
_BLANKS = re.compile(r"\n\s*\n\s*\n+")


@dataclass(frozen=True)
class Attachment:
    """A file sent along: always its name, type and size; `data` only within the limit."""

    filename: str
    content_type: str
    size: int
    data: bytes | None


@dataclass(frozen=True)
class InboundMail:
    """What the intake reads from one message."""

    sender: str  # the address alone, lower-cased; "" when the message has none
    sender_name: str
    subject: str
    body: str
    message_id: str | None
    in_reply_to: tuple[str, ...] = ()  # In-Reply-To, then References (newest first)
    attachments: tuple[Attachment, ...] = ()
    problems: tuple[str, ...] = field(default=())
    auto_reply: bool = False  # an out-of-office or a bounce: never answered


def parse_mail(raw: bytes, max_body_chars: int, max_attachment_bytes: int) -> InboundMail:
    """Read `raw` (RFC 5322 bytes); never raises on malformed mail, notes problems instead."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    problems: list[str] = []
    sender, name = _sender(message, problems)
    body = _body(message, problems)
    if len(body) > max_body_chars:
        problems.append(f"body cut from {len(body)} to {max_body_chars} characters")
        body = body[:max_body_chars]
    return InboundMail(
        sender=sender,
        sender_name=name,
        subject=" ".join(_header(message, "Subject", problems).split()),
        body=body.strip(),
        message_id=_first_id(_header(message, "Message-ID", problems)),
        in_reply_to=_thread_ids(message, problems),
        attachments=tuple(_attachments(message, max_attachment_bytes, problems)),
        problems=tuple(problems),
        auto_reply=_automatic(message),
    )


def _header(message: Message, name: str, problems: list[str]) -> str:
    try:
        value = message.get(name)
        return str(value) if value is not None else ""
    except (ValueError, LookupError, IndexError) as exc:  # undecodable encoded words
        problems.append(f"unreadable {name} header ({exc})")
        raw = message.get_all(name, failobj=[""])
        return str(raw[0]) if raw else ""


def _sender(message: Message, problems: list[str]) -> tuple[str, str]:
    for header in ("Reply-To", "From"):
        text = _header(message, header, problems)
        for name, address in getaddresses([text]):
            if "@" in address:
                return address.strip().lower(), name
    problems.append("no sender address (From missing or unreadable)")
    return "", ""


def _first_id(text: str) -> str | None:
    found = _IDS.search(text)
    return found.group(0) if found else None


def _thread_ids(message: Message, problems: list[str]) -> tuple[str, ...]:
    replied = _IDS.findall(_header(message, "In-Reply-To", problems))
    references = _IDS.findall(_header(message, "References", problems))
    return tuple(dict.fromkeys([*replied, *reversed(references)]))


def _automatic(message: Message) -> bool:
    """Auto-replies and bounces must not be answered, or two robots mail each other forever."""
    submitted = str(message.get("Auto-Submitted", "no")).lower()
    return submitted != "no" or str(message.get("Content-Type", "")).startswith("multipart/report")


def _body(message: EmailMessage, problems: list[str]) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        problems.append("no text part")
        return ""
    text = _decoded(part, problems)
    if part.get_content_subtype() == "html":
        problems.append("HTML only: the text was taken from the HTML")
        text = html_text(text)
    return text


def _decoded(part: Message, problems: list[str]) -> str:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        problems.append(f"unknown charset {charset!r}: read as UTF-8 with replacements")
        return data.decode("utf-8", errors="replace")


def html_text(markup: str) -> str:
    """The readable text of an HTML body: tags dropped, breaks kept, entities decoded."""
    text = _TAGS.sub("", _BREAKS.sub("\n", markup))
    return _BLANKS.sub("\n\n", html.unescape(text)).strip()


def _attachments(message: EmailMessage, limit: int, problems: list[str]) -> list[Attachment]:
    found = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        name = _filename(part, problems) or "attachment"
        kept = data if len(data) <= limit else None
        if kept is None:
            problems.append(f"attachment {name!r} ({len(data)} bytes) over {limit}: not stored")
        found.append(Attachment(name[:255], part.get_content_type()[:127], len(data), kept))
    return found


def _filename(part: Message, problems: list[str]) -> str:
    try:
        return str(part.get_filename() or "")
    except (ValueError, LookupError) as exc:
        problems.append(f"unreadable attachment name ({exc})")
        return ""


def address_domain(address: str) -> str:
    """The domain of an address, lower-cased ("" for none)."""
    return address.rpartition("@")[2].lower() if "@" in address else ""
