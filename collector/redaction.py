"""Secrets never shown: the one redaction function, and where it is applied.

Every output path of the collector goes through `Redactor.redact`: log records (a filter on
every handler), HTTP answers (API, console, /metrics — an ASGI wrapper), and the channel
descriptions and delivery errors stored in the outbox and the timeline. The secrets it knows
are the configured ones (tokens, channel URL passwords, webhook headers and parameters), in
every spelling they may take in a URL (raw, percent-encoded, decoded).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, unquote, urlsplit

MASK = "****"
MIN_SECRET_CHARS = 4  # shorter values ("1", "yes") would mask ordinary text
_SECRET_WORDS = ("pass", "token", "secret", "key", "auth", "sig", "credential", "session")
_QUIET_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced by ****; longer secrets first, so a secret that
    contains another is masked whole."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= MIN_SECRET_CHARS:
            text = text.replace(secret, MASK)
    return text


def spellings(secret: str) -> set[str]:
    """A secret as it may appear: as given, percent-decoded, percent-encoded, and the
    credential alone of an "Authorization: Bearer X" style value."""
    forms = {secret, unquote(secret), quote(unquote(secret), safe=""), quote(unquote(secret))}
    for form in list(forms):
        scheme, _, credential = unquote(form).partition(" ")
        if credential and scheme.isalpha():
            forms |= {credential, quote(credential, safe="")}
    return {f for f in forms if len(f) >= MIN_SECRET_CHARS}


def url_secrets(url: str) -> list[str]:
    """The secrets of a notification URL: its password; every `+Header=` value and every
    `-param=` value (Apprise sends those as HTTP headers and query parameters, where API keys
    go); and other query values whose key smells of a secret (token=, apikey=, pass=)."""
    try:
        parts = urlsplit(url)
        found = [parts.password] if parts.password else []
    except ValueError:
        return []
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        if key[:1] in "+-" or any(word in key.lower() for word in _SECRET_WORDS):
            found.append(value)
    raw_values = [pair.partition("=")[2] for pair in parts.query.split("&")]
    found += [v for v in raw_values if v and unquote(v) in found]
    return sorted({form for secret in found for form in spellings(secret)}, key=len)


class Redactor(logging.Filter):
    """The collector's known secrets; masks them in text, bytes and log records."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        self._encoded: tuple[bytes, ...] = ()
        self._handlers: list[logging.Handler] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Know more secrets (each in all its spellings)."""
        with self._lock:
            known = set(self._secrets)
            for secret in secrets:
                known |= spellings(secret)
            ordered = sorted(known, key=len, reverse=True)
            self._secrets = tuple(ordered)
            self._encoded = tuple(s.encode() for s in ordered)

    def redact(self, text: str) -> str:
        """`text` without any known secret."""
        return redact(text, self._secrets)

    def redact_bytes(self, data: bytes) -> bytes:
        """`data` (UTF-8) without any known secret."""
        for secret in self._encoded:
            if secret in data:
                data = data.replace(secret, MASK.encode())
        return data

    def filter(self, record: logging.LogRecord) -> bool:
        """As a handler filter: the record's message and traceback, redacted."""
        if not self._secrets:
            return True
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True

    def install(self) -> None:
        """Filter every handler of the root logger and of uvicorn's own loggers."""
        loggers = [logging.getLogger(), *(logging.getLogger(n) for n in _QUIET_LOGGERS)]
        for handler in {h for logger in loggers for h in logger.handlers}:
            if self not in handler.filters:
                handler.addFilter(self)
                self._handlers.append(handler)

    def uninstall(self) -> None:
        """Remove the filter from the handlers `install` filtered."""
        for handler in self._handlers:
            handler.removeFilter(self)
        self._handlers.clear()
