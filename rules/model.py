"""Typed rule objects: what a rule file may say, validated before anything is evaluated.

A rule watches one metric (or a host's silence) and says when a series is in breach:

    - name: FilesystemAlmostFull
      priority: P2
      metric: filesystem_used_ratio
      match: {fstype: "!~tmpfs|overlay"}
      above: 0.90
      clear_below: 0.88        # hysteresis: stays open until the value falls below this
      for: 5m
      summary: "{{ labels.mountpoint }} on {{ host }} is {{ value | percent }} full"
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from agent.configfile import parse_duration
from rules.priority import Priority

Duration = Annotated[float, BeforeValidator(parse_duration)]

RULE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
KIND_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

# Labels every series has without the agent sending them; matchers may use them too.
IMPLICIT_LABELS = frozenset({"host", "probe"})


class RuleModel(BaseModel):
    """Base for rule-file objects: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Prediction(RuleModel):
    """Extrapolate the series linearly (least squares over `window`) to now + `horizon`."""

    window: Duration = Field(description="How much history the fit uses, e.g. 6h.")
    horizon: Duration = Field(description="How far ahead to predict, e.g. 24h.")


class Rule(RuleModel):
    """One alerting rule. Exactly one condition: a threshold, a state match, or `absent`."""

    name: str = Field(description="Unique name, CamelCase, used in incidents and messages.")
    description: str = Field("", description="What the rule means and what to do about it.")
    priority: Priority = Field(description="P1 (wake someone) to P4 (informational).")
    metric: str | None = Field(None, description="The metric the rule watches.")
    match: dict[str, str] = Field(
        default_factory=dict,
        description='Label matchers: "value" exact, "!value" not, "~regex", "!~regex".',
    )
    function: Literal["value", "rate", "delta", "increase"] = Field(
        "value",
        description="value: the sample as is; rate: per-second increase between reports; "
        "delta: change since the previous report; increase: growth over `window`.",
    )
    window: Duration | None = Field(None, description="With `increase`: how far back to look.")
    inhibited_by: list[str] = Field(
        default_factory=list,
        description="Stay quiet while one of these rules fires for the same host and labels.",
    )
    kind: str | None = Field(
        None,
        description="The problem this rule is one severity of (e.g. filesystem_space for "
        "FilesystemAlmostFull P3 and FilesystemFull P2): on a host, an active incident of a "
        "kind holds back the messages of that kind's less urgent incidents with the same labels "
        "(recorded and linked; told if still open when the stronger one resolves).",
    )
    predict: Prediction | None = Field(None, description="Compare a linear forecast instead.")
    above: float | None = Field(None, description="Breach when the value is above this.")
    below: float | None = Field(None, description="Breach when the value is below this.")
    clear_below: float | None = Field(None, description="With `above`: recover under this.")
    clear_above: float | None = Field(None, description="With `below`: recover over this.")
    equals: str | None = Field(None, description="Breach when a state value equals this.")
    in_: list[str] | None = Field(None, alias="in", description="Breach on any of these states.")
    not_in: list[str] | None = Field(None, description="Breach on any state but these.")
    absent: Duration | None = Field(
        None, description="Breach when the host has sent nothing for this long."
    )
    event: str | None = Field(
        None,
        description="Open an incident when the host reports an event of this kind "
        "(ipmi_sel, snmp_trap); `match` filters on the event's labels and `message`.",
    )
    key_labels: list[str] | None = Field(
        None,
        description="With `event`: the event labels that tell one problem from another "
        "(e.g. [sensor]); repeats of the same problem land on one incident. Default: all.",
    )
    auto_resolve: bool = Field(
        True,
        description="Resolve the incident when the condition clears; false leaves it to a "
        "person (event rules never resolve by themselves).",
    )
    for_: Duration = Field(0.0, alias="for", description="The breach must last this long.")
    summary: str | dict[str, str] = Field(
        description="Jinja2 template of the one-line summary; or {en: ..., zh: ...}."
    )
    customer_text: dict[str, str] | None = Field(
        None,
        description="What the customer's contacts are told, in plain words without jargon, "
        "per language: {en: ..., zh: ...} (Jinja2, the summary's variables). Without it they "
        "get a generic sentence, never the summary or description.",
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="Extra labels added to the incident (team, service)."
    )

    @model_validator(mode="after")
    def _check_combination(self) -> Rule:
        if not RULE_NAME.match(self.name):
            raise ValueError(
                f"rule name {self.name!r} must start with a letter and hold only letters, "
                "digits and underscores (e.g. FilesystemAlmostFull)"
            )
        if self.kind is not None and not KIND_NAME.match(self.kind):
            raise ValueError(
                f"kind {self.kind!r} must be lower case letters, digits and underscores, "
                "starting with a letter (e.g. filesystem_space)"
            )
        kinds = self.condition_kinds()
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none"
            raise ValueError(
                "a rule needs exactly one condition: above, below, equals, in, not_in, "
                f"absent or event (found: {found})"
            )
        self._check_threshold_pairs()
        if self.absent is None and self.event is None and not self.metric:
            raise ValueError("`metric` is required unless the rule is an `absent` or `event` rule")
        if self.absent is not None and self.metric:
            raise ValueError("`absent` watches the host's reports as a whole: remove `metric`")
        if self.key_labels is not None and self.event is None:
            raise ValueError("`key_labels` goes with `event`")
        if self.event is not None and (self.metric or self.for_ or self.function != "value"):
            raise ValueError(
                "`event` rules match discrete events: remove `metric`, `for` and `function`"
            )
        if (self.function != "value" or self.predict) and kinds[0] in ("equals", "in", "not_in"):
            raise ValueError("`function` and `predict` work on numbers, not on state matches")
        if (self.function == "increase") != (self.window is not None):
            raise ValueError("`function: increase` and `window` go together (e.g. window: 24h)")
        if isinstance(self.summary, dict) and "en" not in self.summary:
            raise ValueError("a multi-language `summary` needs an `en` entry as the fallback")
        if self.customer_text is not None and "en" not in self.customer_text:
            raise ValueError("`customer_text` needs an `en` entry as the fallback")
        return self

    def _check_threshold_pairs(self) -> None:
        if self.clear_below is not None:
            if self.above is None:
                raise ValueError("`clear_below` goes with `above`")
            if self.clear_below > self.above:
                raise ValueError(
                    f"clear_below ({self.clear_below}) must not exceed above ({self.above}): "
                    "the incident would clear while still in breach"
                )
        if self.clear_above is not None:
            if self.below is None:
                raise ValueError("`clear_above` goes with `below`")
            if self.clear_above < self.below:
                raise ValueError(
                    f"clear_above ({self.clear_above}) must not be under below ({self.below})"
                )

    def condition_kinds(self) -> list[str]:
        """Names of the condition keys this rule sets (valid rules have exactly one)."""
        candidates = {
            "above": self.above,
            "below": self.below,
            "equals": self.equals,
            "in": self.in_,
            "not_in": self.not_in,
            "absent": self.absent,
            "event": self.event,
        }
        return [name for name, value in candidates.items() if value is not None]


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


