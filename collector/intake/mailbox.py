"""The support mailbox over IMAP with TLS (implicit or STARTTLS): list the unseen messages,
fetch one, mark it seen. Blocking (stdlib imaplib): the collector runs it in a worker thread."""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from collector.intake.settings import MailIntakeConfig

log = logging.getLogger(__name__)

_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class MailboxError(Exception):
    """The mailbox could not be read; the message says which server and why."""


@dataclass(frozen=True)
class MailboxState:
    """The folder's UIDVALIDITY (UIDs mean the same only while it holds) and unseen UIDs."""

    uidvalidity: int
    unseen: tuple[int, ...]


class Mailbox:
    """One logged-in IMAP session on the configured folder."""

    def __init__(self, connection: imaplib.IMAP4, folder: str) -> None:
        self._imap = connection
        self._folder = folder

    def state(self) -> MailboxState:
        """Select the folder; its UIDVALIDITY and the UIDs of unseen messages, oldest first."""
        status, _ = self._imap.select(_quoted(self._folder))
        _check(status, f"select {self._folder}")
        validity = self._imap.response("UIDVALIDITY")[1]
        uidvalidity = int(validity[0]) if validity and validity[0] else 0
        status, data = self._imap.uid("SEARCH", "UNSEEN")
        _check(status, "search unseen")
        uids = sorted(int(u) for u in (data[0] or b"").split())
        return MailboxState(uidvalidity, tuple(uids))

    def size(self, uid: int) -> int:
        """The message's size in bytes (read before fetching it)."""
        status, data = self._imap.uid("FETCH", str(uid), "(RFC822.SIZE)")
        _check(status, f"size of UID {uid}")
        found = _SIZE.search(b" ".join(d if isinstance(d, bytes) else d[0] for d in data if d))
        return int(found.group(1)) if found else 0

    def fetch(self, uid: int) -> bytes:
        """The raw message, without setting \\Seen (that waits until it is taken in)."""
        status, data = self._imap.uid("FETCH", str(uid), "(BODY.PEEK[])")
        _check(status, f"fetch UID {uid}")
        for item in data:
            if isinstance(item, tuple):
                return bytes(item[1])
        raise MailboxError(f"IMAP server returned no message for UID {uid}")

    def mark_seen(self, uid: int) -> None:
        """Flag the message \\Seen, so the next poll does not list it again."""
        status, _ = self._imap.uid("STORE", str(uid), "+FLAGS", "(\\Seen)")
        _check(status, f"mark UID {uid} seen")


@contextmanager
def open_mailbox(config: MailIntakeConfig) -> Iterator[Mailbox]:
    """Connect with TLS, log in, yield the mailbox, log out; MailboxError saying what failed."""
    where = f"IMAP {config.host}:{config.port} ({config.security})"
    context = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
    try:
        if config.security == "ssl":
            imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                config.host, config.port, ssl_context=context, timeout=config.timeout
            )
        else:
            imap = imaplib.IMAP4(config.host, config.port, timeout=config.timeout)
            imap.starttls(ssl_context=context)
        imap.login(config.username, config.password())
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
        raise MailboxError(f"{where}: cannot log in as {config.username}: {exc}") from exc
    try:
        yield Mailbox(imap, config.mailbox)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"{where}: {exc}") from exc
    finally:
        try:
            imap.logout()
        except (OSError, imaplib.IMAP4.error):
            log.debug("%s: logout failed", where)


def _check(status: str, what: str) -> None:
    if status != "OK":
        raise MailboxError(f"IMAP {what} answered {status}")


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
