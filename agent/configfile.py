"""Reading YAML config files so that every error can name the file and line at fault.

Shared by the agent's settings, the collector's config and rule files (the agent package is
the leaf every other package may import). It only reads: nothing in a config is ever executed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

KeyPath = tuple[str | int, ...]


class ConfigError(ValueError):
    """A config or rule file problem, printed as `file:line: message`."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source = source
        self.line = line
        self.message = message
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {message}")


class CombinedConfigError(ConfigError):
    """Several problems of one file, reported together, one `file:line: message` a line."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        if not errors:
            raise ValueError("CombinedConfigError needs at least one error")
        ordered = sorted(errors, key=lambda error: error.line or 0)  # as the file reads
        first = ordered[0]
        super().__init__(first.source, first.line, first.message)
        self.errors = ordered

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)


@dataclass(frozen=True)
class YamlDocument:
    """Parsed YAML data plus the line where each key path starts."""

    source: str
    data: Any
    lines: dict[KeyPath, int]

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of the deepest known prefix of `path` (errors may point below a leaf)."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), None)

    def error(self, path: Sequence[str | int], message: str) -> ConfigError:
        """A ConfigError located at `path`, with the path spelled out for the reader."""
        dotted = format_path(path)
        prefix = f"{dotted}: " if dotted else ""
        return ConfigError(self.source, self.line_of(path), prefix + message)


def format_path(path: Iterable[str | int]) -> str:
    """("rules", 2, "for") -> "rules[2].for"."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_yaml(text: str, source: str) -> YamlDocument:
    """Parse one YAML document, keeping line numbers; syntax errors become ConfigError."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(source, line, f"YAML syntax error: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(source, None, f"YAML error: {exc}") from exc
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _record_lines(node, (), lines)
    return YamlDocument(source, data, lines)


def load_yaml_file(path: Path) -> YamlDocument:
    """Read and parse a YAML file; a missing or unreadable file is a ConfigError too."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), None, f"cannot read: {exc.strerror or exc}") from exc
    return parse_yaml(text, str(path))


def _record_lines(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key_path = (*path, str(key_node.value))
            lines[key_path] = key_node.start_mark.line + 1
            _record_lines(value_node, key_path, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*path, index), lines)


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: str | float | int) -> float:
    """ "90s", "5m", "1h30m", "500ms" or a bare number of seconds -> seconds.

    Same spelling as Prometheus durations, so rule files read alike.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 30s, 5m or 1h, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = value.strip()
        parts = _DURATION_PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"expected a duration like 30s, 5m or 1h30m, got {value!r}")
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {value!r}")
    return seconds


def check_duration(what: str, value: str | None, *, positive: bool = True) -> None:
    """Raise ValueError naming `what` when `value` is not a duration (or not above 0)."""
    if value is None:
        return
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from exc
    if positive and seconds <= 0:
        raise ValueError(f"{what}: must be longer than 0, got {value!r}")


def repeated_names(names: Iterable[str]) -> list[str]:
    """The names given more than once, sorted: what a "must be unique" error lists."""
    seen = list(names)
    return sorted({name for name in seen if seen.count(name) > 1})


_MSGSPEC_PATH = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]|\[\"?([^\]\"]+)\"?\]")


def msgspec_error_path(message: str) -> tuple[str, KeyPath]:
    """Split msgspec's "Expected `int`, got `str` - at `$.a[0].b`" into text and key path."""
    text, sep, where = message.rpartition(" - at `")
    if not sep:
        return message, ()
    path: list[str | int] = []
    for name, index, key in _MSGSPEC_PATH.findall(where.rstrip("`").removeprefix("$")):
        path.append(int(index) if index else (name or key))
    return text, tuple(path)
