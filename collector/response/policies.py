"""Escalation policies (tiers of targets with timeouts) and routing incidents to one."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from pydantic import Field, field_validator, model_validator

from collector.response.base import Duration, Identifier, ResponseModel
from rules.matcher import LabelMatcher, compile_matcher

TARGET_KINDS = ("schedule", "person", "team")


class Target(ResponseModel):
    """Who a tier pages: exactly one of a schedule (whoever is on call), a person, a team."""

    schedule: Identifier | None = Field(None, description="Page whoever is on call here.")
    person: Identifier | None = Field(None, description="Page this person.")
    team: Identifier | None = Field(None, description="Page the team's members.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Target:
        given = [kind for kind in TARGET_KINDS if getattr(self, kind)]
        if len(given) != 1:
            raise ValueError(
                "a target names exactly one of schedule, person or team, e.g. "
                f"{{schedule: primary}} (found: {', '.join(given) or 'none'})"
            )
        return self

    @property
    def kind(self) -> str:
        """schedule, person or team."""
        return next(kind for kind in TARGET_KINDS if getattr(self, kind))

    @property
    def ref(self) -> str:
        """The id of the schedule, person or team."""
        return str(getattr(self, self.kind))


class Tier(ResponseModel):
    """One step of a policy: page its targets, wait `timeout` for an acknowledgement."""

    targets: list[Target] = Field(min_length=1, description="Schedules, people or teams.")
    timeout: Duration = Field(
        300.0, gt=0, description="Without acknowledgement after this long, go to the next tier."
    )
    notify_all: bool = Field(
        False,
        description="Page every member of team targets; false: one person per target (a "
        "schedule's or team's on-call person, a listed person).",
    )


class EscalationPolicy(ResponseModel):
    """Ordered tiers, T1 first; frozen into an incident when it opens."""

    id: Identifier = Field(description="Short unique id that routes name.")
    name: str = Field("", description="Display name (default the id).")
    tiers: list[Tier] = Field(min_length=1, description="T1, T2, T3... in order.")
    repeat: int = Field(
        0, ge=0, le=10, description="Run the tiers again this many times after the last one."
    )


class Route(ResponseModel):
    """Incidents whose labels match go to `policy`."""

    match: dict[str, str] = Field(
        description='Label matchers as in rules: "value", "!value", "~regex", "!~regex".'
    )
    policy: Identifier = Field(description="Id of the escalation policy to use.")

    @field_validator("match")
    @classmethod
    def _compiles(cls, match: dict[str, str]) -> dict[str, str]:
        compile_matcher(match)
        return match

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when every matcher accepts the incident's labels (missing ones read as "")."""
        matcher = _compiled(tuple(self.match.items()))
        return matcher.matches(labels, labels.get("host", ""))


@lru_cache(maxsize=1024)
def _compiled(match: tuple[tuple[str, str], ...]) -> LabelMatcher:
    return compile_matcher(dict(match))


class Routing(ResponseModel):
    """Choose a policy per incident: the first matching route, else the default."""

    routes: list[Route] = Field(default_factory=list, description="Tried in order.")
    default: Identifier | None = Field(
        None, description="Policy when no route matches (may be omitted with one policy)."
    )


def choose_policy(
    policies: list[EscalationPolicy], routing: Routing, labels: Mapping[str, str]
) -> EscalationPolicy | None:
    """The policy for an incident with `labels`: first matching route, default, sole policy."""
    by_id = {policy.id: policy for policy in policies}
    for route in routing.routes:
        if route.matches(labels):
            return by_id.get(route.policy)
    if routing.default is not None:
        return by_id.get(routing.default)
    return policies[0] if len(policies) == 1 else None
