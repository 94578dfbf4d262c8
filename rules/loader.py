"""Rule files -> compiled rules, with every problem reported as `file:line: what is wrong`.

Everything is checked in one pass: each rule on its own (a broken one never hides the next),
then names across files, inhibitors and overrides. Errors stop the collector; warnings (what
rules refer to, checked against the metric catalogue) are logged by the collector and make
`watchkeeper rules check` fail.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from agent.catalogue import MetricCatalogue, load_catalogue
from agent.configfile import ConfigError, YamlDocument
from rules.compiled import CompiledRule, RuleSet
from rules.matcher import compile_matcher
from rules.model import Rule
from rules.overrides import LocatedOverride, apply_overrides
from rules.references import reference_problems
from rules.rulefile import ParsedFile, read_rule_file
from rules.template import compile_summary

__all__ = [
    "CompiledRule",
    "RuleCheck",
    "RuleLoadError",
    "RuleSet",
    "builtin_pack_paths",
    "check_rules",
    "expand_paths",
    "load_rules",
    "validation_errors",
]

log = logging.getLogger(__name__)

PACKS_DIR = Path(__file__).resolve().parent / "packs"


class RuleLoadError(ValueError):
    """One or more rule files are invalid; `errors` holds each located problem."""

    def __init__(self, errors: Sequence[ConfigError], warnings: Sequence[ConfigError] = ()) -> None:
        self.errors = list(errors)
        self.warnings = list(warnings)
        super().__init__("\n".join(str(error) for error in self.errors))


@dataclass
class RuleCheck:
    """The outcome of reading rule files: the rules, and every problem found on the way."""

    rules: RuleSet
    errors: list[ConfigError] = field(default_factory=list)
    warnings: list[ConfigError] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    user_rules: int = 0
    overrides: int = 0
    builtin_sources: frozenset[str] = frozenset()

    @property
    def user_warnings(self) -> list[ConfigError]:
        """Warnings about the given files (the built-in packs' own are for their tests)."""
        return [w for w in self.warnings if w.source not in self.builtin_sources]


def builtin_pack_paths() -> list[Path]:
    """The rule packs shipped inside the package (rules/packs/*.yaml)."""
    return sorted(PACKS_DIR.glob("*.y*ml"))


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, directories as their *.yaml / *.yml files in name order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        else:
            files.append(path)
    return files


def load_rules(
    paths: Iterable[Path] = (),
    include_builtin: bool = True,
    catalogue: MetricCatalogue | None = None,
) -> RuleSet:
    """Load the built-in packs and `paths`; raise RuleLoadError listing every problem found.

    Warnings are logged: the rules load, but a metric or label they name is not catalogued.
    """
    check = check_rules(paths, include_builtin, catalogue)
    if check.errors:
        raise RuleLoadError(check.errors, check.warnings)
    for warning in check.warnings:
        log.warning("%s", warning)
    return check.rules


def check_rules(
    paths: Iterable[Path] = (),
    include_builtin: bool = True,
    catalogue: MetricCatalogue | None = None,
) -> RuleCheck:
    """Read the built-in packs and `paths`, collecting every error and warning in one pass."""
    builtin = builtin_pack_paths() if include_builtin else []
    user = expand_paths(paths)
    parsed = [read_rule_file(file, validation_errors) for file in builtin + user]
    known = (catalogue or load_catalogue()).extended(m for p in parsed for m in p.metrics)
    check = RuleCheck(RuleSet(()), files=user, builtin_sources=frozenset(map(str, builtin)))
    check.errors = [error for p in parsed for error in p.errors]
    check.errors += _duplicate_names(parsed, len(builtin))
    compiled: list[CompiledRule] = []
    for file in parsed:
        for where, rule in file.rules:
            check.warnings += reference_problems(rule, file.document, where, known)
            try:
                compiled.append(_compile(rule, file.group, file.document, where))
            except ConfigError as exc:
                check.errors.append(exc)
    check.errors += _unknown_inhibitors(parsed)
    check.warnings += _lonely_kinds(parsed)
    overrides: list[LocatedOverride] = [o for p in parsed for o in p.overrides]
    final, problems = apply_overrides(compiled, overrides)
    check.errors += problems
    check.rules = RuleSet(final)
    check.user_rules = sum(len(p.rules) for p in parsed[len(builtin) :])
    check.overrides = len(overrides)
    return check


def _duplicate_names(parsed: Sequence[ParsedFile], builtin_files: int) -> list[ConfigError]:
    errors: list[ConfigError] = []
    seen: dict[str, tuple[str, bool]] = {}
    for index, file in enumerate(parsed):
        document = file.document
        for where, name in file.names:
            here = f"{document.source}:{document.line_of(where)}"
            if name not in seen:
                seen[name] = (here, index < builtin_files)
                continue
            first, is_builtin = seen[name]
            if is_builtin and index >= builtin_files:
                message = (
                    f"rule {name!r} is a built-in rule ({first}); a rule file cannot define it "
                    f"again. To change it, override it (overrides: [{{rule: {name}, set: "
                    "{...}}] or disable: true); to add a rule of your own, give it another name"
                )
            else:
                message = f"rule {name!r} is already defined in {first}; rule names must be unique"
            errors.append(document.error((*where, "name"), message))
    return errors


def _unknown_inhibitors(parsed: Sequence[ParsedFile]) -> list[ConfigError]:
    names = sorted({name for file in parsed for _where, name in file.names})
    errors = []
    for file in parsed:
        for where, rule in file.rules:
            for index, name in enumerate(rule.inhibited_by):
                if name not in names:
                    close = difflib.get_close_matches(name, names, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    errors.append(
                        file.document.error(
                            (*where, "inhibited_by", index),
                            f"rule {rule.name!r}: inhibited_by names unknown rule {name!r}{hint}",
                        )
                    )
    return errors


def _lonely_kinds(parsed: Sequence[ParsedFile]) -> list[ConfigError]:
    """A `kind` no other rule shares inhibits nothing: most likely a misspelling."""
    located = [(file, where, rule) for file in parsed for where, rule in file.rules if rule.kind]
    kinds = [rule.kind for _file, _where, rule in located]
    warnings = []
    for file, where, rule in located:
        if kinds.count(rule.kind) > 1:
            continue
        others = sorted({k for k in kinds if k and k != rule.kind})
        close = difflib.get_close_matches(rule.kind or "", others, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        message = (
            f"rule {rule.name!r}: no other rule has kind {rule.kind!r}, so it inhibits "
            f"nothing{hint} (give the stronger and weaker rules of one problem the same kind)"
        )
        warnings.append(file.document.error((*where, "kind"), message))
    return warnings


def _compile(
    rule: Rule, group: str, document: YamlDocument, where: tuple[str | int, ...]
) -> CompiledRule:
    try:
        matcher = compile_matcher(rule.match)
    except ValueError as exc:
        raise document.error((*where, "match"), str(exc)) from exc
    try:
        summary = compile_summary(rule.summary)
    except ValueError as exc:
        raise document.error((*where, "summary"), str(exc)) from exc
    try:
        customer = compile_summary(rule.customer_text) if rule.customer_text else None
    except ValueError as exc:
        message = str(exc).replace("summary", "customer_text", 1)
        raise document.error((*where, "customer_text"), message) from exc
    source = f"{document.source}:{document.line_of(where)}"
    return CompiledRule(rule, group, source, matcher, summary, customer_text=customer)


def validation_errors(
    exc: ValidationError,
    document: YamlDocument,
    model: type[BaseModel],
    prefix: tuple[str | int, ...] = (),
) -> list[ConfigError]:
    """Turn pydantic's errors into located ConfigErrors with a hint for misspelled keys.

    `prefix` is where the validated item sits in the document (e.g. ("rules", 3)).
    """
    found: list[ConfigError] = []
    for error in exc.errors():
        path = tuple(p for p in error["loc"] if isinstance(p, str | int))
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden" and path:
            message = _unknown_key_message(str(path[-1]), model, path)
        elif error["type"] == "missing" and path:
            message = f"missing required key `{path[-1]}`"
            path = path[:-1]
        found.append(document.error((*prefix, *path), message))
    return found


def _unknown_key_message(key: str, model: type[BaseModel], path: tuple[str | int, ...]) -> str:
    known = _known_keys(model, path[:-1])
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    return f"unknown key `{key}`{hint}"


def _known_keys(model: type[BaseModel], parent: tuple[str | int, ...]) -> list[str]:
    current: type[BaseModel] = model
    for part in parent:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part)
        inner = _nested_model(field.annotation) if field else None
        if inner is None:
            break
        current = inner
    return [f.alias or name for name, f in current.model_fields.items()]


def _nested_model(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None
