"""Benchmarks with AIPerf, as data: one argv builder for every place that runs it (the Kubernetes
Job, the local runtime: composer/local/aiperf_runs.py runs it), and the report of its results.

`aiperf_argv` is shared by the Kubernetes benchmark Job (the chart renders its list) and the
local runtime, so both measure the same thing. It follows Dynamo's own recipes
(benchmarks/utils/genai.py, recipes/*/perf.yaml): synthetic prompts of a fixed length, a
fixed output length forced with max_tokens/min_tokens/ignore_eos, one artifact dir per
concurrency (`c<N>`).
"""

from __future__ import annotations

import json
import math
import posixpath
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from composer.errors import ComposeError, UsageError

EXPORT_JSON = "profile_export_aiperf.json"
EXPORT_CSV = "profile_export_aiperf.csv"
STAT_METRICS = {
    "ttft_ms": ("time_to_first_token", "ms"),
    "itl_ms": ("inter_token_latency", "ms"),
    "request_latency_ms": ("request_latency", "ms"),
    "output_token_throughput_per_user": ("output_token_throughput_per_user", "tokens/s/user"),
    "request_throughput": ("request_throughput", "requests/s"),
    "output_token_throughput": ("output_token_throughput", "tokens/s"),
}
TABLE_ROWS = (
    ("time to first token (ms)", "ttft_ms"),
    ("inter-token latency (ms)", "itl_ms"),
    ("request latency (ms)", "request_latency_ms"),
    ("output tokens/s per user", "output_token_throughput_per_user"),
    ("output tokens/s", "output_token_throughput"),
    ("requests/s", "request_throughput"),
)


