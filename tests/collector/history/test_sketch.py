"""The quantile sketch: within 1 % of the true nearest-rank quantile, bounded, mergeable."""

from __future__ import annotations

import math
import random

import pytest

from collector.history.sketch import MAX_BUCKETS, QuantileSketch


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


@pytest.mark.parametrize("q", [0.5, 0.95, 0.99], ids=["p50", "p95", "p99"])
def test_quantiles_are_within_one_percent(q: float) -> None:
    rng = random.Random(q)
    values = [rng.lognormvariate(0, 1) for _ in range(5000)] + [0.0, -2.5]
    sketch = QuantileSketch()
    for v in values:
        sketch.add(v)
    assert sketch.count == len(values)
    assert sketch.quantile(q) == pytest.approx(nearest_rank(values, q), rel=0.01)


def test_small_days_read_back_hand_computed_values() -> None:
    sketch = QuantileSketch()
    for v in (0.10, 0.20, 0.30, 0.40, 0.90):  # p50: the 3rd smallest; p95: the 5th
        sketch.add(v)
    assert sketch.quantile(0.5) == pytest.approx(0.30, rel=0.01)
    assert sketch.quantile(0.95) == pytest.approx(0.90, rel=0.01)
    assert QuantileSketch().quantile(0.5) is None


def test_buckets_stay_bounded_and_merging_adds_counts() -> None:
    wide = QuantileSketch()
    for exponent in range(-300, 300):
        wide.add(1.05**exponent)
    assert len(wide.positive) <= MAX_BUCKETS
    one, two = QuantileSketch(), QuantileSketch()
    for v in (1.0, 2.0):
        one.add(v)
    for v in (3.0, 4.0, 5.0):
        two.add(v)
    one.merge(two)
    again = QuantileSketch.decode(one.encode())
    assert again.count == 5
    assert again.quantile(0.5) == pytest.approx(3.0, rel=0.01)
