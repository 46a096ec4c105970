"""Release patches: emitted as helmfile's native strategicMergePatches/jsonPatches, applied by
real helmfile (with kustomize) when rendering, validated like everything else."""

import copy
import json

import pytest
import yaml as pyyaml

from tests.support.cases import CASES, copy_case
from tests.support.project import compose, make_project
from tests.support.validate import all_errors, crd_errors, load_docs

CASE = next(c for c in CASES if c.name == "patched")


@pytest.mark.helm
def test_rendered_output_carries_the_patches(tmp_path):
    proj = copy_case(CASE, tmp_path / "proj")
    r = compose("template", "--env", "dev", cwd=proj.root)
    assert r.returncode == 0, r.stderr
    docs = load_docs(r.stdout)
    assert all_errors(docs) == []
    (dgd,) = [d for d in docs if d["kind"] == "DynamoGraphDeployment"]
    assert dgd["metadata"]["annotations"] == {"nvidia.com/enable-grove": "false"}
    assert dgd["metadata"]["labels"]["app.kubernetes.io/name"] == "model", "the patch merges, not replaces"
    monitors = {d["metadata"]["name"]: d for d in docs if d["kind"] == "PodMonitor"}
    assert monitors["patched-metrics-worker"]["spec"]["podMetricsEndpoints"][0]["interval"] == "5s"
    assert monitors["patched-metrics-frontend"]["spec"]["podMetricsEndpoints"][0]["interval"] != "5s"


@pytest.mark.helm
def test_without_patches_nothing_changes(tmp_path):
    proj = copy_case(CASE, tmp_path / "proj")
    text = proj.values_file.read_text()
    proj.values_file.write_text(text[: text.index("patches:")])
    docs = load_docs(compose("template", "--env", "dev", cwd=proj.root).stdout)
    (dgd,) = [d for d in docs if d["kind"] == "DynamoGraphDeployment"]
    assert "annotations" not in dgd["metadata"]


@pytest.mark.cli
def test_explain_shows_the_patches(tmp_path):
    proj = copy_case(CASE, tmp_path / "proj")
    report = json.loads(compose("explain", "--env", "dev", "-o", "json", cwd=proj.root).stdout)
    by_name = {r["name"]: r["patches"] for r in report["releases"]}
    assert by_name["patched-model"] == ["strategic-merge DynamoGraphDeployment/patched"]
    assert by_name["patched-metrics"] == [
        "json PodMonitor/patched-metrics-worker: replace /spec/podMetricsEndpoints/0/interval"
    ]
    text = compose("explain", "--env", "dev", cwd=proj.root).stdout
    assert "      patch: strategic-merge DynamoGraphDeployment/patched" in text


BASE = "dynamoNamespace: p\nmodel:\n  name: Qwen/Qwen3-0.6B\n  backend:\n    type: vllm\n"


def refused(tmp_path, patches: str) -> str:
    """stderr of `compose validate` on BASE + patches, which must exit 2."""
    proj = make_project(tmp_path / "p", BASE + patches, {"dev": "cluster:\n  namespace: llm\n"})
    r = compose("validate", cwd=proj)
    assert r.returncode == 2
    return r.stderr


@pytest.mark.cli
def test_patching_a_component_that_is_off_is_refused(tmp_path):
    stderr = refused(
        tmp_path,
        "patches:\n  benchmark:\n    jsonPatches:\n      - target: {version: v1, kind: Job, name: x}\n"
        "        patch: [{op: remove, path: /spec/ttlSecondsAfterFinished}]\n",
    )
    assert stderr == (
        "values.yaml:7:3: /patches/benchmark: there is no benchmark release to patch\n"
        "  hint: this deployment has: platform, model; turn benchmark on, or remove the patches\n"
    )


@pytest.mark.cli
def test_both_kinds_on_one_component_are_refused(tmp_path):
    stderr = refused(
        tmp_path,
        "patches:\n  model:\n    strategicMergePatches:\n"
        "      - {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n"
        "    jsonPatches:\n      - target: {version: v1, kind: ConfigMap, name: x}\n"
        "        patch: [{op: add, path: /data, value: {}}]\n",
    )
    assert "/patches/model/jsonPatches: a component takes strategicMergePatches or jsonPatches, not both" in stderr


@pytest.mark.cli
def test_a_malformed_json_patch_is_located(tmp_path):
    stderr = refused(
        tmp_path,
        "patches:\n  model:\n    jsonPatches:\n      - target: {version: v1, kind: ConfigMap, name: x}\n"
        "        patch: [{op: upsert, path: /data}]\n",
    )
    assert "values.yaml:10:22: /patches/model/jsonPatches/0/patch/0/op: expected one of add, remove, replace" in stderr


