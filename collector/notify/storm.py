"""One message for a storm: a rule that opened (or resolved) on many hosts at once.

Incidents stay per host, each with its own ticket and lifecycle; only the telling is grouped.
"""

from __future__ import annotations

from collections.abc import Sequence

from collector.notify.message import TITLE_MAX_CHARS, Notification
from rules.priority import Priority

LISTED_HOSTS = 20


def compose_storm(notes: Sequence[Notification]) -> Notification:
    """The one message standing for `notes` (same rule, same event, one channel)."""
    first = notes[0]
    priority = min((n.priority for n in notes), key=lambda p: p.rank)
    hosts = sorted({n.host for n in notes})
    shown = ", ".join(hosts[:5]) + (f" (+{len(hosts) - 5})" if len(hosts) > 5 else "")
    verb = "RESOLVED" if first.event == "resolved" else "STORM"
    title = f"[{priority}] {verb} {first.rule} on {len(hosts)} hosts: {shown}"
    lines = [
        f"{first.rule} {'recovered' if first.event == 'resolved' else 'fired'} on "
        f"{len(hosts)} hosts at once; each has its own ticket.",
        "",
    ]
    for note in sorted(notes, key=lambda n: n.host)[:LISTED_HOSTS]:
        lines.append(f"{note.number}  {note.host}: {note.summary}")
    if len(notes) > LISTED_HOSTS:
        lines.append(f"... and {len(notes) - LISTED_HOSTS} more")
    link = next((line for line in first.body.splitlines() if line.startswith("Link: ")), "")
    if link:
        lines += ["", link.rsplit("/incidents/", 1)[0] + "/"]
    return Notification(
        incident_key=first.incident_key,
        incident_id=first.incident_id,
        event=first.event,
        priority=Priority(priority),
        host=", ".join(hosts),
        rule=first.rule,
        summary=title,
        title=title if len(title) <= TITLE_MAX_CHARS else title[: TITLE_MAX_CHARS - 1] + "…",
        body="\n".join(lines),
        number=", ".join(n.number for n in notes[:LISTED_HOSTS]),
        idempotency_key=first.idempotency_key + "-storm",
        message_id="",
    )
