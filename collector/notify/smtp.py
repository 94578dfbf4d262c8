"""E-mail over one kept-open SMTP connection: Apprise reads the mailto:// URL, smtplib sends."""

from __future__ import annotations

import email.policy
import hashlib
import logging
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import apprise
from apprise.plugins.email import NotifyEmail

from collector.notify.channels import URL_EXAMPLES, CapturedAppriseLog, DeliveryError
from collector.notify.message import Notification
from collector.redaction import redact as scrub
from collector.redaction import url_secrets
from rules.priority import Priority

logger = logging.getLogger(__name__)

TICKET_HEADER = "X-Watchkeeper-Ticket"

# 7bit: a UTF-8 body travels as base64, so servers without 8BITMIME still take it.
_POLICY = email.policy.SMTP.clone(cte_type="7bit")
# Apprise names the sender after the asset's app_id unless the URL gives a name.
_ASSET = apprise.AppriseAsset(app_id="Watchkeeper")
# Headers the channel writes itself; a URL's +Header=value cannot replace them.
_OWN_HEADERS = frozenset(
    {"subject", "from", "to", "cc", "bcc", "reply-to", "date", "message-id", "in-reply-to"}
    | {"references", TICKET_HEADER.lower(), "mime-version", "content-type"}
    | {"content-transfer-encoding"}
)


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send, as Apprise resolved a mailto:// or mailtos:// URL.

    `security` is Apprise's mode: "insecure" (plain SMTP), "starttls" or "ssl" (implicit TLS).
    """

    host: str
    port: int
    security: str
    user: str | None
    password: str | None = field(repr=False)
    sender: Address
    to: tuple[Address, ...]
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    verify_certificate: bool = True
    description: str = ""

    @property
    def recipients(self) -> list[str]:
        """Every envelope recipient (To, Cc, Bcc), each once, in that order."""
        addresses = [a.addr_spec for a in (*self.to, *self.cc, *self.bcc)]
        return list(dict.fromkeys(addresses))


def smtp_settings(url: str) -> SmtpSettings:
    """Let Apprise parse `url` (templates such as gmail.com included) and read what it resolved.

    ValueError naming the scheme, never the password, if Apprise cannot use the URL.
    """
    secrets = url_secrets(url)
    scheme = url.partition("://")[0].lower()
    with CapturedAppriseLog() as captured:
        plugin = apprise.Apprise.instantiate(url, asset=_ASSET)
    if not isinstance(plugin, NotifyEmail):
        detail = "; ".join(scrub(message, secrets) for message in captured.warnings)
        raise ValueError(
            f"invalid {scheme}:// notification URL"
            + (f" ({detail})" if detail else "")
            + f"; valid URLs look like {URL_EXAMPLES}"
        )
    if plugin.pgp_mode != "no":
        raise ValueError(
            f"{scheme}:// notification URL asks for PGP (pgp={plugin.pgp_mode}), which "
            "Watchkeeper's e-mail channel does not do; remove pgp= and wkd= from the URL"
        )
    return _settings_from_plugin(plugin)


def _settings_from_plugin(plugin: Any) -> SmtpSettings:
    names: dict[str, str | bool] = plugin.names

    def address(addr: str, name: str | bool | None = None) -> Address:
        display = name if name is not None else names.get(addr)
        return Address(display_name=display if isinstance(display, str) else "", addr_spec=addr)

    sender_name, sender = plugin.from_addr
    return SmtpSettings(
        host=str(plugin.smtp_host),
        port=int(plugin.port),
        security=str(plugin.secure_mode),
        user=plugin.user or None,
        password=plugin.password or None,
        sender=address(sender, sender_name),
        to=tuple(address(addr, name) for name, addr in plugin.targets),
        cc=tuple(address(addr) for addr in sorted(plugin.cc - plugin.bcc)),
        bcc=tuple(address(addr) for addr in sorted(plugin.bcc)),
        reply_to=tuple(address(addr) for addr in sorted(plugin.reply_to)),
        headers=tuple((str(k), str(v)) for k, v in plugin.headers.items()),
        verify_certificate=bool(plugin.verify_certificate),
        description=str(plugin.url(privacy=True)),
    )


class SmtpChannel:
    """E-mail through one SMTP connection kept open between sends (mailto://, mailtos://).

    Each message carries the notification's Message-ID, In-Reply-To/References (threading)
    and an X-Watchkeeper-Ticket header. `timeout` bounds one send in seconds, connecting
    included; `min_interval`, if set, is the least pause between two sends. A connection the
    server has closed is reopened once, within the same send. `close()` says QUIT.
    """

    def __init__(
        self,
        url: str,
        *,
        min_priority: Priority | None = None,
        timeout: float = 30.0,
        min_interval: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.min_priority = min_priority
        self.timeout = timeout
        self.min_interval = min_interval
        self.settings = smtp_settings(url)
        self._secrets = [*url_secrets(url), *filter(None, [self.settings.password])]
        self._clock = clock
        self._lock = threading.Lock()
        self._connection: _BoundedSMTP | None = None
        self._last_send = float("-inf")

    def describe(self) -> str:
        """Apprise's privacy URL: the password, headers and secret parameters shown as ****."""
        return self._scrub(self.settings.description)

    def send(self, notification: Notification) -> None:
        """Send one e-mail, reusing the open connection; DeliveryError saying why not."""
        message = self._compose(notification)
        with self._lock:
            self._pause()
            try:
                self._deliver(message)
            finally:
                self._last_send = time.monotonic()

    def close(self) -> None:
        """Say QUIT and close the connection, if one is open; the next send reopens it."""
        with self._lock:
            self._disconnect(polite=True)

    def _pause(self) -> None:
        if self.min_interval is not None:
            wait = self._last_send + self.min_interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)

    def _compose(self, notification: Notification) -> EmailMessage:
        settings = self.settings
        message = EmailMessage(policy=_POLICY)
        try:
            # One header line, as RFC 5322 wants and Apprise does.
            message["Subject"] = " ".join(notification.title.split())
            message["From"] = settings.sender
            message["To"] = settings.to
            if settings.cc:
                message["Cc"] = settings.cc
            if settings.reply_to:
                message["Reply-To"] = settings.reply_to
            message["Date"] = format_datetime(datetime.fromtimestamp(self._clock(), UTC))
            message["Message-ID"] = _angled(notification.message_id) or self._derive_id(
                notification
            )
            if notification.in_reply_to:
                message["In-Reply-To"] = _angled(notification.in_reply_to)
                message["References"] = _angled(notification.in_reply_to)
            if notification.number:
                message[TICKET_HEADER] = notification.number
            for name, value in settings.headers:
                if name.lower() not in _OWN_HEADERS:
                    message[name] = value
            message.set_content(notification.body, charset="utf-8")
            for item in notification.attachments:
                message.add_attachment(
                    item.data, maintype=item.maintype, subtype=item.subtype, filename=item.filename
                )
        except (ValueError, TypeError) as exc:  # a header with a line break, mostly
            reason = f"cannot build the e-mail for {notification.incident_key}: {exc}"
            raise DeliveryError(reason) from exc
        return message

    def _derive_id(self, notification: Notification) -> str:
        # Stable across retries of the same notification, so mail clients can deduplicate.
        identity = notification.idempotency_key or "|".join(
            [notification.incident_key, notification.event, repr(notification.time)]
        )
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
        return f"<watchkeeper.{digest}@{self.settings.sender.domain or 'localhost'}>"

    def _deliver(self, message: EmailMessage) -> None:
        deadline = time.monotonic() + self.timeout
        connection = self._connection
        if connection is not None:
            try:
                self._transmit(connection, message, deadline)
                return
            except (OSError, smtplib.SMTPException) as exc:
                self._disconnect(polite=False)
                if not _server_went_away(exc, connection) or _timed_out(exc):
                    raise self._error(exc) from exc
                logger.info("SMTP server %s closed the connection; reconnecting", self._where)
        try:
            self._connection = self._connect(deadline)
            self._transmit(self._connection, message, deadline)
        except (OSError, smtplib.SMTPException) as exc:
            self._disconnect(polite=False)
            raise self._error(exc) from exc

    def _connect(self, deadline: float) -> _BoundedSMTP:
        settings = self.settings
        context = ssl.create_default_context()
        if not settings.verify_certificate:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        left = max(deadline - time.monotonic(), 0.001)
        connection: _BoundedSMTP
        if settings.security == "ssl":
            connection = _BoundedSMTPSSL(
                settings.host, settings.port, timeout=left, context=context
            )
        else:
            connection = _BoundedSMTP(settings.host, settings.port, timeout=left)
        try:
            connection.deadline = deadline
            if settings.security == "starttls":
                connection.starttls(context=context)
            if settings.user and settings.password:
                connection.login(settings.user, settings.password)
        except BaseException:
            connection.close()
            raise
        logger.debug("connected to SMTP server %s", self._where)
        return connection

    def _transmit(self, connection: _BoundedSMTP, message: EmailMessage, deadline: float) -> None:
        connection.deadline = deadline
        connection.data_started = False
        refused = connection.send_message(
            message, self.settings.sender.addr_spec, self.settings.recipients
        )
        if refused:
            # The others have it; failing the send would make a retry mail them again.
            logger.warning(
                "SMTP server %s refused some recipients of %s: %s",
                self._where,
                message["Message-ID"],
                self._scrub(_refusals(refused)),
            )

    def _disconnect(self, *, polite: bool) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if polite:
                connection.deadline = time.monotonic() + min(self.timeout, 5.0)
                connection.quit()
        except (OSError, smtplib.SMTPException):
            pass  # it is going away either way
        finally:
            connection.close()

    @property
    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def _error(self, exc: BaseException) -> DeliveryError:
        return DeliveryError(self._scrub(_reason(exc, self._where, self.settings, self.timeout)))

    def _scrub(self, text: str) -> str:
        return scrub(text, self._secrets)


