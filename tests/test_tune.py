"""`compose tune`: AIConfigurator's best configuration as a project. The cli tests run the real
AIConfigurator 0.12.0 (its venv; offline, CPU) through `compose tune`, keep the files it saved in
that run (its venv's python is reached through a recording wrapper) and read them here,
independently of composer/tune.py, to check that the values say what it chose for the inputs it was
given, and that those are the test's own."""

import csv
import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from composer import load, schema, tune
from composer import project as p
from composer.errors import InvalidValues, UsageError
from composer.local import venvs
from tests.support.project import compose
from tests.support.recipe_checks import nodes, parallelism, worker_roles
from tests.support.validate import all_errors, load_docs

SMALL = {
    "model": "Qwen/Qwen3-0.6B",
    "gpu": "h200_sxm",
    "gpus": "2",
    "isl": "1000",
    "osl": "200",
    "ttft": "500",
    "itl": "20",
}


def tune_args(backend: str, **over: str) -> list[str]:
    opts = {**SMALL, "backend": backend, **over}
    return [a for k, v in opts.items() for a in (f"--{k}", v)]


def aiconfigurator_argv(backend: str) -> list[str]:
    """AIConfigurator's own CLI arguments for SMALL's inputs, written here from its documentation."""
    argv = ["cli", "default", "--model-path", SMALL["model"], "--system", SMALL["gpu"], "--backend", backend]
    argv += ["--total-gpus", SMALL["gpus"], "--isl", SMALL["isl"], "--osl", SMALL["osl"]]
    return argv + ["--ttft", SMALL["ttft"], "--tpot", SMALL["itl"]]


# AIConfigurator's venv python as compose finds it (COMPOSE_VENVS), through a wrapper that runs the
# real one and then keeps what it was given (argv) and what it saved (--save-dir, a temporary
# directory compose removes) in $AIC_KEEP: one AIConfigurator run per backend, not one by compose
# and another on the same inputs for the test to read.
RECORDER = """#!/bin/sh
"{python}" "$@" || exit $?
save=; prev=
for a; do [ "$prev" = --save-dir ] && save=$a; prev=$a; done
mkdir -p "$AIC_KEEP/saved" && cp -R "$save/." "$AIC_KEEP/saved/" && printf '%s\n' "$@" > "$AIC_KEEP/argv"
"""


