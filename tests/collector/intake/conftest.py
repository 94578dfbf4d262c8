"""Fixtures of the customer side: a real dovecot, a real SMTP server, a collector reading the
mailbox, and mail written as customers write it."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from collector.config import ApiToken
from collector.intake.settings import KeywordRoute, MailIntakeConfig, VerificationConfig
from collector.notify.channels import RecordingChannel
from rules.priority import Priority
from tests.collector.harness import FakeClock, RunningCollector
from tests.peers.dovecot import USER, Dovecot
from tests.peers.smtp import SmtpServer

CUSTOMERS = """\
customers:
  - name: acme
    contacts:
      - {name: Li Lei, email: lilei@acme.example.cn, language: zh}
    hosts: ["acme-*"]
"""
ALICE = {"Authorization": "Bearer alice-token"}
SECRET = "s3cret-for-signing-links-0123456789abcdef"
SUPPORT = "support@example.test"


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    with Dovecot(tmp_path / "imap") as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def intake_config(dovecot: Dovecot, **changes: Any) -> MailIntakeConfig:
    fields: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": dovecot.tls_port,
        "security": "ssl",
        "username": USER,
        "password_file": dovecot.password_file,
        "ca_file": dovecot.ca.cert,
        "keywords": [
            KeywordRoute(words=["宕机", "down", "无法访问"], priority=Priority.P2, team="ops-db"),
            KeywordRoute(words=["urgent"], raise_levels=1),
        ],
    }
    return MailIntakeConfig(**{**fields, **changes})


def start_collector(
    tmp_path: Path,
    clock: FakeClock,
    smtp: SmtpServer,
    dovecot: Dovecot | None = None,
    **overrides: Any,
) -> RunningCollector:
    customers = tmp_path / "customers.yaml"
    customers.write_text(CUSTOMERS)
    secret = tmp_path / "link-secret"
    secret.write_text(SECRET + "\n")
    if dovecot is not None:
        overrides.setdefault("mail_intake", intake_config(dovecot))
    overrides.setdefault(
        "verification",
        VerificationConfig(secret_file=secret, public_url="https://wk.example.test"),
    )
    return RunningCollector(
        tmp_path,
        clock,
        channels=[RecordingChannel("ops")],
        api_tokens=[ApiToken(name="alice", token="alice-token")],
        customers=customers,
        customer_mail=smtp.url(to="nobody@example.test", sender=SUPPORT),
        **overrides,
    )


def customer_mail(
    subject: str,
    body: str,
    sender: str = "Li Lei <lilei@acme.example.cn>",
    **headers: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="acme.example.cn")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message
