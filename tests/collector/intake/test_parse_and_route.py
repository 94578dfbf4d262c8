"""Mail as customers send it, read without failing: odd charsets, HTML only, huge bodies,
attachments over the limit; keyword routing; replies to a verification request."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from collector.incidents.customers import CustomerBook
from collector.intake.customers import named_hosts, sender_customer
from collector.intake.parse import parse_mail
from collector.intake.routing import route
from collector.intake.settings import STILL_BROKEN_WORDS, KeywordRoute
from collector.verification.answers import ReplyAnswer, read_reply
from rules.priority import Priority

RAW_GB2312 = (
    b"From: =?gb2312?b?wO7A1w==?= <lilei@acme.example.cn>\r\n"
    b"Subject: =?gb2312?b?yv2+3b/i5bS7+g==?=\r\n"
    b"Message-ID: <gb@acme.example.cn>\r\n"
    b"Content-Type: text/plain; charset=gb2312\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n"
    b"tqm1pc+1zbPO3reoz8K1pQ==\r\n"
)


def test_a_gb2312_mail_is_decoded() -> None:
    mail = parse_mail(RAW_GB2312, 1000, 1000)
    assert mail.sender == "lilei@acme.example.cn" and mail.sender_name == "李雷"
    assert mail.subject == "数据库宕机"
    assert mail.body == "订单系统无法下单"
    assert mail.problems == ()


def test_an_unknown_charset_is_read_as_utf8_and_said() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: x\r\n"
        b"Content-Type: text/plain; charset=x-klingon\r\n\r\nplain words\r\n"
    )
    mail = parse_mail(raw, 1000, 1000)
    assert mail.body == "plain words"
    assert mail.problems == ("unknown charset 'x-klingon': read as UTF-8 with replacements",)


def test_a_huge_body_is_cut_and_an_attachment_over_the_limit_only_described() -> None:
    message = EmailMessage()
    message["From"] = "ops@acme.example.com"
    message["Subject"] = "logs"
    message.set_content("x" * 5000)
    message.add_attachment(b"small", maintype="text", subtype="plain", filename="a.txt")
    message.add_attachment(b"\0" * 3000, maintype="application", subtype="gzip", filename="b.gz")
    mail = parse_mail(message.as_bytes(), 1000, 2000)
    assert len(mail.body) == 1000
    assert [(a.filename, a.size, a.data) for a in mail.attachments] == [
        ("a.txt", 5, b"small"),
        ("b.gz", 3000, None),
    ]
    assert mail.problems == (
        "body cut from 5001 to 1000 characters",
        "attachment 'b.gz' (3000 bytes) over 2000: not stored",
    )


def test_no_sender_and_an_auto_reply_are_told_apart() -> None:
    nobody = parse_mail(b"Subject: hi\r\n\r\nbody\r\n", 100, 100)
    assert nobody.sender == ""
    assert "no sender address (From missing or unreadable)" in nobody.problems
    away = parse_mail(
        b"From: a@example.com\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\nx",
        100,
        100,
    )
    assert away.auto_reply


ROUTES = [
    KeywordRoute(words=["宕机", "down", "无法访问"], priority=Priority.P2, team="ops"),
    KeywordRoute(words=["urgent"], raise_levels=1),
]


@pytest.mark.parametrize(
    ("subject", "body", "priority", "team"),
    [
        ("数据库宕机", "", Priority.P2, "ops"),
        ("question", "the site is DOWN again", Priority.P2, "ops"),
        ("download link", "how do I download?", Priority.P3, None),
        ("urgent: slow", "", Priority.P2, None),
        ("urgent: 网站无法访问", "", Priority.P1, "ops"),
        ("hello", "nothing", Priority.P3, None),
    ],
    ids=["cjk-subject", "word-in-body", "not-inside-a-word", "raise", "both", "none"],
)
def test_keyword_routing(subject: str, body: str, priority: Priority, team: str | None) -> None:
    routed = route(subject, body, Priority.P3, ROUTES)
    assert routed.priority == priority
    assert routed.labels.get("team") == team


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("仍然无法访问", ReplyAnswer("broken", None)),
        ("It is still broken.\nRating: 2", ReplyAnswer("broken", 2)),
        ("Works now, thanks!", ReplyAnswer("fixed", None)),
        ("5", ReplyAnswer("fixed", 5)),
        ("评分：4", ReplyAnswer("fixed", 4)),
        ("Thanks\n> It is still broken: https://...", ReplyAnswer(None, None)),
        ("Who fixed what?", ReplyAnswer("fixed", None)),
        ("not fixed", ReplyAnswer("broken", None)),
        ("The site is not working", ReplyAnswer("broken", None)),
        ("还是没好，评分 2", ReplyAnswer("broken", 2)),
    ],
    ids=["cn-broken", "broken-rated", "fixed", "bare-rating", "cn-rating", "quoted", "word",
         "not-fixed", "not-working", "cn-not-yet"],
)  # fmt: skip
def test_a_reply_to_a_verification_request_is_read(text: str, answer: ReplyAnswer) -> None:
    assert read_reply(text, STILL_BROKEN_WORDS) == answer


def test_a_sender_is_matched_to_a_customer_by_address_else_by_domain() -> None:
    book = CustomerBook.model_validate(
        {
            "customers": [
                {"name": "acme", "contacts": [{"name": "Li", "email": "LiLei@acme.example.cn"}]},
                {"name": "beta", "contacts": [{"name": "Ops", "email": "ops@beta.example"}]},
            ]
        }
    )
    by_address = sender_customer(book, "lilei@acme.example.cn")
    assert by_address is not None and by_address[0].name == "acme" and by_address[1] is not None
    by_domain = sender_customer(book, "someone@beta.example")
    assert by_domain is not None and by_domain[0].name == "beta" and by_domain[1] is None
    assert sender_customer(book, "x@unknown.example") is None
    assert named_hosts("acme-web1 and acme-db10 are slow", ["acme-web1", "acme-db1"]) == (
        "acme-web1",
    )