@pytest.mark.cli
def test_a_patch_for_an_object_the_release_does_not_render_is_refused_where_it_names_it(tmp_path):
    """compose knows what each of its charts renders (plan.rendered_objects): a patch that selects
    nothing is refused by `validate`, at the name, not by kustomize in the middle of a render."""
    proj = copy_case(CASE, tmp_path / "proj")
    text = proj.values_file.read_text()
    assert "          name: patched\n" in text
    proj.values_file.write_text(text.replace("          name: patched\n", "          name: patchedd\n", 1))
    r = compose("validate", "--env", "dev", cwd=proj.root)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr == (
        "values.yaml:15:17: /patches/model/strategicMergePatches/0/metadata/name: the model release "
        "renders no DynamoGraphDeployment named 'patchedd'; the patch would change nothing\n"
        "  hint: it renders DynamoGraphDeployment patched, Pod patched-test-frontend\n"
    )


@pytest.mark.cli
def test_a_json_patch_whose_target_matches_nothing_is_refused(tmp_path):
    proj = copy_case(CASE, tmp_path / "proj")
    text = proj.values_file.read_text()
    proj.values_file.write_text(text.replace("name: patched-metrics-worker", "name: patched-metrics-workers"))
    r = compose("validate", "--env", "dev", cwd=proj.root)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith(
        "values.yaml:24:17: /patches/metrics/jsonPatches/0/target/name: the metrics release "
        "renders no PodMonitor named 'patched-metrics-workers'"
    ), r.stderr
    assert (
        "hint: it renders ConfigMap patched-metrics-dashboard, PodMonitor patched-metrics-frontend, "
        "PodMonitor patched-metrics-worker\n" in r.stderr
    )


@pytest.mark.cli
@pytest.mark.parametrize("path", ["/a~2b", "/a~", "a", ""])
def test_a_json_patch_path_that_is_not_a_json_pointer_is_refused(tmp_path, path):
    stderr = refused(
        tmp_path,
        "patches:\n  model:\n    jsonPatches:\n"
        "      - target: {version: v1beta1, kind: DynamoGraphDeployment, name: p}\n"
        f"        patch: [{{op: remove, path: '{path}'}}]\n",
    )
    assert "values.yaml:10:36: /patches/model/jsonPatches/0/patch/0/path: expected a JSON pointer, got " in stderr
    assert "write '~' as ~0" in stderr


@pytest.mark.cli
def test_a_strategic_list_in_a_custom_resource_is_refused_where_it_is(tmp_path):
    """kustomize has no merge key for the DGD's components: the list would replace them all."""
    stderr = refused(
        tmp_path,
        "patches:\n  model:\n    strategicMergePatches:\n      - apiVersion: nvidia.com/v1beta1\n"
        "        kind: DynamoGraphDeployment\n        metadata: {name: p}\n"
        "        spec: {components: [{name: decode, replicas: 3}]}\n",
    )
    assert stderr.startswith(
        "values.yaml:12:28: /patches/model/strategicMergePatches/0/spec/components: a strategic merge patch "
        "replaces this list of the DynamoGraphDeployment whole"
    ), stderr


@pytest.mark.helm
def test_a_strategic_list_in_a_builtin_kind_merges_by_its_key(tmp_path):
    """A Pod's containers merge by name: the patched container keeps everything else."""
    patches = (
        "patches:\n  model:\n    strategicMergePatches:\n      - apiVersion: v1\n        kind: Pod\n"
        "        metadata: {name: p-test-frontend}\n        spec: {containers: [{name: curl, imagePullPolicy: Always}]}\n"
    )
    proj = make_project(tmp_path / "p", BASE + patches, {"dev": "cluster:\n  namespace: llm\n"})
    r = compose("template", "--env", "dev", cwd=proj)
    assert r.returncode == 0, r.stderr
    (pod,) = [d for d in load_docs(r.stdout) if d["kind"] == "Pod"]
    (container,) = pod["spec"]["containers"]
    assert container["imagePullPolicy"] == "Always" and container["image"] and container["command"]


# --- patches.model.components: a partial DGD component per name, compiled into JSON patches ---------

DISAGG = "dynamoNamespace: p\nmodel:\n  name: Qwen/Qwen3-0.6B\n  backend:\n    type: vllm\n  disaggregation: true\n"
COMPONENTS = """\
patches:
  model:
    components:
      decode:
        scalingAdapter: {}
        podTemplate:
          spec:
            terminationGracePeriodSeconds: 600
            containers:
              - name: main
                lifecycle:
                  preStop:
                    exec:
                      command: [sleep, "30"]
"""