def options(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """`cli default --flag value ...` as (the subcommand, {flag: value}): the order of flags is no input."""
    return argv[:2], dict(zip(argv[2::2], argv[3::2]))


def recording_venvs(root: Path) -> Path:
    """A COMPOSE_VENVS root whose aiconfigurator python is the recorder."""
    python = root / f"aiconfigurator-{venvs.PINS['aiconfigurator']}" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(RECORDER.format(python=venvs.require("aiconfigurator", "python")))
    python.chmod(0o755)
    return root


def kept(keep: Path) -> tuple[list[str], Path]:
    """(AIConfigurator's CLI arguments but --save-dir, its result directory) of the run kept in keep."""
    argv = (keep / "argv").read_text().splitlines()
    argv = argv[argv.index("--") + 1 :]  # after the runner's own arguments
    at = argv.index("--save-dir")
    (png,) = (keep / "saved").rglob("pareto_frontier.png")
    return argv[:at] + argv[at + 2 :], png.parent


def top(result: Path, mode: str) -> dict:
    with open(result / mode / "best_config_topn.csv", newline="") as f:
        return next(csv.DictReader(f))


def engine_flags(result: Path, mode: str) -> list[str]:
    """The worker flags in AIConfigurator's generated k8s_deploy.yaml: a list (vLLM), or the script
    it runs (SGLang), whose args=( ... ) array holds them."""
    dgd = yaml.safe_load((result / mode / "top1" / "k8s_deploy.yaml").read_text())
    worker = next(s for s in dgd["spec"]["services"].values() if s.get("componentType") == "worker")
    args = worker["extraPodSpec"]["mainContainer"]["args"]
    if len(args) == 1:
        return shlex.split(re.search(r"args=\((.*?)\)", args[0], re.S).group(1))
    return args


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """backend -> (the project compose tune wrote, AIConfigurator's CLI arguments in that run, the
    result directory it saved)."""
    root = tmp_path_factory.mktemp("tune")
    shims = recording_venvs(root / "venvs")
    out = {}
    for backend in ("vllm", "sglang", "trtllm"):
        keep = root / f"aic-{backend}"
        env = {"COMPOSE_VENVS": str(shims), "AIC_KEEP": str(keep)}
        done = compose("tune", *tune_args(backend), "--dir", backend, "--emit", "dgdr", cwd=root, env=env)
        assert done.returncode == 0, done.stderr
        out[backend] = (root / backend, *kept(keep))
    return out


# --- the values say what AIConfigurator chose -------------------------------------------------


@pytest.mark.cli
@pytest.mark.parametrize("backend", ["vllm", "sglang", "trtllm"])
def test_values_hold_aiconfigurators_top_configuration(tuned, backend):
    proj, argv, saved = tuned[backend]
    assert options(argv) == options(aiconfigurator_argv(backend))  # it chose for SMALL's inputs
    values = load.load(proj / "values.yaml").data
    rows = {m: top(saved, m) for m in ("agg", "disagg") if (saved / m / "best_config_topn.csv").is_file()}
    mode = max(rows, key=lambda m: float(rows[m]["tokens/s/gpu_cluster"]))
    row = rows[mode]
    gen = yaml.safe_load((saved / mode / "top1" / "generator_config.yaml").read_text())
    model = values["model"]
    assert model["name"] == SMALL["model"] and model["backend"]["type"] == backend
    assert model["disaggregation"] is (mode == "disagg")
    pred = values["tune"]["predicted"]
    assert pred["mode"] == mode
    assert pred["tokensPerSecondPerGpu"] == pytest.approx(float(row["tokens/s/gpu"]))
    assert pred["tokensPerSecondPerUser"] == pytest.approx(float(row["tokens/s/user"]))
    assert (pred["ttftMs"], pred["itlMs"]) == pytest.approx((float(row["ttft"]), float(row["tpot"])))
    roles = {"decode": ("agg" if mode == "agg" else "decode", "" if mode == "agg" else "(d)")}
    if mode == "disagg":
        roles["prefill"] = ("prefill", "(p)")
    flags = engine_flags(saved, mode) if mode == "agg" else None
    for role, (worker, prefix) in roles.items():
        spec = model[role]
        tp = int(row[f"{prefix}tp"])
        assert spec["replicas"] == gen["WorkerConfig"][f"{worker}_workers"]
        assert spec["gpus"] == tp * int(row[f"{prefix}pp"]) * int(row[f"{prefix}dp"])
        inline = spec["extraConfig"]["inline"]
        bs = int(row[f"{prefix}bs"])
        assert f"batch size {bs} each" in (proj / "values.yaml").read_text()
        if backend == "trtllm":
            assert inline["tensor_parallel_size"] == tp and inline["max_batch_size"] == bs
        else:
            assert inline["tensor-parallel-size"] == tp
            limit = "max-num-seqs" if backend == "vllm" else "max-running-requests"
            if flags is not None:  # the engine limit AIConfigurator's generator wrote (at least 512 for these)
                assert inline[limit] == int(flags[flags.index(f"--{limit}") + 1]) >= bs
    workers = gen["WorkerConfig"]["agg_workers"] if mode == "agg" else gen["WorkerConfig"]["decode_workers"]
    per = 1 if mode == "agg" else int(row["(d)workers"])
    assert pred["concurrency"] == int(row["concurrency"]) * workers // per
    bench = values["benchmark"]["config"]
    assert pred["concurrency"] in bench["concurrency"] and len(bench["concurrency"]) > 1
    assert bench["sla"] == {"ttft": 500, "itl": 20} and (bench["isl"], bench["osl"]) == (1000, 200)
    assert values["tune"]["hardware"] == {"gpuSku": "h200_sxm", "totalGpus": 2}
    assert (proj / "pareto.png").read_bytes() == (saved / "pareto_frontier.png").read_bytes()


@pytest.mark.helm
@pytest.mark.parametrize("backend", ["vllm", "sglang", "trtllm"])
def test_tuned_project_passes_the_recipes_checks(tuned, backend):
    """What tests/test_recipes.py holds of every recipe: every environment validates, dev renders a
    schema-valid DynamoGraphDeployment, each role has its parallelism's GPUs, local runs the mocker
    with the tuned GPU named."""
    proj_dir, *_ = tuned[backend]
    proj = p.Project.at(proj_dir / "values.yaml")
    assert set(p.plans(proj)) == {"dev", "local", "prod"}
    values = load.load(proj.values_file).data
    for role in worker_roles(values):
        spec = values["model"][role]
        sizes = parallelism(spec)
        tp, pp, dp = (next(iter(sizes[k]), 1) for k in ("tp", "pp", "dp"))
        assert all(len(v) <= 1 for v in sizes.values()) and spec["gpus"] * nodes(spec) == tp * pp * dp
    local = p.load_deployment(proj, "local")
    assert local.backend == "mocker" and local.values["cluster"]["gpuSku"] == "h200_sxm"
    out = compose("template", "--env", "dev", cwd=proj_dir)
    assert out.returncode == 0, out.stderr
    docs = load_docs(out.stdout)
    assert all_errors(docs) == []
    dgd = next(d for d in docs if d["kind"] == "DynamoGraphDeployment")
    comps = {c["name"]: c for c in dgd["spec"]["components"]}
    for role in worker_roles(values):
        assert comps[role]["replicas"] == values["model"][role]["replicas"]


@pytest.mark.cli
def test_emitted_dgdr_is_valid_for_the_1_6_types(tuned):
    proj, *_ = tuned["vllm"]
    doc = yaml.safe_load((proj / "dgdr.yaml").read_text())
    assert doc["apiVersion"] == "nvidia.com/v1beta1" and doc["kind"] == "DynamoGraphDeploymentRequest"
    python = venvs.require("ai-dynamo", "python", version="1.6.1")
    (types,) = venvs.venv_path("ai-dynamo", version="1.6.1").glob(
        "lib/python3*/site-packages/dynamo/profiler/utils/dgdr_v1beta1_types.py"
    )
    # The types module re-exports the Planner's config, whose package imports scikit-learn (not in the
    # local runtime's venv): a stand-in for that one import, the DGDR types themselves as shipped.
    check = (
        "import importlib.util, json, sys, types\n"
        "from pydantic import BaseModel\n"
        "stub = types.ModuleType('dynamo.planner.config.planner_config')\n"
        "stub.PlannerConfig = type('PlannerConfig', (BaseModel,), {})\n"
        "stub.PlannerPreDeploymentSweepMode = str\n"
        "sys.modules.update({'dynamo.planner': types.ModuleType('dynamo.planner'),\n"
        "                    'dynamo.planner.config': types.ModuleType('dynamo.planner.config'),\n"
        "                    'dynamo.planner.config.planner_config': stub})\n"
        f"spec = importlib.util.spec_from_file_location('dgdr_types', {str(types)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "s = m.DynamoGraphDeploymentRequestSpec.model_validate(json.loads(sys.stdin.read()))\n"
        "print(json.dumps(s.model_dump(mode='json', exclude_unset=True)))\n"
    )
    done = subprocess.run([str(python), "-c", check], input=json.dumps(doc["spec"]), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    spec = json.loads(done.stdout)
    values = load.load(proj / "values.yaml").data
    assert spec["model"] == values["model"]["name"] and spec["backend"] == "vllm"
    assert spec["sla"] == values["tune"]["sla"] and spec["hardware"] == values["tune"]["hardware"]
    assert spec["workload"] == values["tune"]["workload"]


@pytest.mark.cli
def test_update_retunes_from_the_tune_section_and_is_deterministic(tuned, tmp_path):
    """The same inputs give the same files: --update on a copy of the project rewrites what was edited
    back, byte for byte (the Pareto plot too)."""
    proj, *_ = tuned["sglang"]
    copy = tmp_path / "p"
    subprocess.run(["cp", "-r", str(proj), str(copy)], check=True)
    text = (copy / "values.yaml").read_text()
    (copy / "values.yaml").write_text(re.sub(r"replicas: \d+", "replicas: 7", text))
    (copy / "pareto.png").write_bytes(b"stale")
    done = compose("tune", "--update", cwd=copy)
    assert done.returncode == 0, done.stderr
    assert (copy / "values.yaml").read_text() == text
    assert (copy / "pareto.png").read_bytes() == (proj / "pareto.png").read_bytes()
    assert (copy / "RECIPE.md").read_text() == (proj / "RECIPE.md").read_text()


# --- what AIConfigurator cannot tune ----------------------------------------------------------


@pytest.mark.cli
@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"model": "example/not-a-model"}, "'example/not-a-model' is not in AIConfigurator's model database"),
        ({"ttft": "1", "itl": "1"}, "no parallel configuration met TTFT/TPOT"),
    ],
)
def test_unsupported_inputs_exit_2_with_aiconfigurators_reason_and_write_nothing(tmp_path, over, reason):
    done = compose("tune", *tune_args("vllm", **over), "--dir", "proj", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: aiconfigurator 0.12.0: ") and reason in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.cli
def test_unknown_gpu_and_missing_options_are_refused_before_tuning(tmp_path):
    done = compose("tune", *tune_args("vllm", gpu="h999"), "--dir", "proj", cwd=tmp_path)
    assert done.returncode == 2 and "--gpu 'h999'" in done.stderr and "h200_sxm" in done.stderr
    done = compose("tune", "--model", "Qwen/Qwen3-0.6B", cwd=tmp_path)
    assert done.returncode == 2 and "missing --backend, --gpu, --gpus, --isl, --osl" in done.stderr
    assert list(tmp_path.iterdir()) == []


# --- pure parts ---------------------------------------------------------------------------------


@pytest.mark.unit
def test_the_pins_and_the_gpu_list_are_aiconfigurators():
    assert tune.TOOL_VERSION == venvs.PINS["aiconfigurator"]
    # the GPUs with a performance database, as tests/test_twin_perf.py checks them against the venv
    enum = schema.values_schema()["$defs"]["gpuSku"]["enum"]
    assert enum == list(tune.SYSTEMS)


@pytest.mark.unit
def test_engine_flags_become_the_backends_config_keys():
    args = ["--model", "m", "--tensor-parallel-size", "2", "--kv-cache-dtype", "auto", "--enforce-eager",
            "--cudagraph-capture-sizes", "1", "2", "4", "--gpu-memory-utilization", "0.9"]  # fmt: skip
    assert tune.engine_inline("vllm", args, None) == {
        "tensor-parallel-size": 2,
        "kv-cache-dtype": "auto",
        "enforce-eager": True,
        "cudagraph-capture-sizes": [1, 2, 4],
        "gpu-memory-utilization": 0.9,
    }
    sg = tune.engine_inline(
        "sglang",
        ["--model-path", "m", "--tensor-parallel-size", "4", "--disaggregation-transfer-backend", "nixl"],
        None,
    )
    assert sg == {"tensor-parallel-size": 4}
    assert tune.engine_inline(
        "trtllm", ["--max-batch-size", "8"], "max_batch_size: 8\nkv_cache_config:\n  dtype: auto\n"
    ) == {
        "max_batch_size": 8,
        "kv_cache_config": {"dtype": "auto"},
    }


@pytest.mark.unit
def test_sweep_brackets_the_predicted_concurrency():
    assert tune.sweep(120) == [30, 60, 120, 240]
    assert tune.sweep(1) == [1, 2]
    assert tune.sweep(40000) == [10000, 20000, 40000]


def _inputs(**over):
    base = dict(
        model="Qwen/Qwen3-0.6B", backend="vllm", gpu_sku="h200_sxm", total_gpus=2, isl=1, osl=1, ttft=1.0, itl=1.0
    )
    return tune.Inputs(**{**base, **over})


@pytest.mark.unit
@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"e2e_latency": 5.0}, "not both"),
        ({"itl": None}, "both --ttft and --itl"),
        ({"gpu_sku": "h999"}, "no data for it"),
        ({"total_gpus": 0}, "--gpus must be at least 1"),
        ({"ttft": -1.0}, "--ttft must be more than 0"),
        ({"request_rate": 1.0, "concurrency": 2.0}, "--request-rate or --concurrency"),
    ],
)
def test_inputs_are_checked(over, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        _inputs(**over).check()


@pytest.mark.unit
def test_argv_names_the_inputs_as_aiconfigurator_does():
    assert tune.argv(_inputs(e2e_latency=900.0, ttft=None, itl=None, concurrency=16.0)) == [
        "cli", "default", "--model-path", "Qwen/Qwen3-0.6B", "--system", "h200_sxm", "--backend", "vllm",
        "--total-gpus", "2", "--isl", "1", "--osl", "1", "--request-latency", "900", "--target-concurrency", "16",
    ]  # fmt: skip


def _validate(tmp_path: Path, text: str):
    f = tmp_path / "values.yaml"
    f.write_text("dynamoNamespace: x\nmodel:\n  name: a/b\n  backend:\n    type: vllm\n" + text)
    return schema.validate(load.load(f))


GOOD_TUNE = (
    "tune:\n  sla: {ttft: 600, itl: 20}\n  hardware: {gpuSku: h200_sxm, totalGpus: 8, numGpusPerNode: 8}\n"
    "  workload: {isl: 4000, osl: 500, concurrency: 64}\n"
    "  predicted: {mode: agg, concurrency: 64, ttftMs: 1.5, itlMs: 2, tokensPerSecondPerGpu: 3, tokensPerSecondPerUser: 4}\n"
)


@pytest.mark.unit
def test_schema_takes_a_tune_section_and_the_benchmark_sla(tmp_path):
    _validate(
        tmp_path, GOOD_TUNE + "benchmark:\n  config:\n    sla: {ttft: 600, itl: 20.5}\ncluster:\n  gpuSku: b200_sxm\n"
    )


@pytest.mark.unit
@pytest.mark.parametrize(
    "bad",
    [
        GOOD_TUNE.replace("{ttft: 600, itl: 20}", "{ttft: 600, itl: 20, e2eLatency: 9}"),
        GOOD_TUNE.replace("{ttft: 600, itl: 20}", "{ttft: 600}"),
        GOOD_TUNE.replace("gpuSku: h200_sxm", "gpuSku: h999"),
        GOOD_TUNE.replace("totalGpus: 8", "totalGpus: 0"),
        GOOD_TUNE.replace("concurrency: 64}\n", "concurrency: 64, requestRate: 2}\n", 1),
        GOOD_TUNE.replace("mode: agg", "mode: both"),
        GOOD_TUNE + "  extra: 1\n",
        "benchmark:\n  config:\n    sla: {ttft: 0, itl: 20}\n",
        "benchmark:\n  config:\n    sla: {ttft: 1, tpot: 20}\n",
        "cluster:\n  gpuSku: h999\n",
    ],
)
def test_schema_refuses_a_bad_tune_section(tmp_path, bad):
    with pytest.raises(InvalidValues):
        _validate(tmp_path, bad)


@pytest.mark.unit
def test_init_from_a_tuned_recipe_brings_its_plot_and_names_the_gpu(tmp_path):
    from composer import recipes

    name = "qwen3-32b/vllm/tuned-h200x8"
    written = recipes.scaffold(name, tmp_path / "p")
    root = tmp_path / "p"
    assert root / "pareto.png" in written
    assert (root / "pareto.png").read_bytes() == (recipes.get(name).path / "pareto.png").read_bytes()
    assert "](pareto.png)" in (root / "RECIPE.md").read_text()
    assert load.load(root / "environments" / "local.yaml").data["cluster"]["gpuSku"] == "h200_sxm"
    assert "gpuSku" not in load.load(root / "environments" / "dev.yaml").data["cluster"]


@pytest.mark.cli
@pytest.mark.parametrize(
    "name", ["qwen3-32b/vllm/tuned-h200x8", "qwen3-32b/sglang/tuned-h200x8", "qwen3-32b/trtllm/tuned-h200x8"]
)
def test_tuned_recipes_are_what_compose_tune_writes_today(name):
    """The recipes scripts/tune-recipes wrote are up to date: tuning again from each one's own tune:
    section gives its files, byte for byte."""
    from composer import recipes

    recipe = recipes.get(name)
    inputs = tune.Inputs.from_values(load.load(recipe.values_file).data, name)
    texts, blobs = tune.recipe_files(tune.run(inputs), name)
    for rel, text in texts.items():
        assert (recipe.path / rel).read_text() == text, f"{name}/{rel} is stale: run scripts/tune-recipes {name}"
    for rel, data in blobs.items():
        assert (recipe.path / rel).read_bytes() == data, f"{name}/{rel} is stale: run scripts/tune-recipes {name}"


@pytest.mark.unit
def test_tuned_values_that_break_the_schema_are_refused_before_writing(tmp_path):
    """A configuration the schema refuses (here 20 GPUs a worker: a pod has at most 16) ends as
    invalid values, located, and project_files returns nothing to write."""
    row = {"concurrency": "4", "tp": "20", "pp": "1", "dp": "1", "bs": "4", "ttft": "1", "tpot": "1",
           "tokens/s/gpu": "1", "tokens/s/user": "1", "tokens/s/gpu_cluster": "1"}  # fmt: skip
    saved = {
        "modes": {"agg": {"top": [row], "pareto": [], "generator": {"WorkerConfig": {"agg_workers": 1}}}},
        "engines": {"agg": {"agg": {"cliArgs": ["--tensor-parallel-size", "20"], "engineConfig": None}}},
    }
    tuned = tune.choose(_inputs(total_gpus=20), saved)
    assert tuned.chosen.roles["decode"].gpus == 20
    with pytest.raises(InvalidValues, match="/model/decode/gpus"):
        tune.project_files(tuned, name="x-agg", title="t")
