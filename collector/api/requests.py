"""Request bodies of the incident API, validated into typed models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from rules.priority import Priority


class Body(BaseModel):
    """Frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class OpenBody(Body):
    """POST /api/v1/incidents."""

    title: str = Field(min_length=1, max_length=300)
    priority: Priority = Priority.P3
    description: str = Field("", max_length=20_000)
    hosts: list[str] = Field(default_factory=list, max_length=100)
    reporter: str | None = Field(None, max_length=255)
    contact: str | None = Field(None, max_length=255)


class NoteBody(Body):
    """ack, resolve, verify, close: an optional note."""

    note: str = Field("", max_length=20_000)


class AssignBody(Body):
    """assign."""

    assignee: str = Field(min_length=1, max_length=255)


class TextBody(Body):
    """notes."""

    text: str = Field(min_length=1, max_length=20_000)


class RegradeBody(Body):
    """regrade."""

    priority: Priority
    reason: str = Field(min_length=1, max_length=2_000)


class ReopenBody(Body):
    """reopen."""

    reason: str = Field("", max_length=2_000)
