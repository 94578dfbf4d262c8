"""Label matchers: `match: {mountpoint: "/", fstype: "!~tmpfs|overlay", host: "~web-.*"}`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

LabelTest = Callable[[str], bool]


@dataclass(frozen=True)
class LabelMatcher:
    """Every matcher of one rule, compiled once; a missing label matches as the empty string."""

    tests: tuple[tuple[str, LabelTest], ...]

    def matches(self, labels: Mapping[str, str], host: str) -> bool:
        """True when every matcher accepts the series' labels."""
        for name, test in self.tests:
            value = host if name == "host" else labels.get(name, "")
            if not test(value):
                return False
        return True


def compile_matcher(spec: Mapping[str, str]) -> LabelMatcher:
    """Compile a `match:` mapping; a bad regex raises ValueError naming the label."""
    return LabelMatcher(tuple((name, _compile_one(name, text)) for name, text in spec.items()))


def _compile_one(name: str, text: str) -> LabelTest:
    negate = text.startswith("!")
    body = text[1:] if negate else text
    if body.startswith("~"):
        try:
            pattern = re.compile(body[1:])
        except re.error as exc:
            raise ValueError(f"match.{name}: bad regular expression {body[1:]!r}: {exc}") from exc
        # Anchored like Prometheus matchers: "~sd." means the whole value, not a substring.
        if negate:
            return lambda value: pattern.fullmatch(value) is None
        return lambda value: pattern.fullmatch(value) is not None
    if negate:
        return lambda value: value != body
    return lambda value: value == body
