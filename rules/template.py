"""Summary templates: Jinja2 in a sandbox, compiled once when the rules load."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment


def _percent(value: Any, digits: int = 0) -> str:
    try:
        return f"{float(value) * 100:.{digits}f}%"
    except (TypeError, ValueError):
        return str(value)


def _bytes(value: Any) -> str:
    try:
        size = float(value)
    except (TypeError, ValueError):
        return str(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(size) < 1024 or unit == "PiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{size:.0f} B"
        size /= 1024
    return str(value)  # pragma: no cover - loop always returns


def _duration(value: Any) -> str:
    try:
        seconds = int(float(value))
    except (TypeError, ValueError):
        return str(value)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    parts += [f"{hours}h"] if hours else []
    parts += [f"{minutes}m"] if minutes and not days else []
    parts += [f"{secs}s"] if not parts else []
    return "".join(parts)


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=jinja2.ChainableUndefined, autoescape=False)
    env.filters["percent"] = _percent
    env.filters["bytes"] = _bytes
    env.filters["duration"] = _duration
    return env


_ENV = _environment()


@dataclass(frozen=True)
class SummaryTemplate:
    """A rule's summary in one or more languages; `en` is the fallback."""

    by_language: Mapping[str, jinja2.Template]

    def render(self, context: Mapping[str, Any], language: str = "en") -> str:
        """Render in `language`, else English; a failing template yields a plain fallback."""
        template = self.by_language.get(language) or self.by_language["en"]
        try:
            return template.render(context).strip()
        except Exception as exc:  # a bad template must not stop an alert
            return f"{context.get('rule')} on {context.get('host')} (summary failed: {exc})"

    def render_or_none(self, context: Mapping[str, Any], language: str = "en") -> str | None:
        """Render in `language`, else English; None when the template fails or says nothing
        (a customer text then falls back to a generic sentence, never to an error)."""
        template = self.by_language.get(language) or self.by_language["en"]
        try:
            return template.render(context).strip() or None
        except Exception:  # a bad template must not stop an alert
            return None


def compile_summary(source: str | Mapping[str, str]) -> SummaryTemplate:
    """Compile each language's text; raises ValueError with the template's own error."""
    texts = {"en": source} if isinstance(source, str) else dict(source)
    compiled: dict[str, jinja2.Template] = {}
    for language, text in texts.items():
        try:
            compiled[language] = _ENV.from_string(text)
        except jinja2.TemplateSyntaxError as exc:
            raise ValueError(f"summary ({language}): template error: {exc.message}") from exc
    return SummaryTemplate(compiled)


# What signals.py puts in a summary's context; anything else renders as nothing.
CONTEXT_VARIABLES = ("host", "labels", "value", "rule", "priority")
_DICT_METHODS = frozenset({"get", "items", "keys", "values"})
_JINJA_SPECIAL = frozenset({"loop", "caller", "varargs", "kwargs"})


@dataclass(frozen=True)
class TemplateReference:
    """A name a template reads, with its line within the template (1-based)."""

    name: str
    line: int


def undeclared_variables(text: str) -> list[TemplateReference]:
    """Top-level names the template reads that neither it nor Jinja defines."""
    tree = _parse(text)
    assigned = {node.name for node in tree.find_all(nodes.Name) if node.ctx in ("store", "param")}
    known = set(CONTEXT_VARIABLES) | set(_ENV.globals) | _JINJA_SPECIAL | assigned
    return [
        TemplateReference(node.name, node.lineno)
        for node in tree.find_all(nodes.Name)
        if node.ctx == "load" and node.name not in known
    ]


def label_references(text: str) -> list[TemplateReference]:
    """Labels the template reads: `labels.x`, `labels["x"]` and `labels.get("x")`."""
    tree = _parse(text)
    found: list[TemplateReference] = []
    for node in tree.find_all(nodes.Getattr):
        if _is_labels(node.node) and node.attr not in _DICT_METHODS:
            found.append(TemplateReference(node.attr, node.lineno))
    for item in tree.find_all(nodes.Getitem):
        if _is_labels(item.node) and isinstance(item.arg, nodes.Const):
            found.append(TemplateReference(str(item.arg.value), item.lineno))
    for call in tree.find_all(nodes.Call):
        target = call.node
        if (
            isinstance(target, nodes.Getattr)
            and target.attr == "get"
            and _is_labels(target.node)
            and call.args
            and isinstance(call.args[0], nodes.Const)
        ):
            found.append(TemplateReference(str(call.args[0].value), call.lineno))
    return found


def _is_labels(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Name) and node.name == "labels"


def _parse(text: str) -> nodes.Template:
    try:
        return _ENV.parse(text)
    except jinja2.TemplateSyntaxError:
        return nodes.Template([], lineno=1)  # reported by compile_summary with its message
