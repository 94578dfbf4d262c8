"""Compiled rules and the set of them, indexed the way evaluation looks them up."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rules.conditions import history_window
from rules.model import Rule
from rules.template import SummaryTemplate


class SeriesMatcher(Protocol):
    """Decides whether a rule watches a series (rules.matcher.LabelMatcher, or a scoped one)."""

    def matches(self, labels: Mapping[str, str], host: str) -> bool:
        """True when the rule applies to this host's series."""
        ...


@dataclass(frozen=True)
class CompiledRule:
    """A validated rule with its matchers and templates compiled, ready to evaluate.

    An override scoped to some hosts or labels splits a rule in variants that share its name
    (so incident keys, inhibitions and noise figures stay per rule) and whose matchers never
    accept the same series; `overrides` lists the `file:line` of those that shaped this one.
    """

    rule: Rule
    group: str
    source: str
    matcher: SeriesMatcher
    summary: SummaryTemplate
    overrides: tuple[str, ...] = ()
    customer_text: SummaryTemplate | None = None  # plain words for the customer's contacts
    # Read for every sample a rule sees: kept as plain attributes, not computed each time.
    name: str = field(init=False, repr=False, compare=False)  # the rule's name
    window: float = field(init=False, repr=False, compare=False)  # history kept per series

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.rule.name)
        object.__setattr__(self, "window", history_window(self.rule))


class RuleSet:
    """All loaded rules, indexed the way evaluation looks them up."""

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.rules = tuple(rules)
        by_metric: dict[str, list[CompiledRule]] = {}
        for compiled in self.rules:
            if compiled.rule.metric:
                by_metric.setdefault(compiled.rule.metric, []).append(compiled)
        self.by_metric = {metric: tuple(found) for metric, found in by_metric.items()}
        self.absent_rules = tuple(c for c in self.rules if c.rule.absent is not None)
        by_event: dict[str, list[CompiledRule]] = {}
        for compiled in self.rules:
            if compiled.rule.event:
                by_event.setdefault(compiled.rule.event, []).append(compiled)
        self.by_event = {kind: tuple(found) for kind, found in by_event.items()}
        # Rule name -> its `kind`: incidents of one kind inhibit their less urgent siblings.
        self.kind_of = {c.name: c.rule.kind for c in self.rules if c.rule.kind}

    def get(self, name: str) -> CompiledRule | None:
        """The rule called `name`, if loaded (its first variant when overrides split it)."""
        return next((c for c in self.rules if c.name == name), None)

    def find(self, name: str, host: str, labels: Mapping[str, str]) -> CompiledRule | None:
        """The variant of rule `name` that watches this series; else its first variant."""
        variants = [c for c in self.rules if c.name == name]
        if len(variants) > 1:
            for compiled in variants:
                if compiled.matcher.matches(labels, host):
                    return compiled
        return variants[0] if variants else None
