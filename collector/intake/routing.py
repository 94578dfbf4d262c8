"""Keyword routing: words in a mail's subject or body set or raise its ticket's priority and
choose its team (the `team` label, which the response file's routing matches)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from collector.incidents.customers import raised
from collector.intake.settings import KeywordRoute
from rules.priority import Priority

TEAM_LABEL = "team"


@dataclass(frozen=True)
class Routed:
    """The priority and labels keyword routing chose, and the words that chose them."""

    priority: Priority
    labels: dict[str, str] = field(default_factory=dict)
    matched: tuple[str, ...] = ()


def contains_word(text: str, word: str) -> bool:
    """Case-blind; a Latin word must stand alone ("down" not in "download"), CJK anywhere."""
    if word.isascii():
        pattern = r"(?<![A-Za-z0-9])" + re.escape(word) + r"(?![A-Za-z0-9])"
        return re.search(pattern, text, re.IGNORECASE) is not None
    return word.casefold() in text.casefold()


def route(subject: str, body: str, start: Priority, routes: Sequence[KeywordRoute]) -> Routed:
    """Apply every route whose word appears: the most urgent priority set, then each raise
    on top of it (never above P1); the first team."""
    text = f"{subject}\n{body}"
    priority, raises, labels, matched = start, 0, {}, []
    for keyword_route in routes:
        words = [w for w in keyword_route.words if contains_word(text, w)]
        if not words:
            continue
        matched += words
        wanted = keyword_route.priority
        if wanted is not None and wanted.rank < priority.rank:
            priority = wanted
        raises += keyword_route.raise_levels
        if keyword_route.team and TEAM_LABEL not in labels:
            labels[TEAM_LABEL] = keyword_route.team
    for _ in range(raises):
        priority = raised(priority)
    return Routed(priority, labels, tuple(matched))