def aiperf_argv(
    *,
    model: str,
    url: str,
    tokenizer: str,
    concurrency: int,
    request_count: int,
    isl: int,
    osl: int,
    artifact_dir: str,
    endpoint_type: str = "chat",
    streaming: bool = True,
    warmup_request_count: int = 0,
    sla: Mapping[str, float] | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """`aiperf profile ...` for one concurrency. argv[0] is plain "aiperf": the Job's image has it
    on PATH, the local runtime swaps in its venv's."""
    for name, value, low in (
        ("concurrency", concurrency, 1),
        ("request_count", request_count, 1),
        ("isl", isl, 1),
        ("osl", osl, 1),
        ("warmup_request_count", warmup_request_count, 0),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise UsageError(f"benchmark {name} must be an integer >= {low}, got {value!r}")
    argv = ["aiperf", "profile", "--model", model, "--url", url, "--endpoint-type", endpoint_type]
    if streaming:
        argv.append("--streaming")
    argv += [
        "--tokenizer",
        tokenizer,
        "--concurrency",
        str(concurrency),
        "--request-count",
        str(request_count),
        "--synthetic-input-tokens-mean",
        str(isl),
        "--synthetic-input-tokens-stddev",
        "0",
        "--output-tokens-mean",
        str(osl),
        "--output-tokens-stddev",
        "0",
        "--extra-inputs",
        f"max_tokens:{osl}",
        "--extra-inputs",
        f"min_tokens:{osl}",
        "--extra-inputs",
        "ignore_eos:true",
        "--artifact-dir",
        artifact_dir,
        "--ui-type",
        "none",
    ]
    if warmup_request_count:
        argv += ["--warmup-request-count", str(warmup_request_count)]
    return argv + goodput_argv(sla) + list(extra)


# benchmark.config.sla key -> the AIPerf metric tag its threshold applies to (both in ms)
SLA_METRICS = {"ttft": "time_to_first_token", "itl": "inter_token_latency"}


def goodput_argv(sla: Mapping[str, float] | None) -> list[str]:
    """`--goodput "time_to_first_token:<ms> inter_token_latency:<ms>"` for the SLA given (none:
    nothing): AIPerf then counts the requests that meet every one of them (good_request_count,
    goodput in requests/s), in the cluster's Job and locally alike."""
    given = {k: v for k, v in (sla or {}).items() if v is not None}
    pairs = [f"{SLA_METRICS[k]}:{plain_number(given[k])}" for k in SLA_METRICS if k in given]
    return ["--goodput", " ".join(pairs)] if pairs else []


def plain_number(x: float) -> str:
    """200.0 -> "200", 12.5 -> "12.5": a number as a person writes it (no exponent for whole
    numbers, every digit Python needs to read the float back)."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def sweep_argvs(
    concurrencies: Sequence[int],
    *,
    artifact_dir: str,
    request_count: int | None = None,
    requests_per_concurrency: int = 10,
    min_requests: int | None = None,
    **kwargs: Any,
) -> list[tuple[int, list[str]]]:
    """One `aiperf_argv` per concurrency, each writing to `<artifact_dir>/c<N>`. Without a
    fixed request_count, each level sends `requests_per_concurrency * N` (the recipes' 10x),
    at least `min_requests`."""
    if not concurrencies:
        raise UsageError("benchmark concurrency list is empty")
    if len(set(concurrencies)) != len(concurrencies):
        raise UsageError(f"benchmark concurrencies repeat: {list(concurrencies)}")
    return [
        (
            c,
            aiperf_argv(
                concurrency=c,
                request_count=level_requests(
                    c, request_count=request_count, min_requests=min_requests, per_level=requests_per_concurrency
                ),
                artifact_dir=posixpath.join(artifact_dir, f"c{c}"),
                **kwargs,
            ),
        )
        for c in concurrencies
    ]


# What compose sets on every run itself: benchmark.config.extraArgs may not set them again
# (AIPerf would take the last, silently measuring something else than the values file says).
# Each flag with its AIPerf aliases, as `aiperf profile --help` (0.13.0) lists them.
OWN_FLAGS = (
    ("--model", "--model-names", "-m"),
    ("--url", "-u"),
    ("--endpoint-type",),
    ("--streaming",),
    ("--tokenizer",),
    ("--concurrency",),
    ("--request-rate",),
    ("--request-count", "--num-requests"),
    ("--synthetic-input-tokens-mean", "--prompt-input-tokens-mean", "--isl"),
    ("--synthetic-input-tokens-stddev", "--prompt-input-tokens-stddev"),
    ("--output-tokens-mean", "--prompt-output-tokens-mean", "--osl"),
    ("--output-tokens-stddev", "--prompt-output-tokens-stddev", "--osl-stddev"),
    ("--artifact-dir", "--output-artifact-dir"),
    ("--ui-type", "--ui"),
    ("--warmup-request-count", "--num-warmup-requests"),
)


def own_flag(arg: str) -> str | None:
    """The setting `arg` (an extraArgs item, `--flag` or `--flag=value`) would override: the
    flag compose sets itself, None when it is not one of them."""
    flag = arg.split("=", 1)[0]
    return next((names[0] for names in OWN_FLAGS if flag in names), None)


def checked_extra_args(args: Sequence[str]) -> list[str]:
    """benchmark.config.extraArgs, refused when one sets what compose sets itself (the values'
    check says where; this guards callers that skip it)."""
    for arg in args:
        flag = own_flag(arg)
        if flag:
            raise UsageError(f"benchmark extraArgs may not set {arg!r}: compose sets {flag} itself")
    return list(args)


def rate_name(rate: float) -> str:
    """A request-rate run's directory: r<rate> (r2, r0.5), beside the concurrency runs' c<N>."""
    return f"r{float(rate):g}"


def level_requests(level: float, *, request_count: int | None, min_requests: int | None, per_level: int = 10) -> int:
    """Requests one run sends: requestCount when fixed, else max(minRequests, 10 x level)
    (level: the concurrency, or the rate in requests/s: 10 s of traffic, rounded up)."""
    if request_count:
        return request_count
    return max(min_requests or 1, math.ceil(per_level * level))


def rate_argvs(
    rates: Sequence[float],
    *,
    artifact_dir: str,
    concurrency: int | None = None,
    request_count: int | None = None,
    min_requests: int | None = None,
    **kwargs: Any,
) -> list[tuple[str, list[str]]]:
    """One run per request rate (AIPerf --request-rate), each writing to `<artifact_dir>/r<rate>`;
    `concurrency`, when given, caps the requests in flight at every rate (AIPerf combines both)."""
    if not rates:
        raise UsageError("benchmark request rate list is empty")
    names = [rate_name(r) for r in rates]
    if len(set(names)) != len(names):
        raise UsageError(f"benchmark request rates repeat: {list(rates)}")
    out = []
    for rate, name in zip(rates, names):
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
            raise UsageError(f"benchmark request rate must be a number > 0, got {rate!r}")
        n = level_requests(rate, request_count=request_count, min_requests=min_requests)
        # aiperf_argv is per concurrency; a rate run is that argv with --request-rate instead
        argv = aiperf_argv(
            concurrency=concurrency or 1, request_count=n, artifact_dir=posixpath.join(artifact_dir, name), **kwargs
        )
        at = argv.index("--concurrency")
        argv[at : at + 2] = (["--concurrency", str(concurrency)] if concurrency else []) + [
            "--request-rate",
            f"{float(rate):g}",
        ]
        out.append((name, argv))
    return out


def run_level(argv: Sequence[str]) -> dict[str, Any]:
    """What a run's argv sweeps: its concurrency and its request rate (None where not set)."""

    def flag(name: str) -> str | None:
        return argv[argv.index(name) + 1] if name in argv else None

    c, r = flag("--concurrency"), flag("--request-rate")
    return {"concurrency": int(c) if c is not None else None, "request_rate": float(r) if r is not None else None}


def summarize(export: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers people compare, from aiperf 0.13.0's profile_export_aiperf.json."""

    def value(tag: str, stat: str = "avg") -> float | None:
        m = export.get(tag)
        return m.get(stat) if isinstance(m, Mapping) else None

    requests = value("request_count")
    # error_request_count is only written when there were errors.
    errors = value("error_request_count") or 0
    phase: dict[str, Any] = next(
        (p for p in (export.get("input_config") or {}).get("phases") or [] if p.get("kind") == "profiling"), {}
    )
    out: dict[str, Any] = {
        "requests": int(requests or 0),
        "errors": int(errors),
        "error_rate_pct": value("request_error_rate"),
        "concurrency": phase.get("concurrency"),
        "request_rate": phase.get("rate"),  # a request-rate run's target (requests/s)
        "duration_s": value("benchmark_duration"),
        "isl": value("input_sequence_length"),
        "osl": value("output_sequence_length"),
    }
    for key, (tag, unit) in STAT_METRICS.items():
        out[key] = {"avg": value(tag), "p50": value(tag, "p50"), "p99": value(tag, "p99"), "unit": unit}
    if out["error_rate_pct"] is None:
        total = out["requests"] + out["errors"]
        out["error_rate_pct"] = 100.0 * out["errors"] / total if total else 0.0
    return out


def format_table(summary: Mapping[str, Any]) -> str:
    """A plain text table of one summary."""
    rows = [("metric", "avg", "p50", "p99")]
    for label, key in TABLE_ROWS:
        s = summary.get(key) or {}
        rows.append((label, _num(s.get("avg")), _num(s.get("p50")), _num(s.get("p99"))))
    width = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join([r[0].ljust(width[0])] + [r[i].rjust(width[i]) for i in (1, 2, 3)]) for r in rows]
    foot = f"requests: {summary.get('requests', 0)}  errors: {summary.get('errors', 0)}"
    if summary.get("concurrency") is not None:
        foot = f"concurrency: {summary['concurrency']}  " + foot
    if summary.get("duration_s") is not None:
        foot += f"  duration: {summary['duration_s']:.2f} s"
    return "\n".join(lines + [foot])


def format_sweep(summaries: Sequence[Mapping[str, Any]]) -> str:
    """One row per concurrency: the averages that show how a deployment scales."""
    per_gpu = any("output_token_throughput_per_gpu" in s for s in summaries)
    rates = any(s.get("request_rate") is not None for s in summaries)
    head = (
        (("target req/s",) if rates else ())
        + (("concurrency", "requests", "errors", "TTFT avg ms", "ITL avg ms", "req/s", "out tok/s"))
        + (("out tok/s/GPU",) if per_gpu else ())
    )
    rows = [head] + [
        ((f"{s['request_rate']:g}" if s.get("request_rate") is not None else "-",) if rates else ())
        + (
            "-" if s.get("concurrency") is None else str(s.get("concurrency")),
            str(s.get("requests")),
            str(s.get("errors")),
            _num((s.get("ttft_ms") or {}).get("avg")),
            _num((s.get("itl_ms") or {}).get("avg")),
            _num((s.get("request_throughput") or {}).get("avg")),
            _num((s.get("output_token_throughput") or {}).get("avg")),
        )
        + ((_num(s.get("output_token_throughput_per_gpu")),) if per_gpu else ())
        for s in summaries
    ]
    width = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.rjust(width[i]) for i, c in enumerate(r)) for r in rows)


def format_result(result: Mapping[str, Any]) -> str:
    """A sweep's table, each run's distribution, where the artifacts and plots are."""
    if result.get("report"):  # the sweep report (composer/report.py) has every number below
        from composer import report

        lines = [report.format_text(result["report"]), ""]
    else:
        lines = [format_sweep([r["summary"] for r in result["runs"]]), ""]
        for run in result["runs"]:  # the distribution of each run: avg, p50, p99
            lines += [f"{run['name']}:", format_table(run["summary"]), ""]
    lines.append(f"artifacts: {result['artifact_dir']}  ({result['seconds']:.1f} s)")
    if result.get("plots"):
        lines.append(
            f"plots: {len(result['plots'])} PNG{'' if len(result['plots']) == 1 else 's'} in {result['artifact_dir']}/plots"
        )
    elif result.get("plot_note"):
        lines.append(f"plots: {result['plot_note']}")
    if result.get("report"):
        lines.append(
            f"report: {result['report']['files']['report.md']}  (and {result['report']['files']['sweep.csv']})"
        )
    return "\n".join(lines)


def results_dir(root: Path, env: str) -> Path:
    """Where a new set of results goes: results/<env>/<UTC time>/ (kept out of git)."""
    return Path(root) / "results" / env / time.strftime("%Y%m%d-%H%M%S", time.gmtime())


def collect(artifact_dir: Path, runs: Sequence[Mapping[str, Any]], *, gpus: int = 0) -> dict[str, Any]:
    """Summaries of runs already on disk (copied back from a cluster), shaped like run_local's;
    with the deployment's GPU count, output throughput per GPU too."""
    out = []
    for run in runs:
        export = Path(artifact_dir) / run["name"] / EXPORT_JSON
        if not export.is_file():
            raise ComposeError(
                f"run {run['name']} has no {EXPORT_JSON} in {export.parent}: "
                "did the benchmark Job finish? (kubectl logs job/...)"
            )
        argv = list(run["args"])
        summary = summarize(json.loads(export.read_text()))
        throughput = summary["output_token_throughput"]["avg"]
        if gpus and throughput is not None:
            summary["output_token_throughput_per_gpu"] = throughput / gpus
        out.append(
            {
                "name": run["name"],
                **run_level(argv),
                "summary": summary,
                "artifact_dir": str(export.parent),
                "json": str(export),
                "csv": str(export.parent / EXPORT_CSV),
                "argv": argv,
            }
        )
    return {
        "runs": out,
        "artifact_dir": str(artifact_dir),
        "plots": [],
        "plot_note": None,
        "seconds": 0.0,
        **({"gpus": gpus} if gpus else {}),
    }


def _num(x: Any) -> str:
    if x is None:
        return "-"
    return f"{x:,.2f}"
