#!/usr/bin/env python3
"""How close the local twin comes to AIConfigurator's own estimate of the same configuration.

    .venv/bin/python benchmarks/twin_fidelity.py            # the example and two recipes
    .venv/bin/python benchmarks/twin_fidelity.py example    # one of them

For each configuration: a scratch project (the example's values.yaml, or `compose init --recipe`),
its local environment made the twin of the configuration's GPU, `compose up --env local`, `compose
bench` over the concurrencies below, `compose down`; then, at each concurrency, AIConfigurator's
static estimate (composer/local/twin.py static_estimate, the pinned 0.12.0) for the same model, GPU,
backend, tensor parallelism, ISL and OSL. Printed: TTFT, ITL and output tokens/s of both, and
twin/estimate. The target is within 20% on each figure at the concurrency the configuration was
chosen for (`chosen`). At that concurrency the benchmark runs twice: with AIPerf's pooled
connections (its default, and what the Kubernetes Job does) and with a new connection per request,
which shows what the frontend's socket adds to TTFT (see README, "The local twin").

Writes the table and its JSON to benchmarks/results/twin-fidelity-<UTC time>.{txt,json}.
Needs the local runtime (scripts/setup). Run it on a quiet machine: the twin runs in real time,
so a busy CPU shows as latency.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from ruamel.yaml import YAML  # noqa: E402

from composer.local.twin import static_estimate  # noqa: E402
from composer.project import Project, load_deployment  # noqa: E402

GPU = "h200_sxm"
# name -> (recipe or None for the example, concurrencies, requests per level, isl, osl, chosen)
CONFIGS: dict[str, dict[str, Any]] = {
    # The example: Qwen3-0.6B, vLLM, disaggregated TP1 + TP1. Chosen for nothing in particular: its
    # middle concurrency.
    "example": {"recipe": None, "concurrency": [1, 4, 8], "requests": None, "isl": 1024, "osl": 128, "chosen": 4},
    # Upstream's Qwen3-32B-FP8 disaggregated recipe (decode TP4, 2 x prefill TP2), run at 48.
    "qwen3-32b-fp8/vllm/disagg": {
        "recipe": "qwen3-32b-fp8/vllm/disagg",
        "concurrency": [8, 48],
        "requests": 96,
        "isl": 4000,
        "osl": 500,
        "chosen": 48,
    },
    # An aggregated graph: Qwen3-0.6B, one vLLM worker.
    "qwen3-0.6b/vllm/agg": {
        "recipe": "qwen3-0.6b/vllm/agg",
        "concurrency": [1, 10, 50],
        "requests": None,
        "isl": 2000,
        "osl": 256,
        "chosen": 10,
    },
}
FIGURES = (("ttft_ms", "TTFT ms"), ("itl_ms", "ITL ms"), ("output_tokens_per_s", "out tok/s"))
BAND = 0.20


def compose(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "composer", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"compose {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done


def project(name: str, cfg: dict[str, Any], root: Path) -> Path:
    proj = root / name.replace("/", "-")
    if cfg["recipe"] is None:
        (proj / "environments").mkdir(parents=True)
        shutil.copy(REPO / "values.yaml", proj / "values.yaml")
        shutil.copy(REPO / "environments" / "local.yaml", proj / "environments" / "local.yaml")
        (proj / "charts").symlink_to(REPO / "charts")
    else:
        compose("init", "--recipe", cfg["recipe"], "--dir", str(proj), cwd=root)
    return proj


def twin_env(proj: Path, cfg: dict[str, Any], concurrency: list[int], extra: list[str]) -> None:
    """The local environment as the twin of GPU, without the mocker's own speedup, benchmarking
    `concurrency` at the configuration's ISL/OSL."""
    yaml = YAML()
    path = proj / "environments" / "local.yaml"
    env = yaml.load(path.read_text()) or {}
    env.setdefault("cluster", {})["gpuSku"] = GPU
    for role in ("decode", "prefill"):
        spec = (env.get("model") or {}).get(role) or {}
        args = list(spec.get("extraArgs") or [])
        while "--speedup-ratio" in args:
            i = args.index("--speedup-ratio")
            del args[i : i + 2]
        if "extraArgs" in spec:
            spec["extraArgs"] = args
    bench = {"concurrency": concurrency, "isl": cfg["isl"], "osl": cfg["osl"]}
    if cfg["requests"]:
        bench["requestCount"] = cfg["requests"]
    if extra:
        bench["extraArgs"] = extra
    env["benchmark"] = {"config": bench}
    env["local"] = {"httpPort": 18600}
    with path.open("w") as f:
        yaml.dump(env, f)


