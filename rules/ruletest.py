"""`watchkeeper rules test FILE`: unit tests for rules, in the spirit of `promtool test rules`.

A test file names rule files, feeds input series over time through the real RuleEngine (time
is injected: no clock, no sleep) and lists the incidents expected open at given times:

    rule_files: [site.yaml]          # relative to this file; built-in packs too unless
    builtin_rules: true              #   builtin_rules: false
    evaluation_interval: 10s         # how often time is checked (`for:`, `absent:`)
    tests:
      - name: backup hosts page at 95 %
        interval: 1m                 # between input samples (default: evaluation_interval)
        series:
          - {host: backup-1, metric: filesystem_used_ratio,
             labels: {mountpoint: /srv}, values: "0.5 0.93x10 0.97x10"}
        expect:
          - at: 15m
            rule: FilesystemAlmostFull   # compare only this rule's incidents (optional)
            incidents:
              - {rule: FilesystemAlmostFull, host: backup-1, labels: {mountpoint: /srv},
                 priority: P3}
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field, ValidationError, field_validator

from agent.catalogue import MetricCatalogue, load_catalogue
from agent.configfile import ConfigError, YamlDocument, load_yaml_file
from agent.report import SCHEMA_V1, ProbeResult, Report, Sample
from rules.engine import AlertSignal, RuleEngine, SignalKind
from rules.loader import RuleLoadError, RuleSet, check_rules, validation_errors
from rules.model import Duration, RuleModel
from rules.notation import expand_values
from rules.priority import Priority


class SeriesInput(RuleModel):
    """One input series: its host, metric, labels and values over time."""

    host: str = Field(description="The host reporting the series.")
    metric: str = Field(description="The metric name, as a probe sends it.")
    labels: dict[str, str] = Field(default_factory=dict, description="The series' labels.")
    probe: str = Field("", description="The probe sending it (default: from the catalogue).")
    values: str | list[float | str | None] = Field(
        description='promtool notation ("0.5 0.9x6 _x2") or a list (null: missing).'
    )

    @field_validator("values")
    @classmethod
    def _readable(cls, values: str | list[float | str | None]) -> str | list[float | str | None]:
        expand_values(values)
        return values


class ExpectedIncident(RuleModel):
    """An incident expected open: labels compared exactly, summary only when given."""

    rule: str = Field(description="The rule's name.")
    host: str = Field(description="The host.")
    labels: dict[str, str] = Field(default_factory=dict, description="All its labels.")
    priority: Priority = Field(description="P1 .. P4.")
    summary: str | None = Field(None, description="The English summary, if it is to be checked.")


class Expectation(RuleModel):
    """The incidents open at time `at` (of one rule, or of all rules)."""

    at: Duration = Field(description="Time since the test started, e.g. 10m.")
    rule: str | None = Field(None, description="Compare only this rule's incidents.")
    incidents: list[ExpectedIncident] = Field(description="Expected open; [] for none.")


class RuleTestCase(RuleModel):
    """One scenario: input series and what must be open when."""

    name: str = Field(description="Shown when the test fails.")
    interval: Duration | None = Field(None, description="Time between input samples.")
    series: list[SeriesInput] = Field(description="The input series.")
    expect: list[Expectation] = Field(description="Checks at given times.")


class RuleTestFile(RuleModel):
    """A rules test file."""

    rule_files: list[str] = Field(default_factory=list, description="Relative to this file.")
    builtin_rules: bool = Field(True, description="Load the built-in packs too.")
    evaluation_interval: Duration = Field(10.0, description="How often time is checked.")
    tests: list[RuleTestCase] = Field(description="The scenarios.")


@dataclass
class RuleTestOutcome:
    """What running a test file found: failures (printed as they are), counts and warnings."""

    failures: list[str] = field(default_factory=list)
    tests: int = 0
    checks: int = 0
    warnings: list[ConfigError] = field(default_factory=list)


Incident = tuple[str, str, tuple[tuple[str, str], ...], str, str]  # rule, host, labels, P, text


def run_rule_tests(path: Path, catalogue: MetricCatalogue | None = None) -> RuleTestOutcome:
    """Run every test of the file; RuleLoadError for a broken test file or rule file."""
    document = load_yaml_file(path)
    try:
        spec = RuleTestFile.model_validate(document.data)
    except ValidationError as exc:
        raise RuleLoadError(validation_errors(exc, document, RuleTestFile)) from exc
    files = [path.parent / name for name in spec.rule_files]
    missing = [file for file in files if not file.exists()]
    if missing:
        raise RuleLoadError([document.error(("rule_files",), f"no such file: {missing[0]}")])
    check = check_rules(files, spec.builtin_rules, catalogue)
    check.errors += _unknown_rule_names(spec, check.rules, document)
    if check.errors:
        raise RuleLoadError(check.errors, check.warnings)
    outcome = RuleTestOutcome(warnings=check.user_warnings)
    known = catalogue or load_catalogue()
    for index, case in enumerate(spec.tests):
        runner = CaseRunner(case, spec.evaluation_interval, check.rules, known)
        seen = runner.run(sorted({e.at for e in case.expect}))
        outcome.tests += 1
        for number, expectation in enumerate(case.expect):
            outcome.checks += 1
            failure = _compare(expectation, seen[expectation.at], expectation.rule)
            if failure:
                line = document.line_of(("tests", index, "expect", number))
                scope = f" (rule {expectation.rule})" if expectation.rule else ""
                outcome.failures.append(
                    f"FAILED {document.source}:{line}: {case.name!r} at "
                    f"{_duration(expectation.at)}{scope}:\n{failure}"
                )
    return outcome


class CaseRunner:
    """Steps one test case through injected time, keeping the incidents signals open."""

    def __init__(
        self, case: RuleTestCase, every: float, rules: RuleSet, catalogue: MetricCatalogue
    ) -> None:
        self.step = case.interval or every
        self.every = every
        self.engine = RuleEngine(rules)
        self.series = [(s, expand_values(s.values), _probe(s, catalogue)) for s in case.series]
        self.open: dict[str, AlertSignal] = {}

    def run(self, checks: Sequence[float]) -> dict[float, list[Incident]]:
        """The incidents open at each time of `checks`; reports arrive every `step`."""
        length = max((len(values) for _s, values, _p in self.series), default=0)
        end = max([*checks, (length - 1) * self.step, 0.0])
        samples = {round(i * self.step, 6): i for i in range(length)}
        ticks = {round(k * self.every, 6) for k in range(int(end // self.every) + 1)}
        wanted = {round(at, 6): at for at in checks}
        seen: dict[float, list[Incident]] = {}
        for now in sorted(samples.keys() | ticks | wanted.keys()):
            if now in samples:
                self._report(samples[now], now)
            self._apply(self.engine.tick(now))
            if now in wanted:
                seen[wanted[now]] = sorted(_incident(s) for s in self.open.values())
        return seen

    def _report(self, index: int, now: float) -> None:
        by_host: dict[str, dict[str, list[Sample]]] = {}
        for spec, values, probe in self.series:
            value = values[index] if index < len(values) else None
            if value is not None:
                sample = Sample(spec.metric, value, dict(spec.labels))
                by_host.setdefault(spec.host, {}).setdefault(probe, []).append(sample)
        for host, probes in by_host.items():
            results = [
                ProbeResult(probe=name, status="ok", duration_seconds=0.0, samples=samples)
                for name, samples in probes.items()
            ]
            report = Report(SCHEMA_V1, host, now, index + 1, "rules-test", self.step, results)
            self._apply(self.engine.evaluate(report, now))

    def _apply(self, signals: Sequence[AlertSignal]) -> None:
        for signal in signals:
            if signal.rule.rule.event is not None:
                continue
            if signal.kind is SignalKind.FIRE:
                self.open[signal.key] = signal
            else:
                self.open.pop(signal.key, None)


def _incident(signal: AlertSignal) -> Incident:
    rule = signal.rule.rule
    labels = {**signal.labels, **rule.labels}
    context: Mapping[str, object] = {
        "host": signal.host,
        "labels": dict(signal.labels),
        "value": signal.value,
        "rule": rule.name,
        "priority": rule.priority.value,
    }
    summary = signal.rule.summary.render(context)
    return (rule.name, signal.host, tuple(sorted(labels.items())), rule.priority.value, summary)


def _compare(expectation: Expectation, got: list[Incident], rule: str | None) -> str:
    got = [g for g in got if rule in (None, g[0])]
    expected: list[Incident] = sorted(
        (e.rule, e.host, tuple(sorted(e.labels.items())), e.priority.value, e.summary or "")
        for e in expectation.incidents
    )
    checked = {e[:4] for e in expected if e[4]}  # summaries compared only where given
    shown = sorted(g if g[:4] in checked else (*g[:4], "") for g in got)
    if shown == expected:
        return ""
    return f"    expected: {_listing(expected)}\n    got:      {_listing(shown)}"


def _listing(incidents: Sequence[Incident]) -> str:
    if not incidents:
        return "(none)"
    items = []
    for rule, host, labels, priority, summary in incidents:
        text = ", ".join(f'{k}="{v}"' for k, v in labels)
        items.append(f"{rule} {priority} {host} {{{text}}}" + (f" {summary!r}" if summary else ""))
    return "\n              ".join(items)


def _probe(spec: SeriesInput, catalogue: MetricCatalogue) -> str:
    if spec.probe:
        return spec.probe
    info = catalogue.get(spec.metric)
    first = info.probe.split(",")[0].strip() if info else ""
    return first if first and first != "collector" else "host"


def _unknown_rule_names(
    spec: RuleTestFile, rules: RuleSet, document: YamlDocument
) -> list[ConfigError]:
    names = sorted({c.name for c in rules.rules})
    errors = []
    for t, case in enumerate(spec.tests):
        for e, expectation in enumerate(case.expect):
            wanted: list[tuple[tuple[str | int, ...], str]] = []
            if expectation.rule:
                wanted.append((("rule",), expectation.rule))
            wanted += [
                (("incidents", i, "rule"), x.rule) for i, x in enumerate(expectation.incidents)
            ]
            for key, name in wanted:
                if name not in names:
                    close = difflib.get_close_matches(name or "", names, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    path = ("tests", t, "expect", e, *key)
                    errors.append(document.error(path, f"no loaded rule is called {name!r}{hint}"))
    return errors


def _duration(seconds: float) -> str:
    if seconds % 3600 == 0 and seconds:
        return f"{int(seconds // 3600)}h"
    if seconds % 60 == 0 and seconds:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"
