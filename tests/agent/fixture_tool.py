"""A captured-output tool for a real agent process: an executable that prints the capture
filed under its command line, and fails naming the command when there is none (FixtureRunner,
as a program a subprocess can run)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

_SCRIPT = """\
#!{python}
import json, sys
answers = json.loads({answers!r})
key = " ".join(sys.argv[1:])
if key not in answers:
    sys.stderr.write("no captured output for command: {name} " + key + "\\n")
    sys.exit(127)
path, status = answers[key]
sys.stdout.write(open(path, encoding="utf-8").read())
sys.exit(status)
"""


def fixture_tool(directory: Path, name: str, answers: dict[tuple[str, ...], Path]) -> Path:
    """Write `name` in `directory`: run with the arguments of a key, it prints that capture
    (exit status 0). Returns its path, to give the agent as the tool's path."""
    table = {" ".join(argv): (str(path), 0) for argv, path in answers.items()}
    script = directory / name
    script.write_text(_SCRIPT.format(python=sys.executable, answers=json.dumps(table), name=name))
    script.chmod(0o755)
    return script
