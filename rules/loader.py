"""Rule files -> compiled rules, with every problem reported as `file:line: what is wrong`."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from agent.configfile import ConfigError, YamlDocument, load_yaml_file
from rules.matcher import LabelMatcher, compile_matcher
from rules.model import Rule, RuleFile
from rules.template import SummaryTemplate, compile_summary

PACKS_DIR = Path(__file__).resolve().parent / "packs"


@dataclass(frozen=True)
class CompiledRule:
    """A validated rule with its matchers and templates compiled, ready to evaluate."""

    rule: Rule
    group: str
    source: str
    matcher: LabelMatcher
    summary: SummaryTemplate

    @property
    def name(self) -> str:
        """The rule's name."""
        return self.rule.name


class RuleLoadError(ValueError):
    """One or more rule files are invalid; `errors` holds each located problem."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))


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

    def get(self, name: str) -> CompiledRule | None:
        """The rule called `name`, if loaded."""
        return next((c for c in self.rules if c.name == name), None)


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


def load_rules(paths: Iterable[Path] = (), include_builtin: bool = True) -> RuleSet:
    """Load the built-in packs and `paths`; raise RuleLoadError listing every problem found."""
    files = (builtin_pack_paths() if include_builtin else []) + expand_paths(paths)
    errors: list[ConfigError] = []
    compiled: list[CompiledRule] = []
    seen: dict[str, str] = {}
    for file in files:
        try:
            document, rule_file = _read_rule_file(file)
        except RuleLoadError as exc:
            errors += exc.errors
            continue
        for index, rule in enumerate(rule_file.rules):
            where = ("rules", index)
            if rule.name in seen:
                errors.append(
                    document.error(
                        (*where, "name"),
                        f"rule {rule.name!r} is already "
                        f"defined in {seen[rule.name]}; rule names must be unique",
                    )
                )
                continue
            seen[rule.name] = f"{document.source}:{document.line_of(where)}"
            try:
                compiled.append(_compile(rule, rule_file.group, document, where))
            except ConfigError as exc:
                errors.append(exc)
    errors += _unknown_inhibitors(compiled)
    if errors:
        raise RuleLoadError(errors)
    return RuleSet(tuple(compiled))


def _unknown_inhibitors(compiled: Sequence[CompiledRule]) -> list[ConfigError]:
    names = {c.name for c in compiled}
    errors = []
    for c in compiled:
        for name in c.rule.inhibited_by:
            if name not in names:
                file, _, line = c.source.rpartition(":")
                errors.append(
                    ConfigError(
                        file,
                        int(line) if line.isdigit() else None,
                        f"rule {c.name!r}: inhibited_by names unknown rule {name!r}",
                    )
                )
    return errors


def _read_rule_file(path: Path) -> tuple[YamlDocument, RuleFile]:
    try:
        document = load_yaml_file(path)
    except ConfigError as exc:
        raise RuleLoadError([exc]) from exc
    if not isinstance(document.data, dict):
        raise RuleLoadError(
            [document.error((), "a rule file is a mapping with `group:` and `rules:` keys")]
        )
    try:
        return document, RuleFile.model_validate(document.data)
    except ValidationError as exc:
        raise RuleLoadError(validation_errors(exc, document, RuleFile)) from exc


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
    source = f"{document.source}:{document.line_of(where)}"
    return CompiledRule(rule, group, source, matcher, summary)


def validation_errors(
    exc: ValidationError, document: YamlDocument, model: type[BaseModel]
) -> list[ConfigError]:
    """Turn pydantic's errors into located ConfigErrors with a hint for misspelled keys."""
    found: list[ConfigError] = []
    for error in exc.errors():
        path = tuple(p for p in error["loc"] if isinstance(p, str | int))
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden" and path:
            message = _unknown_key_message(str(path[-1]), model, path)
        elif error["type"] == "missing" and path:
            message = f"missing required key `{path[-1]}`"
            path = path[:-1]
        found.append(document.error(path, message))
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
