"""A rule engine signal as an incident event: summary rendered, condition described."""

from __future__ import annotations

from collections.abc import Mapping
from typing import get_args

from collector.incidents.events import RuleCleared, RuleFired
from collector.notify.customer_message import CUSTOMER_TEXT
from collector.notify.message import Language
from collector.notify.units import format_duration, format_quantity
from rules.engine import AlertSignal, SignalKind
from rules.model import Rule
from rules.template import SummaryTemplate


def rule_event(signal: AlertSignal, language: Language) -> RuleFired | RuleCleared:
    """The incident event a signal stands for."""
    if signal.kind is SignalKind.RESOLVE:
        return RuleCleared(signal.key, signal.value, signal.reason)
    rule = signal.rule.rule
    metric = rule.metric or ""
    context = {
        "host": signal.host,
        "labels": dict(signal.labels),
        "value": signal.value,
        "rule": signal.rule.name,
        "priority": rule.priority.value,
    }
    annotations = {
        "probe": signal.probe,
        "metric": metric,
        "condition": describe_condition(rule),
        "opening_value": format_quantity(signal.value, metric),
        **customer_texts(signal.rule.customer_text, context),
    }
    return RuleFired(
        key=signal.key,
        rule=signal.rule.name,
        host=signal.host,
        labels={**signal.labels, **rule.labels},
        priority=rule.priority,
        summary=signal.rule.summary.render(context, language),
        description=rule.description,
        value=signal.value,
        reason=signal.reason,
        auto_resolve=rule.auto_resolve and rule.event is None,
        annotations=annotations,
    )


def customer_texts(
    template: SummaryTemplate | None, context: Mapping[str, object]
) -> dict[str, str]:
    """The rule's plain words for customers, rendered in each language now (annotations
    `customer_text.en`, `customer_text.zh`); none when the rule has no customer text."""
    if template is None:
        return {}
    rendered = {lang: template.render_or_none(context, lang) for lang in get_args(Language)}
    return {f"{CUSTOMER_TEXT}.{lang}": text for lang, text in rendered.items() if text}


def describe_condition(rule: Rule) -> str:
    """The rule's condition in human units: "above 90 % for 5m", "increase over 24h above 8"."""
    metric = rule.metric or ""
    subject = {"rate": "rate ", "delta": "change ", "increase": "increase "}.get(rule.function, "")
    if rule.function == "increase" and rule.window:
        subject = f"increase over {format_duration(rule.window)} "
    if rule.predict is not None:
        subject = f"forecast in {format_duration(rule.predict.horizon)} "
    unit_metric = metric if rule.function == "value" else ""
    if rule.above is not None:
        text = f"{subject}above {format_quantity(rule.above, unit_metric)}"
    elif rule.below is not None:
        text = f"{subject}below {format_quantity(rule.below, unit_metric)}"
    elif rule.equals is not None:
        text = f"state is {rule.equals}"
    elif rule.in_ is not None:
        text = f"state is one of {', '.join(rule.in_)}"
    elif rule.not_in is not None:
        text = f"state is not {', '.join(rule.not_in)}"
    elif rule.absent is not None:
        text = f"no report for {format_duration(rule.absent)}"
    else:
        text = f"event {rule.event}"
    return f"{text} for {format_duration(rule.for_)}" if rule.for_ else text
