"""The twin's GPU timings: made from the pinned AIConfigurator, equal to what it says when asked
directly, cached, deterministic, refused with its reason, and read by the mocker."""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from composer import dynamo, proc, twin
from composer.errors import ComposeError, ExitCode, UsageError
from composer.local import twin as local_twin
from composer.local import venvs
from composer.twin import WorkerPerf

AIC_PYTHON = venvs.venv_bin("aiconfigurator", "python")
DYNAMO_PYTHONS = {v: venvs.venv_bin("ai-dynamo", "python", version=v) for v in ("1.6.1", "1.4.0")}

NEEDS_AIC = pytest.mark.skipif(
    not AIC_PYTHON.exists() and not os.environ.get("CI"),
    reason=f"AIConfigurator venv missing ({AIC_PYTHON}): run scripts/install-local-runtime",
)

QWEN = "Qwen/Qwen3-0.6B"
VLLM = WorkerPerf(QWEN, "h200_sxm", "vllm", 1)
TRTLLM = WorkerPerf(QWEN, "h100_sxm", "trtllm", 2)


def env(cache: Path) -> dict[str, str]:
    return {**os.environ, "COMPOSE_TWIN_CACHE": str(cache)}


def aic(*code: str) -> object:
    """Run the code in the AIConfigurator venv, independently of compose's script; the JSON it prints last."""
    snippet = "\n".join(["import logging", "logging.disable(logging.WARNING)", *map(textwrap.dedent, code)])
    done = subprocess.run([str(AIC_PYTHON), "-c", snippet], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# AIConfigurator's estimates with upstream's planner's calls (aic_estimator.py), the row read
# unrounded: no compose code
ESTIMATOR = """
from aiconfigurator.sdk import config, models, perf_database
from aiconfigurator.sdk.backends import factory

def worker(hf_id, system, backend, tp):
    version = perf_database.get_latest_database_version(system, backend)
    db = perf_database.get_database(system=system, backend=backend, version=version)
    model = models.get_model(hf_id, config.ModelConfig(tp_size=tp, moe_tp_size=tp, moe_ep_size=1), backend)
    return model, db, factory.get_backend(backend)

def static(w, mode, batch, isl, osl):
    model, db, backend = w
    rc = config.RuntimeConfig(batch_size=batch, beam_width=1, isl=isl, osl=osl)
    return backend.run_static(model, db, rc, mode, stride=32).get_result_dict()
"""


def read_npz(path: Path) -> dict:
    """The NPZ's arrays as lists, read with numpy in the AIConfigurator venv."""
    return aic(
        f"""
        import json, numpy as np
        with np.load({str(path)!r}) as d:
            print(json.dumps({{k: d[k].tolist() for k in d.files}}))
        """
    )


# -- pure ---------------------------------------------------------------------------------------


@pytest.mark.unit
def test_cache_path_names_the_model_gpu_backend_database_and_tp_under_the_aiconfigurator_version(tmp_path):
    path = twin.cache_path(VLLM, tmp_path)
    assert path.parent == tmp_path / "aiconfigurator-0.12.0" / "h200_sxm" / "vllm-0.24.0" / "Qwen--Qwen3-0.6B"
    assert path.name.startswith("tp1-") and path.suffix == ".npz"
    assert twin.description_path(path) == path.with_suffix(".json")
    assert twin.cache_path(VLLM, tmp_path) == path  # stable
    others = {twin.cache_path(p, tmp_path) for p in (TRTLLM, WorkerPerf(QWEN, "h200_sxm", "vllm", 2))}
    assert path not in others and len(others) == 2


@pytest.mark.unit
def test_a_new_grid_is_a_new_cache_entry(tmp_path, monkeypatch):
    before = twin.cache_path(VLLM, tmp_path)
    monkeypatch.setattr(twin, "GRID_VERSION", twin.GRID_VERSION + 1)
    after = twin.cache_path(VLLM, tmp_path)
    assert before.parent == after.parent and before != after


@pytest.mark.unit
def test_cache_root_defaults_under_the_user_cache_and_compose_twin_cache_moves_it(tmp_path):
    assert twin.cache_root({}) == Path("~/.cache/dynamo-compose/twin").expanduser()
    assert twin.cache_root({"COMPOSE_TWIN_CACHE": str(tmp_path)}) == tmp_path


@pytest.mark.unit
def test_ladder_is_geometric_at_most_one_and_a_half_apart_and_reaches_the_stop():
    assert twin.ladder(16, 100) == [16, 24, 32, 48, 64, 96, 128]
    assert twin.ladder(16, 16) == [16]
    steps = twin.ladder(16, 2_000_000)
    assert steps[-1] >= 2_000_000 > steps[-2]
    assert all(1.3 <= b / a <= 1.5 for a, b in zip(steps, steps[1:]))


@pytest.mark.unit
@pytest.mark.parametrize(
    "perf, reason",
    [
        (WorkerPerf(QWEN, "x100", "vllm", 1), "has no performance data for GPU 'x100' (it has: a100_sxm, b200_sxm"),
        (WorkerPerf(QWEN, "b60", "sglang", 1), "has no 'sglang' data for b60 (it has: vllm)"),
        (WorkerPerf(QWEN, "h200_sxm", "vllm", 0), "tensor-parallel width must be a positive integer"),
        (WorkerPerf("../../etc", "h200_sxm", "vllm", 1), "must be a Hugging Face model id"),
    ],
)
def test_what_compose_knows_is_refused_before_any_process(tmp_path, perf, reason):
    with pytest.raises(UsageError, match=r"^twin: .*" + re.escape(reason)) as e:
        local_twin.perf_data(perf, environ=env(tmp_path))
    assert e.value.exit_code == ExitCode.BAD_INPUT
    assert not list(tmp_path.iterdir())


# -- against the pinned AIConfigurator ------------------------------------------------------------


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One cache for the module: each worker is generated once (a few seconds each)."""
    return env(tmp_path_factory.mktemp("twin-cache"))


@pytest.fixture(scope="module")
def generated(cache):
    return {perf: local_twin.perf_data(perf, environ=cache) for perf in (VLLM, TRTLLM)}


@pytest.mark.local
@NEEDS_AIC
def test_gpu_skus_and_database_versions_are_the_installed_aiconfigurators():
    found = aic(
        """
        import json
        from importlib.metadata import version
        from aiconfigurator.sdk import perf_database
        dbs = perf_database.get_supported_databases()
        print(json.dumps({"version": version("aiconfigurator"), "databases": {
            s: {b: perf_database.get_latest_database_version(s, b) for b in sorted(dbs[s])} for s in sorted(dbs)}}))
        """
    )
    assert found["version"] == twin.AICONFIGURATOR_VERSION == venvs.PINS["aiconfigurator"]
    assert found["databases"] == {gpu: dict(backends) for gpu, backends in twin.DATABASES.items()}
    assert twin.GPU_SKUS == tuple(sorted(found["databases"]))


@pytest.mark.local
@NEEDS_AIC
@pytest.mark.parametrize("perf", [VLLM, TRTLLM], ids=["h200-vllm-tp1", "h100-trtllm-tp2"])
def test_the_grid_is_aiconfigurators_estimate_at_its_points(generated, cache, perf):
    path = generated[perf]
    assert path == twin.cache_path(perf, Path(cache["COMPOSE_TWIN_CACHE"]))
    data = read_npz(path)
    isl, kv, ctx = data["prefill_isl"], data["decode_active_kv_tokens"], data["decode_context_length"]
    assert isl == ctx and isl[0] == 16 and isl[-1] == 40960  # Qwen3-0.6B's context window
    points = {"ttft": [1024, 8192], "itl": [(8192, 1024), (65536, 512), (16, 16), (98304, 3072)]}
    expected = aic(
        ESTIMATOR,
        f"""
        import json
        w = worker({perf.model!r}, {perf.gpu!r}, {perf.backend!r}, {perf.tp})
        ttft = [static(w, "static_ctx", 1, n, 5)["context_latency"] for n in {points["ttft"]}]
        itl = [static(w, "static_gen", kv // c, c, 2)["tpot"] for kv, c in {points["itl"]}]
        print(json.dumps({{"ttft": ttft, "itl": itl}}))
        """,
    )
    assert [data["prefill_ttft_ms"][isl.index(n)] for n in points["ttft"]] == expected["ttft"]
    got = [data["decode_itl"][kv.index(k)][ctx.index(c)] for k, c in points["itl"]]
    assert got == expected["itl"]
    description = json.loads(twin.description_path(path).read_text())
    assert description["worker"] == {"model": QWEN, "gpu": perf.gpu, "backend": perf.backend, "tp": perf.tp}
    assert description["aiconfigurator"] == "0.12.0"
    assert description["database"]["version"] == twin.DATABASES[perf.gpu][perf.backend]
    assert description["grid"] == twin.grid_spec()
    # the KV axis covers the worker's capacity, and no further than the next ladder step
    assert kv[-2] < description["max_kv_tokens"] <= kv[-1]


@pytest.mark.local
@NEEDS_AIC
@pytest.mark.parametrize("perf", [VLLM, TRTLLM], ids=["h200-vllm-tp1", "h100-trtllm-tp2"])
def test_timings_rise_with_isl_and_batch(generated, perf):
    """AIConfigurator's tables dip at small sizes (another kernel); past them the twin only rises."""
    data = read_npz(generated[perf])
    isl, ttft = data["prefill_isl"], data["prefill_ttft_ms"]
    long = [t for n, t in zip(isl, ttft) if n >= 256]
    assert long == sorted(long) and ttft[-1] > 50 * ttft[0]
    kv, ctx, itl = data["decode_active_kv_tokens"], data["decode_context_length"], data["decode_itl"]
    for j, c in enumerate(ctx):
        column = [itl[i][j] for i, k in enumerate(kv) if k / c >= 16]  # batch >= 16 at this context
        assert column == sorted(column), f"ITL falls with the batch at context {c}"
        assert itl[-1][j] > itl[0][j]
    # at batch 1024 (capped), a longer context costs more
    capped = [itl[-1][j] for j, c in enumerate(ctx) if kv[-1] / c >= 1024]
    assert capped == sorted(capped) and len(capped) > 5


@pytest.mark.local
@NEEDS_AIC
def test_two_generations_are_byte_identical(generated, tmp_path):
    again = local_twin.perf_data(VLLM, environ=env(tmp_path))
    first = generated[VLLM]
    assert again.read_bytes() == first.read_bytes()
    assert twin.description_path(again).read_bytes() == twin.description_path(first).read_bytes()
    assert not [p for p in again.parent.iterdir() if p.name.startswith(".")]  # no temporary file left


@pytest.mark.local
@NEEDS_AIC
def test_a_cache_hit_starts_no_process(generated, cache, monkeypatch):
    path = generated[VLLM]
    stamp = path.stat().st_mtime_ns

    def refuse(*args, **kwargs):
        raise AssertionError("perf_data started a process on a cache hit")

    monkeypatch.setattr(proc, "run", refuse)
    progress: list[str] = []
    assert local_twin.perf_data(VLLM, environ=cache, progress=progress.append) == path
    assert path.stat().st_mtime_ns == stamp and progress == []


@pytest.mark.local
@NEEDS_AIC
def test_a_missing_entry_is_made_and_said(tmp_path):
    progress: list[str] = []
    perf = WorkerPerf(QWEN, "b200_sxm", "sglang", 1)
    path = local_twin.perf_data(perf, environ=env(tmp_path), progress=progress.append)
    assert path.is_file() and path.is_relative_to(tmp_path)
    assert progress == ["twin: timing Qwen/Qwen3-0.6B on b200_sxm (sglang, tp 1) with AIConfigurator 0.12.0"]


@pytest.mark.local
@NEEDS_AIC
@pytest.mark.parametrize(
    "perf, reason",
    [
        (
            WorkerPerf("example/NotAModel-7B", "h200_sxm", "vllm", 1),
            "model 'example/NotAModel-7B' is not among AIConfigurator 0.12.0's models",
        ),
        (WorkerPerf(QWEN, "h200_sxm", "vllm", 3), "num_heads 16 should be divisible by tp_size 3"),
        (
            WorkerPerf("meta-llama/Meta-Llama-3.1-405B", "h100_sxm", "vllm", 1),
            "leaves no room for a KV cache on h100_sxm (AIConfigurator's memory estimate: no KV budget",
        ),
    ],
    ids=["unknown-model", "tp-not-dividing-heads", "does-not-fit"],
)
def test_what_aiconfigurator_cannot_estimate_is_bad_input_with_its_reason_and_no_cache_entry(tmp_path, perf, reason):
    with pytest.raises(UsageError) as e:
        local_twin.perf_data(perf, environ=env(tmp_path))
    assert e.value.exit_code == ExitCode.BAD_INPUT
    message = str(e.value)
    assert message.startswith(f"twin: cannot time {perf.describe()}: ") and reason in message
    assert "\n" not in message
    assert list(tmp_path.rglob("*")) == []


@pytest.mark.local
@NEEDS_AIC
def test_the_script_refuses_a_gpu_aiconfigurator_has_no_database_for(tmp_path):
    """compose checks the GPU first; the script, given one anyway, says so in AIConfigurator's terms."""
    spec = twin.spec(VLLM)
    spec["worker"]["gpu"] = "a100_pcie"  # a system file without data
    out = tmp_path / "x.npz"
    done = subprocess.run(
        [str(AIC_PYTHON), str(local_twin.SCRIPT), json.dumps({"mode": "perf_data", "spec": spec, "out": str(out)})],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    (line,) = done.stdout.splitlines()
    assert json.loads(line) == {
        "unsupported": "AIConfigurator 0.12.0 has no performance database for GPU 'a100_pcie' (it has: "
        + ", ".join(twin.GPU_SKUS)
        + ")"
    }
    assert list(tmp_path.iterdir()) == []


# Dynamo's offline replay runs the mocker's engine (the Rust one `python -m dynamo.mocker` runs) on
# the file, configured with twin.mocker_timing's engine args: 4 requests of ISL 1024, OSL 64, one
# at a time.
REPLAY = """
import json, sys
from pathlib import Path
from dynamo.mocker.utils.planner_profiler_perf_data_converter import is_mocker_format_npz
from dynamo.replay import api
path, args = sys.argv[1], json.loads(sys.argv[2])
assert is_mocker_format_npz(Path(path))
if "engine" not in args:  # 1.4: the replay takes the engine args as the binding's object
    from dynamo._core import MockEngineArgs
    args = MockEngineArgs.from_json(json.dumps(args))
report = api.run_synthetic_trace_replay(1024, 64, 4, extra_engine_args=args, replay_concurrency=1)
summary = report.summary if hasattr(report, "summary") else report  # 1.6.1: a ReplayReport
print(json.dumps({k: summary[k] for k in ("mean_ttft_ms", "mean_itl_ms", "completed_requests")}))
"""


@pytest.mark.unit
def test_mocker_timing_is_the_engine_args_of_each_dynamo_line():
    path = Path("/c/tp1-x.npz")
    assert twin.mocker_timing(path, nested=dynamo.release("1.6.1").mocker_engine_args_nested) == {
        "engine": {"timing_model": {"type": "external", "provider": "dynamo_profile", "config": {"path": str(path)}}}
    }
    assert twin.mocker_timing(path, nested=dynamo.release("1.4.0").mocker_engine_args_nested) == {
        "planner_profile_data": str(path)
    }


@pytest.mark.local
@NEEDS_AIC
@pytest.mark.parametrize("version", sorted(DYNAMO_PYTHONS))
def test_the_mocker_answers_at_the_files_speed(generated, version):
    python = DYNAMO_PYTHONS[version]
    if not python.exists():
        pytest.skip(f"ai-dynamo {version} venv missing")
    path = generated[VLLM]
    args = twin.mocker_timing(path, nested=dynamo.release(version).mocker_engine_args_nested)
    done = subprocess.run(
        [str(python), "-c", REPLAY, str(path), json.dumps(args)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    data = read_npz(path)
    ttft = data["prefill_ttft_ms"][data["prefill_isl"].index(1024)]
    step = data["decode_itl"][data["decode_active_kv_tokens"].index(1024)][data["decode_context_length"].index(1024)]
    assert measured["completed_requests"] == 4
    # one request at a time: batch 1, contexts 1024 to 1088
    assert measured["mean_itl_ms"] == pytest.approx(step, rel=0.02)
    # 1.6.1 answers the prefill's time; 1.4.0 counts the first decode step into TTFT as well
    expected_ttft = ttft if version == "1.6.1" else ttft + step
    assert measured["mean_ttft_ms"] == pytest.approx(expected_ttft, rel=1e-6)


@pytest.mark.local
@NEEDS_AIC
def test_static_estimate_is_aiconfigurators_aggregated_and_disaggregated_estimate(cache):
    isl, osl, c = 1024, 128, 8
    agg = local_twin.static_estimate(None, VLLM, isl=isl, osl=osl, concurrency=c, environ=cache)
    disagg = local_twin.static_estimate(VLLM, TRTLLM, isl=isl, osl=osl, concurrency=c, environ=cache)
    expected = aic(
        ESTIMATOR,
        f"""
        import json
        from aiconfigurator.cli.api import cli_estimate
        r = cli_estimate({QWEN!r}, "h200_sxm", mode="agg", backend_name="vllm", isl={isl}, osl={osl},
                         batch_size={c}, tp_size=1)
        ttft = static(worker({QWEN!r}, "h200_sxm", "vllm", 1), "static_ctx", 1, {isl}, 5)["context_latency"]
        itl = static(worker({QWEN!r}, "h100_sxm", "trtllm", 2), "static_gen", {c}, {isl}, {osl})["tpot"]
        print(json.dumps({{"agg": [r.ttft, r.tpot, float(r.raw["tokens/s"])], "disagg": [ttft, itl]}}))
        """,
    )
    assert agg["mode"] == "agg"
    assert [agg["ttft_ms"], agg["itl_ms"], agg["output_tokens_per_s"]] == pytest.approx(expected["agg"], rel=1e-9)
    ttft, itl = expected["disagg"]
    assert disagg["mode"] == "disagg"
    assert [disagg["ttft_ms"], disagg["itl_ms"]] == [ttft, itl]
    assert disagg["output_tokens_per_s"] == pytest.approx(c * osl * 1000 / (ttft + (osl - 1) * itl))
    assert disagg["ttft_ms"] < agg["ttft_ms"]  # a lone prefill does not wait for decode steps


@pytest.mark.local
@NEEDS_AIC
def test_static_estimate_refuses_what_aiconfigurator_cannot_estimate(cache):
    with pytest.raises(UsageError, match="is not among AIConfigurator 0.12.0's models") as e:
        local_twin.static_estimate(
            None,
            WorkerPerf("example/NotAModel-7B", "h200_sxm", "vllm", 1),
            isl=128,
            osl=16,
            concurrency=1,
            environ=cache,
        )
    assert e.value.exit_code == ExitCode.BAD_INPUT
    with pytest.raises(UsageError, match="concurrency must be a positive integer"):
        local_twin.static_estimate(None, VLLM, isl=128, osl=16, concurrency=0, environ=cache)


@pytest.mark.unit
def test_a_missing_aiconfigurator_venv_says_how_to_install_it_and_leaves_no_cache_entry(tmp_path):
    with pytest.raises(ComposeError, match=r"aiconfigurator 0.12.0 is not installed .*scripts/install-local-runtime"):
        local_twin.perf_data(
            VLLM, environ={"COMPOSE_TWIN_CACHE": str(tmp_path / "c"), "COMPOSE_VENVS": str(tmp_path / "none")}
        )
    assert not (tmp_path / "c").exists()
