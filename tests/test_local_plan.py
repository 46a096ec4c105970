"""The local runtime's pure parts: DGD -> processes, $(VAR) expansion, the stand-in model, ports, venvs."""

from __future__ import annotations

import dataclasses
import json
import re
import socket
from pathlib import Path

import pytest

from composer import dynamo, proc
from composer.errors import ComposeError, UsageError
from composer.local import graph, ports, standin, venvs
from composer.local.graph import ProcessSpec, expand, plan_processes, served_model
from tests.support.local import NEEDS_LOCAL_RUNTIME
from tests.support.local_dgd import MODEL, mocker_docs

PY = "/venv/bin/python"
STATE = Path("/state")
MODEL_ENV = {"HF_HOME": "/state/hf", "HF_HUB_OFFLINE": "1"}
PLANES = ("--discovery-backend", "file", "--request-plane", "tcp", "--event-plane", "zmq")
REPO = Path(__file__).resolve().parents[1]


def plan(docs, **kw):
    return plan_processes(docs, python=PY, state_dir=STATE, http_port=18000, model_env=MODEL_ENV, **kw)


def base_env(**extra):
    return {
        "DYN_EVENT_PLANE_HOST": "127.0.0.1",  # the default version is 1.6: see test_each_dynamo_version
        "DYN_NAMESPACE": "qwen-local",
        "DYN_FILE_KV": "/state/kv",
        "DYN_TCP_RPC_HOST": "127.0.0.1",
        "DYN_TCP_RESPONSE_STREAM_HOST": "lo",
        "DYN_SDK_DISABLE_ANSI_LOGGING": "1",
        "PYTHONUNBUFFERED": "1",
        **MODEL_ENV,
        **extra,
    }


def worker_env(port, config):
    # HF_HOME=/model-cache from the chart loses to the local model env; HF_TOKEN (a secretKeyRef) is gone.
    return base_env(
        DYNAMO_EXTRA_CONFIG=config,
        DYN_SYSTEM_HOST="127.0.0.1",
        DYN_SYSTEM_PORT=str(port),
        DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS='["generate"]',
    )


# -- plan_processes ----------------------------------------------------------------------------


@pytest.mark.unit
def test_aggregated_round_robin_is_a_frontend_and_one_mocker():
    config = "/state/config/decode/extra-config/config.yaml"
    assert plan(mocker_docs()) == [
        ProcessSpec(
            name="frontend-0",
            component="frontend",
            role="frontend",
            argv=(PY, "-m", "dynamo.frontend", *PLANES, "--http-host", "127.0.0.1", "--http-port", "18000"),
            env=base_env(DYN_ROUTER_MODE="round-robin"),
            ports=(18000,),
        ),
        ProcessSpec(
            name="decode-0",
            component="decode",
            role="worker",
            argv=(
                PY,
                "-m",
                "dynamo.mocker",
                "--model-path",
                MODEL,
                "--model-name",
                MODEL,
                "--extra-engine-args",
                config,
                *PLANES,
            ),
            env=worker_env(18001, config),
            ports=(18001,),
            files=((Path(config), '{"speedup_ratio": 10.0}'),),
        ),
    ]


@pytest.mark.unit
def test_disaggregated_kv_gives_each_replica_its_own_system_port():
    specs = plan(mocker_docs(disagg=True, router="kv", decode_replicas=2))
    assert [(s.name, s.role, s.ports, s.env.get("DYN_SYSTEM_PORT")) for s in specs] == [
        ("frontend-0", "frontend", (18000,), None),
        ("decode-0", "decode", (18001,), "18001"),
        ("decode-1", "decode", (18002,), "18002"),
        ("prefill-0", "prefill", (18003,), "18003"),
    ]
    assert specs[0].env["DYN_ROUTER_MODE"] == "kv"
    assert specs[3].argv[3:11] == (
        "--model-path",
        MODEL,
        "--model-name",
        MODEL,
        "--disaggregation-mode",
        "prefill",
        "--extra-engine-args",
        "/state/config/prefill/extra-config/config.yaml",
    )


