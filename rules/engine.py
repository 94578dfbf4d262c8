"""Rule evaluation: reports in, alert signals (fire / resolve) out.

Thresholds are checked the moment a report arrives; a ticker calls `tick()` for what only time
can reveal (a pending breach whose `for:` has elapsed, a host gone silent). The engine only
keeps per-series state in memory; turning signals into incidents is the collector's job.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from agent.report import Report, Sample
from rules.conditions import SeriesHistory, history_window, is_breach, observed_value
from rules.loader import CompiledRule, RuleSet

# Synthetic series every report yields, so rules can alert on a probe that cannot see.
PROBE_SUCCESS = "probe_success"


class Phase(StrEnum):
    """A watched series is pending (breach seen, `for:` not yet elapsed) or firing."""

    PENDING = "pending"
    FIRING = "firing"


class SignalKind(StrEnum):
    """What the collector must do with an incident."""

    FIRE = "fire"
    RESOLVE = "resolve"


@dataclass(frozen=True)
class AlertSignal:
    """A series entered or left the firing phase."""

    kind: SignalKind
    key: str
    rule: CompiledRule
    host: str
    labels: Mapping[str, str]
    value: float | str | None
    time: float
    since: float
    reason: str = ""
    probe: str = ""


@dataclass
class SeriesState:
    """One (rule, host, labels) in breach or about to be."""

    key: str
    rule: CompiledRule
    host: str
    labels: dict[str, str]
    probe: str
    phase: Phase
    since: float
    value: float | str | None
    stamp: int = 0


def incident_key(rule: str, host: str, labels: Mapping[str, str]) -> str:
    """Stable fingerprint of (rule, host, labels): one open incident per key."""
    text = "\x1f".join([rule, host, *(f"{k}={v}" for k, v in sorted(labels.items()))])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass
class RuleEngine:
    """Holds the state of every watched series and steps it as reports and time arrive."""

    rules: RuleSet
    states: dict[str, SeriesState] = field(default_factory=dict)
    last_seen: dict[str, float] = field(default_factory=dict)
    _histories: dict[tuple[str, str, tuple[tuple[str, str], ...]], SeriesHistory] = field(
        default_factory=dict
    )
    _by_host: dict[str, set[str]] = field(default_factory=dict)
    _stamp: int = 0

    def evaluate(self, report: Report, now: float) -> list[AlertSignal]:
        """Evaluate every rule the report's samples touch; resolve series it no longer has."""
        self._stamp += 1
        signals: list[AlertSignal] = []
        reported: dict[str, set[str]] = {}
        for result in report.probes:
            host = result.target or report.host
            if self.last_seen.get(host) != now:  # first result for this host in this report
                self.last_seen[host] = now
                signals += self._resolve_absent(host, now)
            ok = 0.0 if result.status == "error" else 1.0
            success = Sample(PROBE_SUCCESS, ok, {"probe": result.probe})
            signals += self._observe(host, result.probe, (success,), now)
            if result.status != "error":
                reported.setdefault(host, set()).add(result.probe)
                signals += self._observe(host, result.probe, result.samples, now)
        for host, probes in reported.items():
            signals += self._resolve_vanished(host, probes, now)
        return self._without_inhibited(signals)

    def tick(self, now: float) -> list[AlertSignal]:
        """Fire pending breaches whose `for:` elapsed, and hosts silent for too long."""
        signals: list[AlertSignal] = []
        for state in list(self.states.values()):
            if state.phase is Phase.PENDING and now - state.since >= state.rule.rule.for_:
                signals.append(self._fire(state, now))
        for host, seen in self.last_seen.items():
            for compiled in self.rules.absent_rules:
                silence = compiled.rule.absent or 0.0
                if now - seen >= silence and compiled.matcher.matches({}, host):
                    signals += self._fire_absent(compiled, host, seen, now)
        return self._without_inhibited(signals)

    def _without_inhibited(self, signals: list[AlertSignal]) -> list[AlertSignal]:
        """Hold back fires whose inhibitor fires too; they stay pending and retry on tick."""
        kept = []
        for signal in signals:
            state = self.states.get(signal.key)
            if signal.kind is SignalKind.FIRE and state is not None and self._inhibited(state):
                state.phase = Phase.PENDING
                continue
            kept.append(signal)
        return kept

    def _inhibited(self, state: SeriesState) -> bool:
        names = state.rule.rule.inhibited_by
        if not names:
            return False
        for key in self._by_host.get(state.host, ()):
            other = self.states[key]
            if other.phase is Phase.FIRING and other.rule.name in names:
                shared = state.labels.keys() & other.labels.keys()
                if all(state.labels[k] == other.labels[k] for k in shared):
                    return True
        return False

    def _fire_absent(
        self, compiled: CompiledRule, host: str, seen: float, now: float
    ) -> list[AlertSignal]:
        key = incident_key(compiled.name, host, {})
        if key in self.states:
            return []
        state = SeriesState(key, compiled, host, {}, "", Phase.PENDING, seen, now - seen)
        self._add_state(state)
        return [self._fire(state, now)]

    def remember_host(self, host: str, last_seen: float) -> None:
        """Watch a host known from before a restart for silence, as if just seen then."""
        self.last_seen.setdefault(host, last_seen)

    def restore_firing(
        self, rule: str, host: str, labels: Mapping[str, str], since: float, probe: str = ""
    ) -> bool:
        """Rebuild a firing series from a stored open incident; False if the rule is gone."""
        compiled = self.rules.get(rule)
        if compiled is None:
            return False
        key = incident_key(rule, host, labels)
        state = SeriesState(key, compiled, host, dict(labels), probe, Phase.FIRING, since, None)
        state.stamp = -1  # never "seen": a probe that no longer reports it resolves it
        self._add_state(state)
        return True

    def _observe(
        self, host: str, probe: str, samples: Iterable[Sample], now: float
    ) -> list[AlertSignal]:
        signals: list[AlertSignal] = []
        by_metric = self.rules.by_metric
        for sample in samples:
            for compiled in by_metric.get(sample.metric, ()):
                if not compiled.matcher.matches(sample.labels, host):
                    continue
                value = self._value(compiled, host, sample, now)
                if value is not None:
                    signals += self._step(compiled, host, probe, sample.labels, value, now)
                else:
                    self._mark_seen(incident_key(compiled.name, host, sample.labels))
        return signals

    def _mark_seen(self, key: str) -> None:
        # Present but not yet computable (first point, counter reset): not "gone".
        state = self.states.get(key)
        if state is not None:
            state.stamp = self._stamp

    def _value(
        self, compiled: CompiledRule, host: str, sample: Sample, now: float
    ) -> float | str | None:
        window = history_window(compiled.rule)
        if not window or isinstance(sample.value, str):
            return sample.value
        series = (host, sample.metric, tuple(sorted(sample.labels.items())))
        history = self._histories.get(series)
        if history is None:
            history = self._histories[series] = SeriesHistory(window)
        history.window = max(history.window, window)
        history.add(now, float(sample.value))
        return observed_value(compiled.rule, sample.value, history, now)

    def _step(
        self,
        compiled: CompiledRule,
        host: str,
        probe: str,
        labels: Mapping[str, str],
        value: float | str,
        now: float,
    ) -> list[AlertSignal]:
        key = incident_key(compiled.name, host, labels)
        state = self.states.get(key)
        firing = state is not None and state.phase is Phase.FIRING
        if not is_breach(compiled.rule, value, firing):
            return self._clear(state, value, now, "recovered") if state else []
        if state is None:
            state = SeriesState(key, compiled, host, dict(labels), probe, Phase.PENDING, now, value)
            self._add_state(state)
        state.value, state.stamp = value, self._stamp
        if state.phase is Phase.PENDING and now - state.since >= compiled.rule.for_:
            return [self._fire(state, now)]
        return []

    def _fire(self, state: SeriesState, now: float) -> AlertSignal:
        state.phase = Phase.FIRING
        return self._signal(SignalKind.FIRE, state, state.value, now, "threshold crossed")

    def _clear(
        self, state: SeriesState, value: float | str | None, now: float, reason: str
    ) -> list[AlertSignal]:
        self._drop_state(state)
        if state.phase is Phase.PENDING:
            return []
        return [self._signal(SignalKind.RESOLVE, state, value, now, reason)]

    def _signal(
        self, kind: SignalKind, state: SeriesState, value: float | str | None, now: float, why: str
    ) -> AlertSignal:
        return AlertSignal(
            kind,
            state.key,
            state.rule,
            state.host,
            state.labels,
            value,
            now,
            state.since,
            why,
            state.probe,
        )

    def _resolve_vanished(self, host: str, probes: set[str], now: float) -> list[AlertSignal]:
        signals: list[AlertSignal] = []
        for key in list(self._by_host.get(host, ())):
            state = self.states[key]
            gone = state.stamp != self._stamp and state.probe in probes
            if gone and state.rule.rule.absent is None:
                signals += self._clear(state, None, now, "series no longer reported")
        return signals

    def _resolve_absent(self, host: str, now: float) -> list[AlertSignal]:
        signals: list[AlertSignal] = []
        for compiled in self.rules.absent_rules:
            state = self.states.get(incident_key(compiled.name, host, {}))
            if state is not None:
                signals += self._clear(state, 0.0, now, "host reporting again")
        return signals

    def _add_state(self, state: SeriesState) -> None:
        self.states[state.key] = state
        self._by_host.setdefault(state.host, set()).add(state.key)

    def _drop_state(self, state: SeriesState) -> None:
        self.states.pop(state.key, None)
        self._by_host.get(state.host, set()).discard(state.key)