class OverrideScope(RuleModel):
    """Which series an override applies to: hosts by glob, series by label matchers."""

    hosts: Annotated[list[str], BeforeValidator(_as_list)] = Field(
        default_factory=list,
        description='Host name globs, any of which matches: "backup-*", ["db-?", "pg-*"].',
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description='Label matchers, as in a rule\'s `match`: {mountpoint: "~/srv/.*"}.',
    )

    @model_validator(mode="after")
    def _check_not_empty(self) -> OverrideScope:
        if not self.hosts and not self.labels:
            raise ValueError(
                "`when` needs `hosts`, `labels` or both; remove it to apply everywhere"
            )
        return self


class OverrideChanges(RuleModel):
    """What an override changes in a rule; keys left out keep the rule's own value."""

    priority: Priority | None = Field(None, description="P1 .. P4.")
    above: float | None = Field(None, description="New `above` threshold.")
    below: float | None = Field(None, description="New `below` threshold.")
    clear_below: float | None = Field(None, description="New recovery level of an `above` rule.")
    clear_above: float | None = Field(None, description="New recovery level of a `below` rule.")
    for_: Duration | None = Field(None, alias="for", description="New `for:` duration.")
    match: dict[str, str] | None = Field(
        None, description="Matchers merged over the rule's own (same label: this one wins)."
    )

    def given(self) -> dict[str, object]:
        """The keys set, spelled as in a rule file (`for`, not `for_`)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class Override(RuleModel):
    """Disable a loaded rule, or change its threshold, `for:`, priority or matchers."""

    rule: str = Field(description="Name of the rule to change (built-in or from a rule file).")
    when: OverrideScope | None = Field(
        None, description="Only for these hosts / labels; elsewhere the rule stays as it was."
    )
    set_: OverrideChanges | None = Field(None, alias="set", description="The changes.")
    disable: bool = Field(False, description="Turn the rule off (within `when`, if given).")
    reason: str = Field("", description="Why, for the next person who reads this file.")

    @model_validator(mode="after")
    def _check_action(self) -> Override:
        if self.disable and self.set_ is not None:
            raise ValueError("an override either disables the rule or sets values, not both")
        if not self.disable and (self.set_ is None or not self.set_.given()):
            raise ValueError("nothing to override: give `set:` with the values, or `disable: true`")
        return self


class RuleFile(RuleModel):
    """One rule file: a group of rules, overrides of loaded rules, and declared metrics."""

    group: str = Field("", description="Name of the pack, e.g. host, smart, raid.")
    rules: list[Rule] = Field(default_factory=list, description="The rules of this group.")
    overrides: list[Override] = Field(
        default_factory=list, description="Changes to rules loaded from any file."
    )
    metrics: dict[str, dict[str, object]] = Field(
        default_factory=dict,
        description="Metrics the catalogue does not list (e.g. SNMP extra_oids): "
        "name -> {type, unit, labels, description}.",
    )