@pytest.mark.helm
@pytest.mark.parametrize(
    "policy, mode", [("none", "round-robin"), ("round-robin", "round-robin"), ("random", "random"), ("kv", "kv")]
)
def test_every_routing_policy_reaches_the_local_frontend_through_the_real_chart(tmp_path, policy, mode):
    """values file -> our chart, rendered by real helmfile/helm -> the frontend process's router mode."""
    from tests.support.project import compose, make_project
    from tests.support.validate import load_docs

    values = (REPO / "values.yaml").read_text()
    assert "routingPolicy: kv" in values
    proj = make_project(tmp_path / "proj", values.replace("routingPolicy: kv", f"routingPolicy: {policy}"))
    out = compose("template", "--env", "local", cwd=proj)
    assert out.returncode == 0, out.stderr
    frontend = plan(load_docs(out.stdout))[0]
    assert frontend.role == "frontend" and frontend.env["DYN_ROUTER_MODE"] == mode


@pytest.mark.helm
def test_an_aggregated_worker_typed_decode_runs_as_the_aggregated_worker(tmp_path):
    """model.decode.type: decode (upstream's aggregated recipes) changes the rendered type only: the
    local graph runs the same one aggregated worker, without a disaggregation mode."""
    from tests.support.local import values
    from tests.support.project import compose, make_project
    from tests.support.validate import load_docs

    base = values(disagg=False, routing="kv", decode_replicas=1)
    specs = {}
    for worker_type in ("worker", "decode"):
        text = base.replace("  decode:\n", f"  decode:\n    type: {worker_type}\n")
        assert text != base
        proj = make_project(tmp_path / worker_type, text, {"local": "target: local\n"})
        out = compose("template", "--env", "local", cwd=proj)
        assert out.returncode == 0, out.stderr
        specs[worker_type] = plan(load_docs(out.stdout))
    assert [(s.name, s.role) for s in specs["decode"]] == [("frontend-0", "frontend"), ("decode-0", "decode")]
    assert not any("--disaggregation-mode" in s.argv for s in specs["decode"])
    assert [dataclasses.replace(s, role="decode") if s.role == "worker" else s for s in specs["worker"]] == specs[
        "decode"
    ]


@pytest.mark.helm
def test_loras_are_the_operators_and_only_noted_locally(tmp_path):
    """model.loras renders DynamoModels the operator loads into Kubernetes pods: the local processes are
    the same, and the frontend's notes say the adapters are not loaded."""
    from tests.support.local import values
    from tests.support.project import compose, make_project
    from tests.support.validate import load_docs

    base = values(disagg=False, routing="kv", decode_replicas=1).replace(
        "  decode:\n", "  decode:\n    modelRef: {name: base-model}\n"
    )
    loras = "  loras:\n    - {name: adapter, modelName: my/adapter, source: {uri: 's3://loras/my/adapter'}}\n"
    specs = {}
    for name, text in (("without", base), ("with", base.replace("\nmodel:\n", "\nmodel:\n" + loras, 1))):
        proj = make_project(tmp_path / name, text, {"local": "target: local\n"})
        out = compose("template", "--env", "local", cwd=proj)
        assert out.returncode == 0, out.stderr
        specs[name] = plan(load_docs(out.stdout))
    assert "DynamoModel" in out.stdout
    note = "DynamoModel adapter (LoRA adapter) is not loaded locally"
    assert specs["with"][0].notes == (note,)
    assert specs["with"] == [dataclasses.replace(specs["without"][0], notes=(note,)), *specs["without"][1:]]


@pytest.mark.unit
def test_a_model_ref_is_the_operators_and_changes_nothing_locally():
    """modelRef only gives the pods a headless Service on Kubernetes: the local processes are the same."""
    docs = mocker_docs(disagg=True)
    with_ref = json.loads(json.dumps(docs))
    (dgd,) = [d for d in with_ref if d["kind"] == "DynamoGraphDeployment"]
    for comp in dgd["spec"]["components"][1:]:
        comp["modelRef"] = {"name": MODEL, "revision": "main"}
    assert plan(with_ref) == plan(docs)


@pytest.mark.unit
def test_system_ports_can_start_elsewhere():
    specs = plan(mocker_docs(decode_replicas=3), system_port_base=19500)
    assert [s.ports for s in specs] == [(18000,), (19500,), (19501,), (19502,)]


