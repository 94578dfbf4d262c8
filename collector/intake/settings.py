"""The `mail_intake:` and `verification:` sections of the collector's config."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from rules.model import Duration
from rules.priority import Priority

STILL_BROKEN_WORDS = (
    "still broken", "not fixed", "still down", "not working", "doesn't work", "does not work",
    "仍然", "还是不行", "没有恢复", "没好", "不能用",
)  # fmt: skip


class IntakeModel(BaseModel):
    """Frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class KeywordRoute(IntakeModel):
    """Words that, in a mail's subject or body, make its ticket more urgent or route it."""

    words: list[str] = Field(min_length=1, description='e.g. ["down", "宕机", "无法访问"].')
    priority: Priority | None = Field(
        None, description="The ticket is at least this urgent (P2: a P3 becomes P2)."
    )
    raise_levels: int = Field(
        0, ge=0, le=3, description="Raise the priority by this many levels (never above P1)."
    )
    team: str | None = Field(
        None, description="Set the `team` label, which the response file's routing matches."
    )

    @field_validator("words")
    @classmethod
    def _no_blank(cls, words: list[str]) -> list[str]:
        if any(not w.strip() for w in words):
            raise ValueError("a keyword is blank; remove it or write the word")
        return [w.strip() for w in words]


class MailIntakeConfig(IntakeModel):
    """A support mailbox polled over IMAP with TLS; each new message opens a ticket."""

    host: str = Field(description="IMAP server, e.g. imap.example.com.")
    port: int = Field(993, gt=0, lt=65536, description="993 for ssl, 143 for starttls.")
    security: Literal["ssl", "starttls"] = Field(
        "ssl", description="Implicit TLS (ssl) or STARTTLS; plain IMAP is not offered."
    )
    username: str = Field(description="The mailbox login.")
    password_file: Path = Field(description="File holding the password on its first line.")
    ca_file: Path | None = Field(None, description="CA bundle to trust (default: the system's).")
    mailbox: str = Field("INBOX", description="The folder polled.")
    poll_interval: Duration = Field(60.0, description="How often the mailbox is read.")
    timeout: Duration = Field(30.0, description="Longest one IMAP command may take.")
    reply_url: SecretStr | None = Field(
        None,
        description="mailto:// URL replies leave by (server, login, from=, the support "
        "address); default: customer_mail. Its to= is replaced by the sender.",
    )
    default_priority: Priority = Field(Priority.P3, description="A ticket's priority by mail.")
    keywords: list[KeywordRoute] = Field(default_factory=list, description="Keyword routing.")
    still_broken: list[str] = Field(
        default_factory=lambda: list(STILL_BROKEN_WORDS),
        description="Words in a reply to a verification request that reopen the ticket.",
    )
    max_body_chars: int = Field(
        20_000, gt=0, description="Longer bodies are cut (the ticket says so)."
    )
    max_message_bytes: int = Field(
        25 * 1024 * 1024, gt=0, description="Larger messages are not read; logged and marked."
    )
    max_attachment_bytes: int = Field(
        5 * 1024 * 1024, ge=0, description="Larger attachments are described, not stored."
    )
    link_window: Duration = Field(
        7200.0, description="A monitoring incident this close in time may be the same problem."
    )

    def password(self) -> str:
        """The password, from its file's first line."""
        try:
            return self.password_file.read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, IndexError) as exc:
            raise ValueError(
                f"mail_intake.password_file {self.password_file}: cannot read a password "
                f"from its first line ({exc})"
            ) from exc


class VerificationConfig(IntakeModel):
    """Resolved incidents with a customer ask the customer to confirm, with signed links."""

    secret_file: Path = Field(
        description="File holding the link-signing secret (at least 32 characters)."
    )
    public_url: str = Field(
        pattern=r"^https?://", description="The collector's address as customers reach it."
    )
    link_lifetime: Duration = Field(7 * 86400.0, description="A link works this long.")
    quiet_period: Duration = Field(
        24 * 3600.0, description="No answer within this long verifies the incident."
    )

    def secret(self) -> bytes:
        """The signing secret, from its file."""
        try:
            value = self.secret_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"verification.secret_file {self.secret_file}: {exc}") from exc
        if len(value) < 32:
            raise ValueError(
                f"verification.secret_file {self.secret_file}: the secret has {len(value)} "
                "characters; write at least 32 (e.g. `openssl rand -hex 32`)"
            )
        return value.encode()
