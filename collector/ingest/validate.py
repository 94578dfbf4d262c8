"""What the database and the exposition can hold: checked at ingest, with the JSON path.

A value found unstorable at flush time would fail the write for every host in the batch;
refusing the one report with a 400 that names the path keeps every other host working.
"""

from __future__ import annotations

import math

from agent.report import Report

MAX_SEQUENCE = 2**63 - 1  # a signed 64-bit column
MAX_NAME_CHARS = 255  # host, probe and metric names, label names
MAX_TEXT_CHARS = 4096  # label values, state values, event messages, errors


class ReportLimitError(ValueError):
    """A report exceeds a configured size limit (the API answers 413)."""


def check_report(report: Report, max_samples: int) -> None:
    """Raise ValueError naming the first unstorable value, ReportLimitError if too large."""
    total = sum(len(p.samples) for p in report.probes)
    if total > max_samples:
        raise ReportLimitError(
            f"report carries {total} samples; this collector takes at most {max_samples} "
            "per report (limits.max_samples)"
        )
    if not 0 <= report.sequence <= MAX_SEQUENCE:
        raise ValueError(
            f"`sequence` must be from 0 to 2^63-1, got {report.sequence} - at `$.sequence`"
        )
    _number(report.time, "$.time")
    _number(report.interval_seconds, "$.interval_seconds")
    _name(report.host, "$.host")
    _text(report.instance, "$.instance", MAX_NAME_CHARS)
    _text(report.agent_version, "$.agent_version", MAX_NAME_CHARS)
    for i, probe in enumerate(report.probes):
        at = f"$.probes[{i}]"
        _name(probe.probe, f"{at}.probe")
        if probe.target is not None:
            _name(probe.target, f"{at}.target")
        _text(probe.error or "", f"{at}.error", MAX_TEXT_CHARS)
        for j, sample in enumerate(probe.samples):
            where = f"{at}.samples[{j}]"
            _name(sample.metric, f"{where}.metric")
            if isinstance(sample.value, str):
                _text(sample.value, f"{where}.value", MAX_TEXT_CHARS)
            else:
                _number(sample.value, f"{where}.value")
            _labels(sample.labels, f"{where}.labels")
        for j, event in enumerate(probe.events):
            where = f"{at}.events[{j}]"
            _name(event.kind, f"{where}.kind")
            _number(event.time, f"{where}.time")
            _text(event.message, f"{where}.message", MAX_TEXT_CHARS)
            _labels(event.labels, f"{where}.labels")


def _labels(labels: dict[str, str], at: str) -> None:
    for key, value in labels.items():
        _name(key, f"{at}.{key}")
        _text(value, f"{at}.{key}", MAX_TEXT_CHARS)


def _name(text: str, at: str) -> None:
    if not text:
        raise ValueError(f"must not be empty - at `{at}`")
    _text(text, at, MAX_NAME_CHARS)


def _text(text: str, at: str, limit: int) -> None:
    if len(text) > limit:
        raise ValueError(f"longer than {limit} characters ({len(text)}) - at `{at}`")
    if "\x00" in text:
        raise ValueError(f"contains a NUL character - at `{at}`")


def _number(value: float, at: str) -> None:
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {value} - at `{at}`")
