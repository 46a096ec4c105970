"""The only module that starts processes.

Callers build argv lists with pure functions and hand them here, so tests can compare argv
as plain lists and fake the process boundary (pytest-subprocess) without touching logic.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from composer.errors import ComposeError


class ToolMissing(ComposeError):
    exit_code = 127


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class Interrupted(ComposeError):
    """Ctrl-C while a child ran: the child was stopped."""

    exit_code = 130


INSTALL_HINTS = {
    "helm": "run ./scripts/setup (installs helm 3.15.3 into .venv/bin) or put helm on PATH",
    "helmfile": "run ./scripts/setup (installs helmfile 0.166.0 into .venv/bin) or put helmfile on PATH",
    "kubectl": "install kubectl matching your cluster and put it on PATH",
}


def search_path() -> str:
    """PATH, then the directory of our interpreter, where ./scripts/setup puts helm and helmfile."""
    return os.pathsep.join(p for p in (os.environ.get("PATH", ""), str(Path(sys.executable).parent)) if p)


def which(tool: str) -> str:
    found = shutil.which(tool, path=search_path())
    if not found:
        hint = INSTALL_HINTS.get(tool, f"install {tool} and put it on PATH")
        raise ToolMissing(f"{tool} not found: {hint}")
    return found


def _resolve(argv: Sequence[str]) -> list[str]:
    """Fail early, with a fix, when the program is missing. argv stays as given: the child's
    PATH (see _env) finds it, and tests can match argv by the bare program name."""
    which(argv[0])
    return list(argv)


def run(argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | Path | None = None,
        input: str | None = None) -> Completed:
    """Run to completion, capturing output."""
    full = _resolve(argv)
    try:
        p = subprocess.run(full, capture_output=True, text=True, env=_env(env), cwd=cwd, input=input)
    except KeyboardInterrupt:
        raise Interrupted("interrupted") from None
    return Completed(tuple(argv), p.returncode, p.stdout, p.stderr)


def stream(argv: Sequence[str], *, env: Mapping[str, str] | None = None,
           cwd: str | Path | None = None) -> Completed:
    """Run with stdout going straight to the terminal and stderr echoed there as it comes
    (and kept, so callers can recognise known failures). Ctrl-C stops the child: exit 130."""
    full = _resolve(argv)
    child = subprocess.Popen(full, env=_env(env), cwd=cwd, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    kept: list[str] = []

    def pump() -> None:
        for line in child.stderr:
            sys.stderr.write(line)
            sys.stderr.flush()
            kept.append(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        rc = child.wait()
    except KeyboardInterrupt:
        stop(child)
        raise Interrupted(f"interrupted: stopped {Path(argv[0]).name}") from None
    reader.join()
    return Completed(tuple(argv), rc, "", "".join(kept))


def spawn(argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | Path | None = None,
          log: Path) -> subprocess.Popen:
    """Start a long-running child in its own session with output appended to `log`."""
    full = _resolve(argv)
    with open(log, "ab") as out:
        return subprocess.Popen(full, env=_env(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def stop(child: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the child's process group, SIGKILL it after `grace` seconds."""
    if child.poll() is not None:
        return
    _signal_group(child.pid, signal.SIGTERM)
    try:
        child.wait(grace)
    except subprocess.TimeoutExpired:
        _signal_group(child.pid, signal.SIGKILL)
        child.wait()


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _env(extra: Mapping[str, str] | None) -> dict[str, str]:
    return {**os.environ, "PATH": search_path(), **(extra or {})}
