"""model.planner: Dynamo's Planner lands in the rendered graph as upstream's profiler puts it there
(ai-dynamo wheel 1.6.1 and 1.4.0, dynamo/profiler/utils/dgd_generation.py add_planner_to_config,
add_profile_data_to_config, enable_planner_worker_scaling_adapters; dynamo/profiler/utils/config.py
DgdPlannerComponentConfig), rendered by real helm; its config file is one the version's own
PlannerConfig takes; its Prometheus URL reaches the platform release.

tests/cases/valid/planner is the project: a disaggregated vLLM graph with the Planner, profiling
data and the inference gateway.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import yaml

from composer import dgd_import, dynamo, explain, proc, schema
from composer import project as p
from composer.local import venvs
from composer.model import Deployment
from composer.plan import gateway_values, platform_values
from tests.support.cases import copy_case, dgd_components, render_model
from tests.support.local import needs_local_runtime
from tests.support.project import REPO, compose

CASE = REPO / "tests" / "cases" / "valid" / "planner"
MAIN = ("podTemplate", "spec", "containers", 0)
# Where upstream's profiler mounts the config and the profiling data (dgd_generation.py
# PLANNER_CONFIG_MOUNT and PROFILE_DATA_MOUNT, get_workspace_dir() being the image's /workspace).
CONFIG_MOUNT = "/workspace/planner_config"
PROFILE_MOUNT = "/workspace/profiling_results"


def at(node, path):
    for step in path:
        node = node[step]
    return node


def project(tmp_path, edit=None) -> p.Project:
    proj = copy_case(CASE, tmp_path / "proj")
    if edit:
        values = yaml.safe_load(proj.values_file.read_text())
        edit(values)
        proj.values_file.write_text(yaml.safe_dump(values, sort_keys=False))
    return proj


def planner_config(dep: Deployment, docs: list[dict]) -> tuple[str, dict]:
    (cm,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == f"{dep.name}-planner-config"]
    text = cm["data"]["planner_config.json"]
    return text, json.loads(text)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render_model(project(tmp_path_factory.mktemp("case")))


@pytest.mark.helm
def test_the_planner_is_the_component_upstream_adds(rendered):
    dep, docs = rendered
    comps = dgd_components(docs)
    assert list(comps)[-1] == "planner", "appended last, as add_planner_to_config does"
    planner = comps["planner"]
    assert planner["type"] == "planner" and planner["replicas"] == 1
    main = at(planner, MAIN)
    assert main["name"] == "main"
    assert main["image"] == f"{dep.values['cluster']['imageRegistry']}/dynamo-planner:{dep.version}"
    assert main["command"] == ["python3", "-m", "dynamo.planner"]
    assert main["args"] == ["--config", f"{CONFIG_MOUNT}/planner_config.json"]
    assert main["workingDir"] == "/workspace/components/src/dynamo/planner"
    # its own pod settings, and no Hugging Face token: the Planner downloads no model
    given = dep.model["planner"]
    assert main["resources"] == given["resources"] and main["env"] == given["env"]
    assert at(planner, ("podTemplate", "spec", "nodeSelector")) == given["nodeSelector"]
    assert "envFrom" not in main
    assert at(comps["decode"], MAIN)["envFrom"] == [{"secretRef": {"name": "hf-token-secret"}}]


@pytest.mark.helm
def test_the_config_file_is_the_given_config_with_the_graph_filled_in(rendered):
    dep, docs = rendered
    text, config = planner_config(dep, docs)
    given = dep.model["planner"]["config"]
    assert config == {
        **given,
        "environment": "kubernetes",
        "backend": "vllm",
        "mode": "disagg",
        "profile_results_dir": PROFILE_MOUNT,
    }
    planner = dgd_components(docs)["planner"]
    mounts = {m["name"]: m for m in at(planner, MAIN)["volumeMounts"]}
    volumes = {v["name"]: v for v in at(planner, ("podTemplate", "spec", "volumes"))}
    assert mounts["planner-config"] == {"name": "planner-config", "mountPath": CONFIG_MOUNT, "readOnly": True}
    assert volumes["planner-config"]["configMap"] == {"name": f"{dep.name}-planner-config"}
    # a config change rolls the Planner
    annotations = at(planner, ("podTemplate", "metadata", "annotations"))
    assert annotations["checksum/planner-config"] == hashlib.sha256(text.encode()).hexdigest()
    # the profiler's results, where the config says the Planner reads them
    assert mounts["profile-data"] == {"name": "profile-data", "mountPath": PROFILE_MOUNT, "readOnly": True}
    assert volumes["profile-data"]["configMap"] == {"name": "qwen-profile"}


@pytest.mark.helm
def test_the_given_keys_win_and_profile_data_follows_profile_results_dir(tmp_path):
    def edit(values):
        values["model"]["planner"]["config"] |= {"mode": "decode", "profile_results_dir": "/data/profile"}

    dep, docs = render_model(project(tmp_path, edit))
    _, config = planner_config(dep, docs)
    assert config["mode"] == "decode" and config["profile_results_dir"] == "/data/profile"
    mounts = {m["name"]: m for m in at(dgd_components(docs)["planner"], MAIN)["volumeMounts"]}
    assert mounts["profile-data"]["mountPath"] == "/data/profile"


@pytest.mark.helm
def test_without_profile_data_nothing_is_mounted_or_claimed(tmp_path):
    dep, docs = render_model(project(tmp_path, lambda v: v["model"]["planner"].pop("profileData")))
    _, config = planner_config(dep, docs)
    assert "profile_results_dir" not in config  # the Planner's own default, as without the profiler's data
    planner = dgd_components(docs)["planner"]
    assert [m["name"] for m in at(planner, MAIN)["volumeMounts"]] == ["planner-config"]


@pytest.mark.helm
def test_an_empty_working_directory_is_the_images_own(tmp_path):
    """Upstream's examples give the Planner none (the image's /workspace): `workingDir: ""` says so."""
    dep, docs = render_model(project(tmp_path, lambda v: v["model"]["planner"].update(workingDir="")))
    assert "workingDir" not in at(dgd_components(docs)["planner"], MAIN)


# Every per-component setting the frontend takes, with a value (the planner takes the same ones).
POD_SETTINGS = {
    "image": "registry.example/planner:1",
    "command": ["python3", "-m", "dynamo.planner"],
    "args": ["--config", f"{CONFIG_MOUNT}/planner_config.json"],
    "extraArgs": ["--verbose"],
    "workingDir": "/work",
    "env": [{"name": "A", "value": "b"}],
    "envFrom": [{"configMapRef": {"name": "vars"}}],
    "resources": {"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}},
    "resourceClaims": [{"name": "gpus", "resourceClaimTemplateName": "gpus"}],
    "volumes": [{"name": "scratch", "emptyDir": {}}],
    "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
    "startupProbe": {"tcpSocket": {"port": 9085}},
    "livenessProbe": {"httpGet": {"path": "/live", "port": 9085}},
    "readinessProbe": {"exec": {"command": ["true"]}},
    "securityContext": {"capabilities": {"add": ["IPC_LOCK"]}},
    "podSecurityContext": {"runAsUser": 1000},
    "affinity": {"nodeAffinity": {}},
    "priorityClassName": "high",
    "serviceAccountName": "planner",
    "runtimeClassName": "nvidia",
    "schedulerName": "kai-scheduler",
    "hostIPC": True,
    "imagePullPolicy": "Always",
    "ports": [{"name": "metrics", "containerPort": 9085}],
    "terminationGracePeriodSeconds": 30,
    "annotations": {"a": "b"},
    "labels": {"tier": "gold"},
    "sharedMemorySize": "1Gi",
    "nodeSelector": {"zone": "b"},
    "tolerations": [{"key": "k", "operator": "Exists"}],
}


@pytest.mark.unit
def test_the_planner_takes_the_frontends_pod_settings_and_its_own():
    model = schema.values_schema()["properties"]["model"]["properties"]
    frontend = set(schema.resolve(model["frontend"])["properties"]) - {"replicas"}
    planner = set(schema.resolve(model["planner"])["properties"])
    assert planner - frontend == {"enabled", "config", "profileData", "scalingAdapters", "prometheusEndpoint"}
    assert frontend <= planner and set(POD_SETTINGS) == frontend


@pytest.mark.helm
def test_each_pod_setting_lands_on_the_planner_as_on_the_frontend(tmp_path):
    """tests/test_component_settings.py checks where the frontend's settings land; the planner,
    given the same ones, gets the same pod template but for what the chart gives it alone."""

    def edit(values):
        model = values["model"]
        model.pop("hfTokenSecret")
        model["routingPolicy"] = "none"
        model["frontend"] = {"replicas": 1, **POD_SETTINGS}
        model["planner"] = {k: model["planner"][k] for k in ("enabled", "prometheusEndpoint")} | POD_SETTINGS

    dep, docs = render_model(project(tmp_path, edit))
    comps = dgd_components(docs)
    frontend, planner = comps["frontend"]["podTemplate"], comps["planner"]["podTemplate"]
    for template, name in ((frontend, "frontend"), (planner, "planner")):
        assert template["metadata"]["labels"].pop("app.kubernetes.io/component") == name
    assert planner["metadata"]["annotations"].pop("checksum/planner-config")
    # the chart's own: the config file's volume and mount, first
    assert planner["spec"]["volumes"].pop(0)["name"] == "planner-config"
    assert planner["spec"]["containers"][0]["volumeMounts"].pop(0)["name"] == "planner-config"
    assert planner == frontend
    assert comps["planner"]["sharedMemorySize"] == comps["frontend"]["sharedMemorySize"] == "1Gi"


# (disaggregated, planner config) -> the worker components with scalingAdapter: the roles the mode
# targets (dgd_generation.py _planner_scaling_subcomponents), none when advisory.
ADAPTERS = [
    (True, {}, ["decode", "prefill"]),
    (True, {"mode": "prefill"}, ["prefill"]),
    (True, {"mode": "decode"}, ["decode"]),
    (True, {"advisory": True}, []),
    (False, {}, ["decode"]),  # the aggregated worker, our `decode` (type worker)
]


@pytest.mark.helm
@pytest.mark.parametrize(("disaggregated", "config", "scaled"), ADAPTERS)
def test_the_workers_the_mode_scales_opt_into_scaling_adapters(tmp_path, disaggregated, config, scaled):
    def edit(values):
        values["model"]["disaggregation"] = disaggregated
        values["model"]["planner"]["config"] = config

    dep, docs = render_model(project(tmp_path, edit))
    comps = dgd_components(docs)
    # the CRD: "Setting it (even as an empty object, `scalingAdapter: {}`) creates a DGDSA"
    assert {name: c["scalingAdapter"] for name, c in comps.items() if "scalingAdapter" in c} == dict.fromkeys(
        scaled, {}
    )
    if not disaggregated:
        # the Planner finds the one generic worker as decode (dgd_services.py get_component_from_type_or_name)
        assert comps["decode"]["type"] == "worker"
        assert planner_config(dep, docs)[1]["mode"] == "agg"


@pytest.mark.helm
def test_without_scaling_adapters_no_worker_opts_in(tmp_path):
    """scalingAdapters: false (upstream's examples): the Planner patches the DGD's replicas itself."""
    dep, docs = render_model(project(tmp_path, lambda v: v["model"]["planner"].update(scalingAdapters=False)))
    comps = dgd_components(docs)
    assert "planner" in comps and not any("scalingAdapter" in c for c in comps.values())


@pytest.mark.helm
def test_no_planner_no_adapter_and_no_config(tmp_path):
    dep, docs = render_model(project(tmp_path, lambda v: v["model"].pop("planner")))
    assert "planner" not in dgd_components(docs)
    assert not any("scalingAdapter" in c for c in dgd_components(docs).values())
    assert not [d for d in docs if d["metadata"]["name"].endswith("-planner-config")]


@pytest.mark.unit
def test_the_platform_gets_the_prometheus_the_planner_reads(tmp_path):
    proj = project(tmp_path)
    dep = p.load_deployment(proj, "dev")
    metrics = platform_values(dep)["dynamo-operator"]["dynamo"]["metrics"]
    assert metrics["prometheusEndpoint"] == dep.model["planner"]["prometheusEndpoint"]
    # nor does the model chart get it: the operator passes it on as PROMETHEUS_ENDPOINT
    model = p.plans(proj)["dev"].release("model").values["model"]
    assert "prometheusEndpoint" not in model["planner"]


@pytest.mark.unit
def test_explain_names_the_prometheus_the_planner_reads(tmp_path):
    proj = project(tmp_path)
    dep = p.load_deployment(proj, "dev")
    report = explain.explain(dep, p.plans(proj)["dev"])
    assert report["urls"]["prometheus"] == dep.model["planner"]["prometheusEndpoint"]


@pytest.mark.unit
def test_without_a_planner_the_platform_gets_no_prometheus(tmp_path):
    dep = p.load_deployment(project(tmp_path, lambda v: v["model"].pop("planner")), "dev")
    assert "prometheusEndpoint" not in platform_values(dep)["dynamo-operator"]["dynamo"]["metrics"]


@pytest.mark.unit
def test_the_gateway_routes_to_the_frontend_service(tmp_path):
    """Without an endpoint picker the operator makes no InferencePool: the HTTPRoute's backend is the
    frontend Service (tests/test_epp.py has the other case)."""
    dep = p.load_deployment(project(tmp_path), "dev")
    assert gateway_values(dep)["backend"] == {"kind": "Service", "name": f"{dep.name}-frontend", "port": 8000}


# Validates the config file with the version's own PlannerConfig, without importing
# dynamo.planner/__init__.py (1.6.1's pulls in scikit-learn, which the local runtime lacks).
VALIDATE = """
import json, pathlib, sys, types
import dynamo
package = types.ModuleType("dynamo.planner")
package.__path__ = [str(pathlib.Path(dynamo.__path__[0]) / "planner")]
sys.modules["dynamo.planner"] = package
from dynamo.planner.config.planner_config import PlannerConfig
given = json.loads(sys.argv[1])
config = PlannerConfig.model_validate(given)
print(json.dumps({"unknown": sorted(set(given) - set(PlannerConfig.model_fields)),
                  "parsed": {k: getattr(config, k) for k in given if k in PlannerConfig.model_fields}}, default=str))
"""


@pytest.mark.local
@pytest.mark.parametrize("version", [pytest.param(v, marks=needs_local_runtime(v)) for v in ("1.4.0", "1.6.1")])
def test_the_config_file_is_one_the_versions_planner_takes(tmp_path, version):
    """PlannerConfig ignores unknown keys: every key must also be one of its fields, or a misspelt
    one compose fills (mode, backend, ...) would be dropped without a word."""

    def edit(values):
        values["platform"] = {"version": version}

    dep, docs = render_model(project(tmp_path, edit))
    text, config = planner_config(dep, docs)
    done = proc.run([str(venvs.venv_bin("ai-dynamo", "python", version=version)), "-c", VALIDATE, text])
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["unknown"] == []
    assert result["parsed"] == config  # each value taken as given (200 == 200.0)


# The version's PlannerConfig defaults of the keys compose fills (their `default`, none a factory).
DEFAULTS = PREAMBLE = """
import json, pathlib, sys, types
import dynamo
package = types.ModuleType("dynamo.planner")
package.__path__ = [str(pathlib.Path(dynamo.__path__[0]) / "planner")]
sys.modules["dynamo.planner"] = package
from dynamo.planner.config.planner_config import PlannerConfig
"""
DEFAULTS += """
print(json.dumps({k: PlannerConfig.model_fields[k].default for k in sys.argv[1:]}))
"""


@pytest.mark.local
@pytest.mark.parametrize("version", [pytest.param(v, marks=needs_local_runtime(v)) for v in ("1.4.0", "1.6.1")])
def test_what_compose_takes_for_the_planners_defaults_is_the_versions(version):
    """The import keeps a config that lacks a key compose fills only where the Planner takes that very
    value anyway (dynamo.PLANNER_CONFIG_DEFAULTS); and the Planner infers none of them from the graph."""
    python = str(venvs.venv_bin("ai-dynamo", "python", version=version))
    done = proc.run([python, "-c", DEFAULTS, *dynamo.PLANNER_CONFIG_DEFAULTS])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == dynamo.PLANNER_CONFIG_DEFAULTS


# The config each `--config` gives the version's Planner, as it parses it (from_config_arg: a file, else JSON).
EFFECTIVE = (
    PREAMBLE
    + """
print(json.dumps([PlannerConfig.from_config_arg(a).model_dump(mode="json") for a in sys.argv[1:]]))
"""
)


@pytest.mark.local
@pytest.mark.parametrize("name", ["vllm_disagg_planner.yaml", "vllm_disagg_planner_xpu_dra.yaml"])
@pytest.mark.parametrize("version", [pytest.param(v, marks=needs_local_runtime(v)) for v in ("1.6.1",)])
def test_an_imported_inline_config_is_the_one_the_rendered_planner_runs(tmp_path, name, version):
    """Upstream's example passes the config inline; the imported project renders it as the chart's file:
    the version's own PlannerConfig makes the same config of both."""
    src = REPO / "tests" / "fixtures" / "dgd-upstream-e147ceea" / name
    dgd_import.import_file(src, tmp_path / "proj")
    r = compose("template", "--env", "dev", cwd=tmp_path / "proj")
    assert r.returncode == 0, r.stderr
    docs = [d for d in yaml.safe_load_all(r.stdout) if d]
    (dgd,) = [d for d in docs if d["kind"] == "DynamoGraphDeployment"]
    (cm,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-planner-config")]
    (rendered,) = [c for c in dgd["spec"]["components"] if c["type"] == "planner"]
    args = at(rendered, MAIN)["args"]
    assert args[args.index("--config") + 1] == f"{CONFIG_MOUNT}/planner_config.json"
    (tmp_path / "planner_config.json").write_text(cm["data"]["planner_config.json"])
    (orig,) = [d for d in yaml.safe_load_all(src.read_text()) if d and d["kind"] == "DynamoGraphDeployment"]
    (original,) = [c for c in orig["spec"]["components"] if c["type"] == "planner"]
    given = at(original, MAIN)["args"][at(original, MAIN)["args"].index("--config") + 1]
    python = str(venvs.venv_bin("ai-dynamo", "python", version=version))
    done = proc.run([python, "-c", EFFECTIVE, given, str(tmp_path / "planner_config.json")])
    assert done.returncode == 0, done.stderr
    inline, file = json.loads(done.stdout)
    assert inline == file
    assert json.loads(cm["data"]["planner_config.json"]) != json.loads(given), "compose filled keys in"


# The version's own Planner resolving the rendered DGD's decode component, as it does to scale it
# (dgd_services.py get_component_from_type_or_name).
FIND_DECODE = (
    PREAMBLE
    + """
from dynamo.planner.config.defaults import SubComponentType
from dynamo.planner.monitoring.dgd_services import get_component_from_type_or_name
print(get_component_from_type_or_name(json.loads(sys.argv[1]), SubComponentType.DECODE).name)
"""
)


@pytest.mark.local
@pytest.mark.parametrize("worker_type", ["worker", "decode"])
@pytest.mark.parametrize("version", [pytest.param(v, marks=needs_local_runtime(v)) for v in ("1.4.0", "1.6.1")])
def test_the_versions_planner_finds_the_aggregated_worker_of_either_type(tmp_path, version, worker_type):
    """model.decode.type: the Planner in mode agg scales the aggregated worker as decode: a decode-typed
    one it finds by its type, a worker-typed one as the one generic worker."""

    def edit(values):
        values["platform"] = {"version": version}
        values["model"]["disaggregation"] = False
        values["model"].pop("prefill", None)
        values["model"].setdefault("decode", {})["type"] = worker_type

    dep, docs = render_model(project(tmp_path, edit))
    (dgd,) = [d for d in docs if d["kind"] == "DynamoGraphDeployment"]
    assert dgd_components(docs)["decode"]["type"] == worker_type
    assert planner_config(dep, docs)[1]["mode"] == "agg" and "scalingAdapter" in dgd_components(docs)["decode"]
    python = str(venvs.venv_bin("ai-dynamo", "python", version=version))
    done = proc.run([python, "-c", FIND_DECODE, json.dumps(dgd)])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["decode"]
