"""Where the local runtime's heavy tools live: one venv per tool, pinned, outside the project.

scripts/install-local-runtime creates them; this module only finds them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from composer.errors import ComposeError

PINS = {"ai-dynamo": "1.4.0", "aiperf": "0.13.0"}
DEFAULT_ROOT = "~/.cache/dynamo-compose/venvs"
INSTALL_HINT = "run scripts/install-local-runtime (creates the venvs; needs PyPI once)"


def venvs_root(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("COMPOSE_VENVS") or DEFAULT_ROOT).expanduser()


def venv_path(tool: str, environ: Mapping[str, str] | None = None) -> Path:
    """`venv_path("ai-dynamo")` -> ~/.cache/dynamo-compose/venvs/ai-dynamo-1.4.0 (COMPOSE_VENVS overrides the root)."""
    if tool not in PINS:
        raise ValueError(f"unknown tool {tool!r}; known: {', '.join(PINS)}")
    return venvs_root(environ) / f"{tool}-{PINS[tool]}"


def venv_bin(tool: str, program: str, environ: Mapping[str, str] | None = None) -> Path:
    return venv_path(tool, environ) / "bin" / program


def require(tool: str, program: str, environ: Mapping[str, str] | None = None) -> Path:
    """The program's path in the tool's venv, or a ComposeError that says how to install it."""
    path = venv_bin(tool, program, environ)
    if not os.access(path, os.X_OK):
        raise ComposeError(f"{tool} {PINS[tool]} is not installed ({path} missing): {INSTALL_HINT}")
    return path
