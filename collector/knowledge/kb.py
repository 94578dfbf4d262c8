"""Knowledge-base entries and how they are matched to an incident or a search.

Full-text relevance is a pure-Python BM25 over candidate rows, not SQLite FTS5 or PostgreSQL
`to_tsvector`: the two engines rank differently (FTS5's bm25() against ts_rank's cover
density), so the same incident would get different top matches on each backend, and each
needs its own DDL (a virtual table kept in step by triggers, a GIN index) in every migration.
A support team's knowledge base is thousands of short entries; SQL narrows the candidates
(same rule first, then the newest), and scoring a few thousand of them in Python takes
milliseconds, on the read path only. The tokenizer also reads Chinese (character bigrams),
which neither built-in parser does without extensions.

Score = same rule (3) + label similarity (Jaccard of key=value pairs, 0..2) + BM25 relevance
normalised to the best candidate (0..1).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from collector.incidents.model import Incident
from collector.incidents.rootcause import RootCause

RULE_WEIGHT = 3.0
LABEL_WEIGHT = 2.0
TEXT_WEIGHT = 1.0
BM25_K1 = 1.2
BM25_B = 0.75

_WORD = re.compile(r"[a-z0-9]+|[\u3400-\u9fff]+")
_CJK = re.compile(r"[\u3400-\u9fff]")
_STOP = frozenset(
    ("a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "of", "on",
     "or", "the", "to", "was", "with")
)  # fmt: skip


@dataclass(frozen=True)
class KbEntry:
    """One piece of knowledge: what caused a problem and what fixed it."""

    title: str
    cause: str
    fix: str
    author: str
    created_at: float
    updated_at: float
    rule: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    source_incident_id: int | None = None
    source_number: str | None = None
    id: int | None = None

    @property
    def text(self) -> str:
        """What full-text matching reads."""
        return " ".join([self.title, self.cause, self.fix, self.rule, *self.tags])


@dataclass(frozen=True)
class Query:
    """What to match: an incident's rule, labels and words, or a person's search text."""

    text: str
    rule: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    """An entry and how well it fits."""

    entry: KbEntry
    score: float


def incident_labels(incident: Incident) -> dict[str, str]:
    """The labels an entry keeps and matches on: the incident's own, its host and host family
    ("db-3" -> "db-"), so the same problem on a sibling host still counts."""
    labels = dict(incident.labels)
    if incident.host:
        labels["host"] = incident.host
        labels["host_family"] = re.sub(r"\d+$", "", incident.host)
    return labels


def query_of(incident: Incident) -> Query:
    """The query an incident makes of the knowledge base."""
    words = " ".join([incident.summary, incident.description, incident.rule])
    return Query(words, incident.rule, incident_labels(incident))


def entry_from(incident: Incident, root_cause: RootCause, now: float) -> KbEntry:
    """The entry a closed incident leaves behind: its cause and fix, keyed by rule and labels."""
    tags = tuple(dict.fromkeys([root_cause.category.value, *filter(None, [incident.rule])]))
    return KbEntry(
        title=f"{incident.number}: {incident.summary}"[:300],
        cause=root_cause.cause,
        fix=root_cause.fix,
        author=root_cause.author,
        created_at=now,
        updated_at=now,
        rule=incident.rule,
        labels=incident_labels(incident),
        tags=tags,
        source_incident_id=incident.id,
        source_number=incident.number,
    )


def tokens(text: str) -> list[str]:
    """Lower-case words without stop words; runs of Chinese characters as bigrams."""
    found: list[str] = []
    for word in _WORD.findall(text.lower()):
        if _CJK.match(word):
            found += [word[i : i + 2] for i in range(max(1, len(word) - 1))]
        elif word not in _STOP:
            found.append(word)
    return found


def bm25(query: Sequence[str], documents: Sequence[Sequence[str]]) -> list[float]:
    """Okapi BM25 of each document for `query` (scores relative to this document set)."""
    if not documents:
        return []
    average = sum(len(d) for d in documents) / len(documents) or 1.0
    frequency = Counter(term for d in documents for term in set(d))
    count = len(documents)
    scores = []
    for document in documents:
        terms = Counter(document)
        norm = BM25_K1 * (1 - BM25_B + BM25_B * len(document) / average)
        score = 0.0
        for term in set(query):
            if terms[term]:
                idf = math.log(1 + (count - frequency[term] + 0.5) / (frequency[term] + 0.5))
                score += idf * terms[term] * (BM25_K1 + 1) / (terms[term] + norm)
        scores.append(score)
    return scores


def label_similarity(left: Mapping[str, str], right: Mapping[str, str]) -> float:
    """Jaccard similarity of the key=value pairs (0: nothing shared, 1: identical)."""
    a, b = set(left.items()), set(right.items())
    return len(a & b) / len(a | b) if a | b else 0.0


def rank(query: Query, entries: Sequence[KbEntry], limit: int = 5) -> list[Match]:
    """The best `limit` entries for `query`, best first; entries sharing nothing are left out."""
    relevance = bm25(tokens(query.text), [tokens(e.text) for e in entries])
    best = max(relevance, default=0.0) or 1.0
    matches = []
    for entry, text_score in zip(entries, relevance, strict=True):
        same_rule = bool(query.rule) and entry.rule == query.rule
        labels = label_similarity(query.labels, entry.labels) if query.labels else 0.0
        score = RULE_WEIGHT * same_rule + LABEL_WEIGHT * labels + TEXT_WEIGHT * text_score / best
        if text_score > 0 or same_rule:
            matches.append(Match(entry, round(score, 4)))
    matches.sort(key=lambda m: (-m.score, -(m.entry.updated_at), -(m.entry.id or 0)))
    return matches[:limit]
