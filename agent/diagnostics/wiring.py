"""The snapshot responder built from the agent's settings, and its call after each cycle."""

from __future__ import annotations

import logging

from agent.diagnostics.collect import SnapshotTaker
from agent.diagnostics.sources import Tools
from agent.diagnostics.upload import SnapshotResponder
from agent.exec import CommandRunner
from agent.probes.smart import probe as smart
from agent.settings import AgentSettings
from agent.transport import ReportSender
from agent.version import AGENT_VERSION

logger = logging.getLogger(__name__)

__all__ = ["SnapshotResponder", "answer_snapshots", "build_responder"]

_SCAN_OPTIONS = 2  # scan_command ends with --scan-open --json; the rest runs smartctl


def build_responder(
    settings: AgentSettings, token: str | None, sender: ReportSender, runner: CommandRunner
) -> SnapshotResponder:
    """Answers the requests `sender` finds in the collector's answers, with `runner`."""
    assert settings.collector is not None
    diagnostics = settings.diagnostics
    smartctl = smart.scan_command(smart.PROBE.section(settings.probes))[:-_SCAN_OPTIONS]
    tools = Tools(
        runner,
        settings.procfs,
        tuple(smartctl),
        diagnostics.mdadm_path,
        diagnostics.top_processes,
        diagnostics.cpu_sample_seconds,
        diagnostics.kernel_log_lines,
    )
    headers = {"User-Agent": f"watchkeeper-agent/{AGENT_VERSION}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return SnapshotResponder(
        SnapshotTaker(diagnostics, tools, settings.host),
        sender.take_snapshot_requests,
        settings.collector,
        headers,
        settings.request_timeout_seconds,
        sender.tls,
    )


def answer_snapshots(responder: SnapshotResponder | None) -> None:
    """Send the snapshots asked for; a failure is logged, never stops the agent."""
    if responder is None:
        return
    try:
        responder.answer()
    except Exception:
        logger.exception("answering a diagnostic snapshot request failed")
