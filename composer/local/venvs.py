"""Where the local runtime's heavy tools live: one venv per tool and version, outside the project.

ai-dynamo has one venv per version (a deployment runs its platform.version); aiperf and
aiconfigurator are pinned.
scripts/install-local-runtime creates them; this module only finds them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from composer import dynamo
from composer.errors import ComposeError

# ai-dynamo: the version compose runs when an environment pins none
PINS = {"ai-dynamo": dynamo.DEFAULT_VERSION, "aiperf": "0.13.0", "aiconfigurator": "0.12.0"}
DEFAULT_ROOT = "~/.cache/dynamo-compose/venvs"


def venvs_root(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("COMPOSE_VENVS") or DEFAULT_ROOT).expanduser()


def version_of(tool: str, version: str | None = None) -> str:
    """The version of the tool's venv: `version` for ai-dynamo when given, else the pinned one."""
    if tool not in PINS:
        raise ValueError(f"unknown tool {tool!r}; known: {', '.join(PINS)}")
    if version is not None and tool != "ai-dynamo":
        raise ValueError(f"{tool} is pinned to {PINS[tool]}: only ai-dynamo has a venv per version")
    return version or PINS[tool]


def venv_path(tool: str, environ: Mapping[str, str] | None = None, version: str | None = None) -> Path:
    """`venv_path("ai-dynamo", version="1.4.0")` -> ~/.cache/dynamo-compose/venvs/ai-dynamo-1.4.0
    (COMPOSE_VENVS overrides the root; no version: the pinned one)."""
    return venvs_root(environ) / f"{tool}-{version_of(tool, version)}"


def venv_bin(tool: str, program: str, environ: Mapping[str, str] | None = None, version: str | None = None) -> Path:
    return venv_path(tool, environ, version) / "bin" / program


def install_command(tool: str, version: str | None = None) -> str:
    """The command that creates the tool's venv: ai-dynamo's names its version."""
    return (
        f"scripts/install-local-runtime {version_of(tool, version)}"
        if tool == "ai-dynamo"
        else "scripts/install-local-runtime"
    )


def require(tool: str, program: str, environ: Mapping[str, str] | None = None, version: str | None = None) -> Path:
    """The program's path in the tool's venv, or a ComposeError that says how to install it."""
    path = venv_bin(tool, program, environ, version)
    if not os.access(path, os.X_OK):
        raise ComposeError(
            f"{tool} {version_of(tool, version)} is not installed ({path} missing): "
            f"run `{install_command(tool, version)}` (creates its venv; needs PyPI once)"
        )
    return path