class _BoundedSMTP(smtplib.SMTP):
    """smtplib.SMTP whose waits all end at `deadline` (time.monotonic()), not each its own."""

    deadline: float | None = None
    data_started = False

    def send(self, s: Any) -> None:
        _arm(self)
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        _arm(self)
        return super().getreply()

    def data(self, msg: Any) -> tuple[int, bytes]:
        # From here on the server may have the message: resending could deliver it twice.
        self.data_started = True
        return super().data(msg)


class _BoundedSMTPSSL(_BoundedSMTP, smtplib.SMTP_SSL):
    """The same over implicit TLS (port 465)."""


def _arm(connection: _BoundedSMTP) -> None:
    if connection.deadline is None or connection.sock is None:
        return
    left = connection.deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("send deadline passed")
    connection.sock.settimeout(left)


def _server_went_away(exc: BaseException, connection: _BoundedSMTP) -> bool:
    """Whether a reused connection failed because the server had dropped it, before DATA."""
    if connection.data_started:
        return False
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421:
        return True  # "service closing transmission channel", e.g. an idle timeout
    return isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError)


def _timed_out(exc: BaseException | None) -> bool:
    # smtplib re-raises socket timeouts as SMTPServerDisconnected; the cause is kept as context.
    while exc is not None:
        if isinstance(exc, TimeoutError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _reason(exc: BaseException, where: str, settings: SmtpSettings, timeout: float) -> str:
    """What went wrong, for the operator; the caller scrubs secrets."""
    if _timed_out(exc):
        return f"SMTP server {where} did not finish within {timeout:g} s"
    if isinstance(
        exc,
        smtplib.SMTPResponseException
        | smtplib.SMTPRecipientsRefused
        | smtplib.SMTPNotSupportedError,
    ):
        return f"SMTP server {where} {_refusal(exc, settings)}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"SMTP server {where} closed the connection ({exc})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS with SMTP server {where} failed: {exc.reason or exc}; verify=no skips checks"
    if isinstance(exc, OSError):
        return f"cannot connect to SMTP server {where}: {exc.strerror or exc}"
    return f"SMTP server {where}: {type(exc).__name__}: {exc}"


def _refusal(exc: smtplib.SMTPException, settings: SmtpSettings) -> str:
    """What the server said no to, and what to change."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (
            f"refused the login of {settings.user!r}: {_answer(exc)}; "
            "check the user and password in the URL"
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        hint = "mode=insecure" if "STARTTLS" in str(exc) else "a URL without user:password"
        return f"does not support that: {exc}; use {hint} or another server"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"refused every recipient: {_refusals(exc.recipients)}"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"refused the sender {settings.sender.addr_spec}: {_answer(exc)}"
    assert isinstance(exc, smtplib.SMTPResponseException)
    return f"answered {_answer(exc)}"


def _answer(exc: smtplib.SMTPResponseException) -> str:
    error: bytes | str = exc.smtp_error
    text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
    return f"{exc.smtp_code} {text}".strip()


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return ", ".join(
        f"{addr} ({code} {reply.decode(errors='replace')})"
        for addr, (code, reply) in refused.items()
    )


def _angled(message_id: str | None) -> str:
    """A Message-ID with its angle brackets, whether or not it came with them."""
    if not message_id:
        return ""
    message_id = message_id.strip()
    return message_id if message_id.startswith("<") else f"<{message_id}>"
