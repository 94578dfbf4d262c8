"""Factories for rule tests: write a rule file, load it, build reports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pytest

from agent.report import SCHEMA_V1, ProbeResult, Report, Sample
from rules.loader import RuleSet, load_rules

RuleFactory = Callable[[str], RuleSet]


@pytest.fixture
def ruleset_from(tmp_path: Path) -> RuleFactory:
    """Load only the given YAML text (no built-in packs)."""

    def build(text: str) -> RuleSet:
        path = tmp_path / "rules.yaml"
        path.write_text(text)
        return load_rules([path], include_builtin=False)

    return build


def report(
    host: str,
    *samples: Sample,
    probe: str = "host",
    status: Literal["ok", "partial", "error"] = "ok",
    target: str | None = None,
) -> Report:
    """A one-probe report carrying `samples`."""
    result = ProbeResult(
        probe=probe, status=status, duration_seconds=0.001, samples=list(samples), target=target
    )
    return Report(SCHEMA_V1, host, 0.0, 1, "test", 10.0, [result])
