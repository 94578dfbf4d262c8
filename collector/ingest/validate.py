"""What the database can hold beyond what decoding checks: no NUL characters, bounded size.

Lengths and number ranges are checked while the report is decoded (agent/report.py's types,
in C, with the JSON path). A NUL character is legal JSON (\\u0000) but PostgreSQL text cannot
hold it; one byte search of the body finds it, and only then is the report walked to name
the path. Refusing the one report with a 400 keeps every other host working.
"""

from __future__ import annotations

from collections.abc import Iterator

from agent.report import Report

_ESCAPED_NUL = b"\\u0000"


class ReportLimitError(ValueError):
    """A report exceeds a configured size limit (the API answers 413)."""


def check_report(report: Report, raw: bytes, max_samples: int) -> None:
    """Raise ReportLimitError if too large, ValueError naming a NUL character's path."""
    total = sum(len(p.samples) for p in report.probes)
    if total > max_samples:
        raise ReportLimitError(
            f"report carries {total} samples; this collector takes at most {max_samples} "
            "per report (limits.max_samples)"
        )
    if b"\\" in raw and _ESCAPED_NUL in raw:  # a byte scan first: most reports escape nothing
        at = next((path for path, text in _strings(report) if "\x00" in text), "$")
        raise ValueError(f"contains a NUL character - at `{at}`")


def _strings(report: Report) -> Iterator[tuple[str, str]]:
    yield "$.host", report.host
    yield "$.agent_version", report.agent_version
    yield "$.instance", report.instance
    for i, probe in enumerate(report.probes):
        at = f"$.probes[{i}]"
        yield f"{at}.probe", probe.probe
        yield f"{at}.target", probe.target or ""
        yield f"{at}.error", probe.error or ""
        for key, value in probe.source_errors.items():
            yield f"{at}.source_errors", key + value
        for j, sample in enumerate(probe.samples):
            yield f"{at}.samples[{j}].metric", sample.metric
            if isinstance(sample.value, str):
                yield f"{at}.samples[{j}].value", sample.value
            for key, value in sample.labels.items():
                yield f"{at}.samples[{j}].labels.{key}", key + value
        for j, event in enumerate(probe.events):
            yield f"{at}.events[{j}].kind", event.kind
            yield f"{at}.events[{j}].message", event.message
            for key, value in event.labels.items():
                yield f"{at}.events[{j}].labels.{key}", key + value
