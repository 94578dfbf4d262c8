"""Checkmk's notification context read into neutral alerts.

deploy/checkmk/watchkeeper (a notification script) posts the NOTIFY_* context as one JSON
object; keys are taken with or without the NOTIFY_ prefix. A problem keeps its problem id
until it recovers (a recovery names it in LAST*PROBLEMID), so that id keys the incident.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from collector.integrations.alerts import ExternalAlert

PREFIX = "NOTIFY_"


class CheckmkPayload(BaseModel):
    """POST /api/v1/integrations/checkmk: a notification context (macros as Checkmk sets them)."""

    model_config = ConfigDict(frozen=True, extra="ignore", coerce_numbers_to_str=True)

    WHAT: str = Field(pattern=r"^(HOST|SERVICE)$", description="HOST or SERVICE.")
    NOTIFICATIONTYPE: str = Field(
        min_length=1, max_length=64, description="PROBLEM, RECOVERY (others are ignored)."
    )
    HOSTNAME: str = Field(min_length=1, max_length=255)
    HOSTSTATE: str = ""
    HOSTOUTPUT: str = ""
    HOSTPROBLEMID: str = ""
    LASTHOSTPROBLEMID: str = ""
    SERVICEDESC: str = ""
    SERVICESTATE: str = ""
    SERVICEOUTPUT: str = ""
    LONGSERVICEOUTPUT: str = ""
    SERVICEPROBLEMID: str = ""
    LASTSERVICEPROBLEMID: str = ""
    OMD_SITE: str = ""

    @model_validator(mode="before")
    @classmethod
    def _without_prefix(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {str(k).removeprefix(PREFIX): v for k, v in data.items()}
        return data


def alerts_of(payload: CheckmkPayload) -> list[ExternalAlert]:
    """The context's alert; none for acknowledgements, downtimes and flapping notices."""
    kind = payload.NOTIFICATIONTYPE
    if kind not in ("PROBLEM", "RECOVERY"):
        return []
    service = payload.WHAT == "SERVICE"
    state = payload.SERVICESTATE if service else payload.HOSTSTATE
    output = payload.SERVICEOUTPUT if service else payload.HOSTOUTPUT
    subject = f"{payload.HOSTNAME}/{payload.SERVICEDESC}" if service else payload.HOSTNAME
    labels = {
        "host": payload.HOSTNAME,
        "service": payload.SERVICEDESC if service else "",
        "severity": state,
        "site": payload.OMD_SITE,
    }
    return [
        ExternalAlert(
            fingerprint=f"{subject}#{_problem_id(payload, service)}",
            name=payload.SERVICEDESC if service else "Host",
            firing=kind == "PROBLEM",
            labels={k: v for k, v in labels.items() if v},
            summary=f"{subject} {state}: {output}".strip(),
            description=payload.LONGSERVICEOUTPUT if service else "",
        )
    ]


def _problem_id(payload: CheckmkPayload, service: bool) -> str:
    current = payload.SERVICEPROBLEMID if service else payload.HOSTPROBLEMID
    last = payload.LASTSERVICEPROBLEMID if service else payload.LASTHOSTPROBLEMID
    return current if current not in ("", "0") else last
