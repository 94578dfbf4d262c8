"""Values as people read them: 96 %, 2.1 GiB, 43 °C, 3h07m — chosen by the metric's name."""

from __future__ import annotations

import math

_IEC = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
_SUFFIX_UNITS = {
    "_celsius": " °C",
    "_volts": " V",
    "_watts": " W",
    "_amperes": " A",
    "_rpm": " rpm",
    "_hertz": " Hz",
    "_percent": " %",
}


def format_quantity(value: float | str | None, metric: str = "") -> str:  # noqa: PLR0911
    """`value` of `metric` in human units; states and unknown units are shown as they are."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if not math.isfinite(value):
        return str(value)
    name = metric.removesuffix("_total")
    if name.endswith("_ratio"):
        return f"{_number(value * 100)} %"
    if name.endswith("_bytes"):
        return format_bytes(value)
    if name.endswith("_seconds"):
        return format_duration(value) if abs(value) >= 1 else f"{_number(value * 1000)} ms"
    for suffix, unit in _SUFFIX_UNITS.items():
        if name.endswith(suffix):
            return f"{_number(value)}{unit}"
    return _number(value)


def format_bytes(value: float) -> str:
    """1536 -> 1.5 KiB; 2254857830 -> 2.1 GiB."""
    size, unit = abs(value), 0
    while size >= 1024 and unit < len(_IEC) - 1:
        size /= 1024
        unit += 1
    sign = "-" if value < 0 else ""
    return f"{sign}{_number(size)} {_IEC[unit]}"


def format_duration(seconds: float) -> str:
    """Compact human duration: 45s, 12m05s, 3h07m, 2d04h."""
    total = max(0, round(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def _number(value: float) -> str:
    # Three significant digits reads well for every unit above; integers stay integers.
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"
