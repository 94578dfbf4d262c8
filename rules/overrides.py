"""Overrides: loaded rules disabled or re-tuned by name, everywhere or for some hosts / labels.

For one rule, the overrides without `when` apply first, in file order, to the rule itself.
Each scoped override then yields a variant: the rule as changed so far plus its own changes,
watching only its scope; the unscoped variant excludes every scope. Later scopes win where
scopes overlap. Variants keep the rule's name, so a series never changes incident key because
an override of another host group was added, and exactly one variant watches any series.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from pydantic import ValidationError

from agent.configfile import ConfigError, YamlDocument
from rules.compiled import CompiledRule, SeriesMatcher
from rules.matcher import LabelMatcher, compile_matcher
from rules.model import Override, Rule

Where = tuple[str | int, ...]


@dataclass(frozen=True)
class LocatedOverride:
    """An override with the file and key path it came from, for error messages."""

    override: Override
    document: YamlDocument
    where: Where

    @property
    def source(self) -> str:
        """`file:line` of the override."""
        return f"{self.document.source}:{self.document.line_of(self.where)}"

    def error(self, key: Where, message: str) -> ConfigError:
        """A ConfigError at `key` inside this override."""
        return self.document.error((*self.where, *key), message)


@dataclass(frozen=True)
class Scope:
    """Hosts by glob and series by label matchers; both must accept."""

    hosts: re.Pattern[str] | None  # the globs as one anchored pattern, compiled once
    labels: LabelMatcher

    def matches(self, labels: Mapping[str, str], host: str) -> bool:
        """True when the series is inside the scope."""
        if self.hosts is not None and self.hosts.match(host) is None:
            return False
        return self.labels.matches(labels, host)


def host_pattern(globs: Sequence[str]) -> re.Pattern[str] | None:
    """Host globs ("backup-*", "db-?") as one pattern; None when there are none."""
    if not globs:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(glob)})" for glob in globs))


@dataclass(frozen=True)
class ScopedMatcher:
    """A rule's own matchers, narrowed to a scope and with later scopes carved out."""

    own: LabelMatcher
    within: Scope | None
    excluded: tuple[Scope, ...]

    def matches(self, labels: Mapping[str, str], host: str) -> bool:
        """True when the rule matches, inside `within` and outside every excluded scope."""
        if not self.own.matches(labels, host):
            return False
        if self.within is not None and not self.within.matches(labels, host):
            return False
        return not any(scope.matches(labels, host) for scope in self.excluded)


def apply_overrides(
    rules: Sequence[CompiledRule], overrides: Sequence[LocatedOverride]
) -> tuple[list[CompiledRule], list[ConfigError]]:
    """The rules with every override applied, and the problems found (all of them)."""
    errors = _unknown_targets(rules, overrides)
    by_rule: dict[str, list[LocatedOverride]] = {}
    for located in overrides:
        by_rule.setdefault(located.override.rule, []).append(located)
    result: list[CompiledRule] = []
    for compiled in rules:
        mine = by_rule.get(compiled.name)
        if not mine:
            result.append(compiled)
            continue
        variants, problems = _variants(compiled, mine)
        result += variants
        errors += problems
    return result, errors


def _unknown_targets(
    rules: Sequence[CompiledRule], overrides: Sequence[LocatedOverride]
) -> list[ConfigError]:
    names = sorted({c.name for c in rules})
    errors = []
    for located in overrides:
        name = located.override.rule
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            errors.append(located.error(("rule",), f"no loaded rule is called {name!r}{hint}"))
    return errors


def _variants(
    compiled: CompiledRule, overrides: Sequence[LocatedOverride]
) -> tuple[list[CompiledRule], list[ConfigError]]:
    errors: list[ConfigError] = []
    base, disabled, applied = compiled.rule, False, list(compiled.overrides)
    for located in (o for o in overrides if o.override.when is None):
        applied.append(located.source)
        if located.override.disable:
            disabled = True
            continue
        changed = _changed(base, located, errors)
        base = changed or base
    scoped = [(o, _scope(o, errors)) for o in overrides if o.override.when is not None]
    scopes = [scope for _o, scope in scoped if scope is not None]
    variants: list[CompiledRule] = []
    if not disabled:
        matcher = _matcher(base, None, tuple(scopes), compiled.source, errors)
        variants.append(replace(compiled, rule=base, matcher=matcher, overrides=tuple(applied)))
    for index, (located, scope) in enumerate(scoped):
        if scope is None or located.override.disable:
            continue
        rule = _changed(base, located, errors)
        if rule is None:
            continue
        later = tuple(s for _o, s in scoped[index + 1 :] if s is not None)
        matcher = _matcher(rule, scope, later, located.source, errors)
        origin = (*applied, located.source)
        variants.append(replace(compiled, rule=rule, matcher=matcher, overrides=origin))
    return variants, errors


def _changed(rule: Rule, located: LocatedOverride, errors: list[ConfigError]) -> Rule | None:
    changes = located.override.set_
    if changes is None:
        return rule
    given = changes.given()
    mismatch = _condition_mismatch(rule, given)
    if mismatch:
        errors.append(located.error(("set",), mismatch))
        return None
    if "match" in given:
        given["match"] = {**rule.match, **changes.match} if changes.match else rule.match
    try:
        return Rule.model_validate({**rule.model_dump(by_alias=True), **given})
    except ValidationError as exc:
        for problem in exc.errors():
            text = str(problem["msg"]).removeprefix("Value error, ")
            hint = " (set the clear_* level in `set:` too)" if "clear_" in text else ""
            errors.append(located.error(("set",), f"{rule.name} after this override: {text}{hint}"))
        return None


def _condition_mismatch(rule: Rule, given: Mapping[str, object]) -> str:
    kind = rule.condition_kinds()[0]
    for keys, wanted in ((("above", "clear_below"), "above"), (("below", "clear_above"), "below")):
        used = [key for key in keys if key in given]
        if used and kind != wanted:
            return (
                f"{rule.name} is {'an' if kind[0] in 'aei' else 'a'} `{kind}` rule: "
                f"`{used[0]}` does not apply to it"
            )
    return ""


def _scope(located: LocatedOverride, errors: list[ConfigError]) -> Scope | None:
    when = located.override.when
    assert when is not None
    try:
        return Scope(host_pattern(when.hosts), compile_matcher(when.labels))
    except ValueError as exc:
        errors.append(located.error(("when", "labels"), str(exc)))
        return None


def _matcher(
    rule: Rule,
    within: Scope | None,
    excluded: tuple[Scope, ...],
    source: str,
    errors: list[ConfigError],
) -> SeriesMatcher:
    try:
        own = compile_matcher(rule.match)
    except ValueError as exc:
        file, _, line = source.rpartition(":")
        errors.append(ConfigError(file, int(line) if line.isdecimal() else None, str(exc)))
        own = compile_matcher({})
    if within is None and not excluded:
        return own  # no scope at all: the plain matcher, as fast as a rule without overrides
    return ScopedMatcher(own, within, excluded)
