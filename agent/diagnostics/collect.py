"""Taking a snapshot: each requested diagnostic, if enabled and known, within the snapshot's
time and size budget; what could not be collected is reported with the reason."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from agent.diagnostics.model import (
    DEVICE,
    DiagnosticRequest,
    DiagnosticResult,
    Snapshot,
    SnapshotRequest,
)
from agent.diagnostics.settings import DiagnosticsSettings
from agent.diagnostics.sources import SOURCES, DiagnosticError, Tools

logger = logging.getLogger(__name__)

MIN_ROOM = 256  # bytes: less than this left of max_bytes is no room for an output
CUT_NOTE = "\n[cut: {more} more bytes not sent (diagnostics max_output_bytes / max_bytes)]"


class SnapshotTaker:
    """Collects the diagnostics of one request, never more than the settings allow."""

    def __init__(
        self,
        settings: DiagnosticsSettings,
        tools: Tools,
        host: str,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._tools = tools
        self._host = host
        self._clock = clock
        self._wall = wall

    def take(self, request: SnapshotRequest) -> Snapshot:
        """Every requested diagnostic's result, in the order asked."""
        started = self._clock()
        deadline = started + self._settings.time_budget_seconds
        room = self._settings.max_bytes
        results = []
        for wanted in request.diagnostics:
            result = self._one(wanted, deadline, room)
            room -= len(result.output.encode())
            results.append(result)
        seconds = round(self._clock() - started, 3)
        return Snapshot(request.id, self._host, self._wall(), seconds, tuple(results))

    def _one(self, wanted: DiagnosticRequest, deadline: float, room: int) -> DiagnosticResult:
        refusal = self._refusal(wanted)
        if refusal:
            logger.warning("snapshot: %s refused: %s", wanted.name, refusal)
            return DiagnosticResult(wanted.name, "refused", wanted.device, note=refusal)
        left = deadline - self._clock()
        if left <= 0:
            note = f"time budget of {self._settings.time_budget} used up before it"
            return DiagnosticResult(wanted.name, "skipped", wanted.device, note=note)
        if room < MIN_ROOM:
            note = f"size budget of {self._settings.max_bytes} bytes used up before it"
            return DiagnosticResult(wanted.name, "skipped", wanted.device, note=note)
        started = self._clock()
        try:
            text = SOURCES[wanted.name](self._tools, wanted.device, left)
        except DiagnosticError as exc:
            took = round(self._clock() - started, 3)
            return DiagnosticResult(
                wanted.name, "failed", wanted.device, note=str(exc), seconds=took
            )
        output, cut = bounded(text, min(self._settings.max_output_bytes, room))
        took = round(self._clock() - started, 3)
        return DiagnosticResult(wanted.name, "ok", wanted.device, output, cut, seconds=took)

    def _refusal(self, wanted: DiagnosticRequest) -> str:
        if wanted.name not in SOURCES:
            return f"unknown diagnostic {wanted.name!r}; this agent knows {', '.join(SOURCES)}"
        if wanted.name not in self._settings.enabled:
            return f"diagnostic {wanted.name!r} is not enabled in this agent's diagnostics.enabled"
        if wanted.device is not None and not DEVICE.match(wanted.device):
            return f"device {wanted.device!r} is not a device path or md array name"
        return ""


def bounded(text: str, limit: int) -> tuple[str, bool]:
    """`text` within `limit` bytes (UTF-8), a note saying how much was cut included."""
    data = text.encode()
    if len(data) <= limit:
        return text, False
    keep = max(0, limit - len(CUT_NOTE.format(more=len(data))) - 8)
    head = data[:keep].decode(errors="ignore")
    return head + CUT_NOTE.format(more=len(data) - len(head.encode())), True
