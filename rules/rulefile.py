"""One rule file read item by item, so one broken rule never hides the problems of the others."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agent.catalogue import MetricInfo, parse_metric
from agent.configfile import ConfigError, YamlDocument, load_yaml_file
from rules.model import Override, Rule, RuleFile
from rules.overrides import LocatedOverride

Where = tuple[str | int, ...]
Model = TypeVar("Model", bound=BaseModel)
ErrorsOf = Callable[[ValidationError, YamlDocument, type[BaseModel], Where], list[ConfigError]]


@dataclass
class ParsedFile:
    """What a rule file holds, each valid item typed and each invalid one reported."""

    document: YamlDocument
    group: str = ""
    rules: list[tuple[Where, Rule]] = field(default_factory=list)
    # Every rule's name, valid or not: a broken rule still owns its name (no false "unknown").
    names: list[tuple[Where, str]] = field(default_factory=list)
    overrides: list[LocatedOverride] = field(default_factory=list)
    metrics: list[MetricInfo] = field(default_factory=list)
    errors: list[ConfigError] = field(default_factory=list)


def read_rule_file(path: Path, errors_of: ErrorsOf) -> ParsedFile:
    """Parse `path`; a file that cannot be read or parsed yields a ParsedFile with its error."""
    try:
        document = load_yaml_file(path)
    except ConfigError as exc:
        parsed = ParsedFile(YamlDocument(str(path), None, {}))
        parsed.errors.append(exc)
        return parsed
    parsed = ParsedFile(document)
    data = document.data
    if not isinstance(data, dict):
        parsed.errors.append(
            document.error((), "a rule file is a mapping with `group:` and `rules:` keys")
        )
        return parsed
    _read_header(parsed, data, errors_of)
    for index, item in enumerate(_items(parsed, data, "rules")):
        where: Where = ("rules", index)
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            parsed.names.append((where, item["name"]))
        rule = _validate(parsed, Rule, item, where, errors_of)
        if rule is not None:
            parsed.rules.append((where, rule))
    for index, item in enumerate(_items(parsed, data, "overrides")):
        where = ("overrides", index)
        override = _validate(parsed, Override, item, where, errors_of)
        if override is not None:
            parsed.overrides.append(LocatedOverride(override, document, where))
    _read_metrics(parsed, data)
    return parsed


def _read_header(parsed: ParsedFile, data: dict[str, Any], errors_of: ErrorsOf) -> None:
    header = {k: v for k, v in data.items() if k not in ("rules", "overrides", "metrics")}
    try:
        parsed.group = RuleFile.model_validate(header).group
    except ValidationError as exc:
        parsed.errors += errors_of(exc, parsed.document, RuleFile, ())
    if data.get("rules") and not parsed.group and "group" not in data:
        parsed.errors.append(parsed.document.error((), "missing required key `group`"))


def _items(parsed: ParsedFile, data: dict[str, Any], key: str) -> list[Any]:
    items = data.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        parsed.errors.append(parsed.document.error((key,), f"`{key}` must be a list"))
        return []
    return items


def _validate(
    parsed: ParsedFile, model: type[Model], item: Any, where: Where, errors_of: ErrorsOf
) -> Model | None:
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        parsed.errors += errors_of(exc, parsed.document, model, where)
        return None


def _read_metrics(parsed: ParsedFile, data: dict[str, Any]) -> None:
    metrics = data.get("metrics")
    if metrics is None:
        return
    if not isinstance(metrics, dict):
        parsed.errors.append(
            parsed.document.error(("metrics",), "`metrics` maps a metric name to its entry")
        )
        return
    for name, entry in metrics.items():
        where: Where = ("metrics", str(name))
        try:
            if not isinstance(entry, dict):
                raise ValueError("expected a mapping with type, unit, labels and description")
            parsed.metrics.append(parse_metric(str(name), entry))
        except ValueError as exc:
            parsed.errors.append(parsed.document.error(where, str(exc)))
