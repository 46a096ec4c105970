"""The local twin's GPU timings: what they are computed from, on which grid, and where they are cached.

The local runtime's mocker answers at a GPU's speed when given a "mocker-format NPZ"
(`--planner-profile-data`): TTFT over an ISL grid (`prefill_isl`, `prefill_ttft_ms`) and ITL
over a grid of (total active KV tokens, per-request context length) (`decode_active_kv_tokens`,
`decode_context_length`, `decode_itl[kv, ctx]`; the batch at a cell is kv / ctx). compose builds
that file offline from AIConfigurator's performance database, the way upstream's planner
bootstraps from it (ai-dynamo/dynamo components/src/dynamo/planner/monitoring/aic_interpolation.py
and aic_estimator.py at 7645809841d5b8bb0225bbf351f917883bb0f9bd: prefill at batch 1 with
`run_static(..., "static_ctx")`, decode with `"static_gen"`, the KV capacity from AIC's memory
model), but evaluates AIConfigurator directly at every grid cell instead of fitting a regression
to a sweep first.

This module is pure (no processes): composer/local/twin.py runs composer/local/twin_perf.py in the
AIConfigurator venv to fill the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from composer.errors import UsageError

AICONFIGURATOR_VERSION = "0.12.0"  # composer/local/venvs.py PINS; the database ships in its wheel

# The GPUs AIConfigurator 0.12.0 has a performance database for, by backend, with the database
# version its get_latest_database_version picks (tests/test_twin_perf.py checks this against the
# installed package). The names are AIConfigurator's systems, which DynamoGraphDeploymentRequest's
# hardware.gpuSku uses too (Dynamo 1.6.1 lists a100_sxm, b200_sxm, b300_sxm, gb200, h100_sxm,
# h200_sxm and l40s; b60, gb300 and rtx_pro_6000_server are AIConfigurator's names only).
# AIConfigurator also ships a100_pcie, a30, h100_pcie and l4 system files, without data.
_BLACKWELL_HOPPER = {"sglang": "0.5.14", "trtllm": "1.3.0rc20", "vllm": "0.24.0"}
DATABASES: Mapping[str, Mapping[str, str]] = {
    "a100_sxm": {"sglang": "0.5.10", "trtllm": "1.0.0", "vllm": "0.14.0"},
    "b200_sxm": _BLACKWELL_HOPPER,
    "b300_sxm": _BLACKWELL_HOPPER,
    "b60": {"vllm": "0.26.0"},
    "gb200": _BLACKWELL_HOPPER,
    "gb300": _BLACKWELL_HOPPER,
    "h100_sxm": _BLACKWELL_HOPPER,
    "h200_sxm": _BLACKWELL_HOPPER,
    "l40s": _BLACKWELL_HOPPER,
    "rtx_pro_6000_server": _BLACKWELL_HOPPER,
}
GPU_SKUS: tuple[str, ...] = tuple(DATABASES)
BACKENDS = ("sglang", "trtllm", "vllm")
_HF_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*")

# -- the grid ----------------------------------------------------------------------------------
# The mocker interpolates linearly between grid points (bilinearly for decode) and extrapolates
# past the ends, so the grid only has to follow the curves' shape, not cover every value:
#
# - TTFT grows about linearly in ISL with a quadratic attention term, ITL about linearly in the
#   batch with a floor (weights read once per step) and a 1/ctx term along the context axis at a
#   fixed KV total (kv / ctx requests). Both change most at small sizes, so the ladders are
#   geometric: 16, 24, 32, 48, 64, 96, ... (2^k and 3 * 2^(k-1)), at most 1.5x apart.
# - ISL and context lengths run from 16 to the model's context window (its
#   max_position_embeddings, at most MAX_CONTEXT); the window itself is the last point.
# - KV totals run from 16 to the first ladder value at or past the worker's KV capacity as
#   AIConfigurator's memory model estimates it (the engine's defaults: max_num_tokens
#   MEMORY_MAX_NUM_TOKENS, max_batch_size MEMORY_MAX_BATCH, the backend's own memory fraction).
# - A cell's batch is round(kv / ctx), at least 1 (cells with kv < ctx are below batch 1: the
#   mocker meets them only while interpolating towards batch 1) and at most MAX_BATCH (past any
#   engine's default max_num_seqs; beyond it the row stays flat).
# - The mocker reads a prefill step of several requests at their total new tokens on the ISL
#   curve (its format has no batch axis for prefill), as it does with upstream's own files.
# - Each decode cell is one decode step at that context (osl 2: AIConfigurator's static_gen
#   averages the steps of osl - 1 tokens), not an average over a generation.
# - Every grid value is AIConfigurator's estimate as it is. Its measured kernel tables are not
#   monotone at small sizes (on h200_sxm with vLLM, one decode step at batch 8 is ~10% faster
#   than at batch 4: another kernel); the twin keeps that rather than smoothing it away, so that
#   it answers what AIConfigurator answers. Past the first few hundred tokens and tens of
#   requests, the curves rise.
#
# Cost (Qwen3-0.6B): 24 prefill points and ~425 distinct decode (batch, ctx) points at ~5 ms each,
# plus ~2 s to import AIConfigurator and load its database: ~4 s per worker on two busy cores.
#
# Measured against AIConfigurator at 400 random (batch 1-256, context 32-12k) points off the grid
# (h200_sxm, vLLM, Qwen3-0.6B), the mocker's bilinear reading of the grid is within 0.4% (median)
# and 1.5% (90th percentile), 6% at worst (batch 1 between two context points, where the cell's
# corners are batches 1 and 2). Prefill, 200 random ISLs: 0.7% median, 2.4% at the 90th
# percentile, 5.6% at worst.
LADDER_START = 16
MAX_CONTEXT = 131072
MAX_BATCH = 1024
MEMORY_MAX_NUM_TOKENS = 8192
MEMORY_MAX_BATCH = 256
GRID_VERSION = 1  # bump when the grid or the way a cell is computed changes: new cache entries


def ladder(start: int, stop: int) -> list[int]:
    """16, 24, 32, 48, ... (2^k and 3 * 2^(k-1)) from `start` up to the first value >= `stop`."""
    out: list[int] = []
    k = start
    while True:
        for v in (k, k * 3 // 2):
            if v >= start:
                out.append(v)
                if v >= stop:
                    return out
        k *= 2


def grid_spec() -> dict:
    """The grid's parameters, as the generator script receives them (and the cache key hashes)."""
    return {
        "version": GRID_VERSION,
        "ladder_start": LADDER_START,
        "max_context": MAX_CONTEXT,
        "max_batch": MAX_BATCH,
        "memory_max_num_tokens": MEMORY_MAX_NUM_TOKENS,
        "memory_max_batch": MEMORY_MAX_BATCH,
        "decode_osl": 2,
    }


