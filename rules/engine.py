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
# Measured by the collector at arrival (agent send time - arrival time), fed in by ingest.
CLOCK_SKEW = "host_clock_skew_seconds"
# Agents reporting under one host name right now (2+: a duplicate host), fed in by ingest.
AGENT_INSTANCES = "host_agent_instances"


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


LabelKey = tuple[tuple[str, str], ...]
SeriesId = tuple[str, str, LabelKey]  # (rule, host, sorted labels): cheap, no hashing
HistoryId = tuple[str, str, LabelKey]  # (host, metric, sorted labels)


@dataclass
class CheckpointPart:
    """One host's share of a checkpoint: which histories and pending breaches to save."""

    histories: list[HistoryId] = field(default_factory=list)
    pending: list[SeriesId] = field(default_factory=list)


@dataclass
class SeriesState:
    """One (rule, host, labels) in breach or about to be; `key` is its stable fingerprint."""

    key: str
    rule: CompiledRule
    host: str
    labels: dict[str, str]
    probe: str
    phase: Phase
    since: float
    value: float | str | None
    stamp: int = 0


def label_key(labels: Mapping[str, str]) -> LabelKey:
    """Labels as a sorted tuple: the identity of a series within a metric."""
    return tuple(sorted(labels.items())) if labels else ()


def incident_key(rule: str, host: str, labels: Mapping[str, str]) -> str:
    """Stable fingerprint of (rule, host, labels): one open incident per key.

    Only computed when a series enters breach, never per sample.
    """
    text = "\x1f".join([rule, host, *(f"{k}={v}" for k, v in sorted(labels.items()))])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass
