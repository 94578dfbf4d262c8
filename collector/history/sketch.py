"""A bounded, mergeable quantile sketch (log-spaced buckets, as DDSketch): 1 % relative error."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

RELATIVE_ACCURACY = 0.01
GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
LOG_GAMMA = math.log(GAMMA)
SMALLEST = 1e-9  # magnitudes below this count as zero
MAX_BUCKETS = 512  # per sign; past it the smallest magnitudes are merged (bounded memory)


@dataclass(slots=True)
class QuantileSketch:
    """Counts of values per log bucket; a quantile is read back within 1 % of the true value.

    Bounded: at most MAX_BUCKETS buckets per sign, whatever the number of values (a ratio in
    [0.01, 1] needs about 230; a day of CPU readings usually 20 to 60).
    """

    positive: dict[int, int] = field(default_factory=dict)
    negative: dict[int, int] = field(default_factory=dict)
    zeros: int = 0

    def add(self, value: float) -> None:
        """Count one value."""
        magnitude = abs(value)
        if magnitude < SMALLEST:
            self.zeros += 1
            return
        store = self.positive if value > 0 else self.negative
        index = math.ceil(math.log(magnitude) / LOG_GAMMA)
        store[index] = store.get(index, 0) + 1
        if len(store) > MAX_BUCKETS:
            _collapse_smallest(store)

    @property
    def count(self) -> int:
        """How many values were counted."""
        return self.zeros + sum(self.positive.values()) + sum(self.negative.values())

    def quantile(self, q: float) -> float | None:
        """The ⌈q·n⌉-th smallest value (nearest rank), within 1 %; None when empty."""
        n = self.count
        if n == 0:
            return None
        rank = max(1, math.ceil(q * n))
        for value, weight in self._ascending():
            rank -= weight
            if rank <= 0:
                return value
        return None  # unreachable: the weights add up to n

    def merge(self, other: QuantileSketch) -> None:
        """Add another sketch's counts to this one."""
        self.zeros += other.zeros
        for mine, theirs in ((self.positive, other.positive), (self.negative, other.negative)):
            for index, weight in theirs.items():
                mine[index] = mine.get(index, 0) + weight
            while len(mine) > MAX_BUCKETS:
                _collapse_smallest(mine)

    def encode(self) -> str:
        """Compact JSON text for the database."""
        return json.dumps({"p": self.positive, "n": self.negative, "z": self.zeros})

    @staticmethod
    def decode(text: str) -> QuantileSketch:
        """The sketch `encode` wrote."""
        data = json.loads(text)
        return QuantileSketch(
            {int(k): int(v) for k, v in data["p"].items()},
            {int(k): int(v) for k, v in data["n"].items()},
            int(data["z"]),
        )

    def _ascending(self) -> list[tuple[float, int]]:
        below = [(-_middle(i), w) for i, w in sorted(self.negative.items(), reverse=True)]
        above = [(_middle(i), w) for i, w in sorted(self.positive.items())]
        return [*below, *([(0.0, self.zeros)] if self.zeros else []), *above]


def _middle(index: int) -> float:
    """The value that represents bucket `index`: within 1 % of everything in it."""
    return 2 * GAMMA**index / (GAMMA + 1)


def _collapse_smallest(store: dict[int, int]) -> None:
    lowest, second = sorted(store)[:2]
    store[second] += store.pop(lowest)
