"""Every catalogued metric has a name Prometheus accepts for its type: promtool rejects a gauge
ending in _count, _sum or _bucket (histogram and summary parts), and the exposition types a
metric by its _total suffix, so a counter must end in it and nothing else may."""

from __future__ import annotations

from agent.catalogue import load_catalogue

RESERVED_SUFFIXES = ("_count", "_sum", "_bucket", "_created")


def test_no_metric_name_ends_in_a_suffix_prometheus_reserves() -> None:
    catalogue = load_catalogue()
    wrong = [name for name in catalogue.metrics if name.endswith(RESERVED_SUFFIXES)]
    assert wrong == []


def test_counters_and_only_counters_end_in_total() -> None:
    catalogue = load_catalogue()
    mistyped = [
        f"{name} ({info.type})"
        for name, info in catalogue.metrics.items()
        if name.endswith("_total") != (info.type == "counter")
    ]
    assert mistyped == []
