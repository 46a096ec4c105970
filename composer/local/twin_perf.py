"""The local twin's GPU timings from AIConfigurator: a mocker-format NPZ, or a static estimate.

compose runs this with the AIConfigurator venv's python (composer/local/twin.py); it must not
import composer. The request is JSON, on argv[1] or stdin:

    {"mode": "perf_data", "spec": <composer.twin.spec(perf)>, "out": "/path/tp1-<key>.npz"}
    {"mode": "estimate", "prefill": <spec> | null, "decode": <spec>, "isl": N, "osl": N, "concurrency": N}

perf_data writes the NPZ the mocker reads with --planner-profile-data and a JSON beside it (what
it was computed from), each atomically (a temporary file, then a rename; the NPZ last: its
presence marks a complete entry), byte for byte the same for the same request. estimate prints
one JSON object. Either way stdout carries only that JSON.

Exit 2 with {"unsupported": "<AIConfigurator's reason>"} on stdout when AIConfigurator cannot
estimate the worker (model, GPU, backend, parallelism, memory); nothing is written then.

How the timings are computed follows upstream's planner (ai-dynamo/dynamo
components/src/dynamo/planner/monitoring/aic_interpolation.py and aic_estimator.py at
7645809841d5b8bb0225bbf351f917883bb0f9bd); the grid is composer/twin.py's (documented there).
"""

import contextlib
import io
import json
import logging
import os
import sys
import tempfile

EXIT_UNSUPPORTED = 2
PREFILL_OSL = 5  # upstream's estimate_prefill_perf: a small OSL, batch 1


class Unsupported(Exception):
    """AIConfigurator cannot estimate this worker; the message is its reason."""


def offline() -> None:
    """AIConfigurator downloads the config.json of a model it does not ship from Hugging Face;
    the twin only uses the models it ships (checked before) and must never reach the network."""
    import urllib.request

    def refuse(*args, **kwargs):
        raise OSError("network access is off in compose's twin")

    urllib.request.urlopen = refuse


def first_line(e: BaseException) -> str:
    text = str(e).strip()
    return (text.splitlines()[0] if text else type(e).__name__).strip()


