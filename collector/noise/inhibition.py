"""Inhibition by a stronger incident of the same kind, and the shared way of holding a message.

Rules that describe one problem at different severities share a `kind` (FilesystemAlmostFull
P3 and FilesystemFull P2 are both `filesystem_space`). On one host, while an incident of a kind
is active, the incidents of that kind with a less urgent priority and the same values for the
labels both carry (same mountpoint) are opened and recorded, but their messages are held and
linked to it (INHIBITED). When it is over, those still unacknowledged are told (UNSILENCED).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Connection

from collector.incidents.events import TimerKind
from collector.incidents.model import Incident
from collector.store import timers
from collector.store.incidents import append_timeline
from collector.store.inhibitions import active_of_rules, is_held, release, withdraw_unsent

HELD_BY = "held:"  # timer tag prefix: held:INC-2026-000123 waits for that incident to end


@dataclass(frozen=True)
class Kinds:
    """Which kind each rule is of (rules.compiled.RuleSet.kind_of)."""

    of_rule: Mapping[str, str] = field(default_factory=dict)

    def siblings(self, rule: str) -> frozenset[str]:
        """The rules of `rule`'s kind, itself included; empty when it has no kind."""
        kind = self.of_rule.get(rule)
        if kind is None:
            return frozenset()
        return frozenset(name for name, other in self.of_rule.items() if other == kind)


def labels_agree(one: Mapping[str, str], other: Mapping[str, str]) -> bool:
    """Whether the labels both carry have the same values (same device, same mountpoint)."""
    return all(one[name] == other[name] for name in one.keys() & other.keys())


def stronger(conn: Connection, incident: Incident, kinds: Kinds) -> Incident | None:
    """The most urgent active incident of the same kind on the host that outranks `incident`."""
    found = [
        other
        for other in _relatives(conn, incident, kinds)
        if other.priority.rank < incident.priority.rank
    ]
    return min(found, key=lambda other: other.priority.rank) if found else None


def weaker(conn: Connection, incident: Incident, kinds: Kinds) -> list[Incident]:
    """The active incidents of the same kind on the host that `incident` outranks."""
    return [
        other
        for other in _relatives(conn, incident, kinds)
        if other.priority.rank > incident.priority.rank
    ]


def _relatives(conn: Connection, incident: Incident, kinds: Kinds) -> list[Incident]:
    rules = kinds.siblings(incident.rule)
    if not rules or not incident.host:
        return []
    return [
        other
        for other in active_of_rules(conn, incident.host, rules)
        if other.id != incident.id and labels_agree(other.labels, incident.labels)
    ]


def hold(
    conn: Connection, incident: Incident, blocker: Incident, event: str, tag: str, now: float
) -> None:
    """Record a message held back while `blocker` is open; told when `tag` is released."""
    assert incident.id is not None
    detail = f"{event} held back while {blocker.number} ({blocker.rule}) is open"
    data = {"by": blocker.number, "event": event}
    append_timeline(conn, incident.id, now, "transition", "INHIBITED", "system", detail, data)
    timers.schedule(conn, TimerKind.UNSILENCE, incident.id, timers.NEVER, now, tag=tag)
    # Reminders wait too: the release tells, and restarts them.
    timers.cancel(conn, TimerKind.RENOTIFY, incident.id, now)


def held_by(blocker: Incident) -> str:
    """The timer tag of messages waiting for `blocker` to end."""
    return f"{HELD_BY}{blocker.number}"


def settle_kind(conn: Connection, incident: Incident, kinds: Kinds, now: float) -> None:
    """After a change of `incident`: hold its kind's weaker incidents while it is active, and
    release them when it is not."""
    if not kinds.siblings(incident.rule):
        return
    if not incident.active:
        release(conn, held_by(incident), now)
        return
    for other in weaker(conn, incident, kinds):
        assert other.id is not None
        if is_held(conn, other.id, held_by(incident)):
            continue  # already linked to it
        # A message of the weaker one still waiting (same report, storm wait) is not sent.
        withdraw_unsent(conn, other.id, now, f"inhibited by {incident.number}")
        hold(conn, other, incident, "opened", held_by(incident), now)
