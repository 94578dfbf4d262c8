"""Who can be paged right now: response.yaml's people and teams with the API's changes laid
over them.

The file is the seed; what an admin creates or changes through the API is stored in the
database and wins over the file entry of the same id (a file entry can be changed or disabled,
never deleted). Every collector reads the stored entries again after `refresh_after` seconds,
so a change made on one collector pages through the others too. Plans frozen into incidents
name people and teams by id only: a change applies to the next page, never rewrites a plan.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from agent.configfile import format_path
from collector.response.model import ResponseConfig
from collector.response.people import ContactMethod, Person, Team
from collector.response.references import reference_problems
from collector.store.people import Kind, PeopleStore, StoredEntry

Source = Literal["file", "api", "file+api"]
Entry = TypeVar("Entry", Person, Team)
Clock = Callable[[], float]
log = logging.getLogger(__name__)


class RosterError(ValueError):
    """A change the roster refuses; `status` says why: invalid, unknown or already there."""

    def __init__(self, message: str, status: Literal["invalid", "missing", "exists"]) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Roster:
    """The merged people and teams, cached; writes go to the store and refresh the cache."""

    def __init__(
        self, seed: ResponseConfig, store: PeopleStore, clock: Clock, refresh_after: float = 30.0
    ) -> None:
        self._seed = seed
        self._store = store
        self._clock = clock
        self.refresh_after = refresh_after
        self._lock = threading.Lock()
        self._loaded_at = -float("inf")
        self._merged = seed
        self._sources: dict[tuple[Kind, str], Source] = {}
        self._signature: frozenset[tuple[str, str, float]] = frozenset()
        self._loaded = False  # until load(): the file alone (the database may be unmigrated)
        self.listeners: list[Callable[[list[Person]], None]] = []  # people whose contacts changed
        # Raises ValueError for a contact no channel can be built for (checked before storing).
        self.check: Callable[[Person | Team], None] | None = None

    @property
    def seed(self) -> ResponseConfig:
        """The response file as loaded."""
        return self._seed

    def load(self) -> ResponseConfig:
        """Read the stored people and teams now (at start, once the database is migrated);
        the listeners hear of every person the database adds or changes."""
        self._loaded = True
        self._loaded_at = -float("inf")
        self.refresh()
        return self.config()

    def refresh(self) -> None:
        """Read the stored entries again if the last read is `refresh_after` old (another
        collector may have changed them); called from a loop, never inside a transaction."""
        changed: list[Person] = []
        with self._lock:
            if self._loaded and self._clock() - self._loaded_at >= self.refresh_after:
                changed = self._reload()
        self._tell(changed)

    def config(self) -> ResponseConfig:
        """The response configuration with the stored people and teams, as last read (no
        database access: paging asks inside the incident's transaction)."""
        with self._lock:
            return self._merged

    def source(self, kind: Kind, entry_id: str) -> Source:
        """Where an entry comes from: the file, the API, or the file changed through the API."""
        self.config()
        return self._sources.get((kind, entry_id), "file")

    def create(self, entry: Person | Team, actor: str) -> None:
        """Add a person or team that neither the file nor the API has yet."""
        kind = _kind(entry)
        if _find(self.config(), kind, entry.id) is not None:
            raise RosterError(f"{kind} {entry.id!r} already exists; change it with PUT", "exists")
        self._write(kind, entry, actor)

    def replace(self, entry: Person | Team, actor: str) -> None:
        """Replace a person or team as a whole (a file entry is overridden, not edited)."""
        kind = _kind(entry)
        if _find(self.config(), kind, entry.id) is None:
            raise RosterError(f"no {kind} {entry.id!r}; create it with POST", "missing")
        self._write(kind, entry, actor)

    def set_disabled(self, kind: Kind, entry_id: str, disabled: bool, actor: str) -> Person | Team:
        """Disable (never paged) or enable a person or team again."""
        current = _find(self.config(), kind, entry_id)
        if current is None:
            raise RosterError(f"no {kind} {entry_id!r}", "missing")
        changed = current.model_copy(update={"disabled": disabled})
        self._write(kind, changed, actor)
        return changed

    def _write(self, kind: Kind, entry: Person | Team, actor: str) -> None:
        if self.check is not None:
            try:
                self.check(entry)
            except ValueError as exc:
                raise RosterError(f"{kind} {entry.id!r}: {exc}", "invalid") from exc
        candidate = _with(self.config(), kind, entry)
        problems = reference_problems(candidate)
        if problems:
            raise RosterError(
                "; ".join(f"{format_path(path)}: {message}" for path, message in problems),
                "invalid",
            )
        record = _record(entry)
        self._store.save(kind, StoredEntry(entry.id, record, entry.disabled, self._clock(), actor))
        with self._lock:
            changed = self._reload()
        self._tell(changed)

    def _tell(self, changed: list[Person]) -> None:
        """Outside the lock: a listener may read the roster again."""
        for listener in self.listeners if changed else []:
            try:
                listener(changed)
            except Exception:  # stored already: the next start tries again
                log.exception("could not take in %s", ", ".join(p.id for p in changed))

    def _reload(self) -> list[Person]:
        """Merge the stored entries over the file (caller holds the lock); the people whose
        entries changed."""
        people_rows = self._store.entries("person")
        team_rows = self._store.entries("team")
        signature = frozenset(
            (kind, row.id, row.updated_at)
            for kind, rows in (("person", people_rows), ("team", team_rows))
            for row in rows
        )
        self._loaded_at = self._clock()
        if signature == self._signature:
            return []
        people = _merged(self._seed.people, people_rows, Person, "person", self._sources)
        teams = _merged(self._seed.teams, team_rows, Team, "team", self._sources)
        before = {p.id: p for p in self._merged.people}
        self._merged = self._seed.model_copy(update={"people": people, "teams": teams})
        self._signature = signature
        return [p for p in people if before.get(p.id) != p]


def _record(entry: Person | Team) -> dict[str, Any]:
    """The entry as response.yaml would hold it; the dump hides contact URLs, the store keeps
    them (they are how the person is reached)."""
    record = entry.model_dump(mode="json", exclude_defaults=True)
    if isinstance(entry, Person):
        record["contacts"] = {name: _address(c) for name, c in entry.contacts.items()}
    elif entry.channel is not None:
        record["channel"] = _address(entry.channel)
    return record


def _address(contact: ContactMethod) -> dict[str, str]:
    return {"kind": contact.kind, "url": contact.url.get_secret_value()}


def _kind(entry: Person | Team) -> Kind:
    return "person" if isinstance(entry, Person) else "team"


def _find(config: ResponseConfig, kind: Kind, entry_id: str) -> Person | Team | None:
    return config.person(entry_id) if kind == "person" else config.team(entry_id)


def _with(config: ResponseConfig, kind: Kind, entry: Person | Team) -> ResponseConfig:
    """`config` with `entry` added or replacing the one of its id."""
    section = "people" if kind == "person" else "teams"
    current: list[Person | Team] = list(getattr(config, section))
    ids = [item.id for item in current]
    if entry.id in ids:
        current[ids.index(entry.id)] = entry
    else:
        current.append(entry)
    return config.model_copy(update={section: current})


def _merged(
    seeded: list[Entry],
    rows: list[StoredEntry],
    model: type[Entry],
    kind: Kind,
    sources: dict[tuple[Kind, str], Source],
) -> list[Entry]:
    """File entries (stored ones of the same id instead), then those only the API has."""
    stored: dict[str, Entry] = {}
    for row in rows:
        try:
            stored[row.id] = model.model_validate({**row.record, "disabled": row.disabled})
        except ValidationError as exc:
            # Written by a newer collector with fields this one does not know: skip it.
            log.warning("stored %s %r is not valid here, left out: %s", kind, row.id, exc)
            continue
    result: list[Entry] = []
    for entry in seeded:
        found = stored.pop(entry.id, None)
        sources[(kind, entry.id)] = "file" if found is None else "file+api"
        result.append(found or entry)
    for entry_id in sorted(stored):
        sources[(kind, entry_id)] = "api"
        result.append(stored[entry_id])
    return result
