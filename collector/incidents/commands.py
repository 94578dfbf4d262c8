"""What a transition asks the unit of work to do: tell people, schedule or cancel timers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from collector.incidents.events import TimerKind

MessageEvent = Literal[
    "opened",
    "reopened",
    "resolved",
    "renotify",
    "regraded",
    "escalated",
    "sla_warning",
    "sla_breach",
    "update",
    "update_reminder",
    "flapping",
    "settled",
]


@dataclass(frozen=True)
class Notify:
    """Tell people about `event`: the configured channels, or the people of escalation step
    `step` (resolved from the incident's plan when the message is written) — or `person`
    alone when the directory knows them; `text` is an update's words."""

    event: MessageEvent
    step: int | None = None
    text: str = ""
    person: str | None = None


@dataclass(frozen=True)
class Schedule:
    """Create a due-work row of `kind` (and `tag`) at `due_at`, replacing a pending one."""

    kind: TimerKind
    due_at: float
    tag: str = ""
    data: dict[str, object] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Cancel:
    """Cancel the pending due-work rows of `kind` (only those with `tag`, when given)."""

    kind: TimerKind
    tag: str | None = None


@dataclass(frozen=True)
class WithdrawPages:
    """Someone answered: the follow-up pages still waiting (the call after the SMS) go away."""


Command = Notify | Schedule | Cancel | WithdrawPages
