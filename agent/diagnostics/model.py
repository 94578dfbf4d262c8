"""What the collector asks for and what the agent answers: a leaf module (msgspec only), read
by the transport from the report's 202 answer."""

from __future__ import annotations

import json
import logging
import re
from typing import Literal

import msgspec

logger = logging.getLogger(__name__)

SNAPSHOTS_PATH = "/api/v1/snapshots"
# What a device may look like: a path or an md array name, never an option or a shell word.
DEVICE = re.compile(r"^(/dev/[A-Za-z0-9][A-Za-z0-9/_.:-]*|md[0-9]+|md/[A-Za-z0-9_.-]+)$")

Status = Literal["ok", "refused", "failed", "skipped"]


class DiagnosticRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One named diagnostic, with the device it is about (a disk, an array) when it needs one."""

    name: str
    device: str | None = None


class SnapshotRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The collector's request: its id (echoed back) and the diagnostics wanted."""

    id: int
    diagnostics: tuple[DiagnosticRequest, ...]


class DiagnosticResult(msgspec.Struct, frozen=True, omit_defaults=True):
    """One diagnostic's outcome: its output, or why it was not collected (`note`)."""

    name: str
    status: Status
    device: str | None = None
    output: str = ""
    truncated: bool = False
    note: str = ""
    seconds: float = 0.0


class Snapshot(msgspec.Struct, frozen=True):
    """The answer the agent posts to /api/v1/snapshots."""

    request_id: int
    host: str
    taken_at: float
    seconds: float
    diagnostics: tuple[DiagnosticResult, ...]


def snapshot_requests(answer_text: str) -> list[SnapshotRequest]:
    """The snapshot requests in a report's answer (`{"snapshots": [...]}`); none when the
    answer has none or is not understood (an older or newer collector: never an error)."""
    try:
        wanted = json.loads(answer_text).get("snapshots") or []
        return msgspec.convert(wanted, list[SnapshotRequest])
    except (ValueError, AttributeError, msgspec.ValidationError) as exc:
        logger.debug("no snapshot request understood in the collector's answer: %s", exc)
        return []


def encode_snapshot(snapshot: Snapshot) -> bytes:
    """The JSON body of a snapshot."""
    return msgspec.json.encode(snapshot)
