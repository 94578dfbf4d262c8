"""The per-rule noise figure: how much a rule told people, and how much of it they answered.

Built from the store's raw counts (collector.store.noise); ranked so the rules worth tuning
first come first: most messages sent, then most flapping, then the least acknowledged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from collector.reports.figures import time_stats
from collector.store.noise import RuleActivity


@dataclass(frozen=True)
class RuleNoise:
    """One rule over a period."""

    rule: str
    incidents: int  # opened in the period
    notifications: int  # messages sent in the period (a storm message counts per incident)
    acknowledged: int  # of the incidents opened in the period
    ack_median_seconds: float | None
    ack_p90_seconds: float | None
    flapping: int  # times one of its incidents was marked flapping
    reopened: int  # reopenings by the rule (a flap is a resolve and a reopen)
    silenced: int  # messages a silence or maintenance window held back
    inhibited: int  # messages held back by a stronger fact (host down, stronger kind)

    @property
    def ack_rate(self) -> float | None:
        """Acknowledged incidents as a share of those opened (None when none opened)."""
        return None if self.incidents == 0 else self.acknowledged / self.incidents

    def as_json(self) -> dict[str, Any]:
        """The API's form of the figure."""
        return {**self.__dict__, "ack_rate": self.ack_rate}


def rule_noise(activity: Mapping[str, RuleActivity]) -> list[RuleNoise]:
    """Each rule's figure, noisiest first."""
    figures = [_figure(a) for a in activity.values()]
    figures.sort(key=lambda f: (-f.notifications, -f.flapping, f.ack_rate or 0.0, f.rule))
    return figures


def _figure(activity: RuleActivity) -> RuleNoise:
    stats = time_stats(activity.ack_delays)
    counts = activity.counts
    return RuleNoise(
        rule=activity.rule,
        incidents=activity.opened,
        notifications=counts.get("notifications", 0),
        acknowledged=len(activity.ack_delays),
        ack_median_seconds=stats.median if stats else None,
        ack_p90_seconds=stats.p90 if stats else None,
        flapping=counts.get("flapping", 0),
        reopened=counts.get("reopened", 0),
        silenced=counts.get("silenced", 0),
        inhibited=counts.get("inhibited", 0),
    )
