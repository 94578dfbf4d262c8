"""The collector's configuration: a YAML file validated into frozen typed models."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from agent.configfile import ConfigError, load_yaml_file
from collector.intake.settings import MailIntakeConfig, VerificationConfig
from rules.loader import RuleLoadError, validation_errors
from rules.model import Duration
from rules.priority import Priority

RoleName = Literal["viewer", "responder", "admin", "customer"]


class ConfigModel(BaseModel):
    """Frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class TokenSource(ConfigModel):
    """Where a token comes from: exactly one of token, token_file, token_env, token_sha256."""

    token: SecretStr | None = Field(None, description="The token itself (prefer token_file).")
    token_file: Path | None = Field(None, description="File holding the token on its first line.")
    token_env: str | None = Field(None, description="Environment variable holding the token.")
    token_sha256: str | None = Field(None, description="Hex SHA-256 of the token.")

    @model_validator(mode="after")
    def _one_source(self) -> TokenSource:
        given = [k for k in _TOKEN_SOURCES if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of token, token_file, token_env or token_sha256 "
                f"(found: {', '.join(given) or 'none'})"
            )
        return self

    def secret(self, environ: Mapping[str, str] = os.environ) -> str | None:
        """The token itself (None when only its SHA-256 is configured)."""
        if self.token is not None:
            return self.token.get_secret_value()
        if self.token_file is not None:
            return _first_line(self.token_file, "token_file")
        if self.token_env is not None:
            return _from_environment(self.token_env, "token_env", environ)
        return None


_TOKEN_SOURCES = ("token", "token_file", "token_env", "token_sha256")


class AgentToken(TokenSource):
    """A bearer token agents present."""

    name: str = Field(description="Who holds this token (a team, a host group), for logs.")
    hosts: str = Field("*", description="Glob of host names this token may report for.")
    max_hosts: int | None = Field(
        None, gt=0, description="Most distinct hosts it may create (default: limits')."
    )
    reports_per_second: float | None = Field(
        None, ge=0, description="Its sustained report rate (default: limits'; 0: no limit)."
    )


class ApiToken(TokenSource):
    """A named token for people's tools and scripts (the CLI, chat bots, scrapers).

    The name is the actor recorded on the timeline and in the audit log.
    """

    name: str = Field(description="Who acts with this token, e.g. alice or ops-bot.")
    role: RoleName = Field(
        "responder",
        description="viewer (read), responder (act on incidents), admin (users, tokens), "
        "or customer (its own customer's hosts and tickets only).",
    )
    customer: str | None = Field(None, description="The customer of a role: customer token.")

    @model_validator(mode="after")
    def _customer_with_its_role(self) -> ApiToken:
        if (self.role == "customer") != bool(self.customer):
            raise ValueError("give customer: NAME exactly when role is customer")
        return self


IntegrationKind = Literal["alertmanager", "zabbix", "checkmk"]


class IntegrationToken(TokenSource):
    """Another monitor that posts its alerts here (POST /api/v1/integrations/<kind>).

    Each alert becomes an incident like a rule's; `labels` route it (customer, team).
    """

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="e.g. prom-acme.")
    kind: IntegrationKind = Field(description="Which monitor: alertmanager, zabbix or checkmk.")
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Put on each of its incidents, over the alert's own labels, for routing "
        "and customers, e.g. {customer: acme, team: dba}.",
    )
    priority_label: str | None = Field(
        None, description="The alert label holding the severity (default: severity)."
    )
    priorities: dict[str, Priority] | None = Field(
        None,
        description="Severity value -> priority, case-insensitive (default per kind, e.g. "
        "critical: P1, warning: P3 for alertmanager; Disaster: P1 for zabbix).",
    )
    default_priority: Priority = Field(Priority.P3, description="When no severity matches.")
    host_labels: list[str] | None = Field(
        None,
        description="Labels naming the host, first present wins; a port is cut off "
        "(default: instance, host for alertmanager; host for zabbix and checkmk).",
    )


def _first_line(path: Path, key: str) -> str:
    try:
        line = next(iter(path.read_text().splitlines()), "").strip()
    except OSError as exc:
        raise ValueError(f"{key} {path}: cannot read it ({exc.strerror})") from exc
    if not line:
        raise ValueError(f"{key} {path} is empty; put the secret on its first line")
    return line


def _from_environment(name: str, key: str, environ: Mapping[str, str]) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ValueError(f"{key}: environment variable {name} is not set or empty")
    return value