def rendered_dgd(tmp_path, values: str) -> dict:
    proj = make_project(tmp_path, values, {"dev": "cluster:\n  namespace: llm\n"})
    r = compose("template", "--env", "dev", cwd=proj)
    assert r.returncode == 0, r.stderr
    (dgd,) = [d for d in load_docs(r.stdout) if d["kind"] == "DynamoGraphDeployment"]
    return dgd


@pytest.mark.helm
@pytest.mark.parametrize("disaggregation", [False, True])
def test_compose_knows_the_order_the_chart_renders_the_components_in(tmp_path, disaggregation):
    """graph_components is where compose looks up a component's index: the chart's own render."""
    from composer.model import graph_components

    dgd = rendered_dgd(tmp_path, BASE + f"  disaggregation: {str(disaggregation).lower()}\n")
    assert [c["name"] for c in dgd["spec"]["components"]] == list(graph_components(disaggregation))


@pytest.mark.helm
def test_a_component_patch_changes_its_fields_on_that_component_and_nothing_else(tmp_path):
    """Rendered by helmfile from the generated files (the release has patches): the decode worker
    gets exactly the fields of the patch; its main container keeps image, command, args; the frontend,
    the prefill worker and everything else are as the chart renders them; the CRD still takes it."""
    plain = rendered_dgd(tmp_path / "plain", DISAGG)
    patched = rendered_dgd(tmp_path / "patched", DISAGG + COMPONENTS)

    expected = copy.deepcopy(plain)
    decode = expected["spec"]["components"][1]
    assert decode["name"] == "decode" and "scalingAdapter" not in decode
    decode["scalingAdapter"] = {}
    decode["podTemplate"]["spec"]["terminationGracePeriodSeconds"] = 600
    (main,) = decode["podTemplate"]["spec"]["containers"]
    assert main["name"] == "main" and main["image"] and main["command"] and main["args"]
    main["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", "30"]}}}
    assert patched == expected
    assert crd_errors([patched]) == []


FRONTEND = """\
      frontend:
        replicas: 3
        podTemplate:
          spec:
            containers:
              - name: sidecar
                image: busybox:1.36
"""


@pytest.mark.helm
def test_component_patches_go_before_the_release_json_patches_and_both_apply(tmp_path):
    """Also: a container of another name than the chart's is added beside it."""
    values = (
        DISAGG
        + COMPONENTS.replace("      decode:\n", FRONTEND + "      decode:\n")
        + (
            "    jsonPatches:\n"
            "      - target: {group: nvidia.com, version: v1beta1, kind: DynamoGraphDeployment, name: p}\n"
            "        patch:\n"
            "          - {op: replace, path: /spec/components/1/podTemplate/spec/terminationGracePeriodSeconds, value: 900}\n"
        )
    )
    proj = make_project(tmp_path, values, {"dev": "cluster:\n  namespace: llm\n"})
    assert compose("generate", cwd=proj).returncode == 0
    assert compose("generate", "--check", cwd=proj).returncode == 0, "compiled the same way again"
    state = pyyaml.safe_load_all((proj / "helmfile.d" / "dev.yaml").read_text())
    (release,) = [r for doc in state for r in doc.get("releases", []) if r["name"] == "p-model"]
    compiled, own = release["jsonPatches"]
    assert [o["path"] for o in compiled["patch"]] == [
        "/spec/components/0/podTemplate/spec/containers/-",
        "/spec/components/0/replicas",
        "/spec/components/1/podTemplate/spec/containers/0/lifecycle",
        "/spec/components/1/podTemplate/spec/terminationGracePeriodSeconds",
        "/spec/components/1/scalingAdapter",
    ]
    assert own["patch"][0]["value"] == 900
    dgd = rendered_dgd(tmp_path / "again", values)
    frontend, decode, prefill = dgd["spec"]["components"]
    assert frontend["replicas"] == 3 and decode["podTemplate"]["spec"]["terminationGracePeriodSeconds"] == 900
    assert crd_errors([dgd]) == []
    main, sidecar = frontend["podTemplate"]["spec"]["containers"]
    assert main["name"] == "main" and main["image"] and sidecar == {"name": "sidecar", "image": "busybox:1.36"}
    assert decode["scalingAdapter"] == {} and "scalingAdapter" not in prefill


@pytest.mark.cli
def test_explain_shows_component_patches_as_written(tmp_path):
    proj = make_project(tmp_path, DISAGG + COMPONENTS, {"dev": "cluster:\n  namespace: llm\n"})
    report = json.loads(compose("explain", "--env", "dev", "-o", "json", cwd=proj).stdout)
    (model,) = [r for r in report["releases"] if r["name"] == "p-model"]
    assert model["patches"] == [
        "components decode: podTemplate.spec.containers[main].lifecycle.preStop.exec.command, "
        "podTemplate.spec.terminationGracePeriodSeconds, scalingAdapter"
    ]


