"""`compose bench compare RUN_A RUN_B [...]`: what changed between benchmark results.

A RUN is a results directory (results/<env>/<time>/: summary.json, or only the per-run AIPerf exports
that `compose bench results` copies back from a cluster) or an environment's name (its latest
results). The first RUN is the baseline; every level (c4, r2) present in all of them gets the
deltas of the numbers people compare. The overlaid plots are drawn by plotly + kaleido in the
aiperf venv (composer/local/compare_plot.py), as AIPerf's own plots are.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from composer import bench
from composer.errors import UsageError

SUMMARY = "summary.json"
# (key, label, where in a run's summary); lower is better for latencies, higher for throughput
METRICS = (
    ("ttft_p50_ms", "TTFT p50 (ms)", ("ttft_ms", "p50")),
    ("ttft_p99_ms", "TTFT p99 (ms)", ("ttft_ms", "p99")),
    ("itl_p50_ms", "ITL p50 (ms)", ("itl_ms", "p50")),
    ("itl_p99_ms", "ITL p99 (ms)", ("itl_ms", "p99")),
    ("latency_p50_ms", "request latency p50 (ms)", ("request_latency_ms", "p50")),
    ("latency_p99_ms", "request latency p99 (ms)", ("request_latency_ms", "p99")),
    ("output_tokens_per_s", "output tokens/s", ("output_token_throughput", "avg")),
    ("output_tokens_per_s_per_gpu", "output tokens/s/GPU", ("output_token_throughput_per_gpu", None)),
)
PLOTS = (
    ("ttft.png", "TTFT p50", "ttft_p50_ms", "ms"),
    ("itl.png", "Inter-token latency p50", "itl_p50_ms", "ms"),
    ("throughput.png", "Output token throughput", "output_tokens_per_s", "tokens/s"),
)
_LEVEL = re.compile(r"^(?P<kind>[cr])(?P<value>\d+(\.\d+)?)$")


def resolve(spec: str, root: Path) -> Path:
    """A RUN argument as a results directory: the directory itself, or results/<env>/'s latest."""
    path = Path(spec)
    if path.is_dir():
        return path
    env_dir = Path(root) / "results" / spec
    if "/" not in spec and env_dir.is_dir():
        found = sorted(d for d in env_dir.iterdir() if d.is_dir() and _has_runs(d))
        if found:
            return found[-1]
        raise UsageError(f"{spec}: environment {spec!r} has no benchmark results in {env_dir}")
    raise UsageError(
        f"{spec}: no such results directory, nor an environment with results under {Path(root) / 'results'}"
        " (give results/<env>/<time>/ or an environment's name)"
    )


def _has_runs(d: Path) -> bool:
    return (d / SUMMARY).is_file() or any(d.glob(f"*/{bench.EXPORT_JSON}"))


def load(directory: Path) -> dict[str, dict[str, Any]]:
    """Each run's summary by run name (c4, r2) from a results directory: summary.json when the
    local run wrote one, else the AIPerf exports of its run directories (a cluster's results)."""
    summary = directory / SUMMARY
    if summary.is_file():
        try:
            data = json.loads(summary.read_text())
            return {run["name"]: run["summary"] for run in data["runs"]}
        except (ValueError, KeyError, TypeError) as e:
            raise UsageError(f"{directory}: {SUMMARY} is not a benchmark summary ({type(e).__name__}: {e})") from None
    gpus = _recorded_gpus(directory)
    out = {}
    for export in sorted(directory.glob(f"*/{bench.EXPORT_JSON}")):
        try:
            s = bench.summarize(json.loads(export.read_text()))
        except (ValueError, AttributeError) as e:
            raise UsageError(f"{export}: not an AIPerf export ({type(e).__name__}: {e})") from None
        throughput = s["output_token_throughput"]["avg"]
        if gpus and throughput is not None:
            s["output_token_throughput_per_gpu"] = throughput / gpus
        out[export.parent.name] = s
    if not out:
        raise UsageError(f"{directory}: not a benchmark results directory (no {SUMMARY}, no */{bench.EXPORT_JSON})")
    return out


def _recorded_gpus(directory: Path) -> int | None:
    from composer.kube import SUMMARY as JOB_SUMMARY
    from composer.kube import recorded_gpus

    return recorded_gpus(directory / JOB_SUMMARY)


def _metric(summary: Mapping[str, Any], where: tuple[str, str | None]) -> float | None:
    value = summary.get(where[0])
    if where[1] is not None:
        value = value.get(where[1]) if isinstance(value, Mapping) else None
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def level_order(name: str) -> tuple:
    """c1 < c4 < c16, then r0.5 < r2; names of another shape last, by name."""
    m = _LEVEL.match(name)
    return (0, m["kind"], float(m["value"])) if m else (1, name, 0.0)


def compare(runs: Sequence[tuple[str, Mapping[str, Mapping[str, Any]]]]) -> dict[str, Any]:
    """(label, {level: summary}) per run, the first the baseline: per level present in all, each
    metric's values and each later run's delta from the baseline, absolute and in %."""
    common = sorted(set.intersection(*(set(levels) for _, levels in runs)), key=level_order)
    levels = []
    for level in common:
        metrics = {}
        for key, label, where in METRICS:
            values = [_metric(levels_of[level], where) for _, levels_of in runs]
            if all(v is None for v in values):
                continue  # tokens/s/GPU when no run knows its GPUs
            base = values[0]
            deltas = [
                None
                if base is None or v is None
                else {"abs": v - base, "pct": (100.0 * (v - base) / base) if base else None}
                for v in values[1:]
            ]
            metrics[key] = {"label": label, "values": values, "deltas": deltas}
        levels.append({"level": level, "metrics": metrics})
    only = {label: sorted(set(levels_of) - set(common), key=level_order) for label, levels_of in runs}
    return {
        "baseline": runs[0][0],
        "runs": [label for label, _ in runs],
        "levels": levels,
        "not_in_every_run": {k: v for k, v in only.items() if v},
    }


