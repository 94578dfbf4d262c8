"""The response file (response.yaml): its top-level model and loading it with file:line errors."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError

from agent.configfile import ConfigError, KeyPath, YamlDocument, load_yaml_file
from collector.response.base import Identifier, ResponseModel
from collector.response.people import ContactMethod, NotificationRule, Person, Team
from collector.response.policies import EscalationPolicy, Route, Routing, Target, Tier
from collector.response.references import reference_problems
from collector.response.schedules import Layer, Override, Schedule
from collector.response.service_levels import BusinessCalendar, SlaConfig, SlaTargets, SlaTime
from rules.loader import RuleLoadError, validation_errors


class ResponseConfig(ResponseModel):
    """Everything the response process needs: who, when on call, how to escalate, SLA."""

    people: list[Person] = Field(default_factory=list, description="Everyone who can be paged.")
    teams: list[Team] = Field(default_factory=list, description="Groups of people.")
    schedules: list[Schedule] = Field(default_factory=list, description="On-call schedules.")
    policies: list[EscalationPolicy] = Field(
        default_factory=list, description="Escalation policies."
    )
    routing: Routing = Field(
        default_factory=Routing, description="Which policy an incident gets, by its labels."
    )
    sla: SlaConfig = Field(default_factory=SlaConfig, description="Targets per priority.")
    calendars: dict[Identifier, BusinessCalendar] = Field(
        default_factory=dict, description="Business calendars by name, for business time."
    )

    def person(self, person_id: str) -> Person | None:
        """The person with this id."""
        return next((p for p in self.people if p.id == person_id), None)

    def team(self, team_id: str) -> Team | None:
        """The team with this id."""
        return next((t for t in self.teams if t.id == team_id), None)

    def schedule(self, schedule_id: str) -> Schedule | None:
        """The schedule with this id."""
        return next((s for s in self.schedules if s.id == schedule_id), None)

    def policy(self, policy_id: str) -> EscalationPolicy | None:
        """The escalation policy with this id."""
        return next((p for p in self.policies if p.id == policy_id), None)


def load_response(path: Path) -> ResponseConfig:
    """Read response.yaml; every problem, references included, raised as one RuleLoadError."""
    document = load_yaml_file(path)
    return response_from_document(document)


def response_from_document(document: YamlDocument) -> ResponseConfig:
    """Validate parsed YAML into a ResponseConfig, then check every id it refers to."""
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        raise RuleLoadError(
            [document.error((), "the response file is a mapping with people:, teams:, ...")]
        )
    try:
        config = ResponseConfig.model_validate(data)
    except ValidationError as exc:
        raise RuleLoadError(validation_errors(exc, document, ResponseConfig)) from exc
    problems = reference_problems(config, lambda path: _line_text(document, path))
    if problems:
        raise RuleLoadError([document.error(path, message) for path, message in problems])
    return config


def _line_text(document: YamlDocument, path: KeyPath) -> str:
    line = document.line_of(path)
    return f"line {line}" if line else "earlier"


__all__ = [
    "BusinessCalendar",
    "ConfigError",
    "ContactMethod",
    "EscalationPolicy",
    "Layer",
    "NotificationRule",
    "Override",
    "Person",
    "ResponseConfig",
    "Route",
    "Routing",
    "Schedule",
    "SlaConfig",
    "SlaTargets",
    "SlaTime",
    "Target",
    "Team",
    "Tier",
    "load_response",
    "response_from_document",
]
