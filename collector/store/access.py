"""Users, API tokens, browser sessions and the audit log in the database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from collector.store.database import reader
from collector.store.schema import api_tokens, audit_log, sessions, users


@dataclass(frozen=True)
class UserRecord:
    """A stored user (the hash stays inside the auth package)."""

    id: int
    name: str
    password_hash: str
    role: str
    customer: str | None
    disabled: bool
    created_at: float
    password_changed_at: float
    language: str | None = None
    time_zone: str | None = None


@dataclass(frozen=True)
class TokenRecord:
    """A stored API token: its digest, never the token."""

    id: int
    name: str
    digest: str
    prefix: str
    role: str
    customer: str | None
    created_by: str
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    revoked_at: float | None


@dataclass(frozen=True)
class SessionRecord:
    """A browser session joined with its user."""

    id: int
    csrf: str
    expires_at: float
    user: UserRecord


@dataclass(frozen=True)
class AuditEntry:
    """One write: who, when, what, from where, and how it ended."""

    at: float
    actor: str
    actor_kind: str
    address: str
    action: str
    status: int
    detail: str = ""
    id: int | None = None


class AccessStore:
    """Typed access to the four access tables over one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._reader = reader(engine)

    # users
    def count_users(self) -> int:
        """How many users exist (0 before the first admin)."""
        with self._reader.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(users)).scalar_one())

    def add_user(
        self, name: str, password_hash: str, role: str, customer: str | None, now: float
    ) -> None:
        """Insert a user (IntegrityError when the name is taken)."""
        with self._engine.begin() as conn:
            conn.execute(
                insert(users).values(
                    name=name,
                    password_hash=password_hash,
                    role=role,
                    customer=customer,
                    disabled=False,
                    created_at=now,
                    password_changed_at=now,
                )
            )

    def user(self, name: str) -> UserRecord | None:
        """The user called `name`, or None."""
        with self._reader.connect() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
        return UserRecord(**row) if row else None

    def list_users(self) -> list[UserRecord]:
        """Every user, by name."""
        with self._reader.connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.name)).mappings().all()
        return [UserRecord(**row) for row in rows]

    def update_user(self, name: str, values: Mapping[str, Any], end_sessions: bool) -> bool:
        """Change a user's columns; `end_sessions` signs them out everywhere. False if unknown."""
        with self._engine.begin() as conn:
            found = conn.execute(select(users.c.id).where(users.c.name == name)).scalar()
            if found is None:
                return False
            conn.execute(update(users).where(users.c.id == found).values(**values))
            if end_sessions:
                conn.execute(delete(sessions).where(sessions.c.user_id == found))
        return True

    # API tokens
    def add_token(self, values: Mapping[str, Any]) -> int:
        """Insert a token row; returns its id."""
        with self._engine.begin() as conn:
            return int(
                conn.execute(
                    insert(api_tokens).values(**values).returning(api_tokens.c.id)
                ).scalar_one()
            )

    def token_by_digest(self, digest: str) -> TokenRecord | None:
        """The token whose SHA-256 is `digest` (revoked or expired ones too), or None."""
        with self._reader.connect() as conn:
            row = (
                conn.execute(select(api_tokens).where(api_tokens.c.digest == digest))
                .mappings()
                .first()
            )
        return TokenRecord(**row) if row else None

    def list_tokens(self) -> list[TokenRecord]:
        """Every token, newest first."""
        with self._reader.connect() as conn:
            rows = conn.execute(select(api_tokens).order_by(api_tokens.c.id.desc())).mappings()
            return [TokenRecord(**row) for row in rows]

    def revoke_token(self, token_id: int, now: float) -> bool:
        """Mark a token revoked; False when unknown or already revoked."""
        with self._engine.begin() as conn:
            result = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return result.rowcount == 1

    def touch_token(self, token_id: int, now: float) -> None:
        """Record that a token was used."""
        with self._engine.begin() as conn:
            conn.execute(
                update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now)
            )

    # sessions
    def add_session(
        self, digest: str, user_id: int, csrf: str, address: str, now: float, expires_at: float
    ) -> None:
        """Store a new session."""
        with self._engine.begin() as conn:
            conn.execute(
                insert(sessions).values(
                    digest=digest,
                    user_id=user_id,
                    csrf=csrf,
                    address=address[:64],
                    created_at=now,
                    expires_at=expires_at,
                )
            )

    def session_by_digest(self, digest: str) -> SessionRecord | None:
        """The session behind a cookie's digest with its user, or None."""
        query = (
            select(sessions.c.id, sessions.c.csrf, sessions.c.expires_at, users)
            .join(users, users.c.id == sessions.c.user_id)
            .where(sessions.c.digest == digest)
        )
        with self._reader.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        session_id, csrf, expires_at, *user = row
        return SessionRecord(session_id, csrf, expires_at, UserRecord(*user))

    def end_session(self, digest: str, now: float) -> None:
        """Delete a session, and every expired one."""
        with self._engine.begin() as conn:
            conn.execute(
                delete(sessions).where(
                    (sessions.c.digest == digest) | (sessions.c.expires_at < now)
                )
            )

    # audit
    def record(self, entry: AuditEntry) -> None:
        """Append one audit entry."""
        values = {k: v for k, v in entry.__dict__.items() if k != "id"}
        with self._engine.begin() as conn:
            conn.execute(insert(audit_log).values(**values))

    def audit_entries(self, limit: int, before: int | None = None) -> list[AuditEntry]:
        """The newest `limit` entries (older than id `before` when given), newest first."""
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(audit_log.c.id < before)
        with self._reader.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [AuditEntry(**row) for row in rows]
