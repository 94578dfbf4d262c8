"""Exact arithmetic on half-open time intervals: union, clipping, subtraction, length."""

from __future__ import annotations

from collections.abc import Iterable

from collector.reports.records import Interval


def merged(intervals: Iterable[Interval]) -> list[Interval]:
    """The union as sorted, disjoint intervals (touching ones joined; empty ones dropped)."""
    result: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


def clipped(intervals: Iterable[Interval], window: Interval) -> list[Interval]:
    """The parts of `intervals` inside `window`, merged."""
    low, high = window
    return merged((max(s, low), min(e, high)) for s, e in intervals)


def subtracted(intervals: Iterable[Interval], removed: Iterable[Interval]) -> list[Interval]:
    """The parts of `intervals` not covered by any of `removed`."""
    cuts = merged(removed)
    result: list[Interval] = []
    for start, end in merged(intervals):
        cursor = start
        for cut_start, cut_end in cuts:
            if cut_end <= cursor or cut_start >= end:
                continue
            if cut_start > cursor:
                result.append((cursor, cut_start))
            cursor = max(cursor, cut_end)
        if cursor < end:
            result.append((cursor, end))
    return result


def total(intervals: Iterable[Interval]) -> float:
    """Seconds covered by the union of `intervals`."""
    return sum((end - start for start, end in merged(intervals)), 0.0)
