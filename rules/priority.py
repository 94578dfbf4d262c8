"""Incident priorities, P1 (wake someone now) to P4 (informational)."""

from __future__ import annotations

from enum import StrEnum


class Priority(StrEnum):
    """How urgently a person must act; P1 is the most urgent."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    @property
    def rank(self) -> int:
        """1 for P1 ... 4 for P4: lower is more urgent."""
        return int(self.value[1])