@pytest.mark.unit
def test_disaggregated_mocker_config_gets_its_worker_type_locally():
    """1.4 and 1.5 read it at the top of the file, 1.6 under "engine" (composer/dynamo.py Release)."""
    flat = plan(mocker_docs(disagg=True), version="1.4.0")
    assert {s.name: json.loads(s.files[0][1]) for s in flat[1:]} == {
        "decode-0": {"speedup_ratio": 10.0, "worker_type": "decode"},
        "prefill-0": {"speedup_ratio": 10.0, "worker_type": "prefill"},
    }
    assert flat[1].notes[0].startswith("added worker_type=decode to the local copy of config.yaml")
    assert "ignores --disaggregation-mode" in flat[1].notes[0]
    assert json.loads(plan(mocker_docs(disagg=True), version="1.5.1")[2].files[0][1])["worker_type"] == "prefill"
    nested = plan(mocker_docs(disagg=True, engine={"engine": {"speedup_ratio": 10.0}}), version="1.6.1")
    assert {s.name: json.loads(s.files[0][1]) for s in nested[1:]} == {
        "decode-0": {"engine": {"speedup_ratio": 10.0, "worker_type": "decode"}},
        "prefill-0": {"engine": {"speedup_ratio": 10.0, "worker_type": "prefill"}},
    }
    assert nested[1].notes[0].startswith("added engine.worker_type=decode to the local copy of config.yaml")
    # a config without an engine section gets one; its other sections stay
    docs = mocker_docs(disagg=True, engine={"dynamo": {"enable_local_indexer": True}})
    assert json.loads(plan(docs, version="1.6.1")[2].files[0][1]) == {
        "dynamo": {"enable_local_indexer": True},
        "engine": {"worker_type": "prefill"},
    }


@pytest.mark.unit
def test_a_worker_type_already_in_the_config_is_kept():
    specs = plan(mocker_docs(disagg=True, engine={"worker_type": "prefill", "speedup_ratio": 1}), version="1.4.0")
    assert json.loads(specs[2].files[0][1]) == {"worker_type": "prefill", "speedup_ratio": 1}
    assert specs[2].notes == ()
    specs = plan(mocker_docs(disagg=True, engine={"engine": {"worker_type": "prefill"}}), version="1.6.1")
    assert json.loads(specs[2].files[0][1]) == {"engine": {"worker_type": "prefill"}}
    assert specs[2].notes == ()


@pytest.mark.unit
@pytest.mark.parametrize("version", ["1.4.0", "1.5.1", "1.6.1"])
def test_each_dynamo_version(version):
    """The same argv for every version; 1.6 alone gets DYN_EVENT_PLANE_HOST, so that its ZMQ
    publishers advertise loopback rather than the host's first non-loopback IP (1.4.0 and 1.5.1
    do not know the variable). The health and system-port settings stay on every version."""
    specs = plan(mocker_docs(disagg=True, router="kv"), version=version)
    assert [s.argv[2] for s in specs] == ["dynamo.frontend", "dynamo.mocker", "dynamo.mocker"]
    assert all(s.argv[-6:] == PLANES for s in specs[1:])
    assert specs[0].argv[-10:] == (*PLANES, "--http-host", "127.0.0.1", "--http-port", "18000")
    event_host = {"1.4.0": None, "1.5.1": None, "1.6.1": "127.0.0.1"}[version]
    assert {s.env.get("DYN_EVENT_PLANE_HOST") for s in specs} == {event_host}
    for s in specs[1:]:
        assert s.env["DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS"] == '["generate"]'
        assert s.env["DYN_TCP_RESPONSE_STREAM_HOST"] == graph.LOOPBACK_IFACE  # 1.4.0 refuses an IP


