"""Per-component settings (model.frontend, model.decode, model.prefill) land where the operator and
Kubernetes read them in the rendered DynamoGraphDeployment, rendered by real helm, and the result
validates against every release line's CRD.

tests/cases/valid/component-settings is the project: an upstream-style multinode SGLang graph that
sets every key somewhere. Every key the values schema gives a component must be placed by a row
below (or be one of the keys with their own tests), so a new key cannot go untested.
"""

from __future__ import annotations

import copy
import sys

import pytest
import yaml

from composer import dynamo, proc, schema
from tests.support.cases import copy_case, dgd_components, render_model
from tests.support.project import REPO
from tests.support.validate import crd_dir, crd_errors

pytestmark = pytest.mark.helm

CASE = REPO / "tests" / "cases" / "valid" / "component-settings"
POD = "/podTemplate/spec"
MAIN = f"{POD}/containers/0"

# value key -> where the component holds it, as given
PLACED = {
    "image": f"{MAIN}/image",
    "imagePullPolicy": f"{MAIN}/imagePullPolicy",
    "ports": f"{MAIN}/ports",
    "workingDir": f"{MAIN}/workingDir",
    "securityContext": f"{MAIN}/securityContext",
    "startupProbe": f"{MAIN}/startupProbe",
    "livenessProbe": f"{MAIN}/livenessProbe",
    "readinessProbe": f"{MAIN}/readinessProbe",
    "podSecurityContext": f"{POD}/securityContext",
    "affinity": f"{POD}/affinity",
    "tolerations": f"{POD}/tolerations",
    "nodeSelector": f"{POD}/nodeSelector",
    "priorityClassName": f"{POD}/priorityClassName",
    "runtimeClassName": f"{POD}/runtimeClassName",
    "schedulerName": f"{POD}/schedulerName",
    "hostIPC": f"{POD}/hostIPC",
    "serviceAccountName": f"{POD}/serviceAccountName",
    "terminationGracePeriodSeconds": f"{POD}/terminationGracePeriodSeconds",
    "resourceClaims": f"{POD}/resourceClaims",
    "sharedMemorySize": "/sharedMemorySize",
    "multinode": "/multinode",
    "compilationCache": "/compilationCache",
    "experimental": "/experimental",
    "modelRef": "/modelRef",
}
# value key -> the list it ends, after what the chart puts there itself
APPENDED = {
    "env": f"{MAIN}/env",
    "envFrom": f"{MAIN}/envFrom",
    "volumes": f"{POD}/volumes",
    "volumeMounts": f"{MAIN}/volumeMounts",
    "extraArgs": f"{MAIN}/args",
}
# value key -> the map it is merged into, beside the chart's own entries
MERGED = {"labels": "/podTemplate/metadata/labels", "annotations": "/podTemplate/metadata/annotations"}
# keys with tests of their own (here or in tests/charts/test_model_chart.py; `type`, the aggregated
# worker's component type: test_the_aggregated_worker_takes_the_type_given)
OWN_TESTS = {"replicas", "gpus", "resources", "extraConfig", "command", "args", "type"}


def at(node, ptr: str):
    for step in ptr.strip("/").split("/"):
        node = node[int(step)] if isinstance(node, list) else node[step]
    return node


def component_keys(role: str) -> set[str]:
    where = "/properties/model/properties/frontend" if role == "frontend" else "/$defs/workerRole"
    return set(schema.resolve(at(schema.values_schema(), where))["properties"])


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    proj = copy_case(CASE, tmp_path_factory.mktemp("case") / "proj")
    dep, docs = render_model(proj)
    return dep, docs, dgd_components(docs)


def test_every_component_key_has_a_placement_test():
    for role in ("frontend", "decode"):
        untested = component_keys(role) - set(PLACED) - set(APPENDED) - set(MERGED) - OWN_TESTS
        assert untested == set(), f"model.{role}: keys no test here places"


def test_the_case_sets_every_key_somewhere():
    model = yaml.safe_load((CASE / "values.yaml").read_text())["model"]
    used = set().union(*(model.get(role, {}) for role in ("frontend", "decode", "prefill")))
    assert component_keys("decode") - OWN_TESTS - used == set()


def test_each_setting_lands_where_the_operator_reads_it(rendered):
    dep, _, comps = rendered
    for role, comp in comps.items():
        settings = dep.model[role]
        for key, ptr in PLACED.items():
            if key in settings:
                assert at(comp, ptr) == settings[key], f"{role}.{key}"
        for key, ptr in APPENDED.items():
            if key in settings:
                given = settings[key]
                assert at(comp, ptr)[-len(given) :] == given, f"{role}.{key}"
        for key, ptr in MERGED.items():
            if key in settings:
                assert at(comp, ptr).items() >= settings[key].items(), f"{role}.{key}"


