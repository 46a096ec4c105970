"""The report of a benchmark sweep, as an LLM-serving engineer reads it: one row per concurrency
(latency percentiles, throughput per GPU and per user, goodput against the SLA), printed and
written to the results directory as sweep.csv and report.md beside the plots.

The numbers are AIPerf's own (each run's profile_export_aiperf.json), nothing recomputed but
what needs the deployment: throughput per GPU (AIPerf knows no GPU count without GPU telemetry).
Goodput is AIPerf's too: compose passes it the SLA (`--goodput`, composer/bench.py).

The same functions serve `compose bench` locally (the warm plotter draws while compose waits,
composer/local/aiperf_runs.py) and `compose bench results` for Kubernetes (over the copied-back
artifacts, the plotter started then).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from composer.bench import plain_number

SWEEP_CSV = "sweep.csv"
SWEEP_JSON = "sweep.json"  # the rows, the SLA and the prediction: what the plotter draws ours from
REPORT_MD = "report.md"
PERCENTILES = ("p50", "p90", "p99")
# metric -> (AIPerf tag, column prefix): the distributions reported at PERCENTILES
LATENCIES = {
    "ttft": ("time_to_first_token", "ttft"),
    "itl": ("inter_token_latency", "itl"),
    "request_latency": ("request_latency", "request_latency"),
}
# sweep.csv's columns, in this order always (an empty cell: not measured, e.g. goodput without an SLA)
COLUMNS = (
    "concurrency",
    "requests",
    "errors",
    *(f"{prefix}_{p}_ms" for _, prefix in LATENCIES.values() for p in PERCENTILES),
    "output_tokens_per_s",
    "output_tokens_per_s_per_gpu",
    "output_tokens_per_s_per_user",
    "good_requests",
    "goodput_requests_per_s",
    "good_requests_pct",
)
PREDICTED_KEYS = (  # tune.predicted key -> the sweep column it predicts, and the label
    ("ttftMs", "ttft_p50_ms", "TTFT p50 (ms)"),
    ("itlMs", "itl_p50_ms", "ITL p50 (ms)"),
    ("tokensPerSecondPerGpu", "output_tokens_per_s_per_gpu", "output tokens/s per GPU"),
    ("tokensPerSecondPerUser", "output_tokens_per_s_per_user", "output tokens/s per user"),
)


CLUSTER_TIMINGS = "measured on the cluster, on the deployment's GPUs"


def spec(dep: Any, *, gpus: int | None = None, timing_note: str) -> dict[str, Any]:
    """build's options for a Deployment (composer/model.py): its benchmark.config.sla, the
    prediction `compose tune` left in its values (tune.predicted), and the GPU count the timings
    stand for: `gpus`, else the deployment's own (Deployment.gpu_count)."""
    return {
        "gpus": dep.gpu_count if gpus is None else gpus,
        "sla": dep.values["benchmark"]["config"].get("sla"),
        "predicted": (dep.values.get("tune") or {}).get("predicted"),
        "timing_note": timing_note,
    }


def sweep_row(export: Mapping[str, Any], *, concurrency: int, gpus: int) -> dict[str, Any]:
    """One concurrency's row, from its profile_export_aiperf.json (aiperf 0.13.0)."""

    def stat(tag: str, key: str = "avg") -> float | None:
        m = export.get(tag)
        v = m.get(key) if isinstance(m, Mapping) else None
        return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None

    requests = int(stat("request_count") or 0)
    errors = int(stat("error_request_count") or 0)  # only written when there were errors
    row: dict[str, Any] = {"concurrency": concurrency, "requests": requests, "errors": errors}
    for tag, prefix in LATENCIES.values():
        for p in PERCENTILES:
            row[f"{prefix}_{p}_ms"] = stat(tag, p)
    throughput = stat("output_token_throughput")
    row["output_tokens_per_s"] = throughput
    row["output_tokens_per_s_per_gpu"] = throughput / gpus if gpus and throughput is not None else None
    row["output_tokens_per_s_per_user"] = stat("output_token_throughput_per_user")
    # written by AIPerf only when it was given --goodput (the SLA)
    good = stat("good_request_count")
    row["good_requests"] = None if good is None else int(good)
    row["goodput_requests_per_s"] = stat("goodput")
    sent = requests + errors  # a failed request met no SLA
    row["good_requests_pct"] = None if good is None or not sent else 100.0 * good / sent
    return row


