"""Notification channels: Apprise URLs, a JSON-lines outbox, the console, and a recording double."""

from __future__ import annotations

import json
import logging
import sys
import threading
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import Any, Protocol, TextIO
from urllib.parse import parse_qs, urlsplit

import apprise
from apprise.plugins.custom_form import NotifyForm
from apprise.plugins.custom_json import NotifyJSON
from apprise.plugins.custom_xml import NotifyXML

from collector.notify.message import Notification
from collector.redaction import redact as scrub
from collector.redaction import url_secrets
from rules.priority import Priority

URL_EXAMPLES = (
    "mailto://user:password@smtp.example.com:587?to=ops@example.com, "
    "json://hooks.example.com/watchkeeper, outbox:///var/lib/watchkeeper/outbox.jsonl, "
    "console:// or memory://"
)

# Webhooks whose `headers` dict goes out with every request: json://, xml://, form:// (+ s).
_WEBHOOK_PLUGINS = (NotifyJSON, NotifyXML, NotifyForm)


class DeliveryError(Exception):
    """A channel could not deliver a notification; `reason` is safe to log (no secrets)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Channel(Protocol):
    """Somewhere notifications go. `min_priority` None accepts every priority."""

    min_priority: Priority | None

    def describe(self) -> str:
        """Where this channel delivers, with secrets masked: safe for logs and metric labels."""
        ...

    def send(self, notification: Notification) -> None:
        """Deliver one notification or raise DeliveryError saying why not."""
        ...

    def close(self) -> None:
        """Release connections at shutdown; a later send may open them again."""
        ...


def accepts(channel: Channel, notification: Notification) -> bool:
    """Whether `notification` is urgent enough for `channel` (P1 passes a P2 minimum)."""
    floor = channel.min_priority
    return floor is None or notification.priority.rank <= floor.rank


class AppriseChannel:
    """One Apprise URL (json://, slack://, ntfy://...): one apprise.Apprise per URL.

    `timeout` bounds one send in seconds and is also the socket connect and read timeout,
    unless the URL sets cto= or rto= (Apprise's own 4 s would cut off a slow webhook that
    then gets the retry as a second copy). `min_interval`, if set, is the least pause between
    two sends; Apprise's per-service throttle (5.5 s for many services) is off otherwise.
    json://, xml:// and form:// webhooks get Idempotency-Key and X-Watchkeeper-Ticket headers.
    """

    def __init__(
        self,
        url: str,
        *,
        min_priority: Priority | None = None,
        timeout: float = 30.0,
        min_interval: float | None = None,
    ) -> None:
        self.min_priority = min_priority
        self.timeout = timeout
        self._secrets = url_secrets(url)
        self._lock = threading.Lock()
        self._apprise = apprise.Apprise()
        with CapturedAppriseLog() as captured:
            added = self._apprise.add(url)
        if not added or len(self._apprise) != 1:
            detail = "; ".join(self._scrub(message) for message in captured.warnings)
            raise ValueError(
                f"invalid {_scheme(url)}:// notification URL"
                + (f" ({detail})" if detail else "")
                + f"; valid URLs look like {URL_EXAMPLES}"
            )
        # Apprise's privacy mode masks passwords but shows +Header= and -param= values.
        self._description = self._scrub(self._apprise.urls(privacy=True)[0])
        self._plugin: Any = self._apprise[0]
        _tune(self._plugin, url, timeout, min_interval)
        self._headers: dict[str, str] | None = None
        if isinstance(self._plugin, _WEBHOOK_PLUGINS):
            self._headers = dict(self._plugin.headers)

    def describe(self) -> str:
        """Apprise's privacy URL: passwords and tokens shown as ****."""
        return self._description

    def send(self, notification: Notification) -> None:
        """Notify through Apprise within `timeout` seconds."""
        with self._lock:
            if self._headers is not None:
                # A new dict, not an update: a timed-out send may still be reading the old one.
                self._plugin.headers = {**self._headers, **_delivery_headers(notification)}
            try:
                result = self._apprise.notify(
                    body=notification.body,
                    title=notification.title,
                    notify_type=_notify_type(notification),
                    body_format=apprise.NotifyFormat.TEXT,
                    timeout=self.timeout,
                )
            except Exception as exc:  # misconfiguration; the reason is all we keep
                raise DeliveryError(self._scrub(f"{type(exc).__name__}: {exc}")) from exc
        if not result:
            raise DeliveryError(self._failure_reason(result))

    def close(self) -> None:
        """Nothing to release: Apprise opens a connection per send."""

    def _failure_reason(self, result: Any) -> str:
        messages: list[str] = []
        for entry in result.logs():
            if entry.level in ("WARNING", "ERROR", "CRITICAL") and entry.message not in messages:
                messages.append(entry.message)
        status = getattr(getattr(result, "status", None), "name", "FAILURE")
        return self._scrub("; ".join(messages) or f"apprise reported {status}")

    def _scrub(self, text: str) -> str:
        # Apprise masks its own logs; this is the belt to its braces.
        return scrub(text, self._secrets)


def _tune(plugin: Any, url: str, timeout: float, min_interval: float | None) -> None:
    """Timeouts from the channel (unless the URL sets them) and no throttle unless asked."""
    try:
        query = {key.lower() for key in parse_qs(urlsplit(url).query)}
    except ValueError:  # Apprise parses more leniently than urllib
        query = set()
    if "rto" not in query:
        plugin.socket_read_timeout = timeout
    if "cto" not in query:
        plugin.socket_connect_timeout = timeout
    # Apprise's throttle is a class attribute; this narrows it to our instance.
    plugin.request_rate_per_sec = min_interval if min_interval is not None else 0.0


def _delivery_headers(notification: Notification) -> dict[str, str]:
    headers = {"Idempotency-Key": notification.idempotency_key}
    headers["X-Watchkeeper-Ticket"] = notification.number
    return {name: value for name, value in headers.items() if value}


class OutboxChannel:
    """Appends one JSON object per line to a file: the demo's mailbox, no server needed."""

    def __init__(self, path: Path, *, min_priority: Priority | None = None) -> None:
        self.path = path
        self.min_priority = min_priority
        self._lock = threading.Lock()

    def describe(self) -> str:
        """outbox:// and the absolute path."""
        return f"outbox://{self.path}"

    def send(self, notification: Notification) -> None:
        """Append the notification as one JSON line."""
        line = json.dumps(asdict(notification), ensure_ascii=False, sort_keys=True) + "\n"
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as outbox:
                    outbox.write(line)
        except OSError as exc:
            raise DeliveryError(f"cannot append to {self.path}: {exc.strerror or exc}") from exc

    def close(self) -> None:
        """Nothing to release: the file is opened per send."""


class ConsoleChannel:
    """Writes title and body to stderr (or an injected stream)."""

    def __init__(
        self, stream: TextIO | None = None, *, min_priority: Priority | None = None
    ) -> None:
        self._stream = stream
        self.min_priority = min_priority

    def describe(self) -> str:
        """console://"""
        return "console://"

    def send(self, notification: Notification) -> None:
        """Print the title, the body and a blank line."""
        # Looked up per call so a redirected sys.stderr (tests, daemons) is honoured.
        stream = self._stream if self._stream is not None else sys.stderr
        try:
            stream.write(f"{notification.title}\n{notification.body}\n\n")
            stream.flush()
        except (OSError, ValueError) as exc:
            raise DeliveryError(f"cannot write to the console: {exc}") from exc

    def close(self) -> None:
        """Nothing to release: the stream belongs to the caller."""


class RecordingChannel:
    """Keeps notifications in memory: the test double and the dry-run channel (memory://)."""

    def __init__(self, name: str = "", *, min_priority: Priority | None = None) -> None:
        self.name = name
        self.min_priority = min_priority
        self.notifications: list[Notification] = []
        self.attempts = 0
        self.closed = 0
        self._failures: list[str] = []
        self._lock = threading.Lock()

    def describe(self) -> str:
        """memory:// and the name."""
        return f"memory://{self.name}"

    def fail_next(self, count: int, reason: str = "simulated failure") -> None:
        """Make the next `count` sends raise DeliveryError(reason)."""
        with self._lock:
            self._failures.extend([reason] * count)

    def send(self, notification: Notification) -> None:
        """Record the notification, or fail if told to."""
        with self._lock:
            self.attempts += 1
            if self._failures:
                raise DeliveryError(self._failures.pop(0))
            self.notifications.append(notification)

    def close(self) -> None:
        """Count the call, so tests can see the collector released its channels."""
        with self._lock:
            self.closed += 1


def channel_from_url(
    url: str,
    min_priority: Priority | None = None,
    *,
    base_dir: Path | None = None,
    timeout: float = 30.0,
    min_interval: float | None = None,
) -> Channel:
    """The channel for `url`; ValueError naming the scheme (never the password) if unusable.

    outbox:///abs/path or outbox://relative/path (relative to `base_dir`, default the working
    directory); console://; memory://name; mailto:// and mailtos:// go to SmtpChannel; sip://
    phones through a PBX (SipCallChannel);
    anything else must be a URL Apprise supports. Both send within `timeout` seconds and at
    most once per `min_interval` (see AppriseChannel and SmtpChannel).
    """
    scheme = _scheme(url)
    if scheme == "outbox":
        return OutboxChannel(_outbox_path(url, base_dir), min_priority=min_priority)
    if scheme == "console":
        return ConsoleChannel(min_priority=min_priority)
    if scheme == "memory":
        return RecordingChannel(url.split("://", 1)[1], min_priority=min_priority)
    if scheme in ("mailto", "mailtos"):
        # Imported here because smtp.py builds on this module (DeliveryError, URL helpers).
        from collector.notify.smtp import SmtpChannel

        return SmtpChannel(
            url, min_priority=min_priority, timeout=timeout, min_interval=min_interval
        )
    if scheme in ("sip", "sips"):  # sips:// is refused there, with the reason
        from collector.notify.sip import SipCallChannel  # builds on this module, like smtp.py

        return SipCallChannel(url, min_priority=min_priority)
    if scheme not in _apprise_schemes():
        raise ValueError(
            f"unsupported notification URL scheme {scheme!r}; valid URLs look like {URL_EXAMPLES}"
        )
    return AppriseChannel(
        url, min_priority=min_priority, timeout=timeout, min_interval=min_interval
    )


def _scheme(url: str) -> str:
    scheme, separator, _ = url.partition("://")
    if not separator or not scheme.isascii() or not scheme.replace("+", "").isalnum():
        # The value itself is not echoed: it may be a password pasted in the wrong place.
        raise ValueError(f"notification URL has no scheme://; valid URLs look like {URL_EXAMPLES}")
    return scheme.lower()


def _outbox_path(url: str, base_dir: Path | None) -> Path:
    rest = url.split("://", 1)[1].split("?", 1)[0]
    if not rest or rest == "/":
        raise ValueError(
            "outbox:// URL needs a file path, e.g. outbox:///var/lib/watchkeeper/outbox.jsonl "
            "or outbox://.watchkeeper/outbox.jsonl"
        )
    path = Path(rest)
    return path if path.is_absolute() else (base_dir or Path.cwd()) / path


@cache
def _apprise_schemes() -> frozenset[str]:
    # Apprise's plugin manager is a singleton: this is a lookup, not a reload.
    from apprise.manager_plugins import NotificationManager

    schemas = NotificationManager().schemas()  # type: ignore[no-untyped-call]
    return frozenset(str(schema).lower() for schema in schemas)


def _notify_type(notification: Notification) -> apprise.NotifyType:
    if notification.event == "resolved":
        return apprise.NotifyType.SUCCESS
    if notification.priority.rank <= 2:
        return apprise.NotifyType.FAILURE
    return apprise.NotifyType.WARNING


class CapturedAppriseLog(logging.Filter):
    """Holds back this thread's Apprise warnings while a URL is parsed, to reword them."""

    def __init__(self) -> None:
        super().__init__()
        self.warnings: list[str] = []
        self._thread = threading.get_ident()

    def __enter__(self) -> CapturedAppriseLog:
        logging.getLogger("apprise").addFilter(self)
        return self

    def __exit__(self, *_: object) -> None:
        logging.getLogger("apprise").removeFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread != self._thread:
            return True
        if record.levelno == logging.WARNING:
            self.warnings.append(record.getMessage())
        # Parse errors are reported once, by our ValueError; everything else passes.
        return record.levelno < logging.WARNING
