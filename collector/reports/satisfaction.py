"""The SLA report's customer satisfaction: how verifications ended and the ratings given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from collector.store.feedback import PENDING, Satisfaction

RATINGS = (5, 4, 3, 2, 1)


@dataclass(frozen=True)
class SatisfactionFigures:
    """Tickets asked to verify, how they ended, and the ratings (1-5) given."""

    asked: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)  # fixed, broken, timeout, pending
    ratings: dict[int, int] = field(default_factory=dict)  # rating: tickets

    @property
    def average(self) -> float | None:
        """The mean rating, None without any."""
        total = sum(self.ratings.values())
        if not total:
            return None
        return sum(r * n for r, n in self.ratings.items()) / total


def satisfaction_figures(answers: Mapping[str, Satisfaction]) -> SatisfactionFigures:
    """Count the month's tickets' verification answers."""
    outcomes: dict[str, int] = {}
    ratings: dict[int, int] = {}
    for answer in answers.values():
        outcomes[answer.verdict] = outcomes.get(answer.verdict, 0) + 1
        if answer.rating is not None and answer.verdict != PENDING:
            ratings[answer.rating] = ratings.get(answer.rating, 0) + 1
    return SatisfactionFigures(len(answers), outcomes, ratings)


ANSWERS = ("fixed", "broken", "timeout", "closed", PENDING)  # how a verification ended


def satisfaction_rows(figures: SatisfactionFigures) -> list[list[str]]:
    """The table's rows: each ending, each rating, the mean rating."""
    rows = [[answer, str(figures.outcomes[answer])] for answer in ANSWERS
            if figures.outcomes.get(answer)]  # fmt: skip
    rows += [[f"rating {r}", str(figures.ratings[r])] for r in RATINGS if figures.ratings.get(r)]
    if figures.average is not None:
        rows.append(["mean rating", f"{figures.average:.2f}"])
    return rows