def test_chart_entries_stay_beside_the_given_ones(rendered):
    _, _, comps = rendered
    decode = comps["decode"]
    assert at(decode, f"{MAIN}/envFrom")[0] == {"secretRef": {"name": "hf-token-secret"}}
    assert [v["name"] for v in at(decode, f"{POD}/volumes")] == ["model-cache", "scratch"]
    assert at(decode, "/podTemplate/metadata/labels")["app.kubernetes.io/component"] == "decode"
    assert at(comps["frontend"], f"{MAIN}/env")[0] == {"name": "DYN_ROUTER_MODE", "value": "kv"}


def test_unset_settings_fall_back_to_the_graph_wide_ones(rendered):
    dep, _, comps = rendered
    # prefill sets no tolerations of its own: model.tolerations; decode's own replace them
    assert at(comps["prefill"], f"{POD}/tolerations") == dep.model["tolerations"]
    assert at(comps["decode"], f"{POD}/tolerations") == dep.model["decode"]["tolerations"]
    # the frontend is not a worker: no worker-wide scheduling, no model cache of the chart's
    assert "tolerations" not in at(comps["frontend"], POD)
    assert [v["name"] for v in at(comps["frontend"], f"{POD}/volumes")] == ["model-cache"]  # its own
    (dgd,) = [c for c in [rendered[1]] for c in c if c["kind"] == dynamo.DGD_KIND]
    assert dgd["spec"]["env"] == dep.model["env"]


def test_args_replace_the_charts_flags_and_extra_args_follow(rendered):
    dep, _, comps = rendered
    assert at(comps["prefill"], f"{MAIN}/args") == dep.model["prefill"]["args"]
    decode = at(comps["decode"], f"{MAIN}/args")
    assert decode[:2] == ["--model-path", dep.model["name"]]  # the chart's flags first
    # the frontend gets a command only when it is given flags: otherwise the operator's stays
    assert at(comps["frontend"], f"{MAIN}/command") == ["python3", "-m", "dynamo.frontend"]


def test_sglang_tensor_parallel_spans_the_nodes_and_the_benchmark_counts_them(rendered):
    dep, _, comps = rendered
    args = at(comps["decode"], f"{MAIN}/args")
    nodes, gpus = dep.model["decode"]["multinode"]["nodeCount"], dep.model["decode"]["gpus"]
    assert args[args.index("--tp") + 1] == str(nodes * gpus)
    assert at(comps["decode"], f"{MAIN}/resources/limits")["nvidia.com/gpu"] == str(gpus)  # per node
    prefill = dep.model["prefill"]
    assert dep.gpu_count == nodes * gpus * dep.model["decode"]["replicas"] + prefill["replicas"] * prefill["gpus"]


def test_a_frontend_without_flags_keeps_the_operators_command(tmp_path):
    proj = copy_case(CASE, tmp_path / "proj")
    values = yaml.safe_load(proj.values_file.read_text())
    del values["model"]["frontend"]["extraArgs"]
    proj.values_file.write_text(yaml.safe_dump(values))
    _, docs = render_model(proj)
    main = at(dgd_components(docs)["frontend"], MAIN)
    assert "command" not in main and "args" not in main


def test_the_deployments_own_labels_and_annotations_go_on_the_dgd(tmp_path):
    proj = copy_case(CASE, tmp_path / "proj")
    values = yaml.safe_load(proj.values_file.read_text())
    own = {"example.com/tier": "gold", "app.kubernetes.io/name": "my-graph", "app.kubernetes.io/part-of": "dynamo"}
    given = {"labels": own, "annotations": {"nvidia.com/enable-grove": "false"}}
    values["model"]["deployment"] = given
    proj.values_file.write_text(yaml.safe_dump(values))
    _, docs = render_model(proj)
    (dgd,) = [d for d in docs if d["kind"] == dynamo.DGD_KIND]
    labels = dgd["metadata"]["labels"]
    # the DGD's own name and part-of replace the chart's (nothing selects the DGD by them)
    assert {k: labels[k] for k in own} == own
    # helm adopts only what is managed by Helm; the release and the chart stay the chart's
    assert labels["app.kubernetes.io/managed-by"] == "Helm" and labels["helm.sh/chart"].startswith("model-")
    assert labels["app.kubernetes.io/instance"].endswith("-model")
    # only the DGD's: its pods keep the chart's selector labels, the other objects the chart's labels
    for comp in dgd["spec"]["components"]:
        assert comp["podTemplate"]["metadata"]["labels"]["app.kubernetes.io/name"] == "model"
    for d in docs:
        if d is not dgd:
            assert d["metadata"]["labels"]["app.kubernetes.io/part-of"] == "dynamo-compose", d["metadata"]["name"]
    assert dgd["metadata"]["annotations"] == given["annotations"]
    for version in [line.newest for line in dynamo.RELEASES.values()]:
        for d in docs:
            d["metadata"].setdefault("labels", {})["app.kubernetes.io/version"] = version
        assert crd_errors(docs, crd_dir(version)) == []


