"""The response plan frozen into an incident when it opens: escalation tiers and SLA targets.

Editing the response configuration never rewrites a running escalation (as Grafana OnCall
does): the incident keeps the copy it opened with. Targets are references (schedule, team,
person ids) resolved to people when a tier is paged, so a hand-off during an incident pages
whoever is on call at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules.priority import Priority

AUTO_ESCALATING = (Priority.P1, Priority.P2)  # others escalate only when an SLA is breached


@dataclass(frozen=True)
class Tier:
    """One escalation level: whom to page, and how long they have to acknowledge."""

    targets: tuple[str, ...]  # "schedule:ops", "team:dba", "person:alice"
    timeout: float
    notify_all: bool = True


@dataclass(frozen=True)
class SlaTargets:
    """Seconds allowed for the first response, between updates and to resolve (None: none)."""

    ack: float | None = None
    update: float | None = None
    resolve: float | None = None
    calendar: str | None = None  # the business-hours calendar...
    business_clocks: tuple[str, ...] = ()  # ...for these clocks; the others run 24x7
    warn_at: tuple[float, ...] = (0.5, 0.8)
    remind_before: float = 300.0  # remind the responder this long before an update is due

    def target_of(self, clock: str) -> float | None:
        """The target of clock `clock` (ack, update, resolve) in seconds of its time."""
        return {"ack": self.ack, "update": self.update, "resolve": self.resolve}.get(clock)

    def calendar_of(self, clock: str) -> str | None:
        """The calendar `clock` runs on (None: around the clock)."""
        return self.calendar if clock in self.business_clocks else None


@dataclass(frozen=True)
class ClockView:
    """One SLA clock as people see it."""

    name: str  # ack | resolve
    state: str  # ok | warning | breached | met | paused
    started_at: float
    due_at: float
    remaining: float | None  # seconds left (negative once breached); None once stopped


@dataclass(frozen=True)
class ResponsePlan:
    """The policy and SLA an incident follows, as they were when it opened."""

    policy: str = ""
    tiers: tuple[Tier, ...] = ()
    repeat: int = 0  # go through the tiers this many more times
    sla: SlaTargets = field(default_factory=SlaTargets)
    clocks: dict[str, tuple[float, float]] = field(default_factory=dict)  # clock: (start, due)
    # Pauses (waiting on the customer, a maintenance window): why, and each paused clock's
    # time left (seconds of its own time) when it stopped; "update" is among them too.
    held_by: tuple[str, ...] = ()
    paused: dict[str, float] = field(default_factory=dict)
    update_due: float | None = None  # when the next progress update is due

    def clock_states(self, incident_stops: dict[str, float | None], now: float) -> list[ClockView]:
        """Each SLA clock's state at `now`: ok, warning, breached, paused, or met once stopped.

        A paused clock shows the time it had left when it paused, and would fall due that long
        after now."""
        views = []
        for name, (start, due) in sorted(self.clocks.items()):
            stopped = incident_stops.get(name)
            if name in self.paused:
                left = self.paused[name]
                state = "met" if stopped is not None else "paused"
                views.append(ClockView(name, state, start, now + left, None if stopped else left))
                continue
            at = stopped if stopped is not None else now
            if at >= due:  # the breach timer fires at `due` too: the two never disagree
                state = "breached"
            elif stopped is not None:
                state = "met"
            elif self.sla.warn_at and now >= start + (due - start) * min(self.sla.warn_at):
                state = "warning"
            else:
                state = "ok"
            views.append(ClockView(name, state, start, due, None if stopped else due - now))
        return views

    def tier_of_step(self, step: int) -> Tier | None:
        """The tier paged at escalation step `step` (0 is the first page), None past the end."""
        if not self.tiers or step >= len(self.tiers) * (self.repeat + 1):
            return None
        return self.tiers[step % len(self.tiers)]

    def to_json(self) -> dict[str, Any]:
        """A plain mapping for the incident row."""
        return {
            "policy": self.policy,
            "tiers": [
                {"targets": list(t.targets), "timeout": t.timeout, "notify_all": t.notify_all}
                for t in self.tiers
            ],
            "repeat": self.repeat,
            "clocks": {name: list(pair) for name, pair in self.clocks.items()},
            "held_by": list(self.held_by),
            "paused": dict(self.paused),
            "update_due": self.update_due,
            "sla": {
                "ack": self.sla.ack,
                "update": self.sla.update,
                "resolve": self.sla.resolve,
                "calendar": self.sla.calendar,
                "business_clocks": list(self.sla.business_clocks),
                "warn_at": list(self.sla.warn_at),
                "remind_before": self.sla.remind_before,
            },
        }

    @staticmethod
    def from_json(data: dict[str, Any] | None) -> ResponsePlan | None:
        """The plan stored in an incident row (None: the incident has none)."""
        if not data:
            return None
        sla = data.get("sla") or {}
        return ResponsePlan(
            policy=str(data.get("policy", "")),
            tiers=tuple(
                Tier(tuple(t["targets"]), float(t["timeout"]), bool(t.get("notify_all", True)))
                for t in data.get("tiers", [])
            ),
            repeat=int(data.get("repeat", 0)),
            clocks={
                str(name): (float(pair[0]), float(pair[1]))
                for name, pair in (data.get("clocks") or {}).items()
            },
            held_by=tuple(str(reason) for reason in data.get("held_by") or ()),
            paused={str(k): float(v) for k, v in (data.get("paused") or {}).items()},
            update_due=None if data.get("update_due") is None else float(data["update_due"]),
            sla=SlaTargets(
                ack=sla.get("ack"),
                update=sla.get("update"),
                resolve=sla.get("resolve"),
                calendar=sla.get("calendar"),
                business_clocks=tuple(sla.get("business_clocks", ())),
                warn_at=tuple(sla.get("warn_at", (0.5, 0.8))),
                remind_before=float(sla.get("remind_before", 300.0)),
            ),
        )
