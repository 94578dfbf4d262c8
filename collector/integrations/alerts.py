"""One alert from another monitor, whatever its format, and how it becomes a rule event.

Each payload parser produces `ExternalAlert`s; `to_event` maps one onto the incident core's
RuleFired / RuleCleared with the integration's priority mapping, host label and routing
labels, so another monitor's alert opens, updates and resolves incidents like our own rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from collector.config import IntegrationToken
from collector.incidents.events import RuleCleared, RuleFired
from rules.priority import Priority

# What each kind's severities mean unless the integration says otherwise (case-insensitive).
DEFAULT_PRIORITIES: dict[str, dict[str, Priority]] = {
    "alertmanager": {
        "critical": Priority.P1,
        "page": Priority.P1,
        "error": Priority.P2,
        "major": Priority.P2,
        "warning": Priority.P3,
        "minor": Priority.P3,
        "info": Priority.P4,
        "none": Priority.P4,
    },
    "zabbix": {
        "disaster": Priority.P1,
        "high": Priority.P2,
        "average": Priority.P3,
        "warning": Priority.P3,
        "information": Priority.P4,
        "not classified": Priority.P4,
    },
    "checkmk": {
        "down": Priority.P1,
        "unreachable": Priority.P2,
        "crit": Priority.P2,
        "critical": Priority.P2,
        "unknown": Priority.P3,
        "warn": Priority.P3,
        "warning": Priority.P3,
    },
}
DEFAULT_HOST_LABELS: dict[str, list[str]] = {
    "alertmanager": ["instance", "host", "hostname"],
    "zabbix": ["host"],
    "checkmk": ["host"],
}
_PORT = re.compile(r"^(?P<host>\[[^\]]+\]|[^:]+):\d+$")


@dataclass(frozen=True)
class ExternalAlert:
    """One alert as another monitor reports it, in neutral terms."""

    fingerprint: str  # the monitor's stable id of the alert (its incident key)
    name: str  # alertname, trigger name, service description
    firing: bool  # False: the monitor says it is resolved
    labels: dict[str, str]
    summary: str
    description: str = ""
    annotations: dict[str, str] = field(default_factory=dict)
    value: str | None = None


def incident_key(integration: IntegrationToken, fingerprint: str) -> str:
    """The incident key of an alert: the integration and the monitor's fingerprint."""
    return f"{integration.kind}:{integration.name}:{fingerprint}"


def host_of(labels: Mapping[str, str], names: list[str]) -> str:
    """The first label of `names` present, without a :port (IPv6 in brackets kept bare)."""
    value = next((labels[n] for n in names if labels.get(n)), "")
    found = _PORT.match(value)
    host = found.group("host") if found else value
    return host.strip("[]")


def priority_of(labels: Mapping[str, str], integration: IntegrationToken) -> Priority:
    """The priority the integration's mapping gives the alert's severity label."""
    mapping = integration.priorities or DEFAULT_PRIORITIES[integration.kind]
    lowered = {k.lower(): v for k, v in mapping.items()}
    severity = labels.get(integration.priority_label or "severity", "").strip().lower()
    return lowered.get(severity, integration.default_priority)


def to_event(alert: ExternalAlert, integration: IntegrationToken) -> RuleFired | RuleCleared:
    """The incident event for `alert`: fired (opens or reopens) or cleared (resolves)."""
    key = incident_key(integration, alert.fingerprint)
    if not alert.firing:
        return RuleCleared(key, alert.value, f"resolved in {integration.kind} ({integration.name})")
    labels = {**alert.labels, **integration.labels, "integration": integration.name}
    host_labels = integration.host_labels or DEFAULT_HOST_LABELS[integration.kind]
    return RuleFired(
        key=key,
        rule=f"{integration.name}/{alert.name}",
        host=host_of(alert.labels, host_labels),
        labels=labels,
        priority=priority_of(alert.labels, integration),
        summary=alert.summary or alert.name,
        description=alert.description,
        value=alert.value,
        reason=f"firing in {integration.kind} ({integration.name})",
        annotations={**alert.annotations, "fingerprint": alert.fingerprint},
        external=True,
    )
