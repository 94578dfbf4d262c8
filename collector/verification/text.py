"""The verification request's words, in English and Chinese."""

from __future__ import annotations

from datetime import UTC, datetime

from collector.incidents.model import Incident
from collector.notify.message import Language

_WORDS: dict[Language, tuple[str, str]] = {
    "en": (
        "[{number}] Is the service working again? {summary}",
        "Hello,\n\nwe believe the problem of ticket {number} ({summary}) is fixed.\n"
        "Please tell us whether it is:\n\n"
        "  The service is back:  {fixed}\n"
        "  It is still broken:   {broken}\n\n"
        "On the page you can also rate our help from 1 to 5. You can instead reply to this "
        'e-mail: write "still broken", or a rating such as "rating: 5".\n'
        "The links work until {expires} UTC; without an answer we consider it fixed.\n\n"
        "Watchkeeper support",
    ),
    "zh": (
        "[{number}] 服务是否已恢复？{summary}",
        "您好：\n\n我们认为工单 {number}（{summary}）的问题已解决，请告诉我们：\n\n"
        "  服务已恢复：{fixed}\n"
        "  仍然有问题：{broken}\n\n"
        "您可以在页面上为我们的服务打分（1–5 分），也可以直接回复本邮件：写“仍然有问题”，"
        "或写“评分：5”。\n链接在 {expires}（UTC）前有效；如无回复，我们将视为已解决。\n\n"
        "Watchkeeper 支持团队",
    ),
}


def request_text(
    incident: Incident, links: dict[str, str], language: Language, expires: float
) -> tuple[str, str]:
    """Title and body of the verification request with its two links."""
    title, body = _WORDS[language]
    when = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d %H:%M")
    values = {"number": incident.number, "summary": incident.summary, "expires": when, **links}
    return title.format(**values), body.format(**values)


_LINES: dict[Language, str] = {
    "en": "The service is back: {fixed}\nIt is still broken: {broken}\n"
    "(links valid until {expires} UTC; you can also rate our help there, or reply to this e-mail)",
    "zh": "服务已恢复：{fixed}\n仍然有问题：{broken}\n"
    "（链接在 {expires}（UTC）前有效；可在页面上打分，也可直接回复本邮件）",
}


def link_lines(links: dict[str, str], language: Language, expires: float) -> str:
    """The two links as lines for another message (the customer notice's request)."""
    when = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d %H:%M")
    return _LINES[language].format(expires=when, **links)