@pytest.mark.unit
def test_flags_we_own_replace_the_charts():
    docs = mocker_docs()
    fe = docs[0]["spec"]["components"][0]["podTemplate"]["spec"]["containers"][0]
    fe["args"] = ["--request-plane", "nats", "--http-port=9000", "--router-temperature", "0.5"]
    worker = docs[0]["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]
    worker["args"] = ["--model-path", MODEL, "--discovery-backend=etcd", "--event-plane", "nats"]
    fe_spec, w_spec = plan(docs)
    assert fe_spec.argv[3:] == (
        "--router-temperature",
        "0.5",
        *PLANES,
        "--http-host",
        "127.0.0.1",
        "--http-port",
        "18000",
    )
    assert w_spec.argv[3:] == ("--model-path", MODEL, *PLANES)


@pytest.mark.unit
def test_env_values_expand_earlier_entries_and_dgd_env_comes_first():
    docs = mocker_docs()
    docs[0]["spec"]["env"] = [{"name": "ROOT", "value": "/opt"}]
    worker = docs[0]["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]
    worker["env"] = [
        {"name": "A", "value": "$(ROOT)/a"},
        {"name": "B", "value": "$(A)/b $(LATER)"},
        {"name": "LATER", "value": "x"},
    ]
    worker["args"] = ["--model-path", "$(B)", "--n", "$$(A)"]
    spec = plan(docs)[1]
    assert (spec.env["A"], spec.env["B"]) == ("/opt/a", "/opt/a/b $(LATER)")
    assert spec.argv[3:7] == ("--model-path", "/opt/a/b $(LATER)", "--n", "$(A)")


@pytest.mark.unit
def test_frontend_defaults_and_one_replica_only():
    docs = mocker_docs()
    docs[0]["spec"]["components"][0]["replicas"] = 2
    docs[0]["spec"]["components"][0]["podTemplate"] = {}
    docs[0]["spec"]["components"].append({"name": "planner", "type": "planner"})
    specs = plan(docs)
    assert [s.name for s in specs] == ["frontend-0", "decode-0"]
    assert specs[0].argv[:3] == (PY, "-m", "dynamo.frontend")
    assert specs[0].notes == (
        "component planner (type planner) is not run locally",
        "frontend replicas: 2 -> 1 locally (one HTTP port)",
    )


@pytest.mark.unit
def test_sub_path_mount_points_at_the_file():
    docs = mocker_docs()
    pod = docs[0]["spec"]["components"][1]["podTemplate"]["spec"]
    pod["containers"][0]["volumeMounts"] = [
        {"name": "extra-config", "mountPath": "/etc/mocker.json", "subPath": "config.yaml"}
    ]
    pod["containers"][0]["env"][0]["value"] = "/etc/mocker.json"
    spec = plan(docs)[1]
    assert spec.env["DYNAMO_EXTRA_CONFIG"] == "/state/config/decode/extra-config/config.yaml"
    assert spec.files[0][0] == Path("/state/config/decode/extra-config/config.yaml")


@pytest.mark.unit
def test_all_configmap_keys_when_no_items():
    docs = mocker_docs()
    docs[0]["spec"]["components"][1]["podTemplate"]["spec"]["volumes"][0]["configMap"].pop("items")
    docs[1]["data"]["other.json"] = "{}"
    assert [str(p) for p, _ in plan(docs)[1].files] == [
        "/state/config/decode/extra-config/config.yaml",
        "/state/config/decode/extra-config/other.json",
    ]


@pytest.mark.unit
def test_served_model():
    assert served_model(mocker_docs(disagg=True)) == MODEL


@pytest.mark.unit
@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop(0), "expected one DynamoGraphDeployment in the rendered chart, found 0"),
        (lambda d: d.append(dict(d[0])), "found 2"),
        (lambda d: d[0].update(apiVersion="nvidia.com/v1alpha1"), "local runs read nvidia.com/v1beta1 only"),
        (lambda d: d[0]["spec"]["components"].pop(0), "exactly one component of type frontend, found 0"),
        (lambda d: _container(d)["command"].__setitem__(2, "dynamo.vllm"), "dynamo.vllm, which needs a GPU"),
        (
            lambda d: _container(d).update(command=["/bin/sh", "-c"], args=["python3 -m dynamo.mocker"]),
            "component decode runs a shell script (`/bin/sh -c ...`): local runs start `python3 -m dynamo.mocker`",
        ),
        (
            lambda d: _container(d).update(command=["bash", "-c", "exec python3 -m dynamo.mocker"], args=[]),
            "set the role's command and args to null for compose's",
        ),
        (
            lambda d: _container(d).update(command=["/usr/bin/env", "python3"], args=["-m", "dynamo.mocker"]),
            "runs `/usr/bin/env python3 -m ...`: local runs support `python3 -m`",
        ),
        (lambda d: _container(d).pop("command"), "component decode (type worker) has no command"),
        (lambda d: d.pop(1), "ConfigMap 'qwen-local-decode-config' (volume extra-config) is not in the rendered chart"),
        (lambda d: d[1].update(data={}), "has no key 'config.yaml'"),
    ],
)
def test_bad_graphs_are_usage_errors(mutate, message):
    docs = mocker_docs()
    mutate(docs)
    with pytest.raises(UsageError, match=re.escape(message)):
        plan(docs)


