"""Access control as a service: who a credential belongs to, sign-in, users, tokens, audit.

Knows nothing of HTTP: the API's middleware turns a request's headers into calls here.
Every secret is kept as a digest (tokens, session cookies: SHA-256 — they are random and long)
or an argon2id hash (passwords — people choose them).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from collector.auth.passwords import generate_password, hash_password, verify_password
from collector.auth.roles import Principal, PrincipalKind, Role
from collector.auth.throttle import LoginThrottle
from collector.config import ApiToken
from collector.store.access import AccessStore, AuditEntry, TokenRecord, UserRecord

log = logging.getLogger(__name__)

TOKEN_PREFIX = "wk_"
FIRST_ADMIN = "admin"
TOUCH_EVERY_SECONDS = 60.0  # last_used_at is written at most this often per token
BASIC_CACHE_SECONDS = 10.0  # a verified basic-auth pair skips argon2 this long (scrapers)


class AccessError(Exception):
    """A refused administrative request, with a message for the person who made it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(AccessError):
    """No such user or token."""


class ConflictError(AccessError):
    """The name is taken, or the token already revoked."""


class LoginRefusedError(AccessError):
    """A sign-in refused: wrong name or password, disabled, or throttled (retry_after > 0)."""

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class SignedIn:
    """A new session: the cookie value (shown to the browser only) and who it is."""

    cookie: str
    principal: Principal
    max_age: int


def digest(secret: str) -> str:
    """Hex SHA-256 of a token or cookie value."""
    return hashlib.sha256(secret.encode()).hexdigest()


