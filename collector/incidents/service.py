"""Runs incident transitions: keeps open incidents, stores changes, hands out notifications."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, Protocol

from collector.incidents.model import Incident, IncidentState
from collector.incidents.transitions import Command, Persist, Transition, apply_signal
from collector.notify.message import Language, Notification, compose_notification
from collector.store.repository import Repository
from rules.engine import AlertSignal, RuleEngine

log = logging.getLogger(__name__)


class NotificationSink(Protocol):
    """Where composed notifications go (the dispatcher); must not block."""

    def submit(self, notification: Notification) -> Any: ...


TransitionHook = Callable[[Incident, Transition], None]


class IncidentService:
    """The collector's incidents: open ones in memory, every change stored before it is told."""

    def __init__(
        self,
        repository: Repository,
        notifications: NotificationSink,
        language: Language = "en",
        console_url: str | None = None,
        on_transition: TransitionHook | None = None,
    ) -> None:
        self._repository = repository
        self._notifications = notifications
        self._language = language
        self._console_url = console_url
        self.on_transition = on_transition
        self.open: dict[str, Incident] = {}

    def restore(self, engine: RuleEngine, now: float) -> int:
        """Load open incidents after a restart; resolve those whose rule is no longer loaded."""
        for incident in self._repository.list_incidents(IncidentState.OPEN, limit=1_000_000):
            probe = incident.annotations.get("probe", "")
            labels = _series_labels(incident, engine)
            if engine.restore_firing(
                incident.rule, incident.host, labels, incident.opened_at, probe
            ):
                self.open[incident.key] = incident
                continue
            gone = replace(incident, state=IncidentState.RESOLVED, resolved_at=now, updated_at=now)
            self._repository.resolve_incident(gone, "rule no longer loaded")
        return len(self.open)

    def handle(self, signals: Iterable[AlertSignal]) -> None:
        """Apply each signal; a storage failure is logged and that signal dropped, not raised."""
        for signal in signals:
            current = self.open.get(signal.key)
            summary = current.summary if current else self._summary(signal)
            _, commands = apply_signal(current, signal, summary)
            try:
                self._run(commands)
            except Exception:
                log.exception("incident %s on %s: transition failed", signal.rule.name, signal.host)

    def _run(self, commands: Sequence[Command]) -> None:
        stored: Incident | None = None
        for command in commands:
            if isinstance(command, Persist):
                stored = self._persist(command)
                continue
            incident = stored or command.incident
            message = compose_notification(
                incident, command.event, self._language, self._console_url
            )
            self._notifications.submit(message)

    def _persist(self, command: Persist) -> Incident:
        incident = command.incident
        if command.transition is Transition.OPEN:
            stored = self._repository.open_incident(incident, command.detail)
            self.open[stored.key] = stored
        else:
            previous = self.open.pop(incident.key, None)
            stored = replace(incident, id=previous.id if previous else incident.id)
            self._repository.resolve_incident(stored, command.detail)
        log.info(
            "%s incident %s %s %s on %s: %s",
            command.transition.value,
            stored.id,
            stored.priority.value,
            stored.rule,
            stored.host,
            stored.summary,
        )
        if self.on_transition is not None:
            self.on_transition(stored, command.transition)
        return stored

    def _summary(self, signal: AlertSignal) -> str:
        context = {
            "host": signal.host,
            "labels": dict(signal.labels),
            "value": signal.value,
            "rule": signal.rule.name,
            "priority": signal.rule.rule.priority.value,
        }
        return signal.rule.summary.render(context, self._language)


def _series_labels(incident: Incident, engine: RuleEngine) -> dict[str, str]:
    """The series labels of an incident: its labels minus the ones its rule adds."""
    compiled = engine.rules.get(incident.rule)
    extra = compiled.rule.labels if compiled else {}
    return {k: v for k, v in incident.labels.items() if extra.get(k) != v}