@pytest.mark.helm
def test_an_imported_worker_whose_shell_command_says_everything_runs_as_compose_s_mocker_locally(tmp_path):
    """Upstream's EKS workers run `bash -c "exec python3 -m dynamo.vllm --model ..."` with no args: the
    import keeps that command with `args: []`, and its local environment nulls both, so the local run
    is compose's mocker with compose's flags (a shell script itself is refused: see above)."""
    from composer import dgd_import
    from tests.support.project import compose
    from tests.support.validate import load_docs

    src = REPO / "tests" / "fixtures" / "dgd-upstream-e147ceea" / "vllm_disagg-eks.yaml"
    dgd_import.import_file(src, tmp_path / "proj")
    out = compose("template", "--env", "local", cwd=tmp_path / "proj")
    assert out.returncode == 0, out.stderr
    specs = plan(load_docs(out.stdout))
    assert [s.name for s in specs] == ["frontend-0", "decode-0", "prefill-0"]
    assert specs[0].argv[1:3] == ("-m", "dynamo.frontend")
    for s in specs[1:]:
        assert s.argv[1:5] == ("-m", "dynamo.mocker", "--model-path", "Qwen/Qwen3-32B"), s.argv
        assert ("--disaggregation-mode", s.component) == s.argv[s.argv.index("--disaggregation-mode") :][:2]


@pytest.mark.unit
def test_two_processes_on_one_port_is_refused():
    with pytest.raises(UsageError, match="port 18001 is used by both frontend-0 and decode-0"):
        plan_processes(mocker_docs(), python=PY, state_dir=STATE, http_port=18001, model_env={}, system_port_base=18001)


@pytest.mark.unit
def test_system_ports_must_fit_dynamos_i16():
    with pytest.raises(UsageError, match="decode-0: system port 32768 is above 32767"):
        plan(mocker_docs(), system_port_base=32768)
    assert plan(mocker_docs(), system_port_base=32767)[1].ports == (32767,)


def _container(docs):
    return docs[0]["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]


# -- $(VAR) expansion, as the kubelet does it --------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    "text, expected",
    [
        ("$(A)", "1"),
        ("x$(A)y$(B)z", "x1y2z"),
        ("$(MISSING)", "$(MISSING)"),
        ("$$(A)", "$(A)"),
        ("$$$(A)", "$1"),
        ("$$", "$"),
        ("$A", "$A"),
        ("$(A", "$(A"),
        ("$", "$"),
        ("$()", "$()"),
        ("a $(A) $(A)", "a 1 1"),
    ],
)
def test_expand_like_kubelet(text, expected):
    assert expand(text, {"A": "1", "B": "2"}) == expected


# -- the stand-in model ------------------------------------------------------------------------

# The stand-in's content hash. If this changes, the generated files changed: bump STANDIN_VERSION.
STANDIN_REVISION = "0a43ecf8fb60c58b8b134c0d059f4e4ec56472cb"


@pytest.mark.unit
def test_standin_is_deterministic():
    files = standin.standin_files(MODEL)
    assert standin.standin_files(MODEL) == files
    assert standin.revision(files) == STANDIN_REVISION
    vocab = json.loads(files["tokenizer.json"])["model"]["vocab"]
    assert len(vocab) == standin.VOCAB_SIZE == 32000
    assert len(set(vocab.values())) == len(vocab)
    assert "chat_template" in json.loads(files["tokenizer_config.json"])