class TlsConfig(ConfigModel):
    """HTTPS for the API, console, /metrics and agents' reports (reloaded on SIGHUP)."""

    cert_file: Path = Field(description="PEM certificate chain of the collector.")
    key_file: Path = Field(description="PEM private key of that certificate.")
    client_ca_file: Path | None = Field(
        None,
        description="Require a client certificate signed by this CA on every connection "
        "(mutual TLS, a second factor to agents' tokens).",
    )


class AccessConfig(ConfigModel):
    """Sign-in, sessions and who may read /metrics."""

    metrics_public: bool = Field(
        False,
        description="Serve /metrics without credentials (otherwise a bearer token or basic "
        "auth of a user, as Prometheus scrapers send).",
    )
    admin_password_file: Path | None = Field(
        None,
        description="Password of the first admin, created on first start when no user exists "
        "(else from WATCHKEEPER_ADMIN_PASSWORD, else generated and printed once).",
    )
    session_lifetime: Duration = Field(12 * 3600.0, description="A console sign-in lasts this.")
    login_failures_per_user: int = Field(
        5, gt=0, description="Failed sign-ins for one user name per 15 minutes before a wait."
    )
    login_failures_per_address: int = Field(
        20, gt=0, description="Failed sign-ins from one address per 15 minutes before a wait."
    )


class IncidentConfig(ConfigModel):
    """Ticket numbers and the lifecycle's clocks."""

    number_prefix: str = Field(
        "INC",
        pattern=r"^[A-Z][A-Z0-9]{0,15}$",
        description="Ticket numbers look like INC-2026-000123.",
    )
    reopen_window: Duration = Field(
        3600.0,
        description="A condition that returns this soon after resolving reopens the same "
        "ticket; after it, a resolved incident closes by itself.",
    )
    verify_timeout: Duration = Field(
        72 * 3600.0, description="A verifying incident closes by itself after this long."
    )
    renotify_after: dict[Priority, Duration] = Field(
        default_factory=lambda: {Priority.P1: 900.0, Priority.P2: 1800.0},
        description="Tell again every so often while unacknowledged, per priority (0: never).",
    )


class DeliveryConfig(ConfigModel):
    """How the outbox retries a channel that fails."""

    first_retry: Duration = Field(2.0, description="Wait after the first failure.")
    max_retry: Duration = Field(300.0, description="Longest wait between two attempts.")
    give_up_after: Duration = Field(
        24 * 3600.0, description="Stop retrying a message this long after it was decided."
    )
    send_timeout: Duration = Field(30.0, description="Longest one send may take.")
    group_wait: Duration = Field(
        0.0,
        description="Storm grouping: hold a rule's open/resolve messages this long so that "
        "those of many hosts go out as one message per channel (0: only those already "
        "waiting are grouped).",
    )
    group_wait_p1: Duration = Field(
        10.0, description="A P1 never waits longer than this for its storm message."
    )
    storm_threshold: int = Field(
        3,
        ge=0,
        description="Group a rule's waiting messages into one when at least this many wait "
        "for one channel (0: never group).",
    )


class ChannelConfig(ConfigModel):
    """One notification channel: an Apprise URL, or outbox:// / console:// / memory://."""

    url: SecretStr | None = Field(
        None, description="e.g. mailto://user:pass@smtp.example.com?to=ops@x.org"
    )
    url_file: Path | None = Field(None, description="File holding the URL on its first line.")
    url_env: str | None = Field(None, description="Environment variable holding the URL.")
    min_priority: Priority | None = Field(None, description="Only send P1..this priority.")

    @model_validator(mode="after")
    def _one_source(self) -> ChannelConfig:
        given = [k for k in ("url", "url_file", "url_env") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of url, url_file or url_env "
                f"(found: {', '.join(given) or 'none'})"
            )
        return self

    def url_value(self, environ: Mapping[str, str] = os.environ) -> str:
        """The URL, from wherever it is configured."""
        if self.url is not None:
            return self.url.get_secret_value()
        if self.url_file is not None:
            return _first_line(self.url_file, "url_file")
        assert self.url_env is not None
        return _from_environment(self.url_env, "url_env", environ)


