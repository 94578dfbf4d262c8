"""The one small interface every probe implements, and what a probe hands back.

A probe is any object with a `name`, a `target`, a `min_interval_seconds` and a `collect()`
method: no base class to inherit. `collect()` returns what it saw or raises; the runner turns
an exception into a `status: error` result so one broken probe never stops the others. The
runner collects each probe in a thread of its own under a deadline, unless the probe sets
`runs_inline = True` (cheap reads that cannot hang), and waits for it until its own
`deadline_seconds` if it declares one; `close()`, if present, runs at shutdown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from agent.report import Event, InventoryItem, Sample

# Added to a probe's own timeouts for its `deadline_seconds`: the runner's bound is a backstop
# that must not cut off a probe that is about to report its own, better-worded timeout.
DEADLINE_MARGIN_SECONDS = 2.0


class ProbeError(RuntimeError):
    """A probe could not see its source; the message is shown to the operator as is."""


@dataclass
class ProbeData:
    """One probe's findings in one cycle.

    `source_errors` names the sources (a disk, an array, a BMC) the probe could not read while
    it still read the others; the report then marks the probe "partial".
    """

    samples: list[Sample] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    source_errors: dict[str, str] = field(default_factory=dict)
    inventory: list[InventoryItem] = field(default_factory=list)  # hardware identified

    def add(self, metric: str, value: float | str, **labels: str) -> None:
        """Append one sample; a short form for probes that emit many."""
        self.samples.append(Sample(metric, value, labels))


class Probe(Protocol):
    """What the runner needs from a probe."""

    @property
    def name(self) -> str:
        """Unique within the agent, e.g. "host", "smart", "snmp:core-switch"."""
        ...

    @property
    def target(self) -> str | None:
        """The host the samples describe, or None for the agent's own host."""
        ...

    @property
    def min_interval_seconds(self) -> float:
        """Reuse the last result until this much time has passed (0: collect every cycle)."""
        ...

    def collect(self) -> ProbeData:
        """Read the source now; raise (ideally ProbeError) when it cannot be read."""
        ...
