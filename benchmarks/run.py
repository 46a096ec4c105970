#!/usr/bin/env python3
"""compose's performance figures, each against a baseline measured in the same run.

    .venv/bin/python benchmarks/run.py            # every figure (the local ones need the runtime venvs)
    .venv/bin/python benchmarks/run.py --quick    # fewer repetitions
    .venv/bin/python benchmarks/run.py --offline  # skip the figures that run Dynamo and AIPerf
    .venv/bin/python benchmarks/run.py --show benchmarks/results/latest.json  # print an earlier table

Prints a table, then the JSON, and writes the JSON to benchmarks/results/<UTC time>.json (and
latest.json). Every command runs in a new process, in a scratch copy of the example project, with
helm's homes in the scratch dir. Subject and baseline alternate, so drift on a shared machine hits
both. The figure is the median wall time; CPU time (user + sys, the process and what it waited for)
and peak RSS (the largest single process) come from wait4(2).

Figures (see README.md, "Performance"):
  generate_cold      `compose generate`, a new process, the example values (absolute; target <= 0.25 s)
  template_dev       `compose template --env dev` / raw `helmfile template` on the same files (<= 1.10x)
  generate_n{1,10,50} a repo with N deployments: one process generating N projects (<= 2 s for 50)
  generate_cli_n10   the same repo, one `compose generate -f` process per deployment (informational)
  up_local           `compose up --env local` / a hand launch of the same processes until a chat completes (<= 1.2x)
  bench_local        `compose bench --env local` / by hand: the same `aiperf profile` argvs, then `aiperf plot` (<= 0.7x)
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
BIN = Path(sys.executable).parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from composer.local.runtime import POLL_SECONDS  # noqa: E402 - the hand launch polls as often as compose

OFFLINE_FIGURES = ("generate_cold", "template_dev", "generate_n1", "generate_n10", "generate_n50", "generate_cli_n10")
LOCAL_FIGURES = ("up_local", "bench_local")
N_DEPLOYMENTS = (1, 10, 50)
MODEL = "Qwen/Qwen3-0.6B"

# Repetitions (full, quick) per figure kind.
REPS = {"cold": (10, 3), "template": (10, 3), "many": (5, 1), "cli_many": (3, 1), "up": (5, 1), "bench": (3, 1)}


# -- measuring ------------------------------------------------------------------------------


def run_once(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
    check: bool = True,
) -> dict[str, Any]:
    """One process: wall seconds, CPU seconds (it and its reaped descendants) and peak RSS (MB)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {p.returncode} in {cwd}")
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024}


def summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [s["wall"] for s in samples]
    return {
        "median": statistics.median(walls),
        "min": min(walls),
        "max": max(walls),
        "cpu_median": statistics.median(s["cpu"] for s in samples) if all("cpu" in s for s in samples) else None,
        "peak_rss_mb": max((s["rss_mb"] for s in samples if s.get("rss_mb") is not None), default=None),
        "n": len(samples),
        "samples": [round(w, 4) for w in walls],
    }


def paired(subject: Callable[[], dict], baseline: Callable[[], dict], reps: int) -> tuple[list, list]:
    """Alternate subject and baseline (ABBA...), so slow phases of a noisy machine hit both."""
    subj, base = [], []
    for i in range(reps):
        order = (subject, baseline) if i % 2 == 0 else (baseline, subject)
        for fn in order:
            (subj if fn is subject else base).append(fn())
    return subj, base


def figure(
    name: str,
    description: str,
    subject: dict,
    *,
    baseline: dict | None = None,
    baseline_name: str | None = None,
    target: dict,
    note: str = "",
    extra: dict | None = None,
) -> dict[str, Any]:
    ratio = cpu_ratio = None
    if baseline:
        ratio = subject["median"] / baseline["median"]
        if subject.get("cpu_median") and baseline.get("cpu_median"):
            cpu_ratio = subject["cpu_median"] / baseline["cpu_median"]
    out = {
        "name": name,
        "description": description,
        "unit": "s",
        "value": round(subject["median"], 4),
        "subject": subject,
        "baseline": ({"name": baseline_name, "value": round(baseline["median"], 4), **baseline} if baseline else None),
        "ratio": round(ratio, 3) if ratio is not None else None,
        "cpu_ratio": round(cpu_ratio, 3) if cpu_ratio is not None else None,
        "target": target,
        "note": note,
        **(extra or {}),
    }
    out["meets_target"] = meets(out)
    return out