def build(
    runs: Sequence[Mapping[str, Any]],
    *,
    gpus: int,
    sla: Mapping[str, float] | None = None,
    predicted: Mapping[str, Any] | None = None,
    timing_note: str,
) -> dict[str, Any]:
    """The report's data from runs on disk (each `{concurrency, json}`, as run_local and
    bench.collect return them), sorted by concurrency. `gpus`: the GPU count of the deployment
    the timings stand for (0: none, no per-GPU numbers). `timing_note`: the caller's one line on
    what the timings are (measured on GPUs, mocker timings, a simulation of some GPU)."""
    rows = sorted(
        (
            sweep_row(json.loads(Path(r["json"]).read_text()), concurrency=int(r["concurrency"]), gpus=gpus)
            for r in runs
        ),
        key=lambda row: row["concurrency"],
    )
    given = {k: float(v) for k, v in (sla or {}).items() if k in ("ttft", "itl") and v is not None}
    return {
        "rows": rows,
        "sla": given,
        "gpus": gpus,
        "timing_note": timing_note,
        "predicted": _predicted(predicted, rows),
    }


def _predicted(predicted: Mapping[str, Any] | None, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """`tune.predicted` beside what was measured at its concurrency (None when there is none)."""
    if not isinstance(predicted, Mapping) or not predicted:
        return None
    concurrency = predicted.get("concurrency")
    measured = next((r for r in rows if r["concurrency"] == concurrency), None)
    return {
        "concurrency": concurrency,
        "measured_at_concurrency": measured is not None,
        "metrics": [
            {
                "metric": label,
                "column": column,
                "predicted": predicted.get(key),
                "measured": measured.get(column) if measured else None,
            }
            for key, column, label in PREDICTED_KEYS
            if isinstance(predicted.get(key), int | float)
        ],
    }


# -- files -------------------------------------------------------------------------------------


def write_plot_input(dest: Path, report: Mapping[str, Any]) -> Path:
    """sweep.json: what the plotter (local/aiperf_plot.py, in the aiperf venv) draws ours from."""
    path = Path(dest) / SWEEP_JSON
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return path


def to_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """COLUMNS, one row per concurrency, plain numbers (no unit, no thousands separator)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for row in rows:
        w.writerow(["" if row.get(c) is None else plain_number(row[c]) for c in COLUMNS])
    return out.getvalue()


def write_files(dest: Path, report: dict[str, Any], *, plots: Sequence[str], plot_note: str | None) -> dict[str, Any]:
    """sweep.csv, sweep.json and report.md in `dest`; the report with their paths."""
    dest = Path(dest)
    report["plots"] = sorted(str(Path(p).relative_to(dest)) if Path(p).is_relative_to(dest) else str(p) for p in plots)
    report["plot_note"] = plot_note
    write_plot_input(dest, {k: v for k, v in report.items() if k != "files"})
    (dest / SWEEP_CSV).write_text(to_csv(report["rows"]))
    (dest / REPORT_MD).write_text(to_markdown(report))
    report["files"] = {name: str(dest / name) for name in (REPORT_MD, SWEEP_CSV, SWEEP_JSON)}
    return report


def to_markdown(report: Mapping[str, Any]) -> str:
    sla = report["sla"]
    lines = [
        "# Benchmark report",
        "",
        f"- Timings: {report['timing_note']}",
        f"- GPUs: {report['gpus'] or 'none counted (no per-GPU throughput)'}",
        f"- SLA: {format_sla(sla)}",
        "",
        "## Sweep",
        "",
        *_md_table(report["rows"], goodput=bool(sla)),
        "",
        f"Every column, as plain numbers: [{SWEEP_CSV}]({SWEEP_CSV}).",
    ]
    if report.get("predicted"):
        lines += ["", "## Predicted vs measured", "", *_md_predicted(report["predicted"])]
    lines += ["", "## Plots", ""]
    if report.get("plots"):
        lines += [f"![{Path(p).stem}]({p})" for p in report["plots"]]
    else:
        lines.append(f"No plots: {report.get('plot_note') or 'none were drawn'}.")
    if report.get("plot_note") and report.get("plots"):
        lines += ["", f"Note: {report['plot_note']}"]
    return "\n".join(lines) + "\n"


def _md_table(rows: Sequence[Mapping[str, Any]], *, goodput: bool) -> list[str]:
    head, cells = _columns(rows, goodput=goodput)
    return [
        "| " + " | ".join(h.replace("\n", " ") for h in head) + " |",
        "|" + "---:|" * len(head),
        *("| " + " | ".join(r) + " |" for r in cells),
    ]


def _md_predicted(pred: Mapping[str, Any]) -> list[str]:
    lines = []
    if not pred["measured_at_concurrency"]:
        lines += [f"The sweep did not measure concurrency {pred['concurrency']}, where these were predicted.", ""]
    lines += [f"At concurrency {pred['concurrency']}:", "", "| metric | predicted | measured |", "|---|---:|---:|"]
    lines += [f"| {m['metric']} | {_num(m['predicted'])} | {_num(m['measured'])} |" for m in pred["metrics"]]
    return lines


# -- text --------------------------------------------------------------------------------------

# the printed tables: (header, column) each; two tables keep each under 120 columns
LATENCY_TABLE = (
    ("conc", "concurrency"),
    ("requests", "requests"),
    ("errors", "errors"),
    *((f"TTFT {p} ms", f"ttft_{p}_ms") for p in PERCENTILES),
    *((f"ITL {p} ms", f"itl_{p}_ms") for p in PERCENTILES),
)
THROUGHPUT_TABLE = (
    ("conc", "concurrency"),
    *((f"e2e {p} ms", f"request_latency_{p}_ms") for p in PERCENTILES),  # request latency, end to end
    ("out tok/s", "output_tokens_per_s"),
    ("tok/s/GPU", "output_tokens_per_s_per_gpu"),
    ("tok/s/user", "output_tokens_per_s_per_user"),
)
GOODPUT_COLUMNS = (
    ("good req", "good_requests"),
    ("good %", "good_requests_pct"),
    ("goodput req/s", "goodput_requests_per_s"),
)


def _columns(rows: Sequence[Mapping[str, Any]], *, goodput: bool) -> tuple[list[str], list[list[str]]]:
    """Every column of both text tables, for the markdown's one table."""
    cols = list(LATENCY_TABLE) + list(THROUGHPUT_TABLE[1:]) + (list(GOODPUT_COLUMNS) if goodput else [])
    return [h for h, _ in cols], [[_cell(r, c) for _, c in cols] for r in rows]


def format_text(report: Mapping[str, Any]) -> str:
    """The sweep as two aligned tables (latency; throughput and goodput), then the SLA, the GPU
    count, the timing note and the prediction."""
    rows, sla = report["rows"], report["sla"]
    lines = _text_table(LATENCY_TABLE, rows) + [""]
    lines += _text_table(THROUGHPUT_TABLE + (GOODPUT_COLUMNS if sla else ()), rows) + [""]
    lines.append(f"SLA: {format_sla(sla)}")
    lines.append(f"GPUs: {report['gpus'] or 'none counted (no per-GPU throughput)'}")
    lines.append(f"timings: {report['timing_note']}")
    pred = report.get("predicted")
    if pred:
        where = "" if pred["measured_at_concurrency"] else " (not measured by this sweep)"
        lines += ["", f"predicted vs measured at concurrency {pred['concurrency']}{where}:"]
        table = [("metric", "predicted", "measured")] + [
            (m["metric"], _num(m["predicted"]), _num(m["measured"])) for m in pred["metrics"]
        ]
        width = [max(len(r[i]) for r in table) for i in range(3)]
        lines += ["  " + "  ".join([r[0].ljust(width[0]), r[1].rjust(width[1]), r[2].rjust(width[2])]) for r in table]
    return "\n".join(lines)


def _text_table(columns: Sequence[tuple[str, str]], rows: Sequence[Mapping[str, Any]]) -> list[str]:
    table = [[h for h, _ in columns]] + [[_cell(r, c) for _, c in columns] for r in rows]
    width = [max(len(t[i]) for t in table) for i in range(len(columns))]
    return ["  ".join(c.rjust(width[i]) for i, c in enumerate(t)) for t in table]


def format_sla(sla: Mapping[str, float]) -> str:
    if not sla:
        return "none given (benchmark.config.sla): no goodput"
    parts = [f"{label} <= {plain_number(sla[k])} ms" for k, label in (("ttft", "TTFT"), ("itl", "ITL")) if k in sla]
    return " and ".join(parts) + " per request; goodput: the requests meeting every one (AIPerf's --goodput)"


def _cell(row: Mapping[str, Any], column: str) -> str:
    v = row.get(column)
    return str(v) if column in ("concurrency", "requests", "errors", "good_requests") and v is not None else _num(v)


def _num(x: Any) -> str:
    if x is None:
        return "-"
    return f"{x:,.2f}"


# -- results copied back from a cluster --------------------------------------------------------


def report_collected(result: dict[str, Any], report_spec: Mapping[str, Any], *, plots: bool = True) -> dict[str, Any]:
    """The report over a result of bench.collect (artifacts copied back from the cluster): the
    same files and plots as a local run, drawn by the aiperf venv's plotter when it is installed;
    without it, one line says so and the CSV and markdown are written all the same."""
    from composer.local import aiperf_runs, venvs

    dest = Path(result["artifact_dir"])
    data = build(result["runs"], **report_spec)
    sweep = write_plot_input(dest, data)
    files: list[str] = []
    note = None
    if plots and not venvs.venv_bin("aiperf", "python").exists():
        note = f"not drawn: the aiperf venv is not installed on this machine ({venvs.install_command('aiperf')})"
    elif plots:
        options = ["--gpus", str(data["gpus"]), "--sweep", str(sweep)]
        files, note = aiperf_runs.draw([Path(r["artifact_dir"]) for r in result["runs"]], dest / "plots", options)
    result["plots"], result["plot_note"] = files, note
    result["report"] = write_files(dest, data, plots=files, plot_note=note)
    return result
