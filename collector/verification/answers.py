"""Reading a customer's reply to a verification request: "still broken" or a rating."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from collector.intake.routing import contains_word
from collector.verification.links import Verdict

_RATING = re.compile(r"(?:rating|score|评分|满意度|打分)\s*[:：=]?\s*([1-5])\b", re.IGNORECASE)
_ALONE = re.compile(r"^\s*([1-5])\s*(?:/\s*5|stars?|分|星)?\s*$", re.IGNORECASE)
_FIXED = ("fixed", "works", "resolved", "已恢复", "好了")  # broken words are checked first


@dataclass(frozen=True)
class ReplyAnswer:
    """What a reply says about the fix (None: it says nothing either way) and its rating."""

    verdict: Verdict | None
    rating: int | None


def own_words(text: str) -> str:
    """A reply's own words: quoted lines (`> ...`) dropped, on one line."""
    return " ".join(line.strip() for line in text.splitlines() if line.strip()[:1] not in ">")


def read_reply(text: str, still_broken: Sequence[str]) -> ReplyAnswer:
    """The verdict and rating in a reply's text (quoted lines, `> ...`, ignored)."""
    own = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))
    rating = _rating(own)
    if any(contains_word(own, word) for word in still_broken):
        return ReplyAnswer("broken", rating)
    if rating is not None or any(contains_word(own, word) for word in _FIXED):
        return ReplyAnswer("fixed", rating)
    return ReplyAnswer(None, None)


def _rating(text: str) -> int | None:
    found = _RATING.search(text)
    if found:
        return int(found.group(1))
    first = next((line for line in text.splitlines() if line.strip()), "")
    alone = _ALONE.match(first)
    return int(alone.group(1)) if alone else None
