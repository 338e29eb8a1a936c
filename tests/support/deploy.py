"""The deploy files as the tests read them: the Dockerfile's instructions and its command."""

from __future__ import annotations

import json
import re
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent.parent.parent / "deploy"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (DEPLOY / "Dockerfile").read_text())
    pairs = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def container_command() -> list[str]:
    """The image's CMD, as the list of arguments the container runs."""
    command = json.loads(next(args for name, args in dockerfile_instructions() if name == "CMD"))
    assert isinstance(command, list)
    return [str(part) for part in command]