def meets(fig: dict[str, Any]) -> bool | None:
    t = fig["target"]
    if t["kind"] == "max_seconds":
        return fig["value"] <= t["value"]
    if t["kind"] == "max_ratio":
        return fig["ratio"] is not None and fig["ratio"] <= t["value"]
    return None


# -- scratch projects -----------------------------------------------------------------------


class Scratch:
    def __init__(self, root: Path, pythonpath: str | None = None):
        self.root = root
        self.env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        helm_home = root / "helm-home"
        for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
            self.env[var] = str(helm_home / var.lower())
        self.env.pop("PYTHONPATH", None)
        if pythonpath:  # measure another copy of the package (before/after comparisons)
            self.env["PYTHONPATH"] = pythonpath
        compose_bin = BIN / "compose"
        self.compose = [str(compose_bin)] if compose_bin.exists() else [sys.executable, "-m", "composer"]

    def example(self, name: str, envs: dict[str, str] | None = None) -> Path:
        """A copy of the repository's example project (values.yaml, environments/), charts linked."""
        dest = self.root / name
        dest.mkdir(parents=True)
        (dest / "charts").symlink_to(REPO / "charts")
        shutil.copy(REPO / "values.yaml", dest / "values.yaml")
        shutil.copytree(REPO / "environments", dest / "environments")
        for env, text in (envs or {}).items():
            (dest / "environments" / f"{env}.yaml").write_text(text)
        return dest

    def compose_argv(self, *args: str) -> list[str]:
        return [*self.compose, *args]


def deployments_repo(scratch: Scratch, n: int) -> list[Path]:
    """A repo with n deployments: n projects made by `compose init` (composer.recipes.scaffold) from
    the recipes in turn, each with its own dynamoNamespace; the example project if recipes are missing."""
    root = scratch.root / f"repo-{n}"
    root.mkdir()
    try:
        from composer import recipes

        names = [r.name for r in recipes.available()]
    except Exception:  # noqa: BLE001 - fall back to the example project
        names = []
    dirs = []
    for i in range(n):
        d = root / f"d{i:03d}"
        if names:
            recipes.scaffold(names[i % len(names)], d, dynamo_namespace=f"dep{i:03d}")
        else:
            ex = scratch.example(f"repo-{n}/d{i:03d}")
            text = (
                (ex / "values.yaml").read_text().replace("dynamoNamespace: qwen-demo", f"dynamoNamespace: dep{i:03d}")
            )
            (ex / "values.yaml").write_text(text)
        dirs.append(d)
    return dirs


GEN_MANY = """
import sys
from composer import project
for d in sys.argv[1:]:
    project.generate(project.Project.at(d + "/values.yaml"))
"""


# -- figures --------------------------------------------------------------------------------


def fig_generate_cold(scratch: Scratch, reps: int) -> list[dict]:
    proj = scratch.example("cold")
    argv = scratch.compose_argv("generate")
    run_once(argv, cwd=proj, env=scratch.env)  # writes helmfile.d/; every measured run finds it up to date
    floor_argv = [sys.executable, "-c", "pass"]
    subj, floor = paired(
        lambda: run_once(argv, cwd=proj, env=scratch.env), lambda: run_once(floor_argv, cwd=proj, env=scratch.env), reps
    )
    s, f = summary(subj), summary(floor)
    return [
        figure(
            "generate_cold",
            "compose generate, new process, example values (3 environments, up to date)",
            s,
            target={"kind": "max_seconds", "value": 0.25},
            note=f"absolute; for scale, a bare `python -c pass` took {f['median']:.3f} s (median)",
            extra={"interpreter_startup": f},
        )
    ]


