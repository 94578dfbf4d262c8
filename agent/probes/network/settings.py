"""`probes.network`: the targets to check and how long each check may take."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

import msgspec

from agent.configfile import check_duration, parse_duration, repeated_names

_MAX_ECHOES = 100


class _TargetBase(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="kind"
):
    """What every target has: a name and, optionally, its own deadline and latency threshold."""

    name: str
    timeout: str | None = None
    latency_threshold: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("name: must not be empty (it becomes the `target` label)")
        check_duration("timeout", self.timeout)
        check_duration("latency_threshold", self.latency_threshold)


class IcmpTarget(_TargetBase, frozen=True, tag="icmp"):
    """`kind: icmp`: `count` echo requests `interval` apart, answers awaited until `timeout`.

    host: name or address (IPv4 or IPv6).
    count: echo requests per check; loss is the share of them left unanswered.
    interval: time between two requests.
    """

    host: str
    count: int = 5
    interval: str = "200ms"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.count <= _MAX_ECHOES:
            raise ValueError(f"count: expected 1 to {_MAX_ECHOES} echo requests, got {self.count}")
        check_duration("interval", self.interval)


class TcpTarget(_TargetBase, frozen=True, tag="tcp"):
    """`kind: tcp`: open a TCP connection to host:port and close it (latency = the handshake).

    host: name or address.
    port: 1-65535.
    """

    host: str
    port: int

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port: expected 1 to 65535, got {self.port}")


class HttpTarget(_TargetBase, frozen=True, tag="http"):
    """`kind: http`: one request to `url`; https URLs also report the certificate's days left.

    url: http:// or https:// URL.
    method: GET or HEAD.
    expect_status: status codes that count as up; empty means any 2xx or 3xx.
    follow_redirects: follow redirects and judge the final answer (else a 3xx is the answer).
    verify_tls: check the certificate chain and host name (a failure is `up 0`, tls_error).
    ca_file: PEM bundle to verify against instead of the system's (a private CA).
    """

    url: str
    method: Literal["GET", "HEAD"] = "GET"
    expect_status: list[int] = msgspec.field(default_factory=list)
    follow_redirects: bool = False
    verify_tls: bool = True
    ca_file: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url: expected an http:// or https:// URL, got {self.url!r}")
        bad = [code for code in self.expect_status if not 100 <= code <= 599]
        if bad:
            raise ValueError(f"expect_status: HTTP status codes are 100-599, got {bad}")


Target = IcmpTarget | TcpTarget | HttpTarget


class NetworkSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`probes.network`: checks run from this host; the probe runs when `targets` is not empty.

    targets: the checks, each `kind: icmp`, `tcp` or `http` with a unique `name`.
    timeout: deadline of one check unless the target sets its own.
    latency_threshold: latency above which a target counts as slow (rule NetworkLatencyHigh)
        unless the target sets its own; generous by default.
    min_interval: run the checks at most this often (reuse the last result in between).
    max_concurrency: checks run at the same time, each in its own thread.
    """

    targets: list[Target] = msgspec.field(default_factory=list)
    timeout: str = "5s"
    latency_threshold: str = "1s"
    min_interval: str = "30s"
    max_concurrency: int = 8

    def __post_init__(self) -> None:
        check_duration("timeout", self.timeout)
        check_duration("latency_threshold", self.latency_threshold)
        check_duration("min_interval", self.min_interval, positive=False)
        if not 1 <= self.max_concurrency <= 64:
            raise ValueError(f"max_concurrency: expected 1 to 64, got {self.max_concurrency}")
        for target in self.targets:
            if isinstance(target, IcmpTarget):
                self._check_echo_schedule(target)
        repeated = repeated_names(target.name for target in self.targets)
        if repeated:
            raise ValueError(f"targets: each name must be unique; repeated: {', '.join(repeated)}")

    def _check_echo_schedule(self, target: IcmpTarget) -> None:
        sending = (target.count - 1) * parse_duration(target.interval)
        if sending >= self.timeout_of(target):
            raise ValueError(
                f"target {target.name!r}: {target.count} echoes {target.interval} apart take "
                f"{sending:g}s, longer than its timeout ({target.timeout or self.timeout}); "
                "lower count or interval, or raise timeout"
            )

    def timeout_of(self, target: Target) -> float:
        """The target's deadline in seconds."""
        return parse_duration(target.timeout or self.timeout)

    def latency_threshold_of(self, target: Target) -> float:
        """The target's latency threshold in seconds."""
        return parse_duration(target.latency_threshold or self.latency_threshold)
