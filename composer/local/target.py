"""A project's `target: local` environment: render the model chart with real helm, run it, bench it.

What runs is exactly the DynamoGraphDeployment our chart renders from the values file, not a
second description of it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from composer import bench, manifests, report
from composer.bench_progress import Meter
from composer.errors import ComposeError, UsageError
from composer.local import aiperf_runs, launch, loopback
from composer.local import down as stop_all
from composer.local import status as local_status
from composer.local.runtime import STATE_FILE, marked, owner, process_alive, read_state
from composer.model import Deployment
from composer.plan import Plan, benchmark_runs
from composer.twin import describe_tp

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
    # what the readiness wait needs, imported while compose only waits for helm
    imports = threading.Thread(target=loopback.load, daemon=True)
    imports.start()
    try:
        docs = rendered(root, plan)
    finally:
        imports.join()
    model = plan.release("model")
    assert model is not None  # rendered() refused a plan without one
    progress(
        f"rendered {model.chart} for {dep.name}: "
        + ", ".join(f"{c['name']} x{c.get('replicas', 1)}" for c in _components(docs))
    )
    profiles, twin_off = twin_profiles(dep, progress)
    result = launch(
        docs,
        state_dir=state_dir(root, plan.env),
        http_port=dep.values["local"]["httpPort"],
        model=dep.model["name"],
        progress=progress,
        version=dep.version,
        profile_data=profiles,
        twin=twin_record(dep) if profiles or not dep.twin else {"off": twin_off},
    )
    return {**result, "total_seconds": round(time.monotonic() - t0, 3)}


def twin_profiles(dep: Deployment, progress: Progress) -> tuple[dict[str, Path], str | None]:
    """The local twin's perf data per worker role, generated with AIConfigurator when not cached;
    and, when AIConfigurator cannot time a worker (a model it does not have, ...), no data and its
    reason: the graph still runs, on the mocker's own timings, and every report says so."""
    if not dep.twin:
        return {}, None
    from composer.local import twin

    try:
        return {w.role: twin.perf_data(w.perf, progress=progress) for w in dep.twin}, None
    except UsageError as e:
        reason = str(e).removeprefix("twin: ")
        progress(f"note: no local twin of {dep.gpu_sku}: {reason}; the mocker runs on its own timings")
        return {}, reason


def twin_record(dep: Deployment) -> dict[str, Any] | None:
    """What the twin simulates, as the state keeps it for the benchmark's report."""
    summary = dep.twin_summary
    return None if summary is None else {**summary, "gpus": dep.twin_gpu_count}


def timing_note_of(state: dict[str, Any]) -> str:
    """Whether the local run's timings predict anything, in one line for every report."""
    t = state.get("twin")
    if t and t.get("off"):
        return f"the mocker's own, not a prediction of any GPU: no local twin ({t['off']})"
    if not t:
        return (
            "the mocker's own, not a prediction of any GPU "
            "(set cluster.gpuSku in the local environment for the local twin)"
        )
    return (
        f"simulated for {t['gpus']} x {t['gpu']} by the local twin "
        f"({t['backend']}, {describe_tp(t['tp'])}; AIConfigurator's estimates, mocker at speedup 1)"
    )


def running(root: Path, env: str) -> dict[str, Any]:
    """The record of what `compose up --env ENV` started; an error when none of it runs."""
    state = read_state(state_dir(root, env))
    if not state and marked(state_dir(root, env)):
        raise ComposeError(
            f"processes of environment {env!r} run, but their state file "
            f"{state_dir(root, env) / STATE_FILE} is gone: `compose down --env {env}` stops them"
        )
    if not state or not any(process_alive(p) for p in state["processes"]):
        raise ComposeError(f"nothing runs locally for environment {env!r}: start it with `compose up --env {env}`")
    return state