@pytest.mark.unit
def test_standin_is_seeded_as_an_offline_hub_snapshot_and_reused(tmp_path):
    source = standin.prepare_model(MODEL, tmp_path / "state", environ={"HF_HOME": str(tmp_path / "user-hf")})
    snap = tmp_path / "state/hf/hub/models--Qwen--Qwen3-0.6B/snapshots" / STANDIN_REVISION
    assert (source.kind, source.snapshot, source.hf_home) == ("stand-in", snap, tmp_path / "state/hf")
    assert source.env == {
        "HF_HOME": str(tmp_path / "state/hf"),
        "HF_HUB_CACHE": str(tmp_path / "state/hf/hub"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    assert (snap.parent.parent / "refs/main").read_text() == STANDIN_REVISION
    assert sorted(p.name for p in snap.iterdir()) == [
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    mtimes = {p.name: p.stat().st_mtime_ns for p in snap.iterdir()}
    standin.prepare_model(MODEL, tmp_path / "state", environ={"HF_HOME": str(tmp_path / "user-hf")})
    assert {p.name: p.stat().st_mtime_ns for p in snap.iterdir()} == mtimes


@pytest.mark.unit
def test_a_model_in_the_users_hf_cache_is_used_as_is(tmp_path):
    repo = tmp_path / "hf/hub/models--Qwen--Qwen3-0.6B"
    snap = repo / "snapshots/abc123"
    snap.mkdir(parents=True)
    for name in standin.REQUIRED_FILES:
        (snap / name).write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs/main").write_text("abc123\n")
    source = standin.prepare_model(MODEL, tmp_path / "state", environ={"HF_HOME": str(tmp_path / "hf")})
    assert (source.kind, source.snapshot) == ("cache", snap)
    assert source.env["HF_HOME"] == str(tmp_path / "hf")
    assert not (tmp_path / "state/hf").exists()


@pytest.mark.unit
def test_hf_cache_location_follows_hugging_face_rules():
    assert standin.user_hf_home({"XDG_CACHE_HOME": "/x"}) == Path("/x/huggingface")
    assert standin.user_hf_home({"HF_HOME": "/h", "XDG_CACHE_HOME": "/x"}) == Path("/h")
    assert standin.user_hub_cache({"HF_HOME": "/h"}) == Path("/h/hub")
    assert standin.user_hub_cache({"HF_HOME": "/h", "HF_HUB_CACHE": "/c"}) == Path("/c")


@pytest.mark.local
@NEEDS_LOCAL_RUNTIME
def test_standin_tokenizer_decodes_mocker_ids_to_words(tmp_path):
    """The mocker emits ids in the 1000-2000 range: each must decode to a word that encodes back
    to one token, or AIPerf finds no content and ISL/OSL counts drift."""
    snap = standin.seed_standin(tmp_path, MODEL)
    script = (
        "import sys; from tokenizers import Tokenizer\n"
        "t = Tokenizer.from_file(sys.argv[1] + '/tokenizer.json')\n"
        "words = [t.decode([i]) for i in range(1000, 2000)]\n"
        "assert all(words), 'empty decode'\n"
        "assert t.encode(' '.join(words)).ids == list(range(1000, 2000))\n"
        "assert t.encode('<unk> <unk>').ids == [3, 3]\n"
        "print(t.encode('<|im_start|>user').ids)\n"
    )
    done = proc.run([str(venvs.venv_bin("ai-dynamo", "python")), "-c", script, str(snap)])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1, 3]"


# -- ports ---------------------------------------------------------------------------------------


@pytest.mark.unit
def test_a_busy_port_is_named_with_its_holder():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert not ports.port_free(port)
        [line] = ports.conflicts([port])
        assert line.startswith(f"port {port} is in use by pid {__import__('os').getpid()} (")
    assert ports.port_free(port)
    assert ports.conflicts([port]) == []


# -- venvs ---------------------------------------------------------------------------------------


@pytest.mark.unit
def test_venv_locations_honour_compose_venvs():
    assert venvs.venv_path("ai-dynamo", {"COMPOSE_VENVS": "/v"}) == Path(f"/v/ai-dynamo-{dynamo.DEFAULT_VERSION}")
    assert venvs.venv_path("ai-dynamo", {"COMPOSE_VENVS": "/v"}, "1.4.0") == Path("/v/ai-dynamo-1.4.0")
    assert venvs.venv_path("ai-dynamo", {}, "1.6.1") == Path.home() / ".cache/dynamo-compose/venvs/ai-dynamo-1.6.1"
    with pytest.raises(ValueError, match="aiperf is pinned"):
        venvs.venv_path("aiperf", {}, "0.14.0")
    assert venvs.venv_path("aiperf", {"COMPOSE_VENVS": "/v"}) == Path("/v/aiperf-0.13.0")
    assert venvs.venv_path("aiperf", {}) == Path.home() / ".cache/dynamo-compose/venvs/aiperf-0.13.0"


@pytest.mark.unit
def test_a_missing_venv_says_how_to_install_it(tmp_path):
    with pytest.raises(ComposeError) as missing:
        venvs.require("ai-dynamo", "python", {"COMPOSE_VENVS": str(tmp_path)}, "1.4.0")
    assert str(missing.value) == (
        f"ai-dynamo 1.4.0 is not installed ({tmp_path}/ai-dynamo-1.4.0/bin/python missing): "
        "run `scripts/install-local-runtime 1.4.0` (creates its venv; needs PyPI once)"
    )
    with pytest.raises(
        ComposeError,
        match=f"ai-dynamo {dynamo.DEFAULT_VERSION} is not installed .* run `scripts/install-local-runtime {dynamo.DEFAULT_VERSION}`",
    ):
        venvs.require("ai-dynamo", "python", {"COMPOSE_VENVS": str(tmp_path)})
    with pytest.raises(ComposeError, match=r"aiperf 0\.13\.0 is not installed .* run `scripts/install-local-runtime`"):
        venvs.require("aiperf", "aiperf", {"COMPOSE_VENVS": str(tmp_path)})


@pytest.mark.unit
def test_install_script_pins_match_the_code():
    script = (REPO / "scripts/install-local-runtime").read_text()
    assert venvs.PINS["ai-dynamo"] == dynamo.DEFAULT_VERSION
    assert f"AI_DYNAMO_VERSION={venvs.PINS['ai-dynamo']}\n" in script
    assert f"AIPERF_VERSION={venvs.PINS['aiperf']}\n" in script
    assert f"AICONFIGURATOR_VERSION={venvs.PINS['aiconfigurator']}\n" in script


@pytest.mark.unit
def test_loopback_interface_name():
    assert graph.LOOPBACK_IFACE in ("lo", "lo0")


@pytest.mark.unit
def test_a_port_in_time_wait_after_a_stopped_server_counts_as_free():
    """A graph that was just stopped leaves its ports in TIME_WAIT; `up` right after must not
    refuse them (the servers bind with SO_REUSEADDR too). A listener still makes a port busy."""
    import socket

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    assert not ports.port_free(port)
    conn.close()  # the server side closes first: its end of the connection goes to TIME_WAIT
    client.close()
    server.close()
    plain = socket.socket()
    try:
        plain.bind(("127.0.0.1", port))
        pytest.skip("the kernel did not keep the port in TIME_WAIT")
    except OSError:
        pass
    finally:
        plain.close()
    assert ports.port_free(port)


@pytest.mark.unit
def test_a_seeded_standin_is_found_without_generating_it_again(tmp_path, monkeypatch):
    first = standin.seed_standin(tmp_path, MODEL)
    repo = tmp_path / "hub/models--Qwen--Qwen3-0.6B"
    assert (repo / standin.SEEDED).read_text() == f"v{standin.STANDIN_VERSION} {STANDIN_REVISION}"
    real = standin.standin_files
    monkeypatch.setattr(standin, "standin_files", lambda model: pytest.fail("generated again"))
    assert standin.seed_standin(tmp_path, MODEL) == first

    # another version's stand-in, or a file gone: generated again, and the file put back
    monkeypatch.setattr(standin, "standin_files", real)
    (first / "tokenizer.json").unlink()
    assert standin.seed_standin(tmp_path, MODEL) == first
    assert (first / "tokenizer.json").read_bytes() == real(MODEL)["tokenizer.json"]
    (repo / standin.SEEDED).write_text(f"v{standin.STANDIN_VERSION - 1} {STANDIN_REVISION}")
    (first / "config.json").write_text("{}")
    assert standin.seed_standin(tmp_path, MODEL) == first
    assert (first / "config.json").read_bytes() == real(MODEL)["config.json"]
    assert (repo / standin.SEEDED).read_text() == f"v{standin.STANDIN_VERSION} {STANDIN_REVISION}"