def fig_template(scratch: Scratch, reps: int) -> list[dict]:
    from composer import helmfile, project

    proj = scratch.example("template")
    run_once(scratch.compose_argv("generate"), cwd=proj, env=scratch.env)
    raw = helmfile.template(project.Project.at(proj / "values.yaml").state_file("dev"), "dev")
    raw = [str(BIN / raw[0]) if (BIN / raw[0]).exists() else raw[0], *raw[1:]]
    argv = scratch.compose_argv("template", "--env", "dev")

    subj, base = paired(
        lambda: run_once(argv, cwd=proj, env=scratch.env), lambda: run_once(raw, cwd=proj, env=scratch.env), reps
    )
    s, b = summary(subj), summary(base)
    return [
        figure(
            "template_dev",
            "compose template --env dev, against raw helmfile template on the same files",
            s,
            baseline=b,
            baseline_name=" ".join(["helmfile", *raw[1:]]),
            target={"kind": "max_ratio", "value": 1.10},
        )
    ]


def fig_generate_many(scratch: Scratch, reps: int, cli_reps: int, want: set[str]) -> list[dict]:
    repos = {n: deployments_repo(scratch, n) for n in N_DEPLOYMENTS}
    from composer import project

    for dirs in repos.values():  # write helmfile.d/ once: measured runs find it up to date
        for d in dirs:
            project.generate(project.Project.at(d / "values.yaml"))

    def many(n: int):
        return lambda: run_once(
            [sys.executable, "-c", GEN_MANY, *map(str, repos[n])], cwd=scratch.root, env=scratch.env
        )

    results: dict[int, list] = {n: [] for n in N_DEPLOYMENTS}
    for i in range(reps):  # interleaved: every size sees the same machine
        for n in N_DEPLOYMENTS if i % 2 == 0 else N_DEPLOYMENTS[::-1]:
            results[n].append(many(n)())
    one = summary(results[1])
    figs = []
    for n in N_DEPLOYMENTS:
        s = summary(results[n])
        marginal = (s["median"] - one["median"]) / (n - 1) if n > 1 else None
        figs.append(
            figure(
                f"generate_n{n}",
                f"one process generating a repo of {n} deployment(s) (recipe projects, 3 environments each)",
                s,
                baseline=one if n > 1 else None,
                baseline_name="generate_n1" if n > 1 else None,
                target={"kind": "max_seconds", "value": 2.0} if n == 50 else {"kind": "linear", "value": None},
                note="ratio/N is the per-deployment cost relative to the 1-deployment run" if n > 1 else "the baseline",
                extra={
                    "deployments": n,
                    "per_deployment_ratio": round(s["median"] / one["median"] / n, 3),
                    "marginal_seconds_per_deployment": round(marginal, 4) if marginal is not None else None,
                },
            )
        )
    if "generate_cli_n10" in want:
        dirs = repos[10]

        def cli_loop() -> dict:
            samples = [
                run_once(scratch.compose_argv("generate", "-f", str(d / "values.yaml")), cwd=d, env=scratch.env)
                for d in dirs
            ]
            return {
                "wall": sum(x["wall"] for x in samples),
                "cpu": sum(x["cpu"] for x in samples),
                "rss_mb": max(x["rss_mb"] for x in samples),
            }

        def cli_one() -> dict:
            return run_once(
                scratch.compose_argv("generate", "-f", str(dirs[0] / "values.yaml")), cwd=dirs[0], env=scratch.env
            )

        subj, base = paired(cli_loop, cli_one, cli_reps)
        figs.append(
            figure(
                "generate_cli_n10",
                "10 deployments, one `compose generate -f` process each",
                summary(subj),
                baseline=summary(base),
                baseline_name="one `compose generate -f` process",
                target={"kind": "linear", "value": None},
                note="informational: what a shell loop over the repo costs (process startup per deployment)",
                extra={"deployments": 10},
            )
        )
    return [f for f in figs if f["name"] in want]


