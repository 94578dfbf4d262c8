"""The fault report's diagnostic snapshot sections: what each diagnostic said, or why not."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from collector.store.snapshots import SnapshotRecord

if TYPE_CHECKING:
    from collector.knowledge.report import Section


def snapshot_sections(snapshots: Sequence[SnapshotRecord]) -> list[Section]:
    """One section per snapshot: a table of the diagnostics, then each output in full."""
    from collector.knowledge.report import Section  # the report imports this module

    sections = []
    for snapshot in snapshots:
        heading = f"Diagnostic snapshot of {snapshot.host}"
        if snapshot.result is None:
            text = f"Asked at {_when(snapshot.requested_at)}; the agent has not answered."
            sections.append(Section(heading, text=text))
            continue
        rows = tuple(
            (str(d["name"]), str(d.get("device") or ""), str(d["status"]), str(d.get("note") or ""))
            for d in snapshot.result
        )
        blocks = tuple(
            (_caption(d), str(d["output"])) for d in snapshot.result if d["status"] == "ok"
        )
        fields = (("Taken", _when(snapshot.taken_at)), ("Took", f"{snapshot.seconds or 0:.1f} s"))
        header = ("Diagnostic", "Device", "Status", "Note")
        sections.append(Section(heading, fields, header, rows, blocks=blocks))
    return sections


def _caption(diagnostic: dict[str, object]) -> str:
    device = f" ({diagnostic['device']})" if diagnostic.get("device") else ""
    cut = " — cut to fit the size budget" if diagnostic.get("truncated") else ""
    return f"{diagnostic['name']}{device}{cut}"


def _when(unix_seconds: float | None) -> str:
    if unix_seconds is None:
        return "-"
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
