"""What the reports read from the store, as plain values (no database types)."""

from __future__ import annotations

from dataclasses import dataclass, field

Interval = tuple[float, float]  # [start, end) in Unix seconds


@dataclass(frozen=True)
class IncidentRecord:
    """One incident as the SLA report needs it."""

    number: str
    priority: str
    opened_at: float
    source: str = "rule"
    rule: str = ""
    hosts: tuple[str, ...] = ()
    state: str = "triggered"
    first_ack_at: float | None = None  # the first ACK on the timeline (MTTA)
    first_update_at: float | None = None  # the first progress update with a person's note
    resolved_at: float | None = None
    closed_at: float | None = None
    labels: dict[str, str] = field(default_factory=dict)
    clocks: dict[str, Interval] = field(default_factory=dict)  # clock: (start, due)
    update_target: float | None = None  # seconds between progress updates, when the SLA has one
    updates_missed: int = 0
    flaps: int = 0
    category: str = ""  # the root cause's category (hardware, software...), "" without one
    cause: str = ""  # the root cause, "" without one

    @property
    def customer(self) -> str:
        """The `customer` label, or "" when the incident has none."""
        return self.labels.get("customer", "")

    def clock_stop(self, clock: str) -> float | None:
        """When `clock` stopped: ack at the first acknowledgement (or resolution), resolve at
        the resolution — as the console shows it."""
        if clock == "ack":
            return self.first_ack_at if self.first_ack_at is not None else self.resolved_at
        return self.resolved_at


@dataclass(frozen=True)
class DeliveryRecord:
    """One outbox message: which rule's incident it was about, where it went, how it ended."""

    rule: str
    channel: str
    event: str
    status: str  # pending | sent | failed | withdrawn
    labels: dict[str, str] = field(default_factory=dict)  # the incident's labels
