"""The metric catalogue: every metric the probes can send, with its type, unit and labels.

A leaf module (stdlib + yaml, through agent.configfile), so the agent install stays small and
the collector's rule checks can read it without importing a probe. The list itself is data,
agent/metrics_catalogue.yaml, kept beside the report schema.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from agent.configfile import YamlDocument, load_yaml_file

CATALOGUE_PATH = Path(__file__).resolve().parent / "metrics_catalogue.yaml"

MetricType = Literal["gauge", "counter", "state"]
METRIC_TYPES: tuple[MetricType, ...] = ("gauge", "counter", "state")
UNITS = frozenset(
    {"ratio", "bytes", "seconds", "celsius", "volts", "rpm", "watts", "amperes", "days",
     "bytes_per_second", "bits_per_second", "count", "boolean", "none"}
)  # fmt: skip
_KEYS = frozenset({"type", "unit", "labels", "optional_labels", "probe", "description"})
_REQUIRED = ("type", "unit", "labels", "description")


@dataclass(frozen=True)
class MetricInfo:
    """One metric: what it measures and which labels its samples carry."""

    name: str
    type: MetricType
    unit: str
    labels: frozenset[str]
    description: str
    optional_labels: frozenset[str] = frozenset()
    probe: str = ""

    @property
    def all_labels(self) -> frozenset[str]:
        """Labels some sample of the metric may carry."""
        return self.labels | self.optional_labels


@dataclass(frozen=True)
class MetricCatalogue:
    """Metric name -> MetricInfo, with a "did you mean" for names it does not know."""

    metrics: Mapping[str, MetricInfo]

    def get(self, name: str) -> MetricInfo | None:
        """The metric called `name`, if catalogued."""
        return self.metrics.get(name)

    def closest(self, name: str) -> str | None:
        """The catalogued name nearest to a misspelt one, if any is close."""
        found = difflib.get_close_matches(name, list(self.metrics), n=1, cutoff=0.75)
        return found[0] if found else None

    def extended(self, extra: Iterable[MetricInfo]) -> MetricCatalogue:
        """A catalogue with `extra` metrics added (operators' own, declared in rule files)."""
        return MetricCatalogue({**self.metrics, **{info.name: info for info in extra}})


def parse_metric(name: str, entry: Mapping[str, Any]) -> MetricInfo:
    """One catalogue entry -> MetricInfo; ValueError naming the bad key and what is expected."""
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(_KEYS), n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        raise ValueError(f"unknown key `{unknown[0]}`{hint}")
    missing = [key for key in _REQUIRED if key not in entry]
    if missing:
        raise ValueError(f"missing required key `{missing[0]}`")
    if entry["type"] not in METRIC_TYPES:
        raise ValueError(f"type: expected one of {', '.join(METRIC_TYPES)}, got {entry['type']!r}")
    if entry["unit"] not in UNITS:
        raise ValueError(f"unit: expected one of {', '.join(sorted(UNITS))}, got {entry['unit']!r}")
    return MetricInfo(
        name=name,
        type=cast(MetricType, entry["type"]),
        unit=str(entry["unit"]),
        labels=_names(entry["labels"], "labels"),
        optional_labels=_names(entry.get("optional_labels", []), "optional_labels"),
        description=str(entry["description"]),
        probe=str(entry.get("probe", "")),
    )


def _names(value: object, key: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key}: expected a list of label names, got {value!r}")
    return frozenset(value)


def catalogue_from(document: YamlDocument) -> MetricCatalogue:
    """Parse a catalogue document (`metrics:` mapping); ConfigError at the faulty entry's line."""
    data = document.data
    metrics = data.get("metrics") if isinstance(data, dict) else None
    if not isinstance(metrics, dict):
        raise document.error((), "a metric catalogue is a mapping with a `metrics:` mapping")
    found: dict[str, MetricInfo] = {}
    for name, entry in metrics.items():
        if not isinstance(entry, dict):
            raise document.error(("metrics", name), "expected a mapping (type, unit, labels...)")
        try:
            found[str(name)] = parse_metric(str(name), entry)
        except ValueError as exc:
            raise document.error(("metrics", name), str(exc)) from exc
    return MetricCatalogue(found)


@functools.cache
def load_catalogue(path: Path = CATALOGUE_PATH) -> MetricCatalogue:
    """The catalogue at `path` (default: the one shipped with the agent), read once."""
    return catalogue_from(load_yaml_file(path))
