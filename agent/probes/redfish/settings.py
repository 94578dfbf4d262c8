"""`probes.redfish`: the BMCs read over Redfish, validated into frozen structs."""

from __future__ import annotations

from urllib.parse import urlsplit

import msgspec

from agent.configfile import check_duration, parse_duration, repeated_names
from agent.secret import Secret, check_one_source, secret_source


class RedfishBmcSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One BMC's Redfish service (iDRAC, iLO, XCC, Supermicro, OpenBMC).

    name: the host this BMC belongs to; its samples are filed under that host.
    url: the BMC's base URL, e.g. "https://10.0.0.5" or "https://bmc-web483:8443".
    username: a read-only (ReadOnly role) account is enough.
    password / password_file / password_env: the password inline, as the first line of a file
        (read at each cycle, so a rotated one is picked up), or in an environment variable;
        exactly one is required with `username`. Never logged, never in a repr or an error.
    verify_tls: check the BMC's certificate (on by default; off only for a lab).
    ca_file: PEM file of the CA that signed the BMC certificates (BMCs rarely carry a
        publicly trusted one); default: the system's trusted CAs.
    timeout: the most one whole read of this BMC may take, e.g. "30s".
    request_timeout: the most one HTTP request may wait for the BMC (connect, and each read).
    read_log: report new event log (SEL / LogServices) entries as `redfish_log` events.
    log_initial_entries: newest entries of each log reported on the first read after the
        agent starts (0: only remember where each log ends, so a restart replays nothing).
    log_max_pages: pages of each log read per cycle at most (a BMC pages by 50 or so).
    """

    name: str
    url: str
    username: str = ""
    password: Secret | None = None
    password_file: str | None = None
    password_env: str | None = None
    verify_tls: bool = True
    ca_file: str | None = None
    timeout: str = "30s"
    request_timeout: str = "10s"
    read_log: bool = True
    log_initial_entries: int = 0
    log_max_pages: int = 10

    def __post_init__(self) -> None:
        if not self.name or not self.url:
            raise ValueError("a Redfish BMC needs a `name` (its host) and a `url`")
        what = f"redfish bmc {self.name!r}"
        parts = urlsplit(self.url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"{what}: url must be https://HOST[:PORT], got {self.url!r}")
        if parts.username or parts.password:
            raise ValueError(f"{what}: put the user in `username` and the password in a file")
        try:
            check_one_source(self, "password")
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
        if self.username and not secret_source(self, "password").given:
            raise ValueError(f"{what}: `username` needs a `password_file` (or password_env)")
        if self.ca_file is not None and not self.verify_tls:
            raise ValueError(f"{what}: `ca_file` has no effect with verify_tls: false; drop one")
        if self.log_initial_entries < 0 or self.log_max_pages < 1:
            raise ValueError(f"{what}: log_initial_entries >= 0 and log_max_pages >= 1 expected")
        check_duration(f"{what}: timeout", self.timeout)
        check_duration(f"{what}: request_timeout", self.request_timeout)
        if parse_duration(self.request_timeout) > parse_duration(self.timeout):
            raise ValueError(f"{what}: request_timeout must not be longer than timeout")


class RedfishSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`probes.redfish`.

    bmcs: BMCs read over Redfish, one probe each, named "redfish:<name>".
    interval: minimum time between two reads of one BMC, e.g. "60s" (a full read is some
        30 requests; BMCs answer slowly).
    """

    bmcs: list[RedfishBmcSettings] = []
    interval: str = "60s"

    def __post_init__(self) -> None:
        check_duration("interval", self.interval)
        doubles = repeated_names(bmc.name for bmc in self.bmcs)
        if doubles:
            raise ValueError(f"bmcs: each name must be unique, {', '.join(doubles)} repeats")
