"""The collector's configuration: a YAML file validated into frozen typed models."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from agent.configfile import ConfigError, load_yaml_file
from rules.loader import RuleLoadError, validation_errors
from rules.model import Duration
from rules.priority import Priority


class ConfigModel(BaseModel):
    """Frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class AgentToken(ConfigModel):
    """A bearer token agents present; give exactly one of token, token_file, token_sha256."""

    name: str = Field(description="Who holds this token (a team, a host group), for logs.")
    token: SecretStr | None = Field(None, description="The token itself (prefer token_file).")
    token_file: Path | None = Field(None, description="File holding the token on its first line.")
    token_sha256: str | None = Field(None, description="Hex SHA-256 of the token.")
    hosts: str = Field("*", description="Glob of host names this token may report for.")

    @model_validator(mode="after")
    def _one_source(self) -> AgentToken:
        given = [k for k in ("token", "token_file", "token_sha256") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of token, token_file or token_sha256 "
                f"(found: {', '.join(given) or 'none'})"
            )
        return self


class ChannelConfig(ConfigModel):
    """One notification channel: an Apprise URL, or outbox:// / console:// / memory://."""

    url: SecretStr = Field(description="e.g. mailto://user:pass@smtp.example.com?to=ops@x.org")
    min_priority: Priority | None = Field(None, description="Only send P1..this priority.")


class Limits(ConfigModel):
    """Protection against oversized or stale reports."""

    max_body_bytes: int = Field(4 * 1024 * 1024, gt=0, description="Largest request body.")
    max_decompressed_bytes: int = Field(
        32 * 1024 * 1024, gt=0, description="Largest report after gunzip (zip-bomb guard)."
    )
    stale_after: Duration = Field(
        600.0, description="Reports older than this are stored but do not drive alerts."
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
    def _check_listen(self) -> CollectorConfig:
        _host, sep, port = self.listen.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"listen must be HOST:PORT like 127.0.0.1:9810, got {self.listen!r}")
        return self


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
    agents = [
        a.model_copy(update={"token_file": base / a.token_file})
        if a.token_file and not a.token_file.is_absolute()
        else a
        for a in config.agents
    ]
    return config.model_copy(update={"rules": rules, "agents": agents})


__all__ = ["AgentToken", "ChannelConfig", "CollectorConfig", "ConfigError", "Limits", "load_config"]