class Limits(ConfigModel):
    """Protection against oversized or stale reports."""

    max_body_bytes: int = Field(4 * 1024 * 1024, gt=0, description="Largest request body.")
    max_decompressed_bytes: int = Field(
        32 * 1024 * 1024, gt=0, description="Largest report after gunzip (zip-bomb guard)."
    )
    stale_after: Duration = Field(
        30.0,
        description="A report older than this when sent (by the agent's own clock; at least "
        "two report intervals) is a replay: stored and fed to trends, but not judged now.",
    )
    max_samples: int = Field(
        50_000, gt=0, description="Most samples one report may carry (413 above this)."
    )
    max_hosts_per_token: int = Field(
        1000,
        gt=0,
        description="Most distinct hosts (and SNMP/BMC targets) one agent token may create; "
        "a report for one more is refused (403). Per token: agents[].max_hosts.",
    )
    reports_per_second_per_token: float = Field(
        500.0,
        ge=0,
        description="Sustained reports per second one agent token may send, with bursts of "
        "five seconds' worth; beyond it 429 with Retry-After (0: no limit). Per token: "
        "agents[].reports_per_second.",
    )
    max_connections: int = Field(
        2000, gt=0, description="Open connections and requests at once; beyond it 503."
    )
    header_timeout: Duration = Field(
        10.0, description="A request's headers must arrive within this (slow clients)."
    )
    body_timeout: Duration = Field(30.0, description="A request's body must arrive within this.")
    keep_alive_timeout: Duration = Field(
        15.0, description="An idle kept-alive connection is closed after this."
    )


class CollectorConfig(ConfigModel):
    """Everything `watchkeeper collector` needs."""

    listen: str = Field("127.0.0.1:9810", description="HOST:PORT of the API, console, /metrics.")
    database: str = Field(
        "sqlite:///.watchkeeper/watchkeeper.db",
        description="SQLAlchemy URL (SQLite or PostgreSQL).",
    )
    rules: list[Path] = Field(default_factory=list, description="Extra rule files or folders.")
    builtin_rules: bool = Field(True, description="Load the rule packs shipped with Watchkeeper.")
    notify: list[ChannelConfig] = Field(default_factory=list, description="Where messages go.")
    language: Literal["en", "zh"] = Field("en", description="Language of messages and summaries.")
    console_url: str | None = Field(None, description="Public URL of the console, for links.")
    agents: list[AgentToken] = Field(default_factory=list, description="Accepted agent tokens.")
    api_tokens: list[ApiToken] = Field(
        default_factory=list, description="Tokens that may act on incidents (API, CLI)."
    )
    integrations: list[IntegrationToken] = Field(
        default_factory=list,
        description="Monitors (Alertmanager, Zabbix, Checkmk) whose alerts become incidents.",
    )
    node_id: str | None = Field(
        None,
        description="This collector's name among several on one database (default "
        "hostname:port); it owns the outbox leases it takes.",
    )
    incidents: IncidentConfig = Field(default_factory=IncidentConfig)
    phone_trunk: SecretStr | None = Field(
        None,
        description="SIP trunk or PBX that phone contacts are called through, e.g. "
        "sip://pager:password@pbx.example.net:5060?ring_timeout=30 (see README).",
    )
    response: Path | None = Field(
        None,
        description="The response process file (people, schedules, escalation policies, "
        "SLA targets); see config/response.example.yaml. None: channels only, no clocks.",
    )
    customers: Path | None = Field(
        None,
        description="The customers file (contacts, VIP flag, SLA commitment, host patterns); "
        "see config/customers.example.yaml. A VIP's incidents open one priority higher.",
    )
    customer_mail: SecretStr | None = Field(
        None,
        description="How e-mail to customers' contacts leaves (their incidents' ticket number, "
        "updates, resolution and verification request in plain words; maintenance notices; "
        "scheduled reports): a mailto:// URL with server, login and from=; each contact's "
        "address replaces its to=.",
    )
    customer_sms: SecretStr | None = Field(
        None,
        description="How SMS reach customers' contacts that have a phone but no e-mail (their "
        "incidents' messages, one SMS each): an Apprise SMS URL with {phone} where the number "
        "goes, e.g. twilio://SID:TOKEN@+15550001111/{phone}.",
    )
    mail_intake: MailIntakeConfig | None = Field(
        None, description="A support mailbox (IMAP) whose mail opens tickets; see the README."
    )
    verification: VerificationConfig | None = Field(
        None, description="Resolved incidents with a customer ask the customer to confirm."
    )
    inventory: Path | None = Field(
        None,
        description="The hardware inventory file (model, serial, purchase, warranty and "
        "end-of-support dates per host); see config/inventory.example.yaml. Health reports "
        "list it, and a P4 incident opens end_of_life_lead_days before each date.",
    )
    end_of_life_lead_days: int = Field(
        90, ge=0, description="How many days before a warranty or support end its P4 opens."
    )
    reports: Path | None = Field(
        None,
        description="Report schedules (which report goes to which customer's contacts, when); "
        "see config/reports.example.yaml. Needs customers and customer_mail.",
    )
    access: AccessConfig = Field(default_factory=AccessConfig)
    tls: TlsConfig | None = Field(None, description="Serve HTTPS (recommended off loopback).")
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    checkpoint_interval: Duration = Field(
        60.0, description="How often rule histories are saved so trends survive a restart."
    )
    evaluation_interval: Duration = Field(
        1.0, description="How often time-based checks (for:, silence) run."
    )
    flush_interval: Duration = Field(2.0, description="How often host states are written.")
    limits: Limits = Field(default_factory=Limits)

    @property
    def listen_host_port(self) -> tuple[str, int]:
        """`listen` split into host and port."""
        host, _, port = self.listen.rpartition(":")
        return host or "127.0.0.1", int(port)

    @model_validator(mode="after")
    def _check_reports(self) -> CollectorConfig:
        if self.reports is not None and (self.customers is None or self.customer_mail is None):
            raise ValueError(
                "reports (scheduled reports) mails customers' contacts: set customers (the "
                "customers file) and customer_mail (a mailto:// URL) as well"
            )
        return self

    @model_validator(mode="after")
    def _check_customer_sms(self) -> CollectorConfig:
        url = self.customer_sms.get_secret_value() if self.customer_sms else None
        if url is not None and "{phone}" not in url:
            raise ValueError(
                "customer_sms: the URL needs {phone} where each contact's number goes, e.g. "
                "twilio://SID:TOKEN@+15550001111/{phone}"
            )
        return self

    @model_validator(mode="after")
    def _check_listen(self) -> CollectorConfig:
        _host, sep, port = self.listen.rpartition(":")
        if not sep or not port.isdecimal() or not 0 < int(port) < 65536:
            raise ValueError(f"listen must be HOST:PORT like 127.0.0.1:9810, got {self.listen!r}")
        return self


