"""Alertmanager's webhook payload (version 4) read into neutral alerts.

The format is documented at https://prometheus.io/docs/alerting/latest/configuration/
#webhook_config; each alert carries its own status and a stable fingerprint.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from collector.integrations.alerts import ExternalAlert


class AlertmanagerAlert(BaseModel):
    """One alert of the group."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(min_length=1, description="Must hold alertname.")
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str = ""  # noqa: N815 - Alertmanager's field name
    endsAt: str = ""  # noqa: N815
    generatorURL: str = ""  # noqa: N815
    fingerprint: str = Field("", max_length=128)


class AlertmanagerPayload(BaseModel):
    """POST /api/v1/integrations/alertmanager: Alertmanager's webhook body."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    version: Literal["4"] = Field(description="Webhook payload version; only 4 exists.")
    status: Literal["firing", "resolved"]
    receiver: str = ""
    groupKey: str = ""  # noqa: N815
    externalURL: str = ""  # noqa: N815
    truncatedAlerts: int = 0  # noqa: N815
    alerts: list[AlertmanagerAlert] = Field(max_length=10_000)


def alerts_of(payload: AlertmanagerPayload) -> list[ExternalAlert]:
    """Each alert of the payload, in its order."""
    return [_alert(a) for a in payload.alerts]


def _alert(alert: AlertmanagerAlert) -> ExternalAlert:
    labels = dict(alert.labels)
    annotations = dict(alert.annotations)
    if alert.generatorURL:
        annotations["generator_url"] = alert.generatorURL
    if alert.startsAt:
        annotations["starts_at"] = alert.startsAt
    return ExternalAlert(
        fingerprint=alert.fingerprint or _fingerprint(labels),
        name=labels.get("alertname", "alert"),
        firing=alert.status == "firing",
        labels=labels,
        summary=annotations.get("summary") or annotations.get("description", ""),
        description=annotations.get("description", ""),
        annotations=annotations,
        value=annotations.get("value"),
    )


def _fingerprint(labels: dict[str, str]) -> str:
    """A stable id from the label set, for senders that leave the fingerprint out."""
    text = "\x00".join(f"{k}\x00{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