RENDERED = {
    "spec": {
        "components": [
            {
                "name": "frontend",
                "type": "frontend",
                "replicas": 1,
                "podTemplate": {"spec": {"containers": [{"name": "main", "image": "i"}]}},
            },
            {
                "name": "decode",
                "type": "worker",
                "replicas": 1,
                "podTemplate": {
                    "spec": {
                        "containers": [
                            {
                                "name": "main",
                                "image": "i",
                                "args": ["--a"],
                                "resources": {"limits": {"nvidia.com/gpu": "1"}},
                            }
                        ]
                    }
                },
            },
        ]
    }
}


@pytest.mark.unit
def test_ops_merge_maps_replace_lists_and_merge_containers_by_name():
    from composer.patches import component_ops

    ops = component_ops(
        RENDERED,
        {
            "decode": {
                "replicas": 2,
                "podTemplate": {
                    "spec": {
                        "containers": [
                            {"name": "main", "args": ["--b"], "resources": {"limits": {"cpu": "4"}}},
                            {"name": "sidecar", "image": "s"},
                        ]
                    }
                },
            },
            "frontend": {"podTemplate": {"metadata": {"annotations": {"a": "b"}}}},
        },
    )
    assert ops == [
        {"op": "add", "path": "/spec/components/0/podTemplate/metadata", "value": {"annotations": {"a": "b"}}},
        {"op": "replace", "path": "/spec/components/1/podTemplate/spec/containers/0/args", "value": ["--b"]},
        {"op": "add", "path": "/spec/components/1/podTemplate/spec/containers/0/resources/limits/cpu", "value": "4"},
        {
            "op": "add",
            "path": "/spec/components/1/podTemplate/spec/containers/-",
            "value": {"name": "sidecar", "image": "s"},
        },
        {"op": "replace", "path": "/spec/components/1/replicas", "value": 2},
    ]


@pytest.mark.unit
def test_ops_do_not_depend_on_the_order_the_patch_is_written_in():
    from composer.patches import component_ops

    one = {"decode": {"replicas": 2, "scalingAdapter": {}}, "frontend": {"replicas": 3}}
    other = {"frontend": {"replicas": 3}, "decode": {"scalingAdapter": {}, "replicas": 2}}
    assert component_ops(RENDERED, one) == component_ops(RENDERED, other)
    assert [o["path"] for o in component_ops(RENDERED, one)] == [
        "/spec/components/0/replicas",
        "/spec/components/1/replicas",
        "/spec/components/1/scalingAdapter",
    ]


def problems(tmp_path, patch_ops: str) -> list[str]:
    """validate's problems (in-process) for BASE with one JSON patch of the DGD holding patch_ops."""
    from composer import load, schema
    from composer.errors import InvalidValues

    path = tmp_path / "values.yaml"
    path.write_text(
        BASE + "patches:\n  model:\n    jsonPatches:\n"
        "      - target: {group: nvidia.com, version: v1beta1, kind: DynamoGraphDeployment, name: p}\n"
        f"        patch: {patch_ops}\n"
    )
    try:
        schema.validate(load.load(path, display="values.yaml"))
    except InvalidValues as e:
        return [f"{p.pointer}: {p.message}" for p in e.problems]
    return []


@pytest.mark.unit
@pytest.mark.parametrize(
    "ops",
    [
        "[{op: add, path: /spec/components/-, value: {name: planner, type: planner}},"
        " {op: replace, path: /spec/components/2/replicas, value: 1}]",
        "[{op: add, path: /spec/components/2, value: {name: planner, type: planner}}]",
        "[{op: test, path: /spec/components/1/name, value: decode}]",
        "[{op: replace, path: /spec/components/1/podTemplate/spec/containers/0/image, value: x}]",
        "[{op: remove, path: /spec/components/1/podTemplate/spec/nodeSelector}]",
        "[{op: add, path: /spec/components/0/podTemplate/spec/containers/-, value: {name: s, image: x}}]",
    ],
)
def test_json_patches_inside_a_component_or_adding_one_are_accepted(tmp_path, ops):
    assert problems(tmp_path, ops) == []


@pytest.mark.unit
def test_an_added_component_does_not_hide_a_later_removal(tmp_path):
    """Indices follow the ops: after an insert at 0, decode is at 2."""
    found = problems(
        tmp_path,
        "[{op: add, path: /spec/components/0, value: {name: planner, type: planner}},"
        " {op: remove, path: /spec/components/2}]",
    )
    assert found == [
        "/patches/model/jsonPatches/0/patch/1/path: removes component 2 (decode) whole; expected a change inside it"
    ]