# -- local runtime --------------------------------------------------------------------------


def local_runtime_missing(dynamo: str | None) -> str | None:
    try:
        from composer.errors import ComposeError
        from composer.local import venvs
    except Exception as e:  # noqa: BLE001
        return f"composer.local does not import: {e}"
    try:  # what compose itself requires, and its message: which venv, the command that installs it
        venvs.require("ai-dynamo", "python", version=dynamo)
        venvs.require("aiperf", "aiperf")
    except ComposeError as e:
        return str(e)
    return None


def _port_free(port: int) -> bool:
    from composer.local import ports  # the check `compose up` makes

    return ports.port_free(port)


def _wait_ports_free(ports: list[int], timeout: float = 75) -> None:
    """Between samples: compose refuses a port it cannot bind, and a socket a stopped server closed
    itself stays in TIME_WAIT (60 s on Linux), which blocks a bind without SO_REUSEADDR."""
    t0 = time.monotonic()
    while time.monotonic() < t0 + timeout and not all(_port_free(p) for p in ports):
        time.sleep(0.2)
    if time.monotonic() - t0 > 1:
        print(f"(waited {time.monotonic() - t0:.0f} s for ports {ports} to be free)", file=sys.stderr)


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def _hwm_mb(pids: list[int]) -> float | None:
    """Sum of the processes' peak RSS (VmHWM), read while they run."""
    total = 0
    try:
        for pid in pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
    except OSError:
        return None
    return total / 1024


def _stop_groups(pids: list[int]) -> None:
    """SIGTERM the process groups we started (each its own session), SIGKILL after 10 s."""
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    for sig in (None, signal.SIGKILL):
        for pid in pids:
            if sig:
                try:
                    os.killpg(pid, sig)
                except ProcessLookupError:
                    pass
        while time.monotonic() < deadline and any(_group_alive(p) for p in pids):
            time.sleep(0.1)
        deadline = time.monotonic() + 5


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


