"""Password hashing with argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
_HASHER = PasswordHasher()
# Verified when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class WeakPasswordError(ValueError):
    """A password refused before hashing, with the rule it broke."""


def hash_password(password: str) -> str:
    """The argon2id hash of `password` (at least MIN_LENGTH characters)."""
    if len(password) < MIN_LENGTH:
        raise WeakPasswordError(
            f"a password needs at least {MIN_LENGTH} characters (got {len(password)})"
        )
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether `password` matches `stored_hash`; None (no such user) costs the same and fails."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A random password for a first admin (about 190 bits)."""
    return secrets.token_urlsafe(24)
