"""The fault analysis report of an incident, as Markdown or HTML.

Built once as a neutral document (headings, fields, tables) from the stored incident, its
timeline, its SLA clocks (`plan.clocks`) and its root cause; each format only renders it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from collector.knowledge.service import FaultRecord
from collector.knowledge.snapshot_report import snapshot_sections
from collector.notify.units import format_duration

Format = Literal["md", "html"]
FORMATS: tuple[Format, ...] = ("md", "html")


@dataclass(frozen=True)
class Section:
    """A heading with fields (name: value), a table, or a paragraph under it."""

    heading: str
    fields: tuple[tuple[str, str], ...] = ()
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    text: str = ""
    blocks: tuple[tuple[str, str], ...] = ()  # (caption, preformatted text): tool output


def when(unix_seconds: float | None) -> str:
    """A time for people: 2026-11-27 18:30:00 UTC, or "-"."""
    if unix_seconds is None:
        return "-"
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render(record: FaultRecord, fmt: Format, now: float) -> str:
    """The report in `fmt`."""
    title = f"Fault analysis report: {record.incident.number}"
    sections = document(record, now)
    return markdown(title, sections) if fmt == "md" else page(title, sections)


def document(record: FaultRecord, now: float) -> list[Section]:
    """The report's sections in reading order."""
    return [
        _overview(record),
        _times(record),
        _sla(record, now),
        *_cause(record),
        *snapshot_sections(record.snapshots),
        _timeline(record),
    ]


def _overview(record: FaultRecord) -> Section:
    i = record.incident
    fields = [
        ("Summary", i.summary),
        ("Priority", i.priority.value),
        ("State", i.state.value),
        ("Rule", i.rule),
        ("Hosts", ", ".join(i.hosts) or i.host),
        ("Reporter", i.reporter or ""),
        ("Assignee", i.assignee or ""),
        ("Reopened", f"{i.reopen_count} time(s)" if i.reopen_count else ""),
        ("Description", i.description),
    ]
    return Section("Overview", tuple((k, v) for k, v in fields if v))


def _times(record: FaultRecord) -> Section:
    i = record.incident

    def since_detection(at: float | None) -> str:
        return f"{when(at)} (+{format_duration(at - i.opened_at)})" if at is not None else "-"

    acked = since_detection(i.acknowledged_at)
    if i.acknowledged_by:
        acked += f" by {i.acknowledged_by}"
    fields = (
        ("Detected", when(i.opened_at)),
        ("Acknowledged", acked),
        ("Resolved", since_detection(i.resolved_at)),
        ("Closed", since_detection(i.closed_at)),
    )
    return Section("Detection, acknowledgement, resolution", fields)


def _sla(record: FaultRecord, now: float) -> Section:
    i = record.incident
    if i.plan is None or not i.plan.clocks:
        return Section("SLA", text="No SLA applied to this incident.")
    stops = {"ack": i.acknowledged_at or i.resolved_at, "resolve": i.resolved_at}
    rows = tuple(
        (c.name, format_duration(c.due_at - c.started_at), when(c.due_at), c.state)
        for c in i.plan.clock_states(stops, now)
    )
    heading = f"SLA ({i.plan.policy})" if i.plan.policy else "SLA"
    return Section(heading, header=("Clock", "Target", "Due", "Result"), rows=rows)


def _cause(record: FaultRecord) -> list[Section]:
    rc = record.root_cause
    if rc is None:
        return [Section("Root cause", text="No root cause has been recorded yet.")]
    fields = (
        ("Category", rc.category.value),
        ("Cause", rc.cause),
        ("Fix", rc.fix),
        ("Recorded", f"{when(rc.recorded_at)} by {rc.author}"),
    )
    actions = tuple((a.action, a.owner, a.due.isoformat()) for a in rc.actions)
    return [
        Section("Root cause", fields),
        Section("Follow-up actions", header=("Action", "Owner", "Due"), rows=actions),
    ]


def _timeline(record: FaultRecord) -> Section:
    rows = tuple(
        (when(e["at"]), str(e["name"]), str(e["actor"]), str(e["detail"] or ""))
        for e in record.timeline
    )
    return Section("Timeline", header=("Time", "Event", "By", "Detail"), rows=rows)


def markdown(title: str, sections: list[Section]) -> str:
    """The sections as Markdown."""
    lines = [f"# {title}"]
    for section in sections:
        lines += ["", f"## {section.heading}", ""]
        lines += [f"- **{name}:** {_md(value)}" for name, value in section.fields]
        if section.header:
            lines.append("| " + " | ".join(section.header) + " |")
            lines.append("|" + "---|" * len(section.header))
            lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in section.rows]
        if section.text:
            lines.append(section.text)
        for caption, text in section.blocks:
            lines += ["", f"### {caption}", "", "~~~~", text.replace("~~~~", "~ ~ "), "~~~~"]
    return "\n".join(lines) + "\n"


def page(title: str, sections: list[Section]) -> str:
    """The sections as a self-contained HTML page."""
    e = html.escape
    body = [f"<h1>{e(title)}</h1>"]
    for section in sections:
        body.append(f"<h2>{e(section.heading)}</h2>")
        if section.fields:
            items = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in section.fields)
            body.append(f"<dl>{items}</dl>")
        if section.header:
            head = "".join(f"<th>{e(h)}</th>" for h in section.header)
            rows = "".join(
                "<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in section.rows
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        if section.text:
            body.append(f"<p>{e(section.text)}</p>")
        for caption, text in section.blocks:
            body.append(f"<h3>{e(caption)}</h3><pre>{e(text)}</pre>")
    style = (
        "body{font-family:sans-serif;max-width:60em}td,th{border:1px solid #ccc;padding:2px 6px}"
    )
    return (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{e(title)}</title>'
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _md(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")
