"""The agent's snapshot as the collector takes it: validated, bounded, ready to store."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# One diagnostic's output is cut to this many characters here too, whatever the agent sent.
MAX_OUTPUT_CHARS = 128 * 1024


class SnapshotModel(BaseModel):
    """Frozen; keys the collector does not know are ignored (a newer agent may add some)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class DiagnosticBody(SnapshotModel):
    """One diagnostic's outcome as the agent reports it."""

    name: str = Field(max_length=64, description="The diagnostic's name (processes, smart…).")
    status: Literal["ok", "refused", "failed", "skipped"] = Field(description="What happened.")
    device: str | None = Field(None, max_length=255, description="The device it was about.")
    output: str = Field("", description="Its text (the agent cut it to its budget).")
    truncated: bool = Field(False, description="Whether the output was cut.")
    note: str = Field("", max_length=2000, description="Why it was not collected, or a remark.")
    seconds: float = Field(0.0, ge=0, description="How long it took.")


class SnapshotBody(SnapshotModel):
    """POST /api/v1/snapshots: the answer to one request."""

    request_id: int = Field(description="The id the collector gave in its request.")
    host: str = Field(min_length=1, max_length=255, description="The agent's host.")
    taken_at: float = Field(description="When it was taken (Unix seconds, agent's clock).")
    seconds: float = Field(ge=0, description="How long the whole snapshot took.")
    diagnostics: list[DiagnosticBody] = Field(max_length=32, description="Each diagnostic.")

    def stored(self) -> list[dict[str, object]]:
        """The diagnostics as stored: outputs cut to MAX_OUTPUT_CHARS with a note."""
        rows = []
        for item in self.diagnostics:
            row = item.model_dump()
            if len(item.output) > MAX_OUTPUT_CHARS:
                cut = len(item.output) - MAX_OUTPUT_CHARS
                row["output"] = (
                    item.output[:MAX_OUTPUT_CHARS]
                    + f"\n[cut by the collector: {cut} more characters]"
                )
                row["truncated"] = True
            rows.append(row)
        return rows
