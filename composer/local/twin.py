"""The twin's GPU timings, made with AIConfigurator in its own venv (composer/twin.py says what and
on which grid; composer/local/twin_perf.py computes them).

    path = perf_data(WorkerPerf("Qwen/Qwen3-0.6B", "h200_sxm", "vllm", 1))   # cached NPZ for the mocker
    static_estimate(None, decode, isl=1024, osl=128, concurrency=8)            # AIConfigurator's own numbers
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from composer import proc, twin
from composer.errors import ComposeError, UsageError, quoted
from composer.local.venvs import require
from composer.twin import WorkerPerf

SCRIPT = Path(__file__).parent / "twin_perf.py"
EXIT_UNSUPPORTED = 2  # twin_perf.py's: AIConfigurator cannot estimate the worker


def _run(request: dict[str, Any], what: str, environ: Mapping[str, str] | None) -> dict[str, Any]:
    """One run of the script in the AIConfigurator venv: its JSON answer, or the error it stands for."""
    python = require("aiconfigurator", "python", environ)
    done = proc.run([str(python), str(SCRIPT)], input=json.dumps(request))
    answer: dict[str, Any] = {}
    lines = done.stdout.strip().splitlines()
    if lines:
        with contextlib.suppress(ValueError):
            answer = json.loads(lines[-1])
    if done.returncode == EXIT_UNSUPPORTED and "unsupported" in answer:
        raise UsageError(f"twin: cannot time {what}: {answer['unsupported']}")
    if done.returncode != 0 or not answer:
        raise ComposeError(
            f"twin: AIConfigurator {twin.AICONFIGURATOR_VERSION} failed on {what} "
            f"(exit {done.returncode}):\n{quoted(done.stderr, last=15)}"
        )
    return answer


def perf_data(
    perf: WorkerPerf,
    *,
    progress: Callable[[str], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """The mocker-format NPZ of the worker's timings: from the cache (twin.cache_root), else made
    now by one AIConfigurator process (a few seconds). An unsupported worker is a UsageError
    with AIConfigurator's reason; it leaves nothing in the cache."""
    twin.check(perf)
    root = twin.cache_root(environ)
    path = twin.cache_path(perf, root)
    if path.is_file() and twin.description_path(path).is_file():
        return path
    if progress:
        progress(f"twin: timing {perf.describe()} with AIConfigurator {twin.AICONFIGURATOR_VERSION}")
    made = [d for d in reversed(path.parents) if d.is_relative_to(root) and not d.exists()]
    try:
        _run({"mode": "perf_data", "spec": twin.spec(perf), "out": str(path)}, perf.describe(), environ)
    except BaseException:
        for leftover in (path, twin.description_path(path)):
            leftover.unlink(missing_ok=True)
        for d in reversed(made):  # the directories this call created, deepest first, if empty
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    return path


def static_estimate(
    prefill: WorkerPerf | None,
    decode: WorkerPerf,
    *,
    isl: int,
    osl: int,
    concurrency: int,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """AIConfigurator's static estimate for one worker shape at a concurrency, the baseline the
    twin is compared with: {"mode": "agg"|"disagg", "ttft_ms", "itl_ms", "output_tokens_per_s",
    "warning"}. Disaggregated (prefill given): TTFT of one request on the prefill worker, ITL of
    the decode worker at batch = concurrency averaged over the OSL, and the throughput of
    `concurrency` requests in a closed loop without queueing. Aggregated (prefill None):
    AIConfigurator's aggregated (in-flight batching) estimate at batch = concurrency."""
    for name, value in (("isl", isl), ("osl", osl), ("concurrency", concurrency)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(f"twin: {name} must be a positive integer, not {value!r}")
    workers = [w for w in (prefill, decode) if w is not None]
    for w in workers:
        twin.check(w)
    what = (
        f"{decode.describe()} (aggregated)"
        if prefill is None
        else f"prefill {prefill.describe()}, decode {decode.describe()}"
    )
    request = {
        "mode": "estimate",
        "prefill": twin.spec(prefill) if prefill is not None else None,
        "decode": twin.spec(decode),
        "isl": isl,
        "osl": osl,
        "concurrency": concurrency,
    }
    answer = _run(request, f"{what} at isl {isl}, osl {osl}, concurrency {concurrency}", environ)
    return {k: answer[k] for k in ("mode", "ttft_ms", "itl_ms", "output_tokens_per_s", "warning")}
