"""Directories that really refuse writes, for spool tests: read-only, or a disk that is full.

A non-root user gets a chmod'd directory. Root ignores file modes, so root gets a small tmpfs
mounted read-only or of a few pages (the real kernel errors, EROFS and ENOSPC), unmounted after.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.peers import peer_unavailable


def is_root() -> bool:
    """Whether file modes are ignored for us (tests may run as root in CI)."""
    return os.geteuid() == 0


@contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at `path` with `options` for the block; skips (fails in CI) if refused."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "watchkeeper-test", str(path)],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    if mounted.returncode != 0:
        peer_unavailable(f"cannot mount a tmpfs at {path}: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], timeout=10, check=False)


@contextmanager
def read_only_directory(path: Path) -> Iterator[Path]:
    """An existing directory that refuses every write: EROFS as root, EACCES otherwise."""
    if is_root():
        with tmpfs(path, "ro,size=64k,mode=0755") as mounted:
            yield mounted
        return
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o500)
    try:
        yield path
    finally:
        path.chmod(0o700)


@contextmanager
def full_disk(path: Path, pages: int = 4) -> Iterator[Path]:
    """A real filesystem of `pages` 4 KiB pages (root only): a write past it gets ENOSPC."""
    if not is_root():
        pytest.skip("a real full disk needs root (mount); the injected-writer test covers ENOSPC")
    with tmpfs(path, f"size={pages * 4}k,mode=0700") as mounted:
        yield mounted