class LocalGraph:
    def __init__(self, scratch: Scratch, dynamo: str | None = None):
        self.scratch = scratch
        from composer.local import ports

        self.port = ports.free_block(8)
        local = (REPO / "environments" / "local.yaml").read_text() + f"local:\n  httpPort: {self.port}\n"
        if dynamo:  # another release than compose's default
            local += f"platform:\n  version: {dynamo}\n"
        self.proj = scratch.example("local", {"local": local})
        self.state_dir = self.proj / ".compose" / "local" / "local"
        self.captured: list[dict] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def compose(self, *args: str, **kw) -> dict:
        path = self.scratch.root / "compose-local.log"
        with open(path, "ab") as log:
            log.write(f"$ compose {' '.join(args)}\n".encode())
            log.flush()
            try:
                return run_once(
                    self.scratch.compose_argv(*args), cwd=self.proj, env=self.scratch.env, stdout=log, stderr=log, **kw
                )
            except RuntimeError as e:
                tail = "\n".join(path.read_text(errors="replace").splitlines()[-30:])
                raise RuntimeError(f"{e}; last lines of its output:\n{tail}") from None

    def compose_up(self) -> dict:
        sample = self.compose("up", "--env", "local")
        state = json.loads((self.state_dir / "state.json").read_text())
        pids = [p["pid"] for p in state["processes"]]
        sample["graph_rss_mb"] = _hwm_mb(pids)
        sample["ready_seconds"] = state["ready_seconds"]  # compose's own clock: first spawn to ready
        if self.captured is None:  # what the hand launch starts: the recorded argv, the live env
            self.captured = [
                {"name": p["name"], "argv": p["argv"], "env": _environ(p["pid"]), "ports": p["ports"]}
                for p in state["processes"]
            ]
        return sample

    def compose_down(self) -> None:
        self.compose("down", "--env", "local")
        if self.captured:
            _wait_ports_free([port for p in self.captured for port in p["ports"]])

    def hand_up(self) -> tuple[dict, list[int]]:
        import requests

        assert self.captured
        kv = self.state_dir / "kv"
        shutil.rmtree(kv, ignore_errors=True)  # as compose does: stale registrations confuse the frontend
        kv.mkdir(parents=True)
        logs = self.scratch.root / "hand-logs"
        logs.mkdir(exist_ok=True)
        t0 = time.perf_counter()
        pids = []
        for p in self.captured:
            with open(logs / f"{p['name']}.log", "ab") as out:
                child = subprocess.Popen(
                    p["argv"],
                    env=p["env"],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            pids.append(child.pid)
        deadline = time.monotonic() + 300
        while True:
            try:
                r = requests.post(
                    f"{self.url}/v1/chat/completions",
                    timeout=(2, 15),
                    json={"model": MODEL, "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 8},
                )
                if r.status_code == 200 and r.json()["choices"][0]["message"]["content"] is not None:
                    break
            except (requests.RequestException, KeyError, IndexError, ValueError):
                pass
            if time.monotonic() > deadline:
                _stop_groups(pids)
                raise RuntimeError("hand launch not ready after 300 s; logs in " + str(logs))
            time.sleep(POLL_SECONDS)
        wall = time.perf_counter() - t0
        return {"wall": wall, "graph_rss_mb": _hwm_mb(pids)}, pids

    def hand_down(self, pids: list[int]) -> None:
        _stop_groups(pids)
        for pid in pids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        _wait_ports_free([port for p in self.captured or [] for port in p["ports"]])


def fig_up_local(scratch: Scratch, graph: LocalGraph, reps: int) -> dict:
    def subject() -> dict:
        try:
            return graph.compose_up()
        finally:
            graph.compose_down()

    def baseline() -> dict:
        sample, pids = graph.hand_up()
        graph.hand_down(pids)
        return sample

    subj, base = paired(subject, baseline, reps)  # the first run is compose's: it records what the hand launch starts
    s, b = summary(subj), summary(base)
    s["graph_peak_rss_mb"] = max((x["graph_rss_mb"] or 0) for x in subj)
    b["graph_peak_rss_mb"] = max((x["graph_rss_mb"] or 0) for x in base)
    ready = statistics.median(x["ready_seconds"] for x in subj)
    return figure(
        "up_local",
        "compose up --env local until it returns (a chat completion succeeded)",
        s,
        baseline=b,
        baseline_name=f"the same argv/env started by hand, polled every {POLL_SECONDS} s for a chat completion",
        target={"kind": "max_ratio", "value": 1.2},
        note=f"{len(graph.captured or [])} processes (example local env)",
        extra={"ready_seconds": round(ready, 3), "before_and_after_seconds": round(_own_time(subj), 3)},
    )


def _own_time(ups: list[dict]) -> float:
    """compose's time before its first process starts and after the graph is ready (median)."""
    return statistics.median(x["wall"] - x["ready_seconds"] for x in ups)


def _hand_profiles(first: dict, dirs: list[str]) -> list[list[str]]:
    """compose's `aiperf profile` argvs, each writing to its own dir, without the progress UI."""
    out = []
    for run, d in zip(first["runs"], dirs):
        argv = list(run["argv"])
        argv[argv.index("--artifact-dir") + 1] = d
        if "--ui-type" in argv:
            argv[argv.index("--ui-type") + 1] = "none"
        out.append(argv)
    return out


def fig_bench_local(scratch: Scratch, graph: LocalGraph, reps: int) -> dict:
    graph.compose_up()
    try:
        out = scratch.root / "bench-compose.json"
        first: dict | None = None

        def subject() -> dict:
            nonlocal first
            with open(out, "wb") as f:
                sample = run_once(
                    scratch.compose_argv("bench", "--env", "local", "-o", "json"),
                    cwd=graph.proj,
                    env=scratch.env,
                    stdout=f,
                    stderr=subprocess.DEVNULL,
                )
            result = json.loads(out.read_text())
            first = first or result
            # compose's own account: what run_local spent after the last run ended, the part of
            # `aiperf plot` left (it starts, and warms up, before the runs)
            sample["plot"] = result["after_runs_seconds"]
            return sample

        hand_env = {k: v for k, v in scratch.env.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}

        def baseline() -> dict:
            """What a user runs by hand for the same report: `aiperf profile` per concurrency, then
            `aiperf plot` over the runs (with no GPU count it draws no per-GPU plots: less work)."""
            assert first is not None
            total = {"wall": 0.0, "cpu": 0.0, "rss_mb": 0.0}
            dirs = [tempfile.mkdtemp(prefix="hand-", dir=scratch.root) for _ in first["runs"]]
            aiperf = first["runs"][0]["argv"][0]
            plot = [aiperf, "plot", *dirs, "--output", str(Path(dirs[0]).parent / "hand-plots")]
            for step in [*_hand_profiles(first, dirs), plot]:
                x = run_once(step, cwd=graph.proj, env=hand_env, check=step[1] != "plot")
                total = {
                    "wall": total["wall"] + x["wall"],
                    "cpu": total["cpu"] + x["cpu"],
                    "rss_mb": max(total["rss_mb"], x["rss_mb"]),
                }
            return total

        subj, base = [], []
        for i in range(reps):  # compose's run first: it records the argv
            for fn in (subject, baseline) if i % 2 == 0 else (baseline, subject):
                (subj if fn is subject else base).append(fn())
        s, b = summary(subj), summary(base)
        plot = statistics.median(x["plot"] for x in subj)
        return figure(
            "bench_local",
            "compose bench --env local (the sweep, its report and plots)",
            s,
            baseline=b,
            baseline_name="by hand: the same `aiperf profile` argv per concurrency, then `aiperf plot` over the runs",
            target={"kind": "max_ratio", "value": 0.7},
            note=f"{len(first['runs'])} aiperf run(s); compose's plots end {plot:.1f} s after the last run (median)",
            extra={"plot_seconds": round(plot, 3)},
        )
    finally:
        graph.compose_down()


# -- report ---------------------------------------------------------------------------------


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def table(figs: list[dict], skipped: list[dict]) -> str:
    head = ("figure", "median s", "baseline s", "ratio", "cpu ratio", "peak RSS MB", "target", "ok", "detail")
    rows = [head]
    for f in figs:
        t = f["target"]
        target = {"max_seconds": f"<= {t['value']} s", "max_ratio": f"<= {t['value']}x"}.get(t["kind"], t["kind"])
        ok = {True: "yes", False: "NO", None: "-"}[f["meets_target"]]
        detail = ""
        if f.get("marginal_seconds_per_deployment") is not None:
            detail = f"+{1000 * f['marginal_seconds_per_deployment']:.1f} ms per extra deployment"
        elif f.get("ratio_without_plot") is not None:
            detail = f"{f['ratio_without_plot']:.2f}x without `aiperf plot` ({f['plot_seconds']:.1f} s)"
            if f.get("ratio_to_hand_profile_and_plot") is not None:
                detail += f"; {f['ratio_to_hand_profile_and_plot']:.2f}x of profile + plot by hand"
        elif f.get("ready_seconds") is not None:
            detail = f"first process to ready {f['ready_seconds']:.2f} s; before + after {f['before_and_after_seconds']:.2f} s"
        elif f.get("interpreter_startup"):
            detail = f"`python -c pass`: {f['interpreter_startup']['median']:.3f} s"
        elif f["name"] == "generate_cli_n10" and f["baseline"]:
            detail = f"{f['value'] / f['deployments']:.3f} s per deployment"
        rows.append(
            (
                f["name"],
                _fmt(f["value"], ".3f"),
                _fmt(f["baseline"]["value"] if f["baseline"] else None, ".3f"),
                _fmt(f["ratio"], ".2f"),
                _fmt(f["cpu_ratio"], ".2f"),
                _fmt(f["subject"].get("peak_rss_mb"), ".0f"),
                target,
                ok,
                detail,
            )
        )
    width = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(width[i]) for i, c in enumerate(r)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in width) + "|")
    for s in skipped:
        lines.append(f"skipped {s['name']}: {s['reason']}")
    return "\n".join(lines)


