"""A project's `target: local` environment: render the model chart with real helm, run it, bench it.

What runs is exactly the DynamoGraphDeployment our chart renders from the values file, not a
second description of it.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

from composer import bench, manifests
from composer.errors import ComposeError, UsageError
from composer.local import launch, read_state
from composer.local import down as stop_all
from composer.local import status as local_status
from composer.local.runtime import process_alive
from composer.model import Deployment
from composer.plan import Plan, benchmark_runs

Progress = Callable[[str], None]


def state_dir(root: Path, env: str) -> Path:
    return root / ".compose" / "local" / env


def rendered(root: Path, plan: Plan) -> list[dict[str, Any]]:
    """The model release's manifests, rendered by helm from the generated files."""
    model = plan.release("model")
    if model is None:
        raise UsageError("model.deployment.create is false: there is no graph to run locally")
    return manifests.docs(root, plan, model.name)


def up(root: Path, dep: Deployment, plan: Plan, progress: Progress) -> dict[str, Any]:
    t0 = time.monotonic()
    docs = rendered(root, plan)
    progress(f"rendered {plan.release('model').chart} for {dep.name}: "
             + ", ".join(f"{c['name']} x{c.get('replicas', 1)}" for c in _components(docs)))
    result = launch(docs, state_dir=state_dir(root, plan.env), http_port=dep.values["local"]["httpPort"],
                    model=dep.model["name"], progress=progress)
    return {**result, "total_seconds": round(time.monotonic() - t0, 3)}


def running(root: Path, env: str) -> dict[str, Any]:
    """The record of what `compose up --env ENV` started; an error when none of it runs."""
    state = read_state(state_dir(root, env))
    if not state or not any(process_alive(p) for p in state["processes"]):
        raise ComposeError(f"nothing runs locally for environment {env!r}: start it with `compose up --env {env}`")
    return state


def bench_run(root: Path, dep: Deployment, env: str, progress: Progress, *, plots: bool = True) -> dict[str, Any]:
    state = running(root, env)
    out = bench.results_dir(root, env)
    runs = benchmark_runs(dep, url=state["url"], tokenizer=state["tokenizer"], artifact_dir=str(out))
    result = bench.run_local(runs=runs, artifact_dir=out, plots=plots, progress=progress)
    (out / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def latest_results(root: Path, env: str) -> dict[str, Any]:
    runs = sorted(bench.results_dir(root, env).parent.glob("*/summary.json"))
    if not runs:
        raise ComposeError(f"no benchmark results for environment {env!r}: run `compose bench --env {env}`")
    return json.loads(runs[-1].read_text())


def started(root: Path, env: str) -> bool:
    return read_state(state_dir(root, env)) is not None


def status(root: Path, env: str) -> dict[str, Any]:
    return local_status(state_dir(root, env))


def down(root: Path, env: str) -> dict[str, Any]:
    return stop_all(state_dir(root, env))


def _components(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return next((d["spec"]["components"] for d in docs if d.get("kind") == "DynamoGraphDeployment"), [])


def format_status(st: dict[str, Any]) -> str:
    """`compose status` for a local environment: the frontend, then one row per process."""
    if not st["processes"]:
        return "nothing runs locally"
    lines = [f"{st['url']}  model {st['model']}  "
             f"{'serving' if st['frontend'].get('serving') else 'NOT serving'}  (ready in {st['ready_seconds']} s)"]
    rows = [("process", "pid", "ports", "alive", "health")]
    for pr in st["processes"]:
        rows.append((pr["name"], str(pr["pid"]), ",".join(map(str, pr["ports"])) or "-",
                     "yes" if pr["alive"] else "NO", pr.get("health", "-")))
    width = [max(len(r[i]) for r in rows) for i in range(5)]
    lines += ["  ".join(c.ljust(width[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    return "\n".join(lines)