def measure(name: str, cfg: dict[str, Any], root: Path) -> dict[str, Any]:
    proj = project(name, cfg, root)
    twin_env(proj, cfg, cfg["concurrency"], [])
    dep = load_deployment(Project.at(proj / "values.yaml"), "local")
    workers = {w.role: w.perf for w in dep.twin}
    compose("up", "--env", "local", cwd=proj)
    try:
        pooled = json.loads(compose("bench", "--env", "local", "-o", "json", cwd=proj).stdout)
        twin_env(proj, cfg, [cfg["chosen"]], ["--connection-reuse-strategy", "never"])
        fresh = json.loads(compose("bench", "--env", "local", "-o", "json", cwd=proj).stdout)
    finally:
        compose("down", "--env", "local", cwd=proj)
    rows = []
    for label, result in (("pooled", pooled), ("new connection", fresh)):
        for run in result["runs"]:
            c, s = run["concurrency"], run["summary"]
            est = static_estimate(
                workers.get("prefill"), workers["decode"], isl=cfg["isl"], osl=cfg["osl"], concurrency=c
            )
            twin = {
                "ttft_ms": s["ttft_ms"]["avg"],
                "itl_ms": s["itl_ms"]["avg"],
                "output_tokens_per_s": s["output_token_throughput"]["avg"],
            }
            rows.append(
                {
                    "connections": label,
                    "concurrency": c,
                    "chosen": c == cfg["chosen"],
                    "requests": s["requests"],
                    "errors": s["errors"],
                    "twin": twin,
                    "estimate": {k: est[k] for k, _ in FIGURES},
                    "ratio": {k: twin[k] / est[k] if est[k] else None for k, _ in FIGURES},
                }
            )
    return {
        "workers": {r: vars(p) for r, p in workers.items()},
        "mode": "disagg" if "prefill" in workers else "agg",
        "isl": cfg["isl"],
        "osl": cfg["osl"],
        "rows": rows,
    }


def table(results: dict[str, Any]) -> str:
    lines = []
    for name, r in results.items():
        shape = ", ".join(f"{role} TP{w['tp']}" for role, w in r["workers"].items())
        lines += [
            "",
            f"{name}: {r['workers']['decode']['model']} on {GPU}, {r['mode']} ({shape}), isl {r['isl']}, osl {r['osl']}",
        ]
        head = ["connections", "conc", *[f"{h} twin/est" for _, h in FIGURES], "within 20%"]
        body = []
        for row in r["rows"]:
            cells = [
                f"{row['twin'][k]:,.1f}/{row['estimate'][k]:,.1f} = {row['ratio'][k]:.2f}" if row["ratio"][k] else "-"
                for k, _ in FIGURES
            ]
            ok = all(row["ratio"][k] is not None and abs(row["ratio"][k] - 1) <= BAND for k, _ in FIGURES)
            mark = ("yes" if ok else "no") + (" (chosen)" if row["chosen"] else "")
            body.append([row["connections"], str(row["concurrency"]), *cells, mark])
        width = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
        lines += ["  ".join(c.ljust(width[i]) for i, c in enumerate(x)) for x in [head, *body]]
    return "\n".join(lines).lstrip("\n")


def main(names: list[str]) -> int:
    names = names or list(CONFIGS)
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        raise SystemExit(f"unknown configuration {unknown[0]!r}; known: {', '.join(CONFIGS)}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="twin-fidelity-") as tmp:
        for name in names:
            print(f"measuring {name} ...", file=sys.stderr, flush=True)
            results[name] = measure(name, CONFIGS[name], Path(tmp))
    text = table(results)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"twin-fidelity-{stamp}.txt").write_text(text + "\n")
    (RESULTS / f"twin-fidelity-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
