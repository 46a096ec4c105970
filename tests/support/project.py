"""Projects on disk and the real CLI in a new process: what most tests start from."""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def make_project(dest: Path, values: str | None = None, envs: dict[str, str] | None = None) -> Path:
    """A project dir using the repo's charts; by default a copy of the repo's example inputs."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "charts").symlink_to(REPO / "charts")
    (dest / "values.yaml").write_text(values if values is not None else (REPO / "values.yaml").read_text())
    (dest / "environments").mkdir()
    if envs is None:
        envs = {p.stem: p.read_text() for p in (REPO / "environments").glob("*.yaml")}
    for name, text in envs.items():
        (dest / "environments" / f"{name}.yaml").write_text(text)
    return dest


def compose(*args, cwd: Path, env: dict | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    """The real CLI in a new process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "composer", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        input=input,
    )


def outside_venv(bin_dir: Path) -> tuple[str, dict]:
    """(python, env) that run compose as installed outside a virtualenv, with bin_dir first on PATH.
    In a virtualenv compose runs the venv's pinned helm, helmfile and kubectl whatever PATH says
    (composer.proc.search_path), so tests reach their stand-ins in bin_dir this way: the
    interpreter, reached through a symlink there, is no venv's."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    python = bin_dir / "python"
    if not python.exists():
        python.symlink_to(os.path.realpath(sys.executable))
    return str(python), {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join([str(REPO), sysconfig.get_paths()["purelib"]]),
    }
