"""The versioned report an agent pushes to the collector: the one schema both sides share.

A leaf module (stdlib + msgspec only): the agent encodes it, the collector decodes and validates
it, and neither has a second copy. msgspec rather than pydantic keeps the agent's memory small
and makes decoding a 150-sample report cost microseconds on the collector's hot path.

Compatibility: a collector ignores fields it does not know, so adding an optional field is a
minor change within `v1`; removing or retyping one needs `watchkeeper.report/v2`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

SCHEMA_V1 = "watchkeeper.report/v1"
SUPPORTED_SCHEMAS = frozenset({SCHEMA_V1})

ProbeStatus = Literal["ok", "partial", "error"]

# What a collector's database can hold, checked while decoding (in C, with the JSON path of a
# fault): names fit a 255-character column, texts stay bounded, sequences fit 64 bits.
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Text = Annotated[str, msgspec.Meta(max_length=4096)]
Labels = dict[Name, Text]
Short = Annotated[str, msgspec.Meta(max_length=255)]  # may be empty: "not known"
Sequence64 = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class Sample(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """One measured value of one series, e.g. filesystem_used_ratio{mountpoint="/"} 0.42.

    `value` is a number for gauges and counters, or a short string for states that have no
    natural number (a RAID array's "degraded", a sensor's "Failure detected").
    """

    metric: Name
    value: float | Text
    labels: Labels = {}


class Event(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """A discrete occurrence rather than a level: a BMC event-log entry, an SNMP trap."""

    kind: Name
    time: float
    message: Text
    labels: Labels = {}


class InventoryItem(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """One piece of hardware and what identifies it for support, warranty and end of life.

    `kind` is system, baseboard, bios, chassis, disk, controller, bmc or power_supply; `name`
    tells items of one kind apart ("/dev/sda", "controller 0"). A field the source could not
    read is empty, with the reason in `unreadable` ({"serial": "readable by root only"}).
    """

    kind: Name
    name: Name
    vendor: Short = ""
    model: Short = ""
    serial: Short = ""
    firmware: Short = ""
    unreadable: dict[Name, Short] = {}


class ProbeResult(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """What one probe saw in one cycle, or why it could not see it.

    `target` names the host the samples describe when that is not the agent's own host (an SNMP
    switch, a server seen through its BMC); the collector files them under that host.
    `source_errors` maps a source the probe could not read (a disk, a BMC) to the reason, while
    the probe's other sources still report: status is then "partial". `inventory` lists the
    hardware the probe identified (model, serial, firmware), for warranty and end-of-life.
    """

    probe: Name
    status: ProbeStatus
    duration_seconds: float
    samples: list[Sample] = []
    events: list[Event] = []
    error: Text | None = None
    source_errors: dict[Text, Text] = {}
    target: Name | None = None
    inventory: list[InventoryItem] = []


class Report(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """One agent cycle: every probe's result, stamped with who sent it and when."""

    schema: str
    host: Name
    time: float
    sequence: Sequence64
    agent_version: Text
    interval_seconds: float
    probes: list[ProbeResult] = []
    # Random per agent process: `sequence` restarts at 1 when the agent does, so the collector
    # orders reports by (instance, sequence) rather than by the agent's clock.
    instance: Annotated[str, msgspec.Meta(max_length=64)] = ""


# gc=False: a collector holds millions of samples; they only ever reference strings, floats
# and lists/dicts of them, so they can never be part of a cycle and the garbage collector need
# not walk them (full collections at 10,000 hosts went from over a second to milliseconds).
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Report)


class ReportError(ValueError):
    """A report body that cannot be accepted; the message says what and where."""


def encode_report(report: Report) -> bytes:
    """Serialise a report to its JSON wire form."""
    return _encoder.encode(report)


def decode_report(body: bytes) -> Report:
    """Parse and validate a JSON report, raising ReportError with the JSON path of the fault."""
    try:
        report = _decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise ReportError(f"invalid report: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise ReportError(f"malformed JSON: {exc}") from exc
    if report.schema not in SUPPORTED_SCHEMAS:
        raise ReportError(
            f"unsupported report schema {report.schema!r}; "
            f"this collector accepts {', '.join(sorted(SUPPORTED_SCHEMAS))}"
        )
    if not report.host:
        raise ReportError("invalid report: `host` must not be empty - at `$.host`")
    return report
