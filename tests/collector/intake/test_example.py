"""The commented mail_intake and verification examples in config/collector.example.yaml are
valid settings once uncommented (so they never rot)."""

from __future__ import annotations

from pathlib import Path

import yaml

from collector.intake.settings import MailIntakeConfig, VerificationConfig
from rules.priority import Priority

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "collector.example.yaml"


def commented_section(name: str) -> dict[str, object]:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"# {name}:")
    block = [lines[start][2:]]
    for line in lines[start + 1 :]:
        if not line.startswith("#   "):
            break
        block.append(line[2:])
    section: dict[str, object] = yaml.safe_load("\n".join(block))[name]
    return section


def test_the_commented_examples_validate() -> None:
    intake = MailIntakeConfig.model_validate(commented_section("mail_intake"))
    assert intake.security == "ssl" and intake.poll_interval == 60.0
    assert intake.keywords[0].priority is Priority.P2 and intake.keywords[1].raise_levels == 1
    verification = VerificationConfig.model_validate(commented_section("verification"))
    assert verification.quiet_period == 86400.0 and verification.link_lifetime == 7 * 86400.0
