"""What a rule refers to, checked against the metric catalogue: metric, labels, template names.

These problems do not stop a rule from loading (a metric may come from an operator's SNMP
`extra_oids` the catalogue cannot know), so the collector logs them and starts, while
`watchkeeper rules check` fails on them; declaring the metric under `metrics:` settles it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence

from agent.catalogue import MetricCatalogue
from agent.configfile import ConfigError, YamlDocument
from rules.model import IMPLICIT_LABELS, Rule
from rules.template import CONTEXT_VARIABLES, label_references, undeclared_variables

Where = tuple[str | int, ...]


def reference_problems(
    rule: Rule, document: YamlDocument, where: Where, catalogue: MetricCatalogue
) -> list[ConfigError]:
    """Unknown metric, labels the metric does not carry, and unknown template variables."""
    problems: list[ConfigError] = []
    labels: frozenset[str] | None = None  # None: unknown, so label names are not checked
    if rule.absent is not None:
        labels = frozenset()
    elif rule.metric:
        info = catalogue.get(rule.metric)
        if info is None:
            problems.append(document.error((*where, "metric"), unknown_metric(rule, catalogue)))
        else:
            labels = info.all_labels
    if labels is not None:
        problems += matcher_problems(rule.match, labels, rule, document, (*where, "match"))
    problems += _template_problems(rule, labels, document, where)
    return problems


def unknown_metric(rule: Rule, catalogue: MetricCatalogue) -> str:
    """The message for a metric no probe sends, with the nearest catalogued name."""
    close = catalogue.closest(rule.metric or "")
    hint = f"; did you mean {close!r}?" if close else ""
    return (
        f"unknown metric {rule.metric!r}{hint} (no probe sends it: see "
        "agent/metrics_catalogue.yaml, or declare your own under `metrics:`)"
    )


def matcher_problems(
    match: Mapping[str, str],
    labels: frozenset[str],
    rule: Rule,
    document: YamlDocument,
    where: Where,
) -> list[ConfigError]:
    """Matchers on labels the rule's series never carry (they would compare with "")."""
    usable = labels | IMPLICIT_LABELS
    return [
        document.error((*where, name), _no_such_label(name, rule, usable))
        for name in match
        if name not in usable
    ]


def _template_problems(
    rule: Rule, labels: frozenset[str] | None, document: YamlDocument, where: Where
) -> list[ConfigError]:
    problems: list[ConfigError] = []
    for path, text in _summaries(rule, where):
        # A block scalar (| or >) starts on the line after its key, and ends with a newline.
        first = (document.line_of(path) or 0) + (1 if "\n" in text else 0)
        for ref in undeclared_variables(text):
            close = difflib.get_close_matches(ref.name, CONTEXT_VARIABLES, n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            message = (
                f"{path[len(where)]} uses unknown variable `{ref.name}`{hint} "
                f"(known: {', '.join(CONTEXT_VARIABLES)})"
            )
            problems.append(_at(document, path, first + ref.line - 1, message))
        if labels is None:
            continue
        for ref in label_references(text):
            if ref.name not in labels:
                message = f"`labels.{ref.name}`: " + _no_such_label(ref.name, rule, labels)
                problems.append(_at(document, path, first + ref.line - 1, message))
    return problems


def _no_such_label(name: str, rule: Rule, labels: Iterable[str]) -> str:
    known = sorted(labels)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    subject = rule.metric if rule.metric else "an `absent` rule's incident"
    return f"{subject} has no label `{name}`{hint} (its labels: {', '.join(known) or 'none'})"


def _summaries(rule: Rule, where: Where) -> Sequence[tuple[Where, str]]:
    customer = [
        ((*where, "customer_text", language), text)
        for language, text in (rule.customer_text or {}).items()
    ]
    if isinstance(rule.summary, str):
        return [((*where, "summary"), rule.summary), *customer]
    summary = [((*where, "summary", language), text) for language, text in rule.summary.items()]
    return [*summary, *customer]


def _at(document: YamlDocument, path: Where, line: int, message: str) -> ConfigError:
    located = document.error(path, message)
    return ConfigError(located.source, line or located.line, located.message)
