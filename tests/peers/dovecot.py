"""A real IMAP server for tests: dovecot (Debian's dovecot-imapd) with its own config, a
maildir and a passwd-file user in the test's folder, TLS with a certificate made at test time,
listening on 127.0.0.1 (implicit TLS and STARTTLS ports), run in the foreground and stopped by
its PID."""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import ssl
import subprocess
import tempfile
from pathlib import Path

from tests.peers import free_port, require_tool, wait_until
from tests.peers.certs import TestCA

USER, PASSWORD = "support", "imap-secret-1"
_OUTSIDE_PREFIX = "wk-dovecot-"

CONFIG = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
auth_mechanisms = plain
mail_location = maildir:{dir}/mail/%u
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {dir}/passwd
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={dir}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


class Dovecot:
    """dovecot on two free ports: `port` (STARTTLS) and `tls_port` (implicit TLS)."""

    def __init__(self, folder: Path) -> None:
        self.binary = require_tool("dovecot", "dovecot-imapd")
        if os.geteuid() == 0:
            folder = _reachable(folder)
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.ca = TestCA(folder, "IMAP Test CA")
        issued = self.ca.issue("127.0.0.1")
        self.port, self.tls_port = free_port(), free_port()
        self.password_file = folder / "imap-password"
        self.password_file.write_text(PASSWORD + "\n")
        (folder / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        for sub in ("run", "state", "mail"):
            (folder / sub).mkdir(exist_ok=True)
        user, group = _account()
        if os.geteuid() == 0:
            os.chown(folder / "mail", pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid)
        self.config = folder / "dovecot.conf"
        self.config.write_text(CONFIG.format(
            dir=folder, cert=issued.cert, key=issued.key, user=user, group=group,
            port=self.port, tls_port=self.tls_port,
        ))  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Dovecot:
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=(self.folder / "dovecot.err").open("wb"),
        )
        try:
            wait_until(self._ready, 10.0, "dovecot")
        except BaseException:
            self.__exit__()  # a server that never got ready is not left running
            raise
        return self

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.folder.name.startswith(_OUTSIDE_PREFIX):
            shutil.rmtree(self.folder, ignore_errors=True)

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            err = (self.folder / "dovecot.err").read_text(errors="replace")
            raise RuntimeError(f"dovecot exited with {self.process.returncode}: {err}")
        with self.client():
            return True

    def context(self) -> ssl.SSLContext:
        """A client context trusting the test CA."""
        return ssl.create_default_context(cafile=str(self.ca.cert))

    def client(self) -> imaplib.IMAP4_SSL:
        """A logged-in client (implicit TLS) on INBOX."""
        imap = imaplib.IMAP4_SSL("127.0.0.1", self.tls_port, ssl_context=self.context(), timeout=5)
        imap.login(USER, PASSWORD)
        imap.select("INBOX")
        return imap

    def deliver(self, raw: bytes) -> None:
        """Put a message in INBOX, unseen (as a delivery agent would)."""
        with self.client() as imap:
            status, _ = imap.append("INBOX", None, None, raw)
            assert status == "OK"

    def unseen(self) -> list[int]:
        """UIDs of INBOX messages without \\Seen."""
        with self.client() as imap:
            _, data = imap.uid("SEARCH", "UNSEEN")
            return [int(u) for u in (data[0] or b"").split()]


def _reachable(folder: Path) -> Path:
    """Run as root, dovecot reads the passwd file and the maildir as `nobody`, which pytest's
    0700 temp folders keep out (and pytest sessions running beside us reset their modes): the
    server's folder is then a fresh 0711 one in the system temp folder, named after the test's
    and removed when the server stops."""
    made = Path(tempfile.mkdtemp(prefix=f"{_OUTSIDE_PREFIX}{folder.parent.name[:40]}-"))
    made.chmod(0o711)
    return made


def _account() -> tuple[str, str]:
    """The unprivileged account of dovecot's login processes (this user when not root)."""
    if os.geteuid() == 0:
        return "nobody", "nogroup"
    entry = pwd.getpwuid(os.geteuid())
    return entry.pw_name, grp.getgrgid(entry.pw_gid).gr_name