def bench_run(
    root: Path,
    dep: Deployment,
    env: str,
    progress: Progress,
    *,
    plots: bool = True,
    meter: Meter | None = None,
) -> dict[str, Any]:
    """The report counts the GPUs the timings stand for (the twin's, else Deployment.gpu_count)
    and says what the timings are (timing_note_of)."""
    state = running(root, env)
    twin = state.get("twin") or {}
    out = bench.results_dir(root, env)
    runs = benchmark_runs(dep, url=state["url"], tokenizer=state["tokenizer"], artifact_dir=str(out))
    result = aiperf_runs.run_local(
        runs=runs,
        artifact_dir=out,
        plots=plots,
        progress=progress,
        owner=owner(state_dir(root, env)),
        meter=meter,
        report_spec=report.spec(dep, gpus=twin.get("gpus"), timing_note=timing_note_of(state)),
    )
    (out / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def latest_results(root: Path, env: str) -> dict[str, Any]:
    runs = sorted(bench.results_dir(root, env).parent.glob("*/summary.json"))
    if not runs:
        raise ComposeError(f"no benchmark results for environment {env!r}: run `compose bench --env {env}`")
    return json.loads(runs[-1].read_text())


def started(root: Path, env: str) -> bool:
    """`compose up` left a record, or processes carrying the environment's marker run."""
    return read_state(state_dir(root, env)) is not None or bool(marked(state_dir(root, env)))


def status(root: Path, env: str) -> dict[str, Any]:
    return local_status(state_dir(root, env))


def down(root: Path, env: str) -> dict[str, Any]:
    return stop_all(state_dir(root, env))


def _components(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return next((d["spec"]["components"] for d in docs if d.get("kind") == "DynamoGraphDeployment"), [])


def format_status(st: dict[str, Any]) -> str:
    """`compose status` for a local environment: whether it serves, then one row per process."""
    if not st["processes"] and not st.get("unrecorded"):
        return "nothing runs locally"
    if not st["processes"]:
        return "\n".join([f"NOT serving: {st['note']}"] + [f"  {p['name']}  pid {p['pid']}" for p in st["unrecorded"]])
    if st["serving"]:
        serving = "serving"
    elif st["not_serving"]:
        serving = f"NOT serving ({', '.join(st['not_serving'])}: no live, ready process)"
    elif st.get("stale_instances"):
        serving = (
            f"NOT serving (the frontend still routes to {len(st['stale_instances'])} dead "
            f"endpoint(s) until their registration expires: {', '.join(st['stale_instances'])})"
        )
    else:
        serving = "NOT serving (the frontend does not list the model)"
    lines = [f"{st['url']}  model {st['model']}  {serving}  (ready in {st['ready_seconds']} s)"]
    rows = [("process", "pid", "ports", "alive", "health", "restarts")]
    for pr in st["processes"]:
        restarts = str(pr.get("restarts", 0))
        if "restart_in_s" in pr:
            restarts += f" (next in {pr['restart_in_s']:.0f} s)"
        elif not pr["alive"] and pr.get("restart_policy") == "Never":
            restarts += " (restartPolicy Never)"
        rows.append(
            (
                pr["name"],
                str(pr["pid"]),
                ",".join(map(str, pr["ports"])) or "-",
                "yes" if pr["alive"] else "NO",
                pr.get("health", "-"),
                restarts,
            )
        )
    width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines += ["  ".join(c.ljust(width[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    sup = st.get("supervisor")
    if sup is None or not sup["alive"]:
        lines.append(
            "supervisor: NOT running: a process that dies stays dead (`compose down`, `compose up` starts one)"
        )
    for p in st.get("unrecorded") or []:
        lines.append(f"also running with the graph's marker: {p['name']} (pid {p['pid']})")
    return "\n".join(lines)


def format_down(result: dict[str, Any]) -> str:
    """What `down` did: the processes it stopped, by name, and those that had exited before."""
    stopped, gone = result["stopped"], result["already_exited"]
    said = [
        f"stopped {len(stopped)} process{'' if len(stopped) == 1 else 'es'} ({', '.join(stopped)})"
        if stopped
        else "stopped nothing",
        *([f"{', '.join(gone)} had already exited"] if gone else []),
    ]
    if result.get("supervisor"):
        said.insert(0, f"stopped the supervisor (pid {result['supervisor']})")
    if result.get("state_file_missing"):
        said.append("found by their marker: the state file was missing")
    pids = result["pids"] + ([result["supervisor"]] if result.get("supervisor") else [])
    return f"{'; '.join(said)}; none of PIDs {', '.join(map(str, pids))} is alive"
