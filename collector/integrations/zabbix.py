"""Zabbix's webhook media type read into neutral alerts.

deploy/zabbix/media_watchkeeper.yaml posts its parameters as one JSON object; their names are
those of Zabbix's own Event-Driven Ansible media type ({EVENT.ID} as event_id, {EVENT.VALUE}
as event_value: 1 problem, 0 recovery; {EVENT.SEVERITY}, {HOST.HOST}, {EVENT.TAGSJSON}...).
A recovery carries the problem's {EVENT.ID}, so the event id keys the incident.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from collector.integrations.alerts import ExternalAlert


class ZabbixPayload(BaseModel):
    """POST /api/v1/integrations/zabbix: the media type's parameters, macros expanded."""

    model_config = ConfigDict(frozen=True, extra="ignore", coerce_numbers_to_str=True)

    event_id: str = Field(min_length=1, max_length=64, pattern=r"^\d+$", description="{EVENT.ID}")
    event_value: str = Field(pattern=r"^[01]$", description="{EVENT.VALUE}: 1 problem, 0 OK.")
    event_name: str = Field("", max_length=2000, description="{EVENT.NAME}")
    event_severity: str = Field("", max_length=64, description="{EVENT.SEVERITY}, e.g. High.")
    host_host: str = Field("", max_length=255, description="{HOST.HOST}")
    host_name: str = Field("", max_length=255, description="{HOST.NAME} (visible name)")
    trigger_id: str = Field("", max_length=64, description="{TRIGGER.ID}")
    trigger_name: str = Field("", max_length=2000, description="{TRIGGER.NAME}")
    trigger_description: str = Field("", max_length=20_000, description="{TRIGGER.DESCRIPTION}")
    operation_data: str = Field("", max_length=2000, description="{EVENT.OPDATA}")
    event_tags: list[dict[str, str]] = Field(
        default_factory=list, description="{EVENT.TAGSJSON}: [{tag, value}, ...]"
    )

    @field_validator("event_tags", mode="before")
    @classmethod
    def _tags_from_text(cls, value: Any) -> Any:
        """{EVENT.TAGSJSON} arrives as text; an unexpanded macro or nothing is no tags."""
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else []
        return value


def alerts_of(payload: ZabbixPayload) -> list[ExternalAlert]:
    """The payload's one alert."""
    tags = {t["tag"]: t.get("value", "") for t in payload.event_tags if t.get("tag")}
    name = payload.event_name or payload.trigger_name or f"event {payload.event_id}"
    labels = {
        **tags,
        "alertname": name,
        "host": payload.host_host or payload.host_name,
        "severity": payload.event_severity,
        "trigger_id": payload.trigger_id,
    }
    return [
        ExternalAlert(
            fingerprint=payload.event_id,
            name=payload.trigger_name or name,
            firing=payload.event_value == "1",
            labels={k: v for k, v in labels.items() if v},
            summary=name,
            description=payload.trigger_description,
            annotations={"event_id": payload.event_id},
            value=payload.operation_data or None,
        )
    ]