def tool_version(argv: list[str], env: dict[str, str]) -> str | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--offline", action="store_true", help="skip the figures that run Dynamo and AIPerf")
    ap.add_argument("--only", action="append", choices=OFFLINE_FIGURES + LOCAL_FIGURES, help="run only these figures")
    ap.add_argument("--results-dir", type=Path, default=RESULTS, help="where the JSON goes (default: %(default)s)")
    ap.add_argument("--no-json", action="store_true", help="print only the table (the file is still written)")
    ap.add_argument("--pythonpath", metavar="DIR", help="run the compose found in DIR/composer (e.g. an older copy)")
    ap.add_argument("--dynamo", metavar="VERSION", help="run the local figures on this Dynamo release")
    ap.add_argument("--show", metavar="JSON", type=Path, help="only print the table of an earlier result file")
    args = ap.parse_args(argv)
    if args.show:
        report = json.loads(args.show.read_text())
        print(table(report["figures"], report["skipped"]))
        print(f"\n{report['mode']} run of {report['started']}: {report['command']}")
        return 0

    want = set(args.only or (OFFLINE_FIGURES + LOCAL_FIGURES))
    reps = {k: v[1] if args.quick else v[0] for k, v in REPS.items()}
    figs: list[dict] = []
    skipped: list[dict] = []
    started = datetime.now(timezone.utc)
    load_start = os.getloadavg()
    # compose as ./scripts/setup installs it, byte-compiled: sources edited since would otherwise be
    # compiled by every run (nothing writes the cache where PYTHONDONTWRITEBYTECODE is set)
    compileall.compile_dir(Path(args.pythonpath or REPO) / "composer", quiet=2)
    with tempfile.TemporaryDirectory(prefix="compose-bench-") as tmp:
        scratch = Scratch(Path(tmp), args.pythonpath)
        if "generate_cold" in want:
            figs += fig_generate_cold(scratch, reps["cold"])
        if "template_dev" in want:
            figs += fig_template(scratch, reps["template"])
        many = {f for f in want if f.startswith("generate_n") or f == "generate_cli_n10"}
        if many:
            figs += fig_generate_many(scratch, reps["many"], reps["cli_many"], many)
        local = [f for f in LOCAL_FIGURES if f in want]
        missing = "--offline" if args.offline else (local_runtime_missing(args.dynamo) if local else None)
        if local and missing:
            skipped += [{"name": f, "reason": missing} for f in local]
        elif local:
            graph = LocalGraph(scratch, args.dynamo)
            try:
                if "up_local" in want:
                    figs.append(fig_up_local(scratch, graph, reps["up"]))
                if "bench_local" in want:
                    figs.append(fig_bench_local(scratch, graph, reps["bench"]))
            finally:
                graph.compose_down()
    report = {
        "version": 1,
        "pythonpath": args.pythonpath,
        "dynamo": args.dynamo,
        "command": " ".join([".venv/bin/python", "benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "mode": "quick" if args.quick else "full",
        "started": started.isoformat(timespec="seconds"),
        "seconds": round((datetime.now(timezone.utc) - started).total_seconds(), 1),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_start": [round(x, 2) for x in load_start],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        },
        "tools": {
            "helm": tool_version(["helm", "version", "--short"], scratch.env),
            "helmfile": tool_version(["helmfile", "--version"], scratch.env),
        },
        "figures": figs,
        "skipped": skipped,
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"{started.strftime('%Y%m%d-%H%M%S')}.json"
    text = json.dumps(report, indent=2) + "\n"
    path.write_text(text)
    (args.results_dir / "latest.json").write_text(text)
    print(table(figs, skipped))
    if not args.no_json:
        print()
        print(text, end="")
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
