"""The database schema, written once for SQLite and PostgreSQL alike (nothing dialect-only).

Times are Unix seconds (float) from the collector's clock, so SQL, the API and the engine agree.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)

metadata = MetaData()

hosts = Table(
    "hosts",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("agent_version", String(64), nullable=False, server_default=""),
    Column("reported_by", String(255), nullable=False, server_default=""),
    Column("last_sequence", BigInteger, nullable=False, server_default="0"),
    Column("agent_instance", String(64), nullable=False, server_default=""),
    Column("clock_skew_seconds", Float, nullable=False, server_default="0"),
)

ACTIVE_STATE_SQL = "state IN ('triggered', 'acknowledged', 'waiting')"

incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("source", String(8), nullable=False, server_default="rule"),
    Column("key", String(64), nullable=True),
    Column("rule", String(255), nullable=False, server_default=""),
    Column("host", String(255), nullable=False, server_default=""),
    Column("hosts", JSON, nullable=False),
    Column("labels", JSON, nullable=False),
    Column("priority", String(2), nullable=False),
    Column("state", String(16), nullable=False),
    Column("summary", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("value", JSON, nullable=True),
    Column("auto_resolve", Boolean, nullable=False, server_default=true()),
    Column("opened_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("acknowledged_at", Float, nullable=True),
    Column("acknowledged_by", String(255), nullable=True),
    Column("resolved_at", Float, nullable=True),
    Column("closed_at", Float, nullable=True),
    Column("assignee", String(255), nullable=True),
    Column("reporter", String(255), nullable=True),
    Column("contact", String(255), nullable=True),
    Column("reopen_count", Integer, nullable=False, server_default="0"),
    Column("annotations", JSON, nullable=False),
    Column("version", Integer, nullable=False, server_default="0"),
    Column("plan", JSON, nullable=True),  # escalation tiers and SLA targets, frozen at OPEN
    Column("escalation_step", Integer, nullable=False, server_default="-1"),
    Column("last_note", Text, nullable=True),
    Column("last_note_at", Float, nullable=True),
    Column("last_update_at", Float, nullable=True),
    Column("flap_times", JSON, nullable=True),  # recent rule-driven state changes
    Column("flapping", Boolean, nullable=False, server_default=false()),
    Column("eta_at", Float, nullable=True),  # expected resolution, as told to the customer
    Column("eta_reason", Text, nullable=True),
    Index("ix_incidents_state_opened", "state", "opened_at"),
    Index("ix_incidents_host", "host"),
    Index("ix_incidents_key_resolved", "key", "resolved_at"),
    # At most one active incident per (rule, host, labels): the database enforces it too.
    Index(
        "uq_incidents_active_key",
        "key",
        unique=True,
        sqlite_where=text(ACTIVE_STATE_SQL),
        postgresql_where=text(ACTIVE_STATE_SQL),
    ),
)

# Append-only: transitions, notes, delivery attempts — one history per incident.
incident_timeline = Table(
    "incident_timeline",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=False, index=True),
    Column("at", Float, nullable=False),
    Column("kind", String(16), nullable=False),  # transition | delivery
    Column("name", String(32), nullable=False),  # OPEN, ACK, ... | SENT, FAILED, GAVE_UP
    Column("actor", String(255), nullable=False, server_default="system"),
    Column("detail", Text, nullable=False, server_default=""),
    Column("data", JSON, nullable=True),
    Index("ix_incident_timeline_name_at", "name", "at"),  # noise figures count by name
    Index("ix_incident_timeline_at", "at"),  # the console's "last hour" of all incidents
)

# Ticket numbers: one counter per (prefix, year), incremented inside the opening transaction.
ticket_sequences = Table(
    "ticket_sequences",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# The transactional outbox: one row per (message, channel), written with the incident change.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=True),
    Column("channel", String(512), nullable=False),
    Column("event", String(16), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # pending | sent | failed | withdrawn
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("due_at", Float, nullable=False),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_until", Float, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("sent_at", Float, nullable=True),
    Column("group_key", String(300), nullable=True),  # rule:event, for storm grouping
    Index("ix_outbox_due", "status", "channel", "due_at"),
    Index("ix_outbox_group", "channel", "group_key", "status"),
    Index("ix_outbox_incident", "incident_id", "channel"),
)

# Durable timers: due work claimed by one collector, done in the transaction that records it.
timers = Table(
    "timers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=True),
    Column("due_at", Float, nullable=False),
    Column("status", String(10), nullable=False),  # pending | done | cancelled
    Column("created_at", Float, nullable=False),
    Column("done_at", Float, nullable=True),
    Column("tag", String(64), nullable=False, server_default=""),  # which clock: "ack:80%"
    Column("data", JSON, nullable=True),
    Index("ix_timers_due", "status", "due_at"),
    Index("ix_timers_incident", "incident_id", "kind", "status"),
)

# Discrete events from reports (IPMI SEL entries, SNMP traps), bounded per host.
host_events = Table(
    "host_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("host", String(255), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("time", Float, nullable=False),
    Column("received_at", Float, nullable=False),
    Column("message", Text, nullable=False),
    Column("labels", JSON, nullable=False),
    Index("ix_host_events_host", "host", "id"),
)

# Rule-engine state per host (series histories, pending for: timers), so trends survive restarts.
rule_checkpoints = Table(
    "rule_checkpoints",
    metadata,
    Column("host", String(255), primary_key=True),
    Column("saved_at", Float, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

# People who sign in to the console or API; passwords as argon2 hashes, never in clear.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("customer", String(255), nullable=True),
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", Float, nullable=False),
    Column("password_changed_at", Float, nullable=False),
    Column("language", String(8), nullable=True),  # the console's language, null: the browser's
    Column("time_zone", String(64), nullable=True),  # an IANA zone, null: the browser's
)

# API tokens for machines and scripts: only the SHA-256 of the token is kept.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("role", String(16), nullable=False),
    Column("customer", String(255), nullable=True),
    Column("created_by", String(255), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=True),
    Column("last_used_at", Float, nullable=True),
    Column("revoked_at", Float, nullable=True),
)

# Browser sessions: the cookie's SHA-256, the user, and the CSRF token of its forms.
sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("address", String(64), nullable=False, server_default=""),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

# Every write through the API, the console or the admin CLI: who, when, what, from where.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("actor_kind", String(16), nullable=False),
    Column("address", String(64), nullable=False, server_default=""),
    Column("action", String(512), nullable=False),
    Column("status", Integer, nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
    Index("ix_audit_log_at", "at"),
)

# Silences and maintenance windows: messages of matching incidents wait while one is in force.
silences = Table(
    "silences",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # silence | maintenance
    Column("matchers", JSON, nullable=False),
    Column("starts_at", Float, nullable=False),
    Column("ends_at", Float, nullable=True),
    Column("recurrence", JSON, nullable=True),  # {cron, duration, timezone}
    Column("author", String(255), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expired_at", Float, nullable=True),
    Column("customer", String(255), nullable=True),  # whose contacts are told (maintenance)
    Column("notices", JSON, nullable=True),  # {before: [seconds], end: bool, timezone}
    Index("ix_silences_window", "starts_at", "ends_at"),
)

# Maintenance notices decided: one row per window, occurrence and phase ("before:86400",
# "end"), written with the outbox rows, so a restart or a second collector never repeats one.
maintenance_notices = Table(
    "maintenance_notices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("silence_id", Integer, ForeignKey("silences.id"), nullable=False),
    Column("occurrence", Float, nullable=False),  # the occurrence's start
    Column("phase", String(32), nullable=False),
    Column("messages", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("silence_id", "occurrence", "phase", name="uq_maintenance_notices_once"),
)

# Root-cause records: one per incident (a P1/P2 needs one to close); re-recording replaces it.
root_causes = Table(
    "root_causes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=False, unique=True),
    Column("cause", Text, nullable=False),
    Column("fix", Text, nullable=False),
    Column("category", String(16), nullable=False),
    Column("actions", JSON, nullable=False),  # [{action, owner, due}]
    Column("author", String(255), nullable=False),
    Column("recorded_at", Float, nullable=False),
)

# The knowledge base: a closed incident's cause and fix (one entry per source incident), or an
# entry written by hand; `text` is what full-text matching reads.
kb_entries = Table(
    "kb_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", String(300), nullable=False),
    Column("cause", Text, nullable=False),
    Column("fix", Text, nullable=False),
    Column("rule", String(255), nullable=False, server_default=""),
    Column("labels", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("source_incident_id", Integer, ForeignKey("incidents.id"), nullable=True, unique=True),
    Column("text", Text, nullable=False),
    Column("author", String(255), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_kb_entries_rule", "rule"),
)

# People and teams managed through the API: each row overrides (same id) or adds to the entries
# of response.yaml; `record` is the entry as the response file would write it.
response_people = Table(
    "response_people",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("record", JSON, nullable=False),
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Column("updated_at", Float, nullable=False),
    Column("updated_by", String(255), nullable=False),
)

response_teams = Table(
    "response_teams",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("record", JSON, nullable=False),
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Column("updated_at", Float, nullable=False),
    Column("updated_by", String(255), nullable=False),
)

# Metric history: each series once (host, metric, labels), then one row per series and UTC day
# (`day`: days since 1970-01-01). The open day keeps its quantile sketch so a restart merges
# into it; a finished day keeps only its figures.
metric_series = Table(
    "metric_series",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("host", String(255), nullable=False),
    Column("metric", String(255), nullable=False),
    Column("labels_key", String(32), nullable=False),  # a hash of the sorted labels
    Column("labels", JSON, nullable=False),
    Index("uq_metric_series", "host", "metric", "labels_key", unique=True),
)

metric_daily = Table(
    "metric_daily",
    metadata,
    Column("series_id", Integer, ForeignKey("metric_series.id"), primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("count", Integer, nullable=False),
    Column("min", Float, nullable=False),
    Column("max", Float, nullable=False),
    Column("sum", Float, nullable=False),
    Column("last", Float, nullable=False),
    Column("last_at", Float, nullable=False),
    Column("increase", Float, nullable=True),  # counters (`_total`) only
    Column("p50", Float, nullable=True),
    Column("p95", Float, nullable=True),
    Column("sketch", Text, nullable=True),
    Index("ix_metric_daily_day", "day"),
)

# Work done once per key (a report mailed for a period, an end-of-life incident opened): the
# row is claimed before the work, so a restart or a second collector does not repeat it.
report_runs = Table(
    "report_runs",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
)

# The customer side's tables live in their own module, on this metadata (imported last: it
# reads `metadata` from here).
from collector.store import intake_schema as _intake_schema  # noqa: E402, F401
from collector.store import snapshot_schema as _snapshot_schema  # noqa: E402, F401