TokenT = TypeVar("TokenT", AgentToken, ApiToken, IntegrationToken)


def load_config(path: Path) -> CollectorConfig:
    """Read a collector YAML file; relative paths in it are relative to the file."""
    document = load_yaml_file(path)
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        raise document.error((), "the collector config is a mapping of settings")
    try:
        config = CollectorConfig.model_validate(data)
    except ValidationError as exc:
        raise RuleLoadError(validation_errors(exc, document, CollectorConfig)) from exc
    return _resolve_paths(config, path.parent)


def _resolve_paths(config: CollectorConfig, base: Path) -> CollectorConfig:
    rules = [p if p.is_absolute() else base / p for p in config.rules]
    agents = [_relative_token_file(a, base) for a in config.agents]
    notify = [
        c.model_copy(update={"url_file": base / c.url_file})
        if c.url_file and not c.url_file.is_absolute()
        else c
        for c in config.notify
    ]
    api_tokens = [_relative_token_file(a, base) for a in config.api_tokens]
    integrations = [_relative_token_file(a, base) for a in config.integrations]
    access = config.access
    if access.admin_password_file and not access.admin_password_file.is_absolute():
        access = access.model_copy(
            update={"admin_password_file": base / access.admin_password_file}
        )
    tls = config.tls
    if tls is not None:
        tls = tls.model_copy(
            update={
                k: base / v
                for k, v in tls.model_dump().items()
                if isinstance(v, Path) and not v.is_absolute()
            }
        )
    return config.model_copy(
        update={
            "tls": tls,
            "rules": rules,
            "agents": agents,
            "api_tokens": api_tokens,
            "integrations": integrations,
            "access": access,
            "notify": notify,
        }
    )


def _relative_token_file(token: TokenT, base: Path) -> TokenT:
    if token.token_file and not token.token_file.is_absolute():
        return token.model_copy(update={"token_file": base / token.token_file})
    return token


__all__ = [
    "AccessConfig",
    "AgentToken",
    "ApiToken",
    "ChannelConfig",
    "CollectorConfig",
    "ConfigError",
    "DeliveryConfig",
    "IncidentConfig",
    "IntegrationToken",
    "Limits",
    "TlsConfig",
    "load_config",
]