def figures(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What compare_plot.py draws: one figure per metric, one trace per run over the common levels."""
    names = [lv["level"] for lv in result["levels"]]
    kinds = {(_LEVEL.match(n) or {"kind": None})["kind"] for n in names}
    if kinds == {"c"}:
        x_title, xs = "concurrency", [float(n[1:]) for n in names]
    elif kinds == {"r"}:
        x_title, xs = "request rate (requests/s)", [float(n[1:]) for n in names]
    else:
        x_title, xs = "level", names
    out = []
    for file, title, key, unit in PLOTS:
        traces = [
            {
                "name": label,
                "x": xs,
                "y": [
                    (lv["metrics"].get(key) or {"values": [None] * len(result["runs"])})["values"][i]
                    for lv in result["levels"]
                ],
            }
            for i, label in enumerate(result["runs"])
        ]
        out.append({"file": file, "title": title, "x_title": x_title, "y_title": unit, "traces": traces})
    return out


def default_out(root: Path) -> Path:
    return Path(root) / "results" / time.strftime("compare-%Y%m%d-%H%M%S", time.gmtime())


def run(specs: Sequence[str], *, root: Path, out: str | Path | None = None, plots: bool = True) -> dict[str, Any]:
    """Resolve, load, compare, write compare.json and the plots into `out`."""
    if len(specs) < 2:
        raise UsageError("bench compare needs at least two runs: RUN_A (the baseline) RUN_B [...]")
    dirs = [resolve(s, root) for s in specs]
    labels = _labels(specs, dirs)
    result = compare([(label, load(d)) for label, d in zip(labels, dirs)])
    result["dirs"] = [str(d) for d in dirs]
    if not result["levels"]:
        raise UsageError(
            "no level (concurrency or request rate) is in every run: "
            + "; ".join(f"{label}: {', '.join(sorted(load(d), key=level_order))}" for label, d in zip(labels, dirs))
        )
    out = Path(out) if out else default_out(root)
    out.mkdir(parents=True, exist_ok=True)
    result["out"] = str(out)
    result["plots"], result["plot_note"] = draw(figures(result), out) if plots else ([], "not drawn (--no-plots)")
    (out / "compare.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _labels(specs: Sequence[str], dirs: Sequence[Path]) -> list[str]:
    """A run's name in tables and legends: <env>/<time> of its directory, unique."""
    labels = [f"{d.resolve().parent.name}/{d.resolve().name}" for d in dirs]
    return [label if labels.count(label) == 1 else f"{label} ({i + 1})" for i, label in enumerate(labels)]


def draw(figs: Sequence[Mapping[str, Any]], out: Path) -> tuple[list[str], str | None]:
    """compare_plot.py in the aiperf venv (plotly and kaleido are AIPerf's): PNGs in `out`."""
    from composer import proc
    from composer.errors import ComposeError
    from composer.local.venvs import require

    spec = out / "figures.json"
    spec.write_text(json.dumps({"figures": list(figs)}, indent=2) + "\n")
    script = Path(__file__).parent / "local" / "compare_plot.py"
    try:
        python = str(require("aiperf", "python"))
    except ComposeError as e:  # the comparison stands without its pictures
        return [], f"not drawn: {e}"
    done = proc.run([python, str(script), str(spec), str(out)])
    (out / "plot.log").write_text(done.stdout + done.stderr)
    files = [str(out / f["file"]) for f in figs if (out / f["file"]).is_file()]
    if len(files) == len(figs):
        return files, None
    if "Chrome" in done.stdout + done.stderr:
        return files, "no PNGs: kaleido needs Google Chrome or Chromium installed; the numbers are in compare.json"
    return files, f"plotting failed (exit {done.returncode}); see {out / 'plot.log'}"


def format_compare(result: Mapping[str, Any]) -> str:
    """Per level, one row per metric: each run's value, then each later run's delta (abs, %)."""
    runs = result["runs"]
    lines = [f"baseline: {runs[0]}  ({result['dirs'][0]})"]
    lines += [f"run {i + 1}: {label}  ({d})" for i, (label, d) in enumerate(zip(runs[1:], result["dirs"][1:]))]
    head = ["metric", "baseline"] + [f"run {i + 1}" for i in range(len(runs) - 1)]
    head += [f"delta {i + 1}" for i in range(len(runs) - 1)]
    for lv in result["levels"]:
        rows = [head]
        for m in lv["metrics"].values():
            rows.append([m["label"], *(_num(v) for v in m["values"]), *(_delta(d) for d in m["deltas"])])
        width = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines += ["", f"{lv['level']}:"]
        lines += ["  ".join([r[0].ljust(width[0])] + [c.rjust(width[i]) for i, c in enumerate(r) if i]) for r in rows]
    for label, levels in result.get("not_in_every_run", {}).items():
        lines.append(f"\nonly in {label}: {', '.join(levels)} (not compared)")
    lines.append("")
    if result["plots"]:
        lines.append(f"plots: {', '.join(Path(p).name for p in result['plots'])} in {result['out']}")
    if result.get("plot_note"):
        lines.append(f"plots: {result['plot_note']}")
    lines.append(f"written: {Path(result['out']) / 'compare.json'}")
    return "\n".join(lines)


def _num(x: Any) -> str:
    return "-" if x is None else f"{x:,.2f}"


def _delta(d: Mapping[str, Any] | None) -> str:
    if d is None:
        return "-"
    pct = "" if d["pct"] is None else f" ({d['pct']:+.1f}%)"
    return f"{d['abs']:+,.2f}{pct}"
