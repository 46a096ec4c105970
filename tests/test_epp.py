"""Dynamo's endpoint picker (model.epp) rendered as upstream wires it: each of upstream's gaie example
graphs (tests/fixtures/dgd-examples/gaie/, byte copies with their commit) is written as a values file,
rendered by real helm, and the picker and the workers' frontend sidecars are compared with upstream's
field by field; the DynamoGraphDeployment validates against each release line's CRD and the
HTTPRoute against the Gateway API's, pointing at the operator's InferencePool.
"""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from composer import dynamo, proc
from composer import project as p
from composer.plan import gateway_values
from tests.support.component_charts import helm_binary
from tests.support.project import REPO, make_project
from tests.support.validate import GATEWAY_CRDS, crd_dir, crd_errors, load_docs

pytestmark = pytest.mark.helm

GAIE = REPO / "tests" / "fixtures" / "dgd-examples" / "gaie"
ROLE = {"decode": "decode", "prefill": "prefill"}  # upstream's component type -> ours, by name


def upstream(example: str) -> dict:
    return yaml.safe_load((GAIE / f"{example}.yaml").read_text())


def env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", [])}


def values_for(doc: dict) -> str:
    """The values file that asks for upstream's graph: its model, roles, Secret and picker."""
    comps = doc["spec"]["components"]
    (epp,) = [c for c in comps if c["type"] == "epp"]
    (picker,) = epp["podTemplate"]["spec"]["containers"]
    env = env_of(picker)
    secret = picker["envFrom"][0]["secretRef"]["name"]
    disagg = any(c["type"] == "prefill" for c in comps)
    values = {
        "dynamoNamespace": doc["metadata"]["name"],
        "model": {
            "name": env["DYN_MODEL_NAME"],
            "backend": {"type": doc["spec"]["backendFramework"]},
            "disaggregation": disagg,
            "routingPolicy": "kv",
            "hfTokenSecret": secret,
            "epp": {
                "enabled": True,
                "image": picker["image"],
                "replicas": epp["replicas"],
                "kvCacheBlockSize": int(env["DYN_KV_CACHE_BLOCK_SIZE"]),
            },
        },
        "inferenceGateway": {"enabled": True, "gateway": {"name": "inference-gateway"}},
    }
    return yaml.safe_dump(values, sort_keys=False)


def render(tmp_path, values: str) -> tuple[p.Project, list[dict]]:
    root = make_project(tmp_path / "proj", values, {"dev": "cluster:\n  namespace: llm\n"})
    proj = p.Project.at(root / "values.yaml")
    plan = p.plans(proj)["dev"]
    argvs = []
    for name in ("model", "inference-gateway"):
        r = plan.release(name)
        values_file = root / f"{name}.json"
        values_file.write_text(json.dumps(r.values))
        argvs.append([helm_binary(), "template", r.name, str(root / r.chart), "-f", str(values_file)])
    docs = []
    for done in proc.run_all(argvs, cwd=root):
        assert done.returncode == 0, done.stderr
        docs += load_docs(done.stdout)
    return proj, docs


@pytest.mark.parametrize("example", ["vllm_agg", "vllm_disagg"])
def test_the_picker_and_the_sidecars_are_upstreams(tmp_path, example):
    theirs = upstream(example)
    _, docs = render(tmp_path, values_for(theirs))
    (dgd,) = [d for d in docs if d["kind"] == dynamo.DGD_KIND]
    ours = {c["type"]: c for c in dgd["spec"]["components"]}
    upstream_by_type = {c["type"]: c for c in theirs["spec"]["components"]}

    # the picker: same EndpointPickerConfig, replicas, image, the variables upstream sets, the Secret
    epp, their_epp = ours["epp"], upstream_by_type["epp"]
    assert epp["eppConfig"] == their_epp["eppConfig"]
    assert epp["replicas"] == their_epp["replicas"]
    (main,) = epp["podTemplate"]["spec"]["containers"]
    (their_main,) = their_epp["podTemplate"]["spec"]["containers"]
    assert (main["image"], main["envFrom"]) == (their_main["image"], their_main["envFrom"])
    assert env_of(main) == env_of(their_main)

    # every worker role upstream has, typed as upstream types it, with upstream's frontend sidecar
    workers = {t for t in upstream_by_type if t not in ("epp", "frontend")}
    assert workers <= set(ours)
    for kind in workers:
        mine, their = ours[kind], upstream_by_type[kind]
        assert mine["frontendSidecar"] == their["frontendSidecar"]
        sidecar = {c["name"]: c for c in mine["podTemplate"]["spec"]["containers"]}[mine["frontendSidecar"]]
        their_sidecar = {c["name"]: c for c in their["podTemplate"]["spec"]["containers"]}[their["frontendSidecar"]]
        assert (sidecar.get("command"), sidecar["args"], sidecar["envFrom"]) == (
            their_sidecar.get("command"),
            their_sidecar["args"],
            their_sidecar["envFrom"],
        )
        assert sidecar["image"] == {c["name"]: c for c in mine["podTemplate"]["spec"]["containers"]}["main"]["image"]

    for version in (line.newest for line in dynamo.RELEASES.values()):
        pinned = copy.deepcopy(dgd)
        pinned["metadata"]["labels"]["app.kubernetes.io/version"] = version
        assert crd_errors([pinned], crd_dir(version)) == [], version


def test_the_route_goes_to_the_pickers_inference_pool(tmp_path):
    proj, docs = render(tmp_path, values_for(upstream("vllm_disagg")))
    (route,) = [d for d in docs if d["kind"] == "HTTPRoute"]
    (ref,) = route["spec"]["rules"][0]["backendRefs"]
    # the contract upstream's gateway reference states: the operator's pool, the sidecars' port
    assert (ref["group"], ref["kind"], ref["name"], ref["port"]) == (
        "inference.networking.k8s.io",
        "InferencePool",
        f"{upstream('vllm_disagg')['metadata']['name']}-pool",
        8000,
    )
    assert crd_errors([route], GATEWAY_CRDS) == []
    assert gateway_values(p.load_deployment(proj, "dev"))["backend"]["kind"] == "InferencePool"


def test_an_aggregated_worker_is_typed_decode_for_the_pickers_filter(tmp_path):
    _, docs = render(tmp_path, values_for(upstream("vllm_agg")))
    (dgd,) = [d for d in docs if d["kind"] == dynamo.DGD_KIND]
    types = [c["type"] for c in dgd["spec"]["components"]]
    assert types == ["frontend", "decode", "epp"]
    filters = [x for x in dgd["spec"]["components"][2]["eppConfig"]["config"]["plugins"] if x["type"] == "label-filter"]
    assert [f["parameters"]["validValues"] for f in filters] == [["decode"]]


def test_a_given_picker_config_replaces_upstreams(tmp_path):
    values = yaml.safe_load(values_for(upstream("vllm_agg")))
    config = {"plugins": [{"name": "picker", "type": "max-score-picker"}], "schedulingProfiles": []}
    values["model"]["epp"]["config"] = config
    _, docs = render(tmp_path, yaml.safe_dump(values))
    (dgd,) = [d for d in docs if d["kind"] == dynamo.DGD_KIND]
    assert dgd["spec"]["components"][-1]["eppConfig"] == {"config": config}