@pytest.mark.parametrize("version", [line.newest for line in dynamo.RELEASES.values()])
def test_every_setting_validates_against_each_lines_crd(rendered, version):
    _, docs, _ = rendered
    docs = copy.deepcopy(docs)
    for d in docs:
        d["metadata"].setdefault("labels", {})["app.kubernetes.io/version"] = version
    assert crd_errors(docs, crd_dir(version)) == []


def test_values_kube_shapes_are_no_wider_than_the_crds_pod_template():
    """Every field the values schema's Kubernetes shapes accept is one the DGD CRD's podTemplate
    accepts at the same place (the CRD prunes or refuses anything else)."""
    crds = yaml.safe_load_all((crd_dir("1.4.0") / "nvidia.com_dynamographdeployments.yaml").read_text())
    (crd,) = [c for c in crds if c and c.get("kind") == "CustomResourceDefinition"]
    (v1beta1,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta1"]
    comp = v1beta1["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["components"]["items"]
    pod = comp["properties"]["podTemplate"]["properties"]["spec"]
    main = pod["properties"]["containers"]["items"]
    wider: list[str] = []

    def fields(node):
        node = schema.resolve(node)
        if node.get("type") == "array":
            return fields(node["items"])
        return node.get("properties", {})

    def compare(ours, theirs, path):
        theirs_fields = fields(theirs)
        for key, sub in fields(ours).items():
            if key not in theirs_fields:
                wider.append(f"{path}.{key}")
            else:
                compare(sub, theirs_fields[key], f"{path}.{key}")

    role = schema.resolve(schema.values_schema()["$defs"]["workerRole"])["properties"]
    for key in (
        "securityContext",
        "startupProbe",
        "livenessProbe",
        "readinessProbe",
        "volumeMounts",
        "envFrom",
        "ports",
    ):
        compare(role[key], main["properties"][key], key)
    compare(role["resources"], main["properties"]["resources"], "resources")
    pod_keys = {"podSecurityContext": "securityContext", "affinity": "affinity", "volumes": "volumes"}
    pod_keys |= {"resourceClaims": "resourceClaims", "tolerations": "tolerations"}
    for key, theirs in pod_keys.items():
        compare(role[key], pod["properties"][theirs], key)
    assert wider == [], wider


def test_every_placed_pod_field_is_one_the_crds_pod_template_has():
    """A key placed on the pod or its main container names a field of the DGD CRD's podTemplate there
    (the operator's API server would prune one it lacks, silently)."""
    for version in [line.newest for line in dynamo.RELEASES.values()]:
        crds = yaml.safe_load_all((crd_dir(version) / "nvidia.com_dynamographdeployments.yaml").read_text())
        (crd,) = [c for c in crds if c and c.get("kind") == "CustomResourceDefinition"]
        (v1beta1,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta1"]
        comp = v1beta1["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["components"]["items"]
        pod = comp["properties"]["podTemplate"]["properties"]["spec"]
        main = pod["properties"]["containers"]["items"]
        for key, ptr in PLACED.items():
            for base, node in ((MAIN, main), (POD, pod)):
                if ptr.startswith(base + "/"):
                    assert ptr.removeprefix(base + "/") in node["properties"], f"{version}: {key} at {ptr}"
                    break


def test_kube_definitions_are_what_the_generator_writes():
    done = proc.run_all([[sys.executable, str(REPO / "scripts" / "gen-kube-defs"), "--check"]])
    assert done[0].returncode == 0, done[0].stderr


def test_the_chart_mounts_an_engine_config_file_alone_where_its_path_is():
    """With extraConfig.mountFile the chart's extra-config mount is the file's path, not its directory:
    the mount-path check refuses another mount there, and lets one at the directory be."""
    model = {"backend": {"type": "vllm"}, "decode": {"extraConfig": {"path": "/w/cfg/a.yaml", "inline": {"a": 1}}}}
    assert schema._chart_volumes({"model": model}, "decode") == {"extra-config": "/w/cfg"}
    model["decode"]["extraConfig"]["mountFile"] = True
    assert schema._chart_volumes({"model": model}, "decode") == {"extra-config": "/w/cfg/a.yaml"}
