"""A throwaway PostgreSQL cluster of the test's own (initdb + postgres on a free loopback port).

It can be stopped and started again under a running collector. The postmaster is stopped by
its PID (SIGINT: fast shutdown, clients cut off); as root, the server runs as the `postgres`
user (or nobody), since initdb refuses root. Everything lives in one temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.peers import REQUIRE_PEERS, free_port, wait_until

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _bin_dir() -> Path:
    for directory in BIN_DIRS:
        if (directory / "initdb").exists() and (directory / "postgres").exists():
            return directory
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    message = (
        "initdb not found (/usr/lib/postgresql/*/bin or PATH); install the Debian package "
        "postgresql to run the PostgreSQL restart test"
    )
    if REQUIRE_PEERS:
        pytest.fail(message)
    pytest.skip(message)


class PostgresCluster:
    """initdb'd data folder, trust auth, listening on 127.0.0.1 only, with a socket in tmp."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="wk-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            user = _unprivileged_user()
            entry = pwd.getpwnam(user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            if shutil.which("setpriv"):
                self._as_user = ["setpriv", f"--reuid={entry.pw_uid}"]
                self._as_user += [f"--regid={entry.pw_gid}", "--clear-groups", "--"]
            else:
                self._as_user = ["runuser", "-u", user, "--"]
        self.pid: int | None = None
        try:
            self._run(
                "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
                "-E", "UTF8",
            )  # fmt: skip
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        argv = [*self._as_user, str(self.bin / program), *args]
        done = subprocess.run(
            argv, check=False, capture_output=True, text=True, timeout=60, cwd=self.root
        )
        if done.returncode != 0:
            raise AssertionError(f"{program} failed ({done.returncode}): {done.stderr[-2000:]}")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off"
        )
        try:
            self._run(
                "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log),
                "-o", options,
            )  # fmt: skip
        except AssertionError as exc:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise AssertionError(f"{exc}\nserver log:\n{log}") from None
        pid_file = (self.data / "postmaster.pid").read_text().splitlines()
        self.pid = int(pid_file[0])

    def stop(self, sig: signal.Signals = signal.SIGINT, timeout: float = 30.0) -> None:
        """Stop the postmaster by its PID (SIGINT: fast shutdown) and wait until it is gone."""
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        wait_until(lambda: not _alive(pid), timeout, f"postgres {pid} to stop", step=0.05)

    def close(self) -> None:
        """Stop at once (SIGQUIT: immediate) and remove the folder."""
        try:
            self.stop(signal.SIGQUIT)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _unprivileged_user() -> str:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise AssertionError("running as root with neither a postgres nor a nobody user")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers signal 0; the postmaster is not our child, so look at its state.
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return False
