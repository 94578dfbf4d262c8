"""One customer's incidents: the incident queries confined to a customer.

SQL narrows the rows with a clause that can only over-match (the `customer` label, or a host
LIKE one of the customer's host patterns); each row is then judged exactly by `owns` (the
customers file's own rule: label first, then the first customer whose patterns match). Pages
are cut after that judgement, so a page is never short of the customer's own incidents.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Engine, Text, cast, or_, select

from collector.incidents.model import ACTIVE_STATES, Incident, IncidentState
from collector.store.incidents import (
    ORDERS,
    Change,
    IncidentFilters,
    IncidentReader,
    by_reference,
    change_from,
    changes_query,
    incident_from,
)
from collector.store.schema import incidents
from rules.priority import Priority

CHUNK = 200  # rows read per round while a page is filled
DELIVERY = "delivery"  # timeline entries about our own channels: not shown to a customer
# Timeline entries about our own process (who is paged, assigned, what a silence held back and
# whose it was): not shown to a customer.
STAFF_ENTRIES = frozenset(
    {"ASSIGN", "ESCALATE", "RENOTIFY", "SILENCED", "UNSILENCED", "INHIBITED", "UPDATE_REMINDER"}
)


def like_pattern(glob: str) -> str:
    """A LIKE pattern (escape `\\`) matching at least every name the shell glob matches: a
    `[...]` class becomes one any-character."""
    out, i = [], 0
    while i < len(glob):
        char = glob[i]
        end = _class_end(glob, i) if char == "[" else -1
        if char == "*":
            out.append("%")
        elif char == "?" or end != -1:
            out.append("_")
            i = max(i, end)
        elif char in "%_\\":
            out.append("\\" + char)
        else:
            out.append(char)
        i += 1
    return "".join(out)


def _class_end(glob: str, start: int) -> int:
    """Where the `[...]` class opened at `start` ends (fnmatch's rules), or -1: a literal `[`."""
    j = start + 1
    if j < len(glob) and glob[j] == "!":
        j += 1
    if j < len(glob) and glob[j] == "]":
        j += 1
    return glob.find("]", j)


def customer_clause(customer: str, patterns: Sequence[str]) -> ColumnElement[bool]:
    """Rows that may be `customer`'s: labelled so, or a host (primary or listed) that may
    match one of `patterns`. Never misses one of its incidents; may include others."""
    listed = cast(incidents.c.hosts, Text)
    terms: list[ColumnElement[bool]] = [incidents.c.labels["customer"].as_string() == customer]
    for glob in patterns:
        like = like_pattern(glob)
        terms.append(incidents.c.host.like(like, escape="\\"))
        if json.dumps(glob) == f'"{glob}"':  # stored in the JSON text as written
            terms.append(listed.like(f'%"{like}"%', escape="\\"))
        else:  # escaped in the JSON text: any incident listing hosts may be one
            terms.append(listed != "[]")
    return or_(*terms)


class CustomerIncidentReader:
    """IncidentReader's reads, confined to one customer's incidents."""

    def __init__(
        self,
        engine: Engine,
        customer: str,
        patterns: Sequence[str],
        owns: Callable[[Incident], bool],
    ) -> None:
        self._engine = engine
        self._reader = IncidentReader(engine)
        self._clause = customer_clause(customer, patterns)
        self._owns = owns

    def get(self, reference: str | int) -> Incident | None:
        """One of the customer's incidents by id or number; None for anyone else's."""
        with self._engine.connect() as conn:
            found = by_reference(conn, reference)
        return found if found is not None and self._owns(found) else None

    def timeline(self, incident_id: int) -> list[dict[str, Any]]:
        """An incident's timeline without our delivery attempts (channels, errors) or staff
        entries, and without the entries' internal data."""
        return [
            {**e, "data": None}
            for e in self._reader.timeline(incident_id)
            if e["kind"] != DELIVERY and e["name"] not in STAFF_ENTRIES
        ]

    def active(self) -> list[Incident]:
        """The customer's triggered or acknowledged incidents."""
        return self.search(list(ACTIVE_STATES), limit=1_000_000)

    def changes(self, since: float, limit: int = 20) -> list[Change]:
        """What happened to the customer's incidents since `since`, without our own process's
        entries (as its timelines), newest first."""
        found: list[Change] = []
        query = changes_query(since, self._clause)
        with self._engine.connect() as conn:
            for row in conn.execute(query.limit(limit * 5)):
                change = change_from(row)
                if change.name not in STAFF_ENTRIES and self._owns(change.incident):
                    found.append(change)
                if len(found) == limit:
                    break
        return found

    def search(
        self,
        states: list[IncidentState] | None = None,
        limit: int = 500,
        host: str | None = None,
        *,
        priorities: list[Priority] | None = None,
        rule: str | None = None,
        number: str | None = None,
        offset: int = 0,
        opened_after: float | None = None,
        order: str = "newest",
        team: str | None = None,
    ) -> list[Incident]:
        """IncidentReader.search over the customer's incidents only."""
        filters = IncidentFilters(states, priorities, rule, number, host, opened_after, team)
        query = filters.applied(select(incidents).where(self._clause)).order_by(*ORDERS[order])
        wanted = offset + limit
        found: list[Incident] = []
        with self._engine.connect() as conn:
            for position in range(0, 1 << 62, CHUNK):
                rows = conn.execute(query.limit(CHUNK).offset(position)).all()
                found += [i for i in map(incident_from, rows) if self._fits(i, host)]
                if len(found) >= wanted or len(rows) < CHUNK:
                    break
        return found[offset:wanted]

    def _fits(self, incident: Incident, host: str | None) -> bool:
        on_host = host is None or incident.host == host or host in incident.hosts
        return on_host and self._owns(incident)