class AccessService:
    """Credentials to principals, and the administration of users and tokens."""

    def __init__(
        self,
        store: AccessStore,
        config_tokens: Iterable[ApiToken],
        clock: Callable[[], float],
        throttle: LoginThrottle,
        session_seconds: float,
    ) -> None:
        self.store = store
        self._clock = clock
        self._throttle = throttle
        self._session_seconds = session_seconds
        self._config_tokens = {_config_digest(t): _config_principal(t) for t in config_tokens}
        self._basic_cache: dict[str, tuple[float, Principal]] = {}

    def use_config_tokens(self, config_tokens: Iterable[ApiToken]) -> None:
        """Accept these config-defined API tokens from now on (a reload)."""
        self._config_tokens = {_config_digest(t): _config_principal(t) for t in config_tokens}

    # --- credentials to principals -------------------------------------------------------
    def from_bearer(self, token: str) -> Principal | None:
        """The principal of an API token (config-defined or issued), or None if unknown,
        expired or revoked."""
        hashed = digest(token)
        for known, principal in self._config_tokens.items():
            if hmac.compare_digest(known, hashed):
                return principal
        record = self.store.token_by_digest(hashed) if token.startswith(TOKEN_PREFIX) else None
        now = self._clock()
        if record is None or record.revoked_at is not None:
            return None
        if record.expires_at is not None and record.expires_at <= now:
            return None
        if record.last_used_at is None or now - record.last_used_at >= TOUCH_EVERY_SECONDS:
            self.store.touch_token(record.id, now)
        return Principal(record.name, Role(record.role), PrincipalKind.TOKEN, record.customer)

    def from_basic(self, name: str, password: str) -> Principal | None:
        """The user behind a basic-auth pair (Prometheus scrapers), or None."""
        key = digest(f"{name}\0{password}")
        now = self._clock()
        cached = self._basic_cache.get(key)
        if cached and now - cached[0] < BASIC_CACHE_SECONDS:
            return cached[1]
        user = self.store.user(name)
        if not verify_password(user.password_hash if user else None, password):
            return None
        assert user is not None
        if user.disabled:
            return None
        principal = _user_principal(user, PrincipalKind.PASSWORD)
        self._basic_cache = {k: v for k, v in self._basic_cache.items() if now - v[0] < 60}
        self._basic_cache[key] = (now, principal)
        return principal

    def from_session(self, cookie: str) -> Principal | None:
        """The signed-in user behind a session cookie, or None if unknown, expired or disabled."""
        found = self.store.session_by_digest(digest(cookie))
        if found is None or found.expires_at <= self._clock() or found.user.disabled:
            return None
        return _user_principal(found.user, PrincipalKind.SESSION, found.csrf)

    # --- sign-in --------------------------------------------------------------------------
    def login(self, name: str, password: str, address: str) -> SignedIn:
        """Check a password and open a session, or raise LoginRefusedError."""
        wait, which = self._throttle.wait(name, address)
        if wait > 0:
            subject = f"user {name!r}" if which == "user" else f"address {address}"
            seconds = max(1, math.ceil(wait))
            raise LoginRefusedError(
                f"too many failed sign-ins for {subject}; try again in {seconds} s", wait
            )
        user = self.store.user(name)
        if not verify_password(user.password_hash if user else None, password) or user is None:
            self._throttle.failed(name, address)
            raise LoginRefusedError("wrong user name or password")
        if user.disabled:
            raise LoginRefusedError(f"user {name!r} is disabled; ask an admin")
        self._throttle.succeeded(name)
        cookie, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(24), self._clock()
        self.store.add_session(
            digest(cookie), user.id, csrf, address, now, now + self._session_seconds
        )
        principal = _user_principal(user, PrincipalKind.SESSION, csrf)
        return SignedIn(cookie, principal, int(self._session_seconds))

    def logout(self, cookie: str) -> None:
        """End a session (and sweep expired ones)."""
        self.store.end_session(digest(cookie), self._clock())

    # --- users ------------------------------------------------------------------------------
    def add_user(self, name: str, password: str, role: Role, customer: str | None = None) -> None:
        """Create a user; raises ConflictError when the name is taken, ValueError when weak."""
        _check_customer(role, customer)
        hashed = hash_password(password)
        try:
            self.store.add_user(name, hashed, role.value, customer, self._clock())
        except IntegrityError as exc:
            raise ConflictError(f"user {name!r} already exists") from exc

    def set_password(self, name: str, password: str) -> None:
        """Change a password; the user's sessions end."""
        values = {"password_hash": hash_password(password), "password_changed_at": self._clock()}
        self._update_user(name, values, end_sessions=True)

    def set_disabled(self, name: str, disabled: bool) -> None:
        """Disable (signing out everywhere) or re-enable a user."""
        self._update_user(name, {"disabled": disabled}, end_sessions=disabled)

    def set_role(self, name: str, role: Role, customer: str | None = None) -> None:
        """Change a user's role; the user's sessions end so the new role applies at once."""
        _check_customer(role, customer)
        self._update_user(name, {"role": role.value, "customer": customer}, end_sessions=True)

    def set_preferences(self, name: str, language: str | None, time_zone: str | None) -> None:
        """Store a user's console language and time zone (None: let the browser decide); the
        caller has checked them. Sessions stay: the next request reads them."""
        self._update_user(name, {"language": language, "time_zone": time_zone}, False)

    def users(self) -> list[UserRecord]:
        """Every user."""
        return self.store.list_users()

    def _update_user(self, name: str, values: dict[str, object], end_sessions: bool) -> None:
        self._basic_cache.clear()
        if not self.store.update_user(name, values, end_sessions):
            raise NotFoundError(f"no user {name!r}")

    def bootstrap_admin(self, password: str | None) -> str | None:
        """Create the first admin when there are no users; returns a generated password to
        show once, or None (users exist, or `password` was given)."""
        if self.store.count_users():
            return None
        chosen = password or generate_password()
        self.add_user(FIRST_ADMIN, chosen, Role.ADMIN)
        log.warning("created the first admin user %r", FIRST_ADMIN)
        return None if password else chosen

    # --- API tokens -------------------------------------------------------------------------
    def issue_token(
        self,
        name: str,
        role: Role,
        created_by: str,
        customer: str | None = None,
        expires_in: float | None = None,
    ) -> tuple[str, TokenRecord]:
        """A new token: the token itself (shown once, never stored) and its record."""
        _check_customer(role, customer)
        if not name.strip():
            raise AccessError("a token needs a name saying who or what uses it")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self._clock()
        values = {
            "name": name,
            "digest": digest(token),
            "prefix": token[:10],
            "role": role.value,
            "customer": customer,
            "created_by": created_by,
            "created_at": now,
            "expires_at": now + expires_in if expires_in else None,
        }
        token_id = self.store.add_token(values)
        record = self.store.token_by_digest(str(values["digest"]))
        assert record is not None and record.id == token_id
        return token, record

    def revoke_token(self, token_id: int) -> None:
        """Revoke at once: the next request with it is refused."""
        if not self.store.revoke_token(token_id, self._clock()):
            known = any(t.id == token_id for t in self.store.list_tokens())
            raise (ConflictError if known else NotFoundError)(
                f"token {token_id} is already revoked" if known else f"no token {token_id}"
            )

    def tokens(self) -> list[TokenRecord]:
        """Every issued token (not the config-defined ones)."""
        return self.store.list_tokens()

    # --- audit ------------------------------------------------------------------------------
    def audit(
        self,
        actor: str,
        actor_kind: str,
        address: str,
        action: str,
        status: int,
        detail: str = "",
    ) -> None:
        """Record one write; a failure to record is logged, never raised to the caller."""
        entry = AuditEntry(
            self._clock(), actor[:255], actor_kind, address[:64], action[:512], status, detail
        )
        try:
            self.store.record(entry)
        except Exception:
            log.exception("could not record audit entry for %s by %s", action[:80], actor)


def _user_principal(user: UserRecord, kind: PrincipalKind, csrf: str | None = None) -> Principal:
    return Principal(
        user.name, Role(user.role), kind, user.customer, csrf, user.language, user.time_zone
    )


def _check_customer(role: Role, customer: str | None) -> None:
    if role is Role.CUSTOMER and not customer:
        raise AccessError("role customer needs the customer it belongs to (customer: NAME)")
    if role is not Role.CUSTOMER and customer:
        raise AccessError(f"only role customer takes a customer; role {role.value} sees all")


def _config_digest(token: ApiToken) -> str:
    if token.token_sha256:
        return token.token_sha256.strip().lower()
    secret = token.secret()
    assert secret is not None
    return digest(secret)


def _config_principal(token: ApiToken) -> Principal:
    return Principal(token.name, Role(token.role), PrincipalKind.CONFIG_TOKEN, token.customer)
