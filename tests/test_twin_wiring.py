"""The local twin's wiring: which engine and parallelism it simulates (values.yaml's, before the
local environment swaps in the mocker), the mistakes it refuses, the mocker flags it sets, and
the line every report carries about its timings. The perf data itself: tests/test_twin_perf.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from composer.local.graph import plan_processes
from composer.local.target import timing_note_of, twin_record
from composer.project import Project, load_deployment
from composer.twin import WorkerPerf
from tests.support.local_dgd import MODEL, mocker_docs
from tests.support.project import compose, make_project

BASE = """dynamoNamespace: twin
model:
  name: Qwen/Qwen3-0.6B
  backend:
    type: {backend}
  disaggregation: {disagg}
  routingPolicy: kv
  decode:
    replicas: 2
    gpus: 2
  prefill:
    replicas: 3
    gpus: 4
"""
LOCAL = """target: local
cluster:
  gpuSku: h200_sxm
model:
  backend:
    type: mocker
  decode:
    gpus: 0
  prefill:
    gpus: 0
"""


def deployment(tmp_path: Path, *, backend="vllm", disagg=True, local=LOCAL, env="local"):
    proj = make_project(
        tmp_path / "p",
        BASE.format(backend=backend, disagg=str(disagg).lower()),
        {"local": local, "dev": "cluster:\n  gpuSku: h200_sxm\n"},
    )
    return proj, load_deployment(Project.at(proj / "values.yaml"), env)


@pytest.mark.unit
def test_the_twin_simulates_the_engine_and_parallelism_values_yaml_deploys(tmp_path):
    _, dep = deployment(tmp_path)
    assert dep.backend == "mocker"  # what runs here
    assert [(w.role, w.perf) for w in dep.twin] == [
        ("decode", WorkerPerf(MODEL, "h200_sxm", "vllm", 2)),
        ("prefill", WorkerPerf(MODEL, "h200_sxm", "vllm", 4)),
    ]
    assert dep.twin_gpu_count == 2 * 2 + 3 * 4  # the GPUs the simulated deployment takes
    assert twin_record(dep) == {"gpu": "h200_sxm", "gpus": 16, "backend": "vllm", "tp": {"decode": 2, "prefill": 4}}


@pytest.mark.unit
def test_an_aggregated_graph_has_one_twin_worker(tmp_path):
    proj = make_project(
        tmp_path / "p",
        BASE.format(backend="sglang", disagg="false").split("  prefill:")[0],
        {"local": LOCAL.split("  prefill:")[0]},
    )
    dep = load_deployment(Project.at(proj / "values.yaml"), "local")
    assert [(w.role, w.perf.backend, w.perf.tp) for w in dep.twin] == [("decode", "sglang", 2)]


@pytest.mark.unit
def test_multinode_workers_span_their_nodes(tmp_path):
    proj = make_project(
        tmp_path / "p",
        BASE.format(backend="sglang", disagg="true").replace(
            "    gpus: 4\n", "    gpus: 4\n    multinode:\n      nodeCount: 2\n"
        ),
        {"local": LOCAL + "    multinode: null\n"},  # the mocker runs on one node
    )
    dep = load_deployment(Project.at(proj / "values.yaml"), "local")
    assert {w.role: w.perf.tp for w in dep.twin} == {"decode": 2, "prefill": 8}


@pytest.mark.unit
def test_no_twin_without_a_gpu_or_off_this_machine(tmp_path):
    _, dep = deployment(tmp_path, local=LOCAL.replace("cluster:\n  gpuSku: h200_sxm\n", ""))
    assert dep.twin == () and twin_record(dep) is None
    _, dev = deployment(tmp_path / "k", env="dev")  # a cluster's GPU is a fact, not a twin
    assert dev.gpu_sku == "h200_sxm" and dev.twin == ()


@pytest.mark.cli
def test_a_twin_of_no_gpu_engine_is_refused_where_the_gpu_is_named(tmp_path):
    proj = make_project(tmp_path / "p", BASE.format(backend="mocker", disagg="true"), {"local": LOCAL})
    r = compose("validate", cwd=proj)
    assert r.returncode == 2, r.stderr
    assert "environments/local.yaml:3:11" in r.stderr and "/cluster/gpuSku" in r.stderr
    assert "names none" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.cli
@pytest.mark.parametrize(
    "role_yaml, where",
    [
        ('    extraArgs: ["--speedup-ratio", "10"]\n', "/model/decode/extraArgs/0"),
        ('    extraArgs: ["--speedup-ratio=10"]\n', "/model/decode/extraArgs/0"),
        (
            "    extraConfig:\n      inline:\n        speedup_ratio: 10\n",
            "/model/decode/extraConfig/inline/speedup_ratio",
        ),
        (
            "    extraConfig:\n      inline:\n        engine:\n          planner_profile_data: /x.npz\n",
            "/model/decode/extraConfig/inline/engine/planner_profile_data",
        ),
    ],
)
def test_the_twin_refuses_a_speed_of_the_users_own(tmp_path, role_yaml, where):
    local = LOCAL.replace("  decode:\n    gpus: 0\n", "  decode:\n    gpus: 0\n" + role_yaml)
    proj = make_project(tmp_path / "p", BASE.format(backend="vllm", disagg="true"), {"local": local})
    r = compose("validate", cwd=proj)
    assert r.returncode == 2, r.stderr
    assert where in r.stderr and "local twin" in r.stderr
    # the same file without the GPU: the mocker's own speed is the user's to set
    (proj / "environments" / "local.yaml").write_text(local.replace("cluster:\n  gpuSku: h200_sxm\n", ""))
    assert compose("validate", cwd=proj).returncode == 0


@pytest.mark.unit
def test_the_twins_mockers_run_at_speedup_1_on_its_perf_data():
    profile = {"decode": Path("/cache/decode.npz"), "prefill": Path("/cache/prefill.npz")}
    docs = mocker_docs(disagg=True, engine={})
    for comp in docs[0]["spec"]["components"][1:]:  # the user's speedup, as the local env had it
        comp["podTemplate"]["spec"]["containers"][0]["args"] += ["--speedup-ratio", "10"]
    specs = plan_processes(
        docs, python="/py", state_dir=Path("/s"), http_port=18000, model_env={}, profile_data=profile
    )
    by_name = {s.name: list(s.argv) for s in specs}
    for role in ("decode", "prefill"):
        argv = by_name[f"{role}-0"]
        assert argv.count("--speedup-ratio") == 1 and argv[argv.index("--speedup-ratio") + 1] == "1"
        assert argv[argv.index("--decode-speedup-ratio") + 1] == "1"
        assert argv[argv.index("--planner-profile-data") + 1] == str(profile[role])
    assert "--planner-profile-data" not in by_name["frontend-0"]
    plain = plan_processes(docs, python="/py", state_dir=Path("/s"), http_port=18000, model_env={})
    assert "10" in next(s.argv for s in plain if s.name == "decode-0")  # untouched without a twin


@pytest.mark.unit
def test_every_local_report_says_whether_its_timings_predict_a_gpu():
    twin = {"gpu": "h200_sxm", "gpus": 2, "backend": "vllm", "tp": {"decode": 1, "prefill": 1}}
    assert "simulated for 2 x h200_sxm" in timing_note_of({"twin": twin})
    assert "decode TP1, prefill TP1" in timing_note_of({"twin": json.loads(json.dumps(twin))})
    assert "not a prediction" in timing_note_of({})


@pytest.mark.unit
def test_the_schema_names_the_gpus_the_twin_has_timings_for():
    from composer import schema, twin

    values = schema.values_schema()
    assert values["properties"]["cluster"]["properties"]["gpuSku"]["$ref"] == "#/$defs/gpuSku"
    assert values["$defs"]["gpuSku"]["enum"] == list(twin.GPU_SKUS)  # compose tune's GPUs are the same


@pytest.mark.unit
@pytest.mark.parametrize(
    "version, engine, expected",
    [
        (
            "1.6.1",
            {"engine": {"block_size": 16}},
            {
                "engine": {
                    "block_size": 16,
                    "worker_type": "decode",
                    "timing_model": {"type": "external", "provider": "dynamo_profile", "config": {"path": "/c/d.npz"}},
                }
            },
        ),
        ("1.4.0", {"block_size": 16}, {"block_size": 16, "worker_type": "decode", "planner_profile_data": "/c/d.npz"}),
    ],
)
def test_with_an_engine_config_the_twins_timing_goes_into_that_file(version, engine, expected):
    """The mocker reads its whole config from --extra-engine-args when given, ignoring
    --planner-profile-data: the timing must be in the local copy of the file."""
    docs = mocker_docs(disagg=True, engine=engine)
    specs = plan_processes(
        docs,
        python="/py",
        state_dir=Path("/s"),
        http_port=18000,
        model_env={},
        version=version,
        profile_data={"decode": Path("/c/d.npz")},
    )
    decode = next(s for s in specs if s.name == "decode-0")
    assert json.loads(decode.files[0][1]) == expected
    prefill = next(s for s in specs if s.name == "prefill-0")  # no twin data given for it: untouched
    assert "timing_model" not in prefill.files[0][1] and "planner_profile_data" not in prefill.files[0][1]
