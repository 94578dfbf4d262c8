"""The agent's configuration: agent.yaml validated into frozen msgspec structs, CLI overrides."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from agent.configfile import (
    CombinedConfigError,
    ConfigError,
    KeyPath,
    YamlDocument,
    load_yaml_file,
    msgspec_error_path,
    parse_duration,
)
from agent.diagnostics.settings import DiagnosticsSettings
from agent.probes.registry import KINDS, probes_settings_type
from agent.secret import Secret, decode_secret
from agent.structcheck import struct_problems
from agent.transport import plain_http_refusal

_LISTEN = re.compile(r"^(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\s]*)):(?P<port>\d{1,5})$")
_DURATION_FIELDS = ("interval", "request_timeout")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")


if TYPE_CHECKING:

    class ProbesSettings(msgspec.Struct, frozen=True):
        """For the type checker: each section is read typed through its kind's `section()`."""

        def __getattr__(self, name: str) -> Any: ...

else:
    # Built from the registry, so that settings never list probes (agent/probes/registry.py).
    ProbesSettings = probes_settings_type(KINDS)


class AgentSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """agent.yaml (config/agent.example.yaml documents each field).

    collector: base URL of the collector, e.g. "http://collector.example:9810".
    token / token_file: bearer token the collector knows this agent by (set one of them).
    host: name the collector files reports under; default the machine's hostname.
    interval: time between cycles, e.g. "10s".
    listen: "HOST:PORT" for the agent's own Prometheus /metrics; None = off.
    procfs: procfs root to read, like node_exporter's --path.procfs.
    spool_dir: directory keeping undelivered reports across restarts; None = in memory.
    max_spool_bytes: spool budget; the oldest reports are dropped beyond it.
    spool_drain_per_cycle: spooled reports resent at most per cycle once the collector is back.
    request_timeout: connect and read timeout of one POST.
    ca_file: PEM CA bundle to verify an https:// collector by (default: the system's).
    client_cert_file / client_key_file: client certificate for a collector requiring one.
    insecure: allow plain http:// to a collector other than loopback (the token in clear).
    log_level: debug, info, warning or error.
    probes: per-probe sections.
    diagnostics: what the collector may ask for when an incident opens (agent/diagnostics).
    """

    collector: str | None = None
    token: Secret | None = None
    token_file: str | None = None
    host: str = msgspec.field(default_factory=socket.gethostname)
    interval: str = "10s"
    listen: str | None = None
    procfs: str = "/proc"
    spool_dir: str | None = None
    max_spool_bytes: int = 8 * 1024 * 1024
    spool_drain_per_cycle: int = 20
    request_timeout: str = "5s"
    ca_file: str | None = None
    client_cert_file: str | None = None
    client_key_file: str | None = None
    insecure: bool = False
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    probes: ProbesSettings = msgspec.field(default_factory=ProbesSettings)
    diagnostics: DiagnosticsSettings = msgspec.field(default_factory=DiagnosticsSettings)

    @property
    def interval_seconds(self) -> float:
        """`interval` in seconds."""
        return parse_duration(self.interval)

    @property
    def request_timeout_seconds(self) -> float:
        """`request_timeout` in seconds."""
        return parse_duration(self.request_timeout)

    def listen_address(self) -> tuple[str, int] | None:
        """`listen` split into (host, port); an empty host means all interfaces."""
        if self.listen is None:
            return None
        match = _LISTEN.match(self.listen)
        if match is None:
            raise ValueError(f"expected HOST:PORT such as 127.0.0.1:9811, got {self.listen!r}")
        return match["ipv6"] or match["host"] or "", int(match["port"])


def field_problems(settings: AgentSettings) -> Iterator[tuple[str, str]]:
    """(field, message) for each value the types alone cannot check."""
    for name in _DURATION_FIELDS:
        try:
            seconds = parse_duration(getattr(settings, name))
        except ValueError as exc:
            yield name, str(exc)
            continue
        if seconds <= 0:
            yield name, f"must be longer than 0, got {getattr(settings, name)!r}"
    if settings.token is not None and settings.token_file is not None:
        yield "token_file", "set only one of `token` and `token_file`"
    try:
        settings.listen_address()
    except ValueError as exc:
        yield "listen", str(exc)
    if not settings.host:
        yield "host", "must not be empty"
    for name in ("max_spool_bytes", "spool_drain_per_cycle"):
        if getattr(settings, name) < 0:
            yield name, "must not be negative"
    if settings.collector is not None and not settings.collector.startswith(
        ("http://", "https://")
    ):
        yield "collector", f"expected an http:// or https:// URL, got {settings.collector!r}"
    elif settings.collector is not None:
        refusal = plain_http_refusal(settings.collector, settings.insecure)
        if refusal:
            yield "collector", refusal
    if settings.client_key_file and not settings.client_cert_file:
        yield "client_key_file", "give client_cert_file too (the key alone proves nothing)"


def settings_from_document(document: YamlDocument) -> AgentSettings:
    """Validate parsed YAML into settings; every error names its file and line."""
    data = {} if document.data is None else document.data
    try:
        settings = msgspec.convert(data, AgentSettings, dec_hook=decode_secret)
    except msgspec.ValidationError as exc:
        problems = struct_problems(data, AgentSettings, decode_secret)
        if not problems:  # the walk found nothing: msgspec's own first error
            message, path = msgspec_error_path(str(exc))
            unknown = _UNKNOWN_FIELD.search(message)
            if unknown:  # point at the misspelt key itself, not at its parent
                path = (*path, unknown.group(1))
            problems = [(path, message)]
        problems += _problems_of_the_rest(data, {path[0] for path, _ in problems if path})
        raise CombinedConfigError([document.error(path, text) for path, text in problems]) from exc
    found = [document.error((name,), message) for name, message in field_problems(settings)]
    if found:
        raise CombinedConfigError(found)
    return settings


def _problems_of_the_rest(data: Any, broken: set[str | int]) -> list[tuple[KeyPath, str]]:
    """The checks past the types (durations, URLs...) on the keys that passed them."""
    if not isinstance(data, dict):
        return []
    rest = {key: value for key, value in data.items() if key not in broken}
    try:
        settings = msgspec.convert(rest, AgentSettings, dec_hook=decode_secret)
    except msgspec.ValidationError:
        return []  # e.g. a required value was the broken one: reported already
    return [((name,), message) for name, message in field_problems(settings)]


def load_settings(path: Path | None) -> AgentSettings:
    """Settings from agent.yaml, or all defaults when no file is given."""
    if path is None:
        return AgentSettings()
    return settings_from_document(load_yaml_file(path))


def apply_overrides(settings: AgentSettings, **overrides: Any) -> AgentSettings:
    """Command-line values win over the file; None means "not given"."""
    changes = {name: value for name, value in overrides.items() if value is not None}
    if "token" in changes:
        changes["token"] = Secret(changes["token"])
        changes["token_file"] = None
    updated = msgspec.structs.replace(settings, **changes)
    for name, message in field_problems(updated):
        raise ConfigError("command line", None, f"--{name.replace('_', '-')}: {message}")
    return updated


def read_token(settings: AgentSettings) -> str | None:
    """The bearer token, from `token` or the first line of `token_file`."""
    if settings.token is not None:
        return settings.token.reveal()
    if settings.token_file is None:
        return None
    try:
        return Path(settings.token_file).read_text(encoding="utf-8").strip() or None
    except OSError as exc:
        message = f"cannot read the token file: {exc.strerror or exc}"
        raise ConfigError(settings.token_file, None, message) from exc
