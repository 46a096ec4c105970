#!/usr/bin/env python3
"""`compose tune` against AIConfigurator alone on the same inputs: median wall time of each, and
their ratio (target <= 1.10x: compose adds reading the results and writing the project).

    .venv/bin/python benchmarks/tune.py [--reps N] [--backend vllm] [--json]

Subject: `compose tune --model ... --dir NEW` (a new process, as a user runs it). Baseline:
`aiconfigurator cli default ... --save-dir NEW` (its own console script, the same inputs). They
alternate, so drift on a shared machine hits both; each run gets a new directory. CPU time (user +
sys, from wait4) is printed beside: on a loaded machine it says more than wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from composer.local import venvs  # noqa: E402

TARGET = 1.10
INPUTS = {
    "model": "Qwen/Qwen3-32B",
    "gpu": "h200_sxm",
    "gpus": "8",
    "isl": "4000",
    "osl": "500",
    "ttft": "600",
    "itl": "20",
}


def _timed(argv: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + sys of the process and of what it waited for, from wait4)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{argv[0]} failed ({proc.returncode}):\n{err.read().decode()[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime


def measure(reps: int, backend: str) -> dict:
    cli = venvs.require("aiconfigurator", "aiconfigurator")
    i = INPUTS
    compose = [sys.executable, "-m", "composer", "tune", "--backend", backend]
    compose += [a for k, v in i.items() for a in (f"--{k}", v)]
    alone = [str(cli), "cli", "default", "--model-path", i["model"], "--system", i["gpu"], "--backend", backend]
    alone += ["--total-gpus", i["gpus"], "--isl", i["isl"], "--osl", i["osl"], "--ttft", i["ttft"], "--tpot", i["itl"]]
    subject: list[tuple[float, float]] = []
    baseline: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-tune-") as tmp:
        root = Path(tmp)
        for n in range(reps):
            subject.append(_timed([*compose, "--dir", f"p{n}"], root))
            baseline.append(_timed([*alone, "--save-dir", str(root / f"a{n}")], root))
    s, b = statistics.median(w for w, _ in subject), statistics.median(w for w, _ in baseline)
    sc, bc = statistics.median(c for _, c in subject), statistics.median(c for _, c in baseline)
    return {
        "name": "tune",
        "description": f"`compose tune` / `aiconfigurator cli default`, {backend}, {i['model']} on {i['gpus']} x {i['gpu']}",
        "unit": "s",
        "subject": round(s, 3),
        "baseline": round(b, 3),
        "ratio": round(s / b, 3),
        "cpu_subject": round(sc, 3),
        "cpu_baseline": round(bc, 3),
        "cpu_ratio": round(sc / bc, 3),
        "target": TARGET,
        "meets_target": s / b <= TARGET,
        "reps": reps,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--backend", default="vllm", choices=["vllm", "sglang", "trtllm"])
    ap.add_argument("--json", action="store_true", help="print the figure as JSON only")
    args = ap.parse_args()
    fig = measure(args.reps, args.backend)
    if args.json:
        print(json.dumps(fig, indent=2))
    else:
        print(f"{fig['description']}\n  compose tune     {fig['subject']:.2f} s (median of {fig['reps']})\n"
              f"  aiconfigurator   {fig['baseline']:.2f} s\n  ratio            {fig['ratio']:.3f}x "
              f"(target <= {TARGET}x: {'met' if fig['meets_target'] else 'NOT met'})\n"
              f"  CPU time         {fig['cpu_subject']:.2f} s / {fig['cpu_baseline']:.2f} s = {fig['cpu_ratio']:.3f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
