"""What every controller-CLI probe (storcli, megacli, ssacli) holds: settings, runner, bounds."""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from agent.configfile import parse_duration
from agent.exec import CommandRunner
from agent.probe import DEADLINE_MARGIN_SECONDS
from agent.probes.raid.hwraid import RaidToolSettings

ToolSettings = TypeVar("ToolSettings", bound=RaidToolSettings)


class RaidToolProbe(Generic[ToolSettings]):
    """The shared half of a controller-CLI probe; each tool adds its name, commands and collect().

    The tool's commands run one after another, each bounded by `timeout`, so the runner waits
    `commands_per_cycle` timeouts plus its margin before it gives up on a cycle.
    """

    name: ClassVar[str]
    target: ClassVar[str | None] = None
    commands_per_cycle: ClassVar[int] = 1

    def __init__(self, settings: ToolSettings, runner: CommandRunner) -> None:
        self._settings = settings
        self._runner = runner
        self.min_interval_seconds = parse_duration(settings.min_interval)
        timeouts = self.commands_per_cycle * parse_duration(settings.timeout)
        self.deadline_seconds = timeouts + DEADLINE_MARGIN_SECONDS
