"""Series values written the promtool way: "0.5 0.5 0.9+0.01x5 _x2 0.95x6 degraded".

a          one sample (a number, or a state word such as `degraded`)
a+bxn      n+1 samples: a, a+b, ..., a+n*b (also a-bxn)
axn        n+1 samples of a (`degradedx3`: four `degraded`)
_  _xn     one / n missing samples (the series is not in that report)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Value = float | str | None

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_EXPANSION = re.compile(
    rf"^(?P<start>{_NUMBER})(?:(?P<sign>[+-])(?P<step>{_NUMBER}))?x(?P<count>\d+)$"
)
_WORD_EXPANSION = re.compile(r"^(?P<word>[A-Za-z][\w.:/-]*?)x(?P<count>\d+)$")
_MISSING = re.compile(r"^_(?:x(?P<count>\d+))?$")
_WORD = re.compile(r"^[A-Za-z][\w.:/-]*$")


def expand_values(values: str | Sequence[Value]) -> list[Value]:
    """The samples a `values:` entry stands for; ValueError names the token it cannot read."""
    if not isinstance(values, str):
        return [v if isinstance(v, str) or v is None else float(v) for v in values]
    samples: list[Value] = []
    for token in values.split():
        samples += _expand(token)
    return samples


def _expand(token: str) -> list[Value]:
    missing = _MISSING.match(token)
    if missing:
        return [None] * int(missing["count"] or 1)
    try:
        return [float(token)]
    except ValueError:
        pass
    found = _EXPANSION.match(token)
    if found:
        start, count = float(found["start"]), int(found["count"])
        step = float(found["step"] or 0) * (-1 if found["sign"] == "-" else 1)
        return [round(start + i * step, 12) for i in range(count + 1)]
    word = _WORD_EXPANSION.match(token)
    if word:
        return [word["word"]] * (int(word["count"]) + 1)
    if _WORD.match(token):
        return [token]
    raise ValueError(
        f"cannot read {token!r}: expected a number, a state word, a+bxn, a-bxn, axn, _ or _xn "
        '(e.g. "0.5 0.9+0.01x5 _x2 degradedx3")'
    )