def ladder(start: int, stop: int) -> list:
    """composer.twin.ladder, repeated here: this script cannot import composer."""
    out = []
    k = start
    while True:
        for v in (k, k * 3 // 2):
            if v >= start:
                out.append(v)
                if v >= stop:
                    return out
        k *= 2


class Worker:
    """One worker shape in AIConfigurator: its database, backend and model."""

    def __init__(self, spec: dict):
        from aiconfigurator.sdk import common, config, models, perf_database
        from aiconfigurator.sdk.backends import factory

        w = spec["worker"]
        self.spec = spec
        self.hf_id, self.gpu, self.backend_name, self.tp = w["model"], w["gpu"], w["backend"], int(w["tp"])
        self.version = spec["database"]
        aic = spec["aiconfigurator"]
        self.database = perf_database.get_database(system=self.gpu, backend=self.backend_name, version=self.version)
        if not self.database:
            supported = perf_database.get_supported_databases()
            if self.gpu not in supported:
                raise Unsupported(
                    f"AIConfigurator {aic} has no performance database for GPU {self.gpu!r} "
                    f"(it has: {', '.join(sorted(supported))})"
                )
            raise Unsupported(
                f"AIConfigurator {aic} has no {self.backend_name} {self.version} database for {self.gpu} "
                f"(it has: {', '.join(f'{b} {v}' for b, vs in sorted(supported[self.gpu].items()) for v in vs)})"
            )
        if self.hf_id not in common.DefaultHFModels:
            raise Unsupported(
                f"model {self.hf_id!r} is not among AIConfigurator {aic}'s models (aiconfigurator_core/model_configs); "
                "AIConfigurator would fetch its config from Hugging Face, and the twin runs offline"
            )
        self.backend = factory.get_backend(self.backend_name)
        # MoE layers tensor-parallel over the same GPUs (upstream's picked_to_aic_model_config_kwargs
        # for a pick without expert parallelism); a dense model ignores the MoE fields
        self.parallel = {
            "tp_size": self.tp,
            "pp_size": 1,
            "attention_dp_size": 1,
            "moe_tp_size": self.tp,
            "moe_ep_size": 1,
        }
        try:
            self.model = models.get_model(self.hf_id, config.ModelConfig(**self.parallel), self.backend_name)
        except Exception as e:
            raise Unsupported(f"AIConfigurator cannot build {self.hf_id} at tp {self.tp}: {first_line(e)}") from e
        self.config = config

    def run(self, mode: str, *, batch: int, isl: int, osl: int) -> dict:
        rc = self.config.RuntimeConfig(batch_size=batch, beam_width=1, isl=isl, osl=osl)
        try:
            summary = self.backend.run_static(self.model, self.database, rc, mode, stride=32)
            # upstream reads get_summary_df(), which rounds to 3 decimals and costs ~10 ms of
            # pandas per call (most of the sweep's time); this is the same row, unrounded
            return summary.get_result_dict()
        except Exception as e:
            raise Unsupported(
                f"AIConfigurator cannot estimate {self.hf_id} on {self.gpu} ({self.backend_name}, tp {self.tp}) "
                f"at batch {batch}, isl {isl}: {first_line(e)}"
            ) from e

    def ttft_ms(self, isl: int) -> float:
        """Prefill of one request (upstream's estimate_prefill_perf: static_ctx, batch 1)."""
        return float(self.run("static_ctx", batch=1, isl=isl, osl=PREFILL_OSL)["context_latency"])

    def max_kv_tokens(self, grid: dict) -> int:
        """The worker's KV capacity in tokens, from AIConfigurator's memory model with the
        engine's default memory fraction; a model that does not fit has none."""
        from aiconfigurator_core.sdk import memory

        try:
            estimate = memory.estimate_kv_cache(
                self.hf_id,
                self.gpu,
                self.backend_name,
                self.version,
                max_num_tokens=grid["memory_max_num_tokens"],
                max_batch_size=grid["memory_max_batch"],
                memory_fraction_kind="of_free" if self.backend.memory_fraction_of_free() else "of_total",
                memory_fraction_value=self.backend.get_default_free_gpu_memory_fraction(self.version),
                **self.parallel,
            )
        except Exception as e:
            raise Unsupported(
                f"{self.hf_id} at tp {self.tp} leaves no room for a KV cache on {self.gpu} "
                f"(AIConfigurator's memory estimate: {first_line(e)})"
            ) from e
        tokens = int(estimate["total_kv_size_tokens"])
        if tokens <= 0:
            raise Unsupported(f"{self.hf_id} at tp {self.tp} leaves no room for a KV cache on {self.gpu}")
        return tokens

    def max_context(self, cap: int) -> int:
        from aiconfigurator.sdk.utils import get_model_config_from_model_path

        raw = get_model_config_from_model_path(self.hf_id).get("raw_config") or {}
        window = raw.get("max_position_embeddings") or (raw.get("text_config") or {}).get("max_position_embeddings")
        return min(int(window), cap) if window else cap


def perf_data(request: dict) -> dict:
    spec = request["spec"]
    grid = spec["grid"]
    worker = Worker(spec)
    start = grid["ladder_start"]
    window = worker.max_context(grid["max_context"])
    kv_capacity = worker.max_kv_tokens(grid)

    lengths = [v for v in ladder(start, window) if v < window] + [window]
    ttft = [worker.ttft_ms(isl) for isl in lengths]

    kvs = ladder(start, kv_capacity)
    step: dict = {}  # (batch, ctx) -> one decode step's ms; cells share them
    itl = []
    for kv in kvs:
        row = []
        for ctx in lengths:
            batch = min(max(1, round(kv / ctx)), grid["max_batch"])
            if (batch, ctx) not in step:
                step[(batch, ctx)] = float(
                    worker.run("static_gen", batch=batch, isl=ctx, osl=grid["decode_osl"])["tpot"]
                )
            row.append(step[(batch, ctx)])
        itl.append(row)

    arrays = {
        "prefill_isl": [float(v) for v in lengths],
        "prefill_ttft_ms": ttft,
        "decode_active_kv_tokens": [float(v) for v in kvs],
        "decode_context_length": [float(v) for v in lengths],
        "decode_itl": itl,
    }
    description = {
        "worker": spec["worker"],
        "aiconfigurator": installed_version(),
        "database": {"system": worker.gpu, "backend": worker.backend_name, "version": worker.version},
        "grid": grid,
        "context_window": window,
        "max_kv_tokens": kv_capacity,
        "points": {"prefill": len(lengths), "decode": [len(kvs), len(lengths)], "decode_estimates": len(step)},
        "units": {"prefill_ttft_ms": "ms", "decode_itl": "ms (one decode step; batch = kv / ctx)"},
    }
    out = request["out"]
    write_atomic(
        os.path.splitext(out)[0] + ".json", (json.dumps(description, indent=1, sort_keys=True) + "\n").encode()
    )
    write_atomic(out, npz_bytes(arrays))
    return {"npz": out, "max_kv_tokens": kv_capacity, "context_window": window}


def estimate(request: dict) -> dict:
    """AIConfigurator's static estimate for one worker shape at a concurrency: disaggregated
    (TTFT: the prefill worker at batch 1; ITL: the decode worker at batch = concurrency, averaged
    over the OSL) or aggregated (AIConfigurator's own aggregated estimate, run_agg's in-flight
    batching model, through its public cli_estimate)."""
    isl, osl, c = int(request["isl"]), int(request["osl"]), int(request["concurrency"])
    decode = Worker(request["decode"])
    if request.get("prefill") is None:
        from aiconfigurator.cli.api import cli_estimate

        try:
            r = cli_estimate(
                decode.hf_id,
                decode.gpu,
                mode="agg",
                backend_name=decode.backend_name,
                backend_version=decode.version,
                isl=isl,
                osl=osl,
                batch_size=c,
                tp_size=decode.tp,
                moe_tp_size=decode.tp,
                moe_ep_size=1,
            )
        except Exception as e:
            raise Unsupported(f"AIConfigurator's aggregated estimate failed: {first_line(e)}") from e
        return {
            "mode": "agg",
            "ttft_ms": float(r.ttft),
            "itl_ms": float(r.tpot),
            "output_tokens_per_s": float(r.raw["tokens/s"]),
            "warning": r.kv_cache_warning,
        }
    prefill = Worker(request["prefill"])
    ttft = prefill.ttft_ms(isl)
    itl = float(decode.run("static_gen", batch=c, isl=isl, osl=osl)["tpot"])
    # c requests in a closed loop, each TTFT then osl - 1 steps of ITL (no queueing)
    per_request_ms = ttft + max(osl - 1, 0) * itl
    return {
        "mode": "disagg",
        "ttft_ms": ttft,
        "itl_ms": itl,
        "output_tokens_per_s": c * osl * 1000.0 / per_request_ms if per_request_ms > 0 else 0.0,
        "warning": None,
    }


def installed_version() -> str:
    from importlib.metadata import version

    return version("aiconfigurator")


def npz_bytes(arrays: dict) -> bytes:
    """np.savez's file (as upstream's planner_profiler_perf_data_converter writes it), float64 as the
    mocker reads it. Deterministic: zipfile stamps members opened for writing by name with
    1980-01-01, not the clock, and the keys go in sorted."""
    import numpy as np

    buf = io.BytesIO()
    np.savez(buf, **{name: np.asarray(arrays[name], dtype=np.float64) for name in sorted(arrays)})
    return buf.getvalue()


def write_atomic(path: str, data: bytes) -> None:
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def main(argv: list) -> int:
    request = json.loads(argv[1] if len(argv) > 1 else sys.stdin.read())
    offline()
    logging.disable(logging.WARNING)  # AIConfigurator's notes on fallback tables; the JSON says what was used
    out = sys.stdout
    try:
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the answer
            result = {"perf_data": perf_data, "estimate": estimate}[request["mode"]](request)
    except Unsupported as e:
        out.write(json.dumps({"unsupported": str(e)}) + "\n")
        return EXIT_UNSUPPORTED
    out.write(json.dumps(result, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
