"""Run a rendered DynamoGraphDeployment as local processes (mocker backend, CPU only).

    source = prepare_model(model, state_dir)             # HF cache or offline stand-in
    specs = plan_processes(docs, python=..., state_dir=..., http_port=..., model_env=source.env)
    up(specs, state_dir, model, timeout, progress)      # ... status(state_dir), down(state_dir)

`launch` does the three steps with the interpreter of the ai-dynamo venv of the Dynamo version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from composer import dynamo
from composer.errors import UsageError
from composer.local.graph import ProcessSpec, expand, plan_processes, served_model
from composer.local.runtime import Progress, chat, down, list_models, status, up
from composer.local.standin import ModelSource, prepare_model
from composer.local.venvs import PINS, require, venv_path

__all__ = [
    "ModelSource",
    "PINS",
    "ProcessSpec",
    "chat",
    "down",
    "expand",
    "launch",
    "list_models",
    "plan_processes",
    "prepare_model",
    "served_model",
    "status",
    "up",
    "venv_path",
]


def launch(
    docs: Sequence[Mapping[str, Any]],
    *,
    state_dir: Path,
    http_port: int = 8000,
    model: str | None = None,
    timeout: float = 120.0,
    progress: Progress | None = None,
    version: str = dynamo.DEFAULT_VERSION,
    profile_data: Mapping[str, Path] | None = None,
    twin: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """prepare_model + plan_processes + up, on Dynamo `version` (the deployment's platform.version).
    `model` defaults to the workers' --model-name. `profile_data`: the local twin's perf data per
    worker component; `twin`: what it simulates, kept in the state for the benchmark's report."""
    state_dir = Path(state_dir)
    name = model or served_model(docs)
    if not name:
        raise UsageError("cannot tell which model the workers serve: no --model-name or --model-path in their args")
    python = str(require("ai-dynamo", "python", version=version))
    state_dir.mkdir(parents=True, exist_ok=True)
    source = prepare_model(name, state_dir)
    if progress:
        progress(f"model {source.describe()}")
    specs = plan_processes(
        docs,
        python=python,
        state_dir=state_dir,
        http_port=http_port,
        model_env=source.env,
        version=version,
        profile_data=profile_data,
    )
    if progress:
        progress(f"Dynamo {version} ({Path(python).parent.parent})")
    notes = sorted({n for s in specs for n in s.notes})
    for note in notes:
        if progress:
            progress(f"note: {note}")
    # the tokenizer: so that a later `bench` finds it
    extra = {
        "model_source": source.kind,
        "tokenizer": str(source.snapshot),
        "notes": notes,
        "dynamo_version": version,
        **({"twin": dict(twin)} if twin else {}),
    }
    return up(specs, state_dir, name, timeout, progress, extra=extra)