@dataclass(frozen=True)
class WorkerPerf:
    """One worker's shape, as AIConfigurator estimates it: a Hugging Face model id, a GPU (one of
    GPU_SKUS), the engine (vllm, sglang or trtllm) and the tensor-parallel width. MoE layers run
    tensor-parallel over the same GPUs (moe_tp = tp, moe_ep = 1: vLLM's default without expert
    parallelism)."""

    model: str
    gpu: str
    backend: str
    tp: int

    def describe(self) -> str:
        return f"{self.model} on {self.gpu} ({self.backend}, tp {self.tp})"

    def database_version(self) -> str:
        return DATABASES[self.gpu][self.backend]


def check(perf: WorkerPerf) -> None:
    """What compose can tell without AIConfigurator: a UsageError naming what it knows instead."""
    if perf.gpu not in DATABASES:
        raise UsageError(
            f"twin: AIConfigurator {AICONFIGURATOR_VERSION} has no performance data for GPU {perf.gpu!r} "
            f"(it has: {', '.join(GPU_SKUS)})"
        )
    if perf.backend not in DATABASES[perf.gpu]:
        raise UsageError(
            f"twin: AIConfigurator {AICONFIGURATOR_VERSION} has no {perf.backend!r} data for {perf.gpu} "
            f"(it has: {', '.join(sorted(DATABASES[perf.gpu]))})"
        )
    if isinstance(perf.tp, bool) or not isinstance(perf.tp, int) or perf.tp < 1:
        raise UsageError(f"twin: tensor-parallel width must be a positive integer, not {perf.tp!r}")
    if not isinstance(perf.model, str) or not _HF_ID.fullmatch(perf.model):
        raise UsageError(f"twin: model must be a Hugging Face model id (org/name), not {perf.model!r}")


def spec(perf: WorkerPerf) -> dict:
    """Everything the generated file depends on: what the script receives, what the key hashes."""
    return {
        "worker": asdict(perf),
        "aiconfigurator": AICONFIGURATOR_VERSION,
        "database": perf.database_version(),
        "grid": grid_spec(),
    }


def _key(perf: WorkerPerf) -> str:
    canonical = json.dumps(spec(perf), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


DEFAULT_ROOT = "~/.cache/dynamo-compose/twin"


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """~/.cache/dynamo-compose/twin, or COMPOSE_TWIN_CACHE."""
    env = os.environ if environ is None else environ
    return Path(env.get("COMPOSE_TWIN_CACHE") or DEFAULT_ROOT).expanduser()


def cache_path(perf: WorkerPerf, root: Path) -> Path:
    """root/aiconfigurator-0.12.0/h200_sxm/vllm-0.24.0/Qwen--Qwen3-0.6B/tp1-<key>.npz; the JSON
    describing it is beside it (.json). The key hashes spec(perf): a new grid is a new entry."""
    check(perf)
    model = perf.model.replace("/", "--")
    return (
        Path(root)
        / f"aiconfigurator-{AICONFIGURATOR_VERSION}"
        / perf.gpu
        / f"{perf.backend}-{perf.database_version()}"
        / model
        / f"tp{perf.tp}-{_key(perf)}.npz"
    )


def describe_tp(tp: Mapping[str, int]) -> str:
    """`decode TP1, prefill TP2`: each role's tensor parallelism, as reports and explain say it."""
    return ", ".join(f"{role} TP{n}" for role, n in tp.items())


def description_path(npz: Path) -> Path:
    return npz.with_suffix(".json")


def mocker_timing(npz: Path, *, nested: bool) -> dict:
    """The mocker's engine-args fragment that makes it read `npz`, in its version's shape
    (dynamo.Release.mocker_engine_args_nested), to merge into the --extra-engine-args JSON. Once
    that file is given, the mocker reads its config from it alone and ignores
    --planner-profile-data (1.4.0 and 1.6.1: dynamo/mocker/config.py load_mocker_engine_args).
    1.6 nests it as a timing model; 1.4 and 1.5 take the path flat."""
    if nested:
        return {
            "engine": {"timing_model": {"type": "external", "provider": "dynamo_profile", "config": {"path": str(npz)}}}
        }
    return {"planner_profile_data": str(npz)}