class RuleEngine:
    """Holds the state of every watched series and steps it as reports and time arrive."""

    rules: RuleSet
    states: dict[SeriesId, SeriesState] = field(default_factory=dict)
    last_seen: dict[str, float] = field(default_factory=dict)
    _histories: dict[HistoryId, SeriesHistory] = field(default_factory=dict)
    _by_host: dict[str, set[SeriesId]] = field(default_factory=dict)
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
        return self._without_inhibited(signals) + self.match_events(report)

    def match_events(self, report: Report) -> list[AlertSignal]:
        """Signals for the report's events that an `event:` rule matches (fresh or replayed)."""
        signals: list[AlertSignal] = []
        by_event = self.rules.by_event
        if not by_event:
            return signals
        for result in report.probes:
            host = result.target or report.host
            for event in result.events:
                for compiled in by_event.get(event.kind, ()):
                    labels = {**event.labels, "message": event.message}
                    if not compiled.matcher.matches(labels, host):
                        continue
                    wanted = compiled.rule.key_labels
                    identity = (
                        {k: v for k, v in event.labels.items() if k in wanted}
                        if wanted is not None
                        else dict(event.labels)
                    )
                    key = incident_key(compiled.name, host, identity)
                    state = SeriesState(
                        key,
                        compiled,
                        host,
                        identity,
                        result.probe,
                        Phase.FIRING,
                        event.time,
                        event.message,
                    )
                    signals.append(
                        self._signal(
                            SignalKind.FIRE, state, event.message, event.time, event.message
                        )
                    )
        return signals

    def feed_history(self, report: Report, at: float) -> None:
        """Add a replayed report's numbers to the histories at time `at`, judging nothing."""
        for result in report.probes:
            if result.status == "error":
                continue
            host = result.target or report.host
            for sample in result.samples:
                if isinstance(sample.value, str):
                    continue
                for compiled in self.rules.by_metric.get(sample.metric, ()):
                    window = history_window(compiled.rule)
                    if window and compiled.matcher.matches(sample.labels, host):
                        history = self._history(host, sample, label_key(sample.labels), window)
                        history.insert(at, float(sample.value))
                        break  # one history per series, whichever rule made it

    def revert(self, signal: AlertSignal) -> None:
        """Undo a signal the collector could not store, so the next report or tick retries it."""
        series = (signal.rule.name, signal.host, label_key(signal.labels))
        state = self.states.get(series)
        if signal.kind is SignalKind.FIRE:
            if state is not None and state.phase is Phase.FIRING:
                state.phase = Phase.PENDING
            return
        if state is None and signal.rule.rule.event is None:
            restored = SeriesState(
                signal.key,
                signal.rule,
                signal.host,
                dict(signal.labels),
                signal.probe,
                Phase.FIRING,
                signal.since,
                signal.value,
            )
            restored.stamp = -1
            self._add_state(series, restored)

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
            state = self.states.get((signal.rule.name, signal.host, label_key(signal.labels)))
            if signal.kind is SignalKind.FIRE and state is not None and self._inhibited(state):
                state.phase = Phase.PENDING
                continue
            kept.append(signal)
        return kept

    def _inhibited(self, state: SeriesState) -> bool:
        names = state.rule.rule.inhibited_by
        if not names:
            return False
        for series in self._by_host.get(state.host, ()):
            other = self.states[series]
            if other.phase is Phase.FIRING and other.rule.name in names:
                shared = state.labels.keys() & other.labels.keys()
                if all(state.labels[k] == other.labels[k] for k in shared):
                    return True
        return False

    def _fire_absent(
        self, compiled: CompiledRule, host: str, seen: float, now: float
    ) -> list[AlertSignal]:
        series = (compiled.name, host, ())
        if series in self.states:
            return []
        key = incident_key(compiled.name, host, {})
        state = SeriesState(key, compiled, host, {}, "", Phase.PENDING, seen, now - seen)
        self._add_state(series, state)
        return [self._fire(state, now)]

    def remember_host(self, host: str, last_seen: float) -> None:
        """Watch a host known from before a restart for silence, as if just seen then."""
        self.last_seen.setdefault(host, last_seen)

    def forget_host(self, host: str) -> int:
        """Drop all a retired host's state: pending and firing series (so a pending breach
        cannot fire later), histories and the silence watch; returns the series dropped."""
        self.last_seen.pop(host, None)
        series = self._by_host.pop(host, set())
        for one in series:
            self.states.pop(one, None)
        for key in [k for k in self._histories if k[0] == host]:
            del self._histories[key]
        return len(series)

    def restore_firing(
        self, rule: str, host: str, labels: Mapping[str, str], since: float, probe: str = ""
    ) -> bool:
        """Rebuild a firing series from a stored open incident; False if the rule is gone."""
        compiled = self.rules.find(rule, host, labels)  # the variant watching this series
        if compiled is None:
            return False
        if compiled.rule.event is not None:
            return True  # events have no series to watch; a person resolves them
        key = incident_key(rule, host, labels)
        state = SeriesState(key, compiled, host, dict(labels), probe, Phase.FIRING, since, None)
        state.stamp = -1  # never "seen": a probe that no longer reports it resolves it
        self._add_state((rule, host, label_key(labels)), state)
        return True

    def checkpoint_parts(self) -> dict[str, CheckpointPart]:
        """Per host, the keys of its histories and pending breaches: cheap (keys only), so a
        caller can then checkpoint a few hosts at a time and never hold the engine for long."""
        parts: dict[str, CheckpointPart] = {}
        for key in self._histories:
            parts.setdefault(key[0], CheckpointPart()).histories.append(key)
        for series, state in self.states.items():
            if state.phase is Phase.PENDING and state.rule.rule.absent is None:
                parts.setdefault(series[1], CheckpointPart()).pending.append(series)
        return parts

    def checkpoint(
        self, parts: Iterable[CheckpointPart] | None = None
    ) -> dict[str, dict[str, object]]:
        """Per host: series histories and pending `for:` starts, to survive a restart; of the
        hosts of `parts` (from checkpoint_parts; what changed since is skipped) or of all."""
        if parts is None:
            parts = self.checkpoint_parts().values()
        out: dict[str, dict[str, object]] = {}
        for part in parts:
            for key in part.histories:
                history = self._histories.get(key)
                if history is None:
                    continue
                host, metric, labels = key
                entry = out.setdefault(host, {"histories": [], "pending": []})
                entry["histories"].append(  # type: ignore[attr-defined]
                    [metric, [list(p) for p in labels], history.window, history.values()]
                )
            for series in part.pending:
                state = self.states.get(series)
                if state is None or state.phase is not Phase.PENDING:
                    continue
                rule, host, labels = series
                entry = out.setdefault(host, {"histories": [], "pending": []})
                entry["pending"].append(  # type: ignore[attr-defined]
                    [rule, [list(p) for p in labels], state.probe, state.since]
                )
        return out

    def restore_checkpoint(self, host: str, data: Mapping[str, object]) -> None:
        """Load one host's checkpoint: histories refilled, pending breaches resume their `for:`."""
        for metric, labels, window, points in data.get("histories", []):  # type: ignore[attr-defined]
            history = SeriesHistory(float(window))
            for t, v in points:
                history.add(float(t), float(v))
            self._histories[(host, str(metric), tuple((str(k), str(v)) for k, v in labels))] = (
                history
            )
        for rule, labels, probe, since in data.get("pending", []):  # type: ignore[attr-defined]
            key_labels = tuple((str(k), str(v)) for k, v in labels)
            compiled = self.rules.find(str(rule), host, dict(key_labels))
            series = (str(rule), host, key_labels)
            if compiled is None or series in self.states:
                continue
            plain = dict(key_labels)
            key = incident_key(compiled.name, host, plain)
            state = SeriesState(
                key, compiled, host, plain, str(probe), Phase.PENDING, float(since), None
            )
            state.stamp = -1
            self._add_state(series, state)

    def _observe(
        self, host: str, probe: str, samples: Iterable[Sample], now: float
    ) -> list[AlertSignal]:
        signals: list[AlertSignal] = []
        by_metric = self.rules.by_metric
        for sample in samples:
            candidates = by_metric.get(sample.metric)
            if not candidates:
                continue
            labels = label_key(sample.labels)  # once per sample, shared by its rules
            for compiled in candidates:
                if not compiled.matcher.matches(sample.labels, host):
                    continue
                value = self._value(compiled, host, sample, labels, now)
                series = (compiled.name, host, labels)
                if value is not None:
                    signals += self._step(compiled, series, probe, sample.labels, value, now)
                else:
                    self._mark_seen(series)
        return signals

    def _mark_seen(self, series: SeriesId) -> None:
        # Present but not yet computable (first point, counter reset): not "gone".
        state = self.states.get(series)
        if state is not None:
            state.stamp = self._stamp

    def _value(
        self, compiled: CompiledRule, host: str, sample: Sample, labels: LabelKey, now: float
    ) -> float | str | None:
        window = compiled.window
        if not window or isinstance(sample.value, str):
            return sample.value
        history = self._history(host, sample, labels, window)
        history.add(now, float(sample.value))
        return observed_value(compiled.rule, sample.value, history, now)

    def _history(self, host: str, sample: Sample, labels: LabelKey, window: float) -> SeriesHistory:
        series = (host, sample.metric, labels)
        history = self._histories.get(series)
        if history is None:
            history = self._histories[series] = SeriesHistory(window)
        history.window = max(history.window, window)
        return history

    def _step(
        self,
        compiled: CompiledRule,
        series: SeriesId,
        probe: str,
        labels: Mapping[str, str],
        value: float | str,
        now: float,
    ) -> list[AlertSignal]:
        state = self.states.get(series)
        firing = state is not None and state.phase is Phase.FIRING
        if not is_breach(compiled.rule, value, firing):
            return self._clear(state, value, now, "recovered") if state else []
        if state is None:
            host = series[1]
            key = incident_key(compiled.name, host, labels)
            state = SeriesState(key, compiled, host, dict(labels), probe, Phase.PENDING, now, value)
            self._add_state(series, state)
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
        for series in list(self._by_host.get(host, ())):
            state = self.states[series]
            gone = state.stamp != self._stamp and state.probe in probes
            if gone and state.rule.rule.absent is None:
                signals += self._clear(state, None, now, "series no longer reported")
        return signals

    def _resolve_absent(self, host: str, now: float) -> list[AlertSignal]:
        signals: list[AlertSignal] = []
        for compiled in self.rules.absent_rules:
            state = self.states.get((compiled.name, host, ()))
            if state is not None:
                signals += self._clear(state, 0.0, now, "host reporting again")
        return signals

    def _add_state(self, series: SeriesId, state: SeriesState) -> None:
        self.states[series] = state
        self._by_host.setdefault(state.host, set()).add(series)

    def _drop_state(self, state: SeriesState) -> None:
        series = (state.rule.name, state.host, label_key(state.labels))
        self.states.pop(series, None)
        self._by_host.get(state.host, set()).discard(series)
