"""charts/model: the DynamoGraphDeployment (nvidia.com/v1beta1) chart, with the flags of Dynamo 1.4.0.

Every test runs the real helm binary offline and asserts on the parsed output:
DGDs against the 1.4.0 CRD schema, other objects against strict Kubernetes 1.30
schemas (tests/support/validate.py), plus the meaning of what was rendered.
"""

from __future__ import annotations

import copy
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.support.validate import (
    FIXTURES,
    KUBE_VERSION,
    all_errors,
    crd_errors,
    crd_validators,
    load_docs,
)

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "model"
CI_FILES = sorted((CHART / "ci").glob("*-values.yaml"))
EXAMPLES = FIXTURES / "dgd-examples"
NAMESPACE = "models"
RELEASE = "rel"
MODEL = "Qwen/Qwen3-0.6B"


def _find_helm() -> str | None:
    venv_helm = Path(sys.executable).parent / "helm"  # the pinned one scripts/setup installs beside python
    return str(venv_helm) if venv_helm.exists() else shutil.which("helm")


HELM = _find_helm()
pytestmark = pytest.mark.skipif(HELM is None, reason="helm not found; run scripts/install-helm-tools")

BACKENDS = ("vllm", "sglang", "trtllm", "mocker")
ROUTING = ("none", "kv", "random", "round-robin", "power-of-two", "least-loaded", "device-aware-weighted")
IMAGES = {
    "vllm": "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0",
    "sglang": "nvcr.io/nvidia/ai-dynamo/sglang-runtime:1.4.0",
    "trtllm": "nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:1.4.0",
    "mocker": "nvcr.io/nvidia/ai-dynamo/dynamo-planner:1.4.0",
}

# Worker flags for Dynamo 1.4.0.
MODEL_FLAGS = {
    "vllm": {"--model": MODEL},
    "sglang": {
        "--model-path": MODEL,
        "--served-model-name": MODEL,
        "--page-size": "16",
        "--tp": "1",
        "--trust-remote-code": True,
        "--skip-tokenizer-init": True,
    },
    "trtllm": {"--model-path": MODEL, "--served-model-name": MODEL},
    "mocker": {"--model-path": MODEL, "--model-name": MODEL},
}
# Disaggregation flags besides `--disaggregation-mode <role>`.
DISAGG_FLAGS = {
    "vllm": {"--kv-transfer-config": {"kv_connector": "NixlConnector", "kv_role": "kv_both"}},
    "sglang": {
        "--disaggregation-transfer-backend": "nixl",
        "--disaggregation-bootstrap-port": "12345",
        "--host": "0.0.0.0",
    },
    "trtllm": {},
    "mocker": {},
}
KV_FLAGS = {
    "vllm": {
        "--kv-events-config": {
            "publisher": "zmq",
            "topic": "kv-events",
            "endpoint": "tcp://*:20080",
            "enable_kv_cache_events": True,
        }
    },
    "sglang": {"--kv-events-config": {"publisher": "zmq", "topic": "kv-events", "endpoint": "tcp://*:5557"}},
    "trtllm": {"--publish-kv-events": True},  # 1.4.0 deprecates --publish-events-and-metrics for it
    "mocker": {},  # the mocker publishes KV events without a flag
}
CONFIG_FLAG = {
    "vllm": "--config",
    "sglang": "--config",
    "trtllm": "--extra-engine-args",
    "mocker": "--extra-engine-args",
}
STANDARD_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
)


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="session")
def helm(tmp_path_factory):
    home = tmp_path_factory.mktemp("helm-home")
    env = {
        **os.environ,
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
        "KUBECONFIG": str(home / "no-kubeconfig"),
    }

    def run(*args: str, values: dict | None = None) -> subprocess.CompletedProcess:
        stdin = yaml.safe_dump(values, sort_keys=False) if values is not None else None
        return subprocess.run([HELM, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)

    return run


@pytest.fixture(scope="session")
def template(helm):
    """helm template with values on stdin; returns the completed process."""

    def run(values: dict, chart: Path = CHART) -> subprocess.CompletedProcess:
        return helm(
            "template",
            RELEASE,
            str(chart),
            "--namespace",
            NAMESPACE,
            "--kube-version",
            KUBE_VERSION,
            "--values",
            "-",
            values=values,
        )

    return run


@pytest.fixture(scope="session")
def render(template):
    """Rendered, schema-valid documents; fails the test on a helm error or a schema error."""

    def run(values: dict, chart: Path = CHART) -> list[dict]:
        proc = template(values, chart)
        assert proc.returncode == 0, f"helm template failed:\n{proc.stderr}"
        docs = load_docs(proc.stdout)
        errors = all_errors(docs)
        assert not errors, "\n".join(errors)
        return docs

    return run


def merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def values_for(
    backend: str = "vllm",
    *,
    disagg: bool = False,
    routing: str = "none",
    name: str = "demo",
    model: str = MODEL,
    **model_extra,
) -> dict:
    return {
        "dynamoNamespace": name,
        # This module pins the flags of 1.4.0 and compares with upstream's 1.4-era examples;
        # tests/test_version_matrix.py covers what differs in later versions.
        "dynamoVersion": "1.4.0",
        "model": merge(
            {
                "name": model,
                "backend": {"type": backend, "image": IMAGES[backend]},
                "disaggregation": disagg,
                "routingPolicy": routing,
            },
            model_extra,
        ),
    }


def the_dgd(docs: list[dict]) -> dict:
    dgds = [d for d in docs if d["kind"] == "DynamoGraphDeployment"]
    assert len(dgds) == 1, [d["kind"] for d in docs]
    return dgds[0]


def components(docs: list[dict]) -> dict[str, dict]:
    return {c["name"]: c for c in the_dgd(docs)["spec"]["components"]}


def main_container(component: dict) -> dict:
    (main,) = [c for c in component["podTemplate"]["spec"]["containers"] if c["name"] == "main"]
    return main


def flags(args: list[str]) -> dict[str, object]:
    """`--flag value` pairs; a flag without a value maps to True; JSON values are parsed."""
    out: dict[str, object] = {}
    i = 0
    while i < len(args):
        flag = args[i]
        assert flag.startswith("--"), f"stray argument {flag!r} in {args}"
        if i + 1 < len(args) and not args[i + 1].startswith("--"):
            value: object = args[i + 1]
            if value.startswith("{"):
                value = json.loads(value)
            i += 2
        else:
            value, i = True, i + 1
        assert flag not in out, f"{flag} given twice in {args}"
        out[flag] = value
    return out


def env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def configmaps(docs: list[dict]) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}


def gpu_count(container: dict) -> tuple[str | None, str | None]:
    res = container.get("resources", {})
    return res.get("limits", {}).get("nvidia.com/gpu"), res.get("requests", {}).get("nvidia.com/gpu")


@pytest.mark.unit
def test_validator_knows_the_v1beta1_dgd():
    # crd_errors skips kinds it has no schema for; make sure ours is not one of them.
    assert ("nvidia.com/v1beta1", "DynamoGraphDeployment") in crd_validators()


# --------------------------------------------------------------------------- ci/ scenarios


@pytest.mark.helm
@pytest.mark.parametrize("values_file", CI_FILES, ids=lambda p: p.name)
def test_ci_scenario_lints_strict(helm, values_file):
    proc = helm("lint", "--strict", str(CHART), "--values", str(values_file), "--kube-version", KUBE_VERSION)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


@pytest.mark.helm
@pytest.mark.parametrize("values_file", CI_FILES, ids=lambda p: p.name)
def test_ci_scenario_renders_valid_objects_with_consistent_wiring(render, values_file):
    values = yaml.safe_load(values_file.read_text())
    docs = render(values)
    dgd = the_dgd(docs)
    assert dgd["metadata"]["name"] == values["dynamoNamespace"]
    assert dgd["metadata"]["namespace"] == NAMESPACE
    assert not [d for d in docs if d["kind"] == "Secret"], "the chart must only reference Secrets"
    rendered_cms = configmaps(docs)
    for comp in dgd["spec"]["components"]:
        if comp["type"] == "frontend":
            continue
        main = main_container(comp)
        path = env_of(main).get("DYNAMO_EXTRA_CONFIG")
        volumes = {v["name"]: v for v in comp["podTemplate"]["spec"].get("volumes", [])}
        mounts = {m["name"]: m for m in main.get("volumeMounts", [])}
        assert set(volumes) == set(mounts), "every volume is mounted and every mount has a volume"
        if path is None:
            assert "extra-config" not in volumes
            continue
        assert mounts["extra-config"]["mountPath"] == posixpath.dirname(path)
        assert volumes["extra-config"]["configMap"]["items"][0]["path"] == posixpath.basename(path)
        assert "$(DYNAMO_EXTRA_CONFIG)" in main["args"]
        cm_name = volumes["extra-config"]["configMap"]["name"]
        role_cfg = values["model"][comp["name"]]["extraConfig"]
        if role_cfg.get("inline"):
            assert cm_name in rendered_cms
            key = volumes["extra-config"]["configMap"]["items"][0]["key"]
            assert key in rendered_cms[cm_name]["data"]
        else:
            assert cm_name == role_cfg["configMapRef"]["name"]


@pytest.mark.helm
@pytest.mark.parametrize("values_file", CI_FILES, ids=lambda p: p.name)
def test_every_object_carries_standard_labels_and_pods_no_chart_label(render, values_file):
    docs = render(yaml.safe_load(values_file.read_text()))
    for doc in docs:
        labels = doc["metadata"].get("labels", {})
        missing = [k for k in STANDARD_LABELS if k not in labels]
        assert not missing, f"{doc['kind']}/{doc['metadata']['name']} lacks {missing}"
        assert labels["app.kubernetes.io/instance"] == RELEASE
    for comp in the_dgd(docs)["spec"]["components"]:
        pod_labels = comp["podTemplate"]["metadata"]["labels"]
        assert "helm.sh/chart" not in pod_labels and "app.kubernetes.io/version" not in pod_labels
        assert pod_labels["app.kubernetes.io/component"] == comp["name"]


@pytest.mark.helm
def test_the_dgds_own_name_and_part_of_labels_replace_the_charts_on_the_dgd_only(render):
    """An imported graph keeps its app.kubernetes.io/name and part-of (nothing selects the DGD by them);
    managed-by stays Helm (helm's adoption check), instance the release, version and chart the chart's."""
    own = {
        "app.kubernetes.io/name": "my-graph",
        "app.kubernetes.io/part-of": "dynamo",
        "app.kubernetes.io/managed-by": "someone",
        "app.kubernetes.io/instance": "other",
        "app.kubernetes.io/version": "0.0.1",
        "helm.sh/chart": "other-1",
        "team": "a",
    }
    docs = render(values_for(deployment={"labels": own}))
    labels = the_dgd(docs)["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "my-graph" and labels["app.kubernetes.io/part-of"] == "dynamo"
    assert labels["team"] == "a"
    assert labels["app.kubernetes.io/managed-by"] == "Helm" and labels["app.kubernetes.io/instance"] == RELEASE
    assert labels["app.kubernetes.io/version"] == "1.4.0" and labels["helm.sh/chart"].startswith("model-")
    for comp in the_dgd(docs)["spec"]["components"]:  # the pods' selector labels stay the chart's
        assert comp["podTemplate"]["metadata"]["labels"]["app.kubernetes.io/name"] == "model"


@pytest.mark.helm
def test_a_compute_domain_is_rendered_and_claimed_by_the_gpu_workers_only(render, template):
    """model.computeDomain: the ComputeDomain (valid against the NVIDIA DRA driver's CRD, which render
    checks) and its channel claimed by the workers as upstream's GB200 recipes claim it, not by the frontend."""
    multinode = {"gpus": 4, "multinode": {"nodeCount": 2}}
    docs = render(
        values_for("sglang", disagg=True, computeDomain={"enabled": True}, decode=multinode, prefill=multinode)
    )
    (cd,) = [d for d in docs if d["kind"] == "ComputeDomain"]
    assert cd["apiVersion"] == "resource.nvidia.com/v1beta1"
    # render checked it against the driver's CRD (tests/fixtures/dra), which does see a broken one
    broken = copy.deepcopy(cd)
    broken["spec"]["channel"]["allocationMode"] = "Some"
    assert crd_errors([broken]) == [
        f"ComputeDomain/{cd['metadata']['name']}: spec.channel.allocationMode: 'Some' is not one of ['All', 'Single']"
    ]
    assert cd["metadata"]["name"] == "demo-compute-domain" and cd["metadata"]["namespace"] == NAMESPACE
    assert cd["spec"] == {
        "numNodes": 0,
        "channel": {"allocationMode": "Single", "resourceClaimTemplate": {"name": "demo-compute-domain-channel"}},
    }
    claim = {"name": "compute-domain-channel", "resourceClaimTemplateName": "demo-compute-domain-channel"}
    comps = {c["name"]: c for c in the_dgd(docs)["spec"]["components"]}
    for role in ("decode", "prefill"):
        spec = comps[role]["podTemplate"]["spec"]
        assert spec["resourceClaims"] == [claim]
        assert spec["containers"][0]["resources"]["claims"] == [{"name": "compute-domain-channel"}]
        assert spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "4"
    frontend = comps["frontend"]["podTemplate"]["spec"]
    assert "resourceClaims" not in frontend and "resources" not in frontend["containers"][0]

    # a name, numNodes and allocationMode of its own; one role; the role's own claims after the chart's
    docs = render(
        values_for(
            "vllm",
            disagg=True,
            computeDomain={
                "enabled": True,
                "name": "nvl72",
                "numNodes": 4,
                "allocationMode": "All",
                "roles": ["decode"],
            },
            decode={
                "resourceClaims": [{"name": "gpus", "resourceClaimTemplateName": "gpu"}],
                "resources": {"claims": [{"name": "gpus"}]},
            },
        )
    )
    (cd,) = [d for d in docs if d["kind"] == "ComputeDomain"]
    assert cd["metadata"]["name"] == "nvl72"
    assert cd["spec"] == {
        "numNodes": 4,
        "channel": {"allocationMode": "All", "resourceClaimTemplate": {"name": "nvl72-channel"}},
    }
    comps = {c["name"]: c for c in the_dgd(docs)["spec"]["components"]}
    decode = comps["decode"]["podTemplate"]["spec"]
    assert decode["resourceClaims"] == [
        {"name": "compute-domain-channel", "resourceClaimTemplateName": "nvl72-channel"},
        {"name": "gpus", "resourceClaimTemplateName": "gpu"},
    ]
    assert decode["containers"][0]["resources"]["claims"] == [{"name": "compute-domain-channel"}, {"name": "gpus"}]
    assert "resourceClaims" not in comps["prefill"]["podTemplate"]["spec"]

    # off (the default): nothing of it
    docs = render(values_for("sglang", disagg=True, decode=multinode, prefill=multinode))
    assert "ComputeDomain" not in [d["kind"] for d in docs]
    assert "resourceClaims" not in json.dumps(the_dgd(docs))

    # a role the graph does not have
    proc = template(values_for("vllm", computeDomain={"enabled": True, "roles": ["prefill"]}))
    assert proc.returncode != 0 and "model.computeDomain.roles: prefill is no worker role" in proc.stderr


@pytest.mark.helm
def test_a_device_claim_is_rendered_and_claimed_by_the_workers_only(render, template):
    """model.deviceClaim: the ResourceClaimTemplate (valid against Kubernetes 1.34's resource.k8s.io/v1
    schema, which render checks) claimed as gpu by the workers as upstream's XPU examples claim it."""
    from tests.support.validate import k8s_errors

    dc = {"enabled": True, "deviceClassName": "gpu.intel.com"}
    docs = render(values_for("vllm", disagg=True, deviceClaim=dc, decode={"gpus": 0}, prefill={"gpus": 0}))
    (rct,) = [d for d in docs if d["kind"] == "ResourceClaimTemplate"]
    assert rct["apiVersion"] == "resource.k8s.io/v1"
    assert rct["metadata"]["name"] == "demo-gpu" and rct["metadata"]["namespace"] == NAMESPACE
    assert rct["spec"] == {
        "spec": {
            "devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": "gpu.intel.com", "count": 1}}]}
        }
    }
    broken = copy.deepcopy(rct)
    broken["spec"]["spec"]["devices"]["requests"][0]["exactly"]["count"] = "one"
    assert k8s_errors([broken]), "render's validation would not see a broken template"
    comps = {c["name"]: c for c in the_dgd(docs)["spec"]["components"]}
    for role in ("decode", "prefill"):
        spec = comps[role]["podTemplate"]["spec"]
        assert spec["resourceClaims"] == [{"name": "gpu", "resourceClaimTemplateName": "demo-gpu"}]
        assert spec["containers"][0]["resources"] == {"claims": [{"name": "gpu"}]}  # no nvidia.com/gpu
    assert "resourceClaims" not in comps["frontend"]["podTemplate"]["spec"]

    # a template name and count of its own; decode only, after a ComputeDomain's claim, before its own
    docs = render(
        values_for(
            "vllm",
            disagg=True,
            deviceClaim=dc | {"templateName": "gpu-template", "count": 2, "roles": ["decode"]},
            computeDomain={"enabled": True, "roles": ["decode"]},
            decode={
                "gpus": 0,
                "resourceClaims": [{"name": "nic", "resourceClaimTemplateName": "rdma"}],
                "resources": {"claims": [{"name": "nic"}]},
            },
        )
    )
    (rct,) = [d for d in docs if d["kind"] == "ResourceClaimTemplate"]
    assert rct["metadata"]["name"] == "gpu-template"
    assert rct["spec"]["spec"]["devices"]["requests"][0]["exactly"]["count"] == 2
    comps = {c["name"]: c for c in the_dgd(docs)["spec"]["components"]}
    decode = comps["decode"]["podTemplate"]["spec"]
    assert [c["name"] for c in decode["resourceClaims"]] == ["compute-domain-channel", "gpu", "nic"]
    assert decode["containers"][0]["resources"]["claims"] == [
        {"name": "compute-domain-channel"},
        {"name": "gpu"},
        {"name": "nic"},
    ]
    assert "resourceClaims" not in comps["prefill"]["podTemplate"]["spec"]

    # off (the default): nothing of it
    docs = render(values_for("vllm"))
    assert "ResourceClaimTemplate" not in [d["kind"] for d in docs]
    # the chart's own checks
    proc = template(values_for("vllm", deviceClaim={"enabled": True}))
    assert proc.returncode != 0 and "model.deviceClaim.deviceClassName is required" in proc.stderr
    proc = template(values_for("vllm", deviceClaim=dc | {"roles": ["prefill"]}))
    assert proc.returncode != 0 and "model.deviceClaim.roles: prefill is no worker role" in proc.stderr


@pytest.mark.unit
def test_values_schema_is_draft7_and_documents_every_leaf_of_values_yaml():
    import jsonschema

    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    lines = (CHART / "values.yaml").read_text().splitlines()
    assert lines[0] == "# yaml-language-server: $schema=values.schema.json"
    undocumented = []
    for i, line in enumerate(lines):
        leaf = re.match(r"^\s*([A-Za-z][\w-]*):\s*\S", line)
        if not leaf:
            continue
        j = i - 1
        while j >= 0 and lines[j].strip().startswith("#") and not lines[j].strip().startswith("# --"):
            j -= 1
        if j < 0 or not lines[j].strip().startswith("# --"):
            undocumented.append(leaf.group(1))
    assert not undocumented, f"values.yaml keys without a helm-docs '# --' comment: {undocumented}"
    for values_file in CI_FILES:
        merged = merge(yaml.safe_load((CHART / "values.yaml").read_text()), yaml.safe_load(values_file.read_text()))
        errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(merged)]
        assert not errors, f"{values_file.name}: {errors}"


# --------------------------------------------------------------------------- the 32-cell matrix


@pytest.mark.helm
@pytest.mark.parametrize("routing", ROUTING)
@pytest.mark.parametrize("disagg", [False, True], ids=["agg", "disagg"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_matrix_cell(render, backend, disagg, routing):
    docs = render(values_for(backend, disagg=disagg, routing=routing))
    dgd = the_dgd(docs)
    comps = components(docs)

    expected_types = (
        {"frontend": "frontend", "decode": "decode", "prefill": "prefill"}
        if disagg
        else {"frontend": "frontend", "decode": "worker"}
    )
    assert {n: c["type"] for n, c in comps.items()} == expected_types
    assert [c["name"] for c in dgd["spec"]["components"]][0] == "frontend"
    if backend == "mocker":
        assert "backendFramework" not in dgd["spec"]  # not in the CRD enum
    else:
        assert dgd["spec"]["backendFramework"] == backend

    frontend = main_container(comps["frontend"])
    assert frontend["image"] == IMAGES[backend]
    assert "command" not in frontend and "args" not in frontend, "the operator supplies dynamo.frontend"
    router_env = env_of(frontend).get("DYN_ROUTER_MODE")
    assert router_env == (None if routing == "none" else routing)
    assert comps["frontend"]["replicas"] == 1

    # No engine config given: none is mounted, except TRT-LLM's cache transceiver for disaggregation.
    transceiver = backend == "trtllm" and disagg
    for role in [n for n in comps if n != "frontend"]:
        main = main_container(comps[role])
        assert main["image"] == IMAGES[backend]
        assert main["command"] == ["python3", "-m", f"dynamo.{backend}"]
        expected = dict(MODEL_FLAGS[backend])
        if disagg:
            expected["--disaggregation-mode"] = role
            expected.update(DISAGG_FLAGS[backend])
        if routing == "kv" and (not disagg or role == "prefill"):  # disaggregated, prefill publishes (upstream)
            expected.update(KV_FLAGS[backend])
        if transceiver:
            expected[CONFIG_FLAG[backend]] = "$(DYNAMO_EXTRA_CONFIG)"
        assert flags(main["args"]) == expected
        assert list(MODEL_FLAGS[backend])[0] == main["args"][0], "model flags come first"
        assert ("DYNAMO_EXTRA_CONFIG" in env_of(main)) == transceiver
        assert ("volumes" in comps[role]["podTemplate"]["spec"]) == transceiver
        assert ("volumeMounts" in main) == transceiver
        assert gpu_count(main) == ((None, None) if backend == "mocker" else ("1", "1"))
        assert comps[role]["replicas"] == 1
    engine_configs = [yaml.safe_load(v) for cm in configmaps(docs).values() for v in cm["data"].values()]
    assert engine_configs == ([{"cache_transceiver_config": {"backend": "DEFAULT"}}] * 2 if transceiver else [])


@pytest.mark.helm
@pytest.mark.parametrize("version", ["1.4.0", "1.6.1"])
@pytest.mark.parametrize("backend", ["vllm", "mocker"])
def test_the_aggregated_worker_takes_the_type_given(render, template, backend, version):
    """model.decode.type: decode types the aggregated worker decode, as many upstream aggregated recipes
    do; each DGD is checked against that version's CRD (render). Nothing else of the graph changes."""
    values = values_for(backend) | {"dynamoVersion": version}
    default = render(values)
    typed = render(merge(values, {"model": {"decode": {"type": "decode"}}}))
    assert {n: c["type"] for n, c in components(typed).items()} == {"frontend": "frontend", "decode": "decode"}
    assert the_dgd(typed)["metadata"]["labels"]["app.kubernetes.io/version"] == version
    for comp in the_dgd(typed)["spec"]["components"]:
        if comp["name"] == "decode":
            comp["type"] = "worker"
    assert typed == default
    assert components(render(merge(values, {"model": {"decode": {"type": "worker"}}})))["decode"]["type"] == "worker"
    # where the graph needs decode, the chart refuses worker (compose's schema says so first, located)
    for extra, why in (
        ({"disaggregation": True}, "a disaggregated graph's decode workers are of type decode"),
        ({"epp": {"enabled": True}}, "the endpoint picker's decode profile selects workers of type decode"),
    ):
        proc = template(merge(values, {"model": {"decode": {"type": "worker"}, **extra}}))
        assert proc.returncode != 0 and f"model.decode.type: worker: {why}" in proc.stderr


# --------------------------------------------------------------------------- engine config


def _extra_config(backend: str, mode: str) -> dict:
    """Per-role extraConfig values: by reference, or inline (JSON-able content for every backend)."""
    if mode == "ref":
        return {
            "decode": {
                "extraConfig": {
                    "path": "/opt/dynamo/model/decode.yaml",
                    "configMapRef": {"name": "decode-engine", "key": "engine.yaml"},
                }
            },
            "prefill": {"extraConfig": {"configMapRef": {"name": "prefill-engine"}}},
        }
    return {
        "decode": {"extraConfig": {"inline": {"max_batch_size": 16, "kv_cache_config": {"dtype": "fp8"}}}},
        "prefill": {
            "extraConfig": {
                "path": "/etc/dynamo/prefill.json" if backend == "mocker" else "/etc/dynamo/prefill.yaml",
                "inline": {"max_batch_size": 4},
            }
        },
    }


@pytest.mark.helm
@pytest.mark.parametrize("mode", ["ref", "inline"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_extra_config_per_role(render, backend, mode):
    cfg = _extra_config(backend, mode)
    docs = render(values_for(backend, disagg=True, **cfg))
    comps = components(docs)
    cms = configmaps(docs)
    seen_configmaps = set()
    for role in ("decode", "prefill"):
        ec = cfg[role]["extraConfig"]
        path = ec.get("path", "/opt/dynamo/model/config.yaml")
        key = ec.get("configMapRef", {}).get("key") or posixpath.basename(path)
        main = main_container(comps[role])
        pod = comps[role]["podTemplate"]

        assert env_of(main)["DYNAMO_EXTRA_CONFIG"] == path
        assert flags(main["args"])[CONFIG_FLAG[backend]] == "$(DYNAMO_EXTRA_CONFIG)"
        (volume,) = [v for v in pod["spec"]["volumes"] if v["name"] == "extra-config"]
        (mount,) = [m for m in main["volumeMounts"] if m["name"] == "extra-config"]
        assert mount == {"name": "extra-config", "mountPath": posixpath.dirname(path), "readOnly": True}
        assert volume["configMap"]["items"] == [{"key": key, "path": posixpath.basename(path)}]
        cm_name = volume["configMap"]["name"]
        seen_configmaps.add(cm_name)

        annotations = pod["metadata"].get("annotations", {})
        if mode == "ref":
            assert cm_name == ec["configMapRef"]["name"]
            assert "checksum/extra-config" not in annotations, "an external ConfigMap has no known content"
        else:
            assert cm_name == f"demo-{role}-config"
            text = cms[cm_name]["data"][key]
            content = json.loads(text) if backend == "mocker" else yaml.safe_load(text)
            if backend == "mocker":  # disaggregated: see test_disaggregated_mocker_config_names_its_worker_type
                assert content.pop("worker_type") == role  # values_for's dynamoVersion 1.4.0: at the top
            if backend == "trtllm":  # see test_trtllm_disaggregation_gets_a_cache_transceiver
                assert content.pop("cache_transceiver_config") == {"backend": "DEFAULT"}
            assert content == ec["inline"]
            assert cms[cm_name]["metadata"]["labels"]["app.kubernetes.io/component"] == role
            assert re.fullmatch(r"[0-9a-f]{64}", annotations["checksum/extra-config"])
    assert len(seen_configmaps) == 2, "prefill and decode must each mount their own ConfigMap"
    assert len(cms) == (0 if mode == "ref" else 2)


@pytest.mark.helm
@pytest.mark.parametrize("mode", ["ref", "inline"])
def test_extra_config_mount_file_mounts_the_file_alone(render, mode):
    """mountFile: the config's file alone (subPath) at its path, the rest of its directory the image's;
    the volume, the flag and DYNAMO_EXTRA_CONFIG as with a directory mount."""
    path = "/workspace/engine_configs/agg.yaml"
    source = {"configMapRef": {"name": "engine", "key": "k.yaml"}} if mode == "ref" else {"inline": {"a": 1}}
    comps = components(
        render(values_for("trtllm", decode={"extraConfig": {"path": path, "mountFile": True, **source}}))
    )
    main = main_container(comps["decode"])
    (mount,) = [m for m in main["volumeMounts"] if m["name"] == "extra-config"]
    assert mount == {"name": "extra-config", "mountPath": path, "subPath": "agg.yaml", "readOnly": True}
    (volume,) = [v for v in comps["decode"]["podTemplate"]["spec"]["volumes"] if v["name"] == "extra-config"]
    key = "k.yaml" if mode == "ref" else "agg.yaml"
    assert volume["configMap"]["items"] == [{"key": key, "path": "agg.yaml"}]
    assert env_of(main)["DYNAMO_EXTRA_CONFIG"] == path
    assert flags(main["args"])["--extra-engine-args"] == "$(DYNAMO_EXTRA_CONFIG)"


@pytest.mark.helm
@pytest.mark.parametrize(
    "decode_config, expected",
    [
        pytest.param(
            {"inline": {"max_batch_size": 8}},
            {"max_batch_size": 8, "cache_transceiver_config": {"backend": "DEFAULT"}},
            id="added",
        ),
        pytest.param(
            {"inline": {"cache_transceiver_config": {"backend": "UCX", "max_tokens_in_buffer": 4096}}},
            {"cache_transceiver_config": {"backend": "UCX", "max_tokens_in_buffer": 4096}},
            id="user-wins",
        ),
        pytest.param(
            {"inline": "cache_transceiver_config:\n  backend: NIXL\n"},
            {"cache_transceiver_config": {"backend": "NIXL"}},
            id="raw-text-kept",
        ),
        pytest.param({"configMapRef": {"name": "mine"}}, None, id="external-untouched"),
    ],
)
def test_trtllm_disaggregation_gets_a_cache_transceiver(render, decode_config, expected):
    """TRT-LLM sends the KV cache from prefill to decode only through a cache transceiver; every
    upstream disaggregated engine config sets one. Where compose writes the config, it is there."""
    docs = render(values_for("trtllm", disagg=True, decode={"extraConfig": decode_config}))
    cms = configmaps(docs)
    decode = cms.get("demo-decode-config")
    assert (yaml.safe_load(decode["data"]["config.yaml"]) if decode else None) == expected
    assert yaml.safe_load(cms["demo-prefill-config"]["data"]["config.yaml"]) == {
        "cache_transceiver_config": {"backend": "DEFAULT"}
    }
    aggregated = render(values_for("trtllm", decode={"extraConfig": {"inline": {"max_batch_size": 8}}}))
    assert [yaml.safe_load(cm["data"]["config.yaml"]) for cm in configmaps(aggregated).values()] == [
        {"max_batch_size": 8}
    ]


@pytest.mark.helm
def test_mocker_inline_config_is_json_and_others_yaml(render):
    inline = {"decode": {"extraConfig": {"inline": {"speedup_ratio": 10.0}}}}
    mocker = configmaps(render(values_for("mocker", **inline)))["demo-decode-config"]["data"]["config.yaml"]
    assert json.loads(mocker) == {"speedup_ratio": 10.0}
    vllm = configmaps(render(values_for("vllm", **inline)))["demo-decode-config"]["data"]["config.yaml"]
    assert vllm.strip() == "speedup_ratio: 10"


@pytest.mark.helm
@pytest.mark.parametrize(
    "version, nested",
    [("1.4.0", False), ("1.5.1", False), ("1.6.0", True), ("1.6.1", True)],
)
def test_disaggregated_mocker_config_names_its_worker_type(render, version, nested):
    """The mocker ignores --disaggregation-mode once it reads --extra-engine-args (found by running
    the rendered DGD locally: every request failed without it), so the chart writes the worker
    type where dynamoVersion's mocker reads it: at the top in 1.4 and 1.5, under "engine" from 1.6
    (each refuses the other's shape; dynamo/mocker/config.py of the 1.4.0, 1.5.1 and 1.6.1 wheels)."""

    def config(role_values, role="decode"):
        values = {**values_for("mocker", disagg=True, **role_values), "dynamoVersion": version}
        return json.loads(configmaps(render(values))[f"demo-{role}-config"]["data"]["config.yaml"])

    if nested:
        roles = {r: {"extraConfig": {"inline": {"engine": {"speedup_ratio": 10.0}}}} for r in ("decode", "prefill")}
        for role in ("decode", "prefill"):
            assert config(roles, role) == {"engine": {"speedup_ratio": 10.0, "worker_type": role}}
        # no engine section yet: one is made for the worker type; other sections are kept
        assert config({"decode": {"extraConfig": {"inline": {"dynamo": {"enable_local_indexer": True}}}}}) == {
            "dynamo": {"enable_local_indexer": True},
            "engine": {"worker_type": "decode"},
        }
        explicit = {"decode": {"extraConfig": {"inline": {"engine": {"worker_type": "prefill"}}}}}
        assert config(explicit) == {"engine": {"worker_type": "prefill"}}
    else:
        roles = {r: {"extraConfig": {"inline": {"speedup_ratio": 10.0}}} for r in ("decode", "prefill")}
        for role in ("decode", "prefill"):
            assert config(roles, role) == {"speedup_ratio": 10.0, "worker_type": role}
        explicit = {"decode": {"extraConfig": {"inline": {"worker_type": "prefill", "speedup_ratio": 2.0}}}}
        assert config(explicit) == {"worker_type": "prefill", "speedup_ratio": 2.0}


@pytest.mark.helm
def test_inline_config_given_as_text_is_kept_verbatim(render):
    text = "# tuned for H100\nmax_batch_size: 16\n"
    docs = render(values_for("trtllm", decode={"extraConfig": {"inline": text}}))
    assert configmaps(docs)["demo-decode-config"]["data"]["config.yaml"] == text


@pytest.mark.helm
def test_prefill_config_is_ignored_when_aggregated(render):
    docs = render(
        values_for("vllm", decode={"extraConfig": {"inline": {"a": 1}}}, prefill={"extraConfig": {"inline": {"b": 2}}})
    )
    assert set(configmaps(docs)) == {"demo-decode-config"}
    assert set(components(docs)) == {"frontend", "decode"}


def _checksums(docs: list[dict]) -> dict[str, str | None]:
    return {
        n: c["podTemplate"]["metadata"].get("annotations", {}).get("checksum/extra-config")
        for n, c in components(docs).items()
        if n != "frontend"
    }


@pytest.mark.helm
def test_checksum_changes_only_for_the_role_whose_inline_config_changed(render):
    base = values_for(
        "sglang",
        disagg=True,
        decode={"extraConfig": {"inline": {"mem_fraction_static": 0.8}}},
        prefill={"extraConfig": {"inline": {"chunked_prefill_size": 4096}}},
    )
    before = _checksums(render(base))
    changed = _checksums(
        render(merge(base, {"model": {"decode": {"extraConfig": {"inline": {"mem_fraction_static": 0.9}}}}}))
    )
    unrelated = _checksums(render(merge(base, {"model": {"decode": {"replicas": 3}, "routingPolicy": "kv"}})))
    rekeyed = _checksums(
        render(merge(base, {"model": {"decode": {"extraConfig": {"configMapRef": {"key": "engine.yaml"}}}}}))
    )

    assert all(before.values()) and before["decode"] != before["prefill"]
    assert changed["decode"] != before["decode"] and changed["prefill"] == before["prefill"]
    assert unrelated == before
    assert rekeyed["decode"] != before["decode"]


# --------------------------------------------------------------------------- pod plumbing


@pytest.mark.helm
@pytest.mark.parametrize("backend", BACKENDS)
def test_gpus_merge_into_resources_and_win_over_a_raw_gpu_limit(render, backend):
    docs = render(
        values_for(
            backend,
            decode={
                "gpus": 2,
                "resources": {"limits": {"memory": "64Gi", "nvidia.com/gpu": 7}, "requests": {"cpu": "4"}},
            },
        )
    )
    main = main_container(components(docs)["decode"])
    assert main["resources"] == {
        "limits": {"memory": "64Gi", "nvidia.com/gpu": "2"},
        "requests": {"cpu": "4", "nvidia.com/gpu": "2"},
    }
    if backend == "sglang":
        assert flags(main["args"])["--tp"] == "2"


@pytest.mark.helm
@pytest.mark.parametrize(
    ("backend", "gpus", "expected"),
    [
        ("mocker", None, (None, None)),
        ("mocker", 1, ("1", "1")),
        ("vllm", None, ("1", "1")),
        ("vllm", 0, (None, None)),
        ("trtllm", 4, ("4", "4")),
    ],
)
def test_gpu_default_depends_on_backend(render, backend, gpus, expected):
    docs = render(values_for(backend, disagg=True, prefill={"gpus": gpus}))
    assert gpu_count(main_container(components(docs)["prefill"])) == expected


@pytest.mark.helm
def test_pod_plumbing_goes_where_it_belongs(render):
    docs = render(
        values_for(
            "vllm",
            disagg=True,
            frontend={
                "replicas": 2,
                "resources": {"requests": {"cpu": "1"}},
                "env": [{"name": "DYN_ROUTER_TEMPERATURE", "value": "0.5"}],
            },
            decode={
                "replicas": 3,
                "env": [{"name": "VLLM_LOGGING_LEVEL", "value": "DEBUG"}],
                "extraArgs": ["--max-model-len", "4096"],
            },
            hfTokenSecret="hf-token-secret",
            modelCache={"pvcName": "model-cache"},
            sharedMemorySize="16Gi",
            imagePullSecrets=["nvcr-pull"],
            nodeSelector={"pool": "gpu"},
            tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        )
    )
    comps = components(docs)
    for name, comp in comps.items():
        spec, main = comp["podTemplate"]["spec"], main_container(comp)
        assert main["envFrom"] == [{"secretRef": {"name": "hf-token-secret"}}]
        assert spec["imagePullSecrets"] == [{"name": "nvcr-pull"}], "the frontend pulls the same image"
        if name == "frontend":
            assert comp["replicas"] == 2 and main["resources"] == {"requests": {"cpu": "1"}}
            assert env_of(main) == {"DYN_ROUTER_TEMPERATURE": "0.5"}
            assert not {"nodeSelector", "tolerations", "volumes"} & set(spec)
            assert "sharedMemorySize" not in comp
            continue
        assert spec["nodeSelector"] == {"pool": "gpu"}
        assert spec["tolerations"][0]["key"] == "nvidia.com/gpu"
        assert comp["sharedMemorySize"] == "16Gi"
        assert {"name": "model-cache", "persistentVolumeClaim": {"claimName": "model-cache"}} in spec["volumes"]
        assert {"name": "model-cache", "mountPath": "/root/.cache/huggingface"} in main["volumeMounts"]
    decode = main_container(comps["decode"])
    assert comps["decode"]["replicas"] == 3
    assert env_of(decode) == {"VLLM_LOGGING_LEVEL": "DEBUG"}
    assert decode["args"][-2:] == ["--max-model-len", "4096"], "extraArgs come last"
    assert "--max-model-len" not in main_container(comps["prefill"])["args"]


SCRIPT = ["/bin/bash", "-c", "exec python3 -m dynamo.trtllm --model-path m --disaggregation-mode decode"]


@pytest.mark.helm
def test_an_empty_args_list_means_no_flags_and_no_args_compose_flags(render):
    """`args: []` is a choice, the command saying everything (upstream's `bash -c "exec python3 -m
    dynamo.vllm --model ..."` workers): no flags, and no engine config that only compose's flags
    would pass. Without `args`, compose's flags; with extraArgs, those alone."""
    from composer.plan import makes_config

    given = values_for(
        "trtllm",
        disagg=True,
        decode={"command": SCRIPT, "args": []},
        prefill={"args": [], "extraArgs": ["--free-gpu-memory-fraction", "0.8"]},
        planner={"enabled": True, "image": IMAGES["trtllm"], "args": []},
    )
    docs = render(given)
    comps = components(docs)
    decode, prefill, planner = (main_container(comps[r]) for r in ("decode", "prefill", "planner"))
    assert decode["command"] == SCRIPT and "args" not in decode
    assert prefill["command"] == ["python3", "-m", "dynamo.trtllm"]
    assert prefill["args"] == ["--free-gpu-memory-fraction", "0.8"]
    assert "args" not in planner
    assert "demo-decode-config" not in configmaps(docs), "no cache transceiver config: no flag passes it"
    assert not makes_config(given["model"], "decode"), "compose's plan knows the chart makes none"
    # absent: compose's flags, its planner config, and the cache transceiver config they pass
    given = values_for("trtllm", disagg=True, planner={"enabled": True, "image": IMAGES["trtllm"]})
    assert makes_config(given["model"], "decode")
    docs = render(given)
    comps = components(docs)
    assert flags(main_container(comps["decode"])["args"])["--model-path"] == MODEL
    assert main_container(comps["planner"])["args"] == ["--config", "/workspace/planner_config/planner_config.json"]
    assert "demo-decode-config" in configmaps(docs)


@pytest.mark.helm
@pytest.mark.parametrize(
    ("image", "override"),
    [
        ("nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0", None),
        ("nvcr.io/nvidia/ai-dynamo/vllm-runtime:v1.4.0-cuda13", None),
        ("registry.example.com:5000/vllm-runtime:1.4", None),
        ("nvcr.io/nvidia/ai-dynamo/vllm-runtime:my-tag", "1.4.0"),
        ("vllm-runtime:latest", "1.4.0"),
        ("registry.example.com:5000/vllm-runtime", "1.4.0"),
        ("nvcr.io/nvidia/ai-dynamo/vllm-runtime@sha256:" + "a" * 64, "1.4.0"),
        ("nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0@sha256:" + "a" * 64, None),
    ],
)
def test_runtime_version_override_only_when_the_tag_has_no_version(render, image, override):
    values = values_for("vllm")
    values["model"]["backend"]["image"] = image
    for comp in components(render(values)).values():
        assert comp.get("runtimeVersionOverride") == override


@pytest.mark.helm
def test_helm_test_hook_checks_the_frontend_lists_the_model(render):
    docs = render(values_for("mocker", name="mocker-agg"))
    (pod,) = [d for d in docs if d["kind"] == "Pod"]
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    env = env_of(pod["spec"]["containers"][0])
    assert env == {"MODELS_URL": "http://mocker-agg-frontend:8000/v1/models", "MODEL": MODEL}
    assert pod["spec"]["containers"][0]["image"] == "curlimages/curl:8.10.1"
    disabled = render(merge(values_for("mocker"), {"test": {"enabled": False}}))
    assert not [d for d in disabled if d["kind"] == "Pod"]


@pytest.mark.helm
def test_notes_explain_how_to_reach_the_frontend(helm, tmp_path):
    # helm template never renders NOTES.txt; evaluate it through a throwaway template.
    chart = tmp_path / "model"
    shutil.copytree(CHART, chart)
    shutil.copy(chart / "templates" / "NOTES.txt", chart / "notes.txt")
    (chart / "templates" / "zz-notes.yaml").write_text(
        'notes: |\n  {{- tpl (.Files.Get "notes.txt") . | nindent 2 }}\n'
    )
    proc = helm(
        "template",
        RELEASE,
        str(chart),
        "--namespace",
        NAMESPACE,
        "--kube-version",
        KUBE_VERSION,
        "--show-only",
        "templates/zz-notes.yaml",
        "--values",
        "-",
        values=values_for(name="qwen"),
    )
    assert proc.returncode == 0, proc.stderr
    notes = yaml.safe_load(proc.stdout)["notes"]
    assert f"kubectl -n {NAMESPACE} port-forward svc/qwen-frontend 8000:8000" in notes
    assert "curl http://localhost:8000/v1/models" in notes
    assert f"helm test {RELEASE}" in notes


# --------------------------------------------------------------------------- refused values


@pytest.mark.helm
@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"bogus": 1}, "Additional property bogus is not allowed"),
        ({"model": {"bogus": 1}}, "Additional property bogus is not allowed"),
        (
            {"model": {"decode": {"extraConfig": {"configMapref": {"name": "x"}}}}},
            "Additional property configMapref is not allowed",
        ),
        ({"model": {"backend": {"type": "vlm"}}}, 'model.backend.type must be one of the following: "vllm"'),
        ({"model": {"routingPolicy": "fastest"}}, "model.routingPolicy must be one of the following"),
        ({"dynamoNamespace": None}, "dynamoNamespace is required"),
        ({"dynamoNamespace": ""}, "dynamoNamespace: String length must be greater than or equal to 1"),
        ({"dynamoNamespace": "Qwen_Test"}, "dynamoNamespace: Does not match pattern"),
        ({"model": {"name": ""}}, "model.name: String length must be greater than or equal to 1"),
        ({"model": {"backend": {"image": None}}}, "image is required"),
        (
            {"model": {"backend": {"image": ""}}},
            "model.backend.image: String length must be greater than or equal to 1",
        ),
        ({"model": {"decode": {"gpus": -1}}}, "model.decode.gpus"),
        ({"dynamoVersion": "0.6.0"}, "dynamoVersion 0.6.0 is not supported"),
        (
            {"model": {"decode": {"extraConfig": {"configMapRef": {"name": "x"}, "inline": {"a": 1}}}}},
            "model.decode.extraConfig: set configMapRef.name or inline, not both",
        ),
        ({"model": {"decode": {"extraConfig": {"path": "/config.yaml"}}}}, "model.decode.extraConfig.path"),
        ({"model": {"decode": {"extraConfig": {"path": "/opt/../etc/x.yaml"}}}}, "without . or .. segments"),
        ({"model": {"backend": {"type": "sglang"}, "decode": {"gpus": 0}}}, "sglang needs at least 1 GPU"),
    ],
    ids=lambda x: None if isinstance(x, dict) else re.sub(r"\W+", "-", x)[:40],
)
def test_bad_values_are_refused_with_a_clear_message(template, patch, message):
    proc = template(merge(values_for("vllm"), patch))
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr


# --------------------------------------------------------------------------- upstream conformance
#
# Each covered upstream example is compared with our rendering of the equivalent values by
# meaning, not bytes: the set of component roles, module, GPUs, replicas, HF Secret, router mode,
# and worker flags after mapping the 0.6 flags to 1.4. Component names are not compared (upstream
# `VllmDecodeWorker`, ours `decode`).
#
# | upstream (v1alpha1 0.6 / v1beta1 1.4)                         | 1.4 meaning                         |
# |---------------------------------------------------------------|-------------------------------------|
# | componentType frontend / type frontend                        | role frontend                       |
# | worker with subComponentType prefill, or `--is-prefill-worker`| role prefill                        |
# | any other worker, in a graph that has a prefill worker        | role decode (0.6 decode had no flag)|
# | any worker (incl. subComponentType/type decode, as in         | role worker: the aggregated worker  |
# |   mocker agg), in a graph without a prefill worker            |   (ours: name decode, type worker)  |
# | `--is-prefill-worker` (vllm 0.6-0.9, removed in 1.4)          | `--disaggregation-mode prefill`     |
# | `--is-decode-worker` (0.7-0.9) / implicit decode              | `--disaggregation-mode decode`      |
# | envFromSecret: S / envFrom secretRef S                        | hfTokenSecret: S                    |
# | resources.limits.gpu "N" / limits nvidia.com/gpu              | gpus: N                             |
# | Frontend envs DYN_ROUTER_MODE=kv                              | routingPolicy: kv                   |
# | `--extra-engine-args engine_configs/agg.yaml` + ConfigMap     | `--extra-engine-args                |
# |   mounted over the image's engine_configs dir                 |   $(DYNAMO_EXTRA_CONFIG)` + our own |
# |                                                               |   ConfigMap with the same content   |
#
# Flags 1.4 needs that the 0.6 files lack (ours must add exactly these):
ADDED_IN_1_4 = {
    # 1.4 prefill workers must pass it and the 1.4 examples pass it to decode too
    ("vllm", "disagg"): {"--kv-transfer-config"},
    # 0.6 vLLM built its own kv-events config; 1.x needs the flag for KV routing
    ("vllm", "kv"): {"--kv-events-config"},
    # added in 0.7.0 for disaggregated SGLang
    ("sglang", "disagg"): {"--disaggregation-bootstrap-port", "--host"},
    # SGLang publishes KV events only when configured (upstream main agg_router)
    ("sglang", "kv"): {"--kv-events-config"},
    ("trtllm", "kv"): {"--publish-kv-events"},
}
OLD_ROLE_FLAGS = {"--is-prefill-worker": "prefill", "--is-decode-worker": "decode"}


@dataclass(frozen=True)
class Component:
    role: str
    module: str | None
    gpus: int
    replicas: int
    secret: str | None


@dataclass(frozen=True)
class Graph:
    router: str | None
    components: tuple[Component, ...]  # sorted


def _container_and_meta(doc: dict) -> list[tuple[dict, str, int, dict, str | None, dict]]:
    """(main container, raw type, replicas, service-level envs, envFromSecret, raw) per component."""
    out = []
    if doc["apiVersion"].endswith("/v1alpha1"):
        for svc in doc["spec"]["services"].values():
            main = (svc.get("extraPodSpec") or {}).get("mainContainer") or {}
            raw_type = svc.get("subComponentType") or svc["componentType"]
            gpus = int(((svc.get("resources") or {}).get("limits") or {}).get("gpu", 0))
            out.append((main, raw_type, svc.get("replicas", 1), svc.get("envs") or [], svc.get("envFromSecret"), gpus))
    else:
        for comp in doc["spec"]["components"]:
            main = main_container(comp)
            secret = next((e["secretRef"]["name"] for e in main.get("envFrom", []) if "secretRef" in e), None)
            gpus = int(((main.get("resources") or {}).get("limits") or {}).get("nvidia.com/gpu", 0))
            out.append((main, comp["type"], comp.get("replicas", 1), main.get("env") or [], secret, gpus))
    return out


def summarize(doc: dict) -> tuple[Graph, dict[str, dict]]:
    """A DGD's meaning in 1.4 terms, plus each worker role's flags."""
    raw = []
    router = None
    for main, raw_type, replicas, envs, secret, gpus in _container_and_meta(doc):
        if raw_type == "frontend":
            router = next((e["value"] for e in envs if e["name"] == "DYN_ROUTER_MODE"), None)
            raw.append(("frontend", None, gpus, replicas, None, {}))
            continue
        argv = list(main.get("command", [])) + list(main.get("args", []))
        module = argv[argv.index("-m") + 1] if "-m" in argv else None
        wflags = flags(list(main.get("args", [])))
        role = raw_type
        for old, mapped in OLD_ROLE_FLAGS.items():
            if wflags.pop(old, None):
                role = mapped
        role = wflags.get("--disaggregation-mode", role)
        raw.append((role, module, gpus, replicas, secret, wflags))
    disagg = any(r[0] == "prefill" for r in raw)
    comps, role_flags = [], {}
    for role, module, gpus, replicas, secret, wflags in raw:
        if role != "frontend":
            role = ("prefill" if role == "prefill" else "decode") if disagg else "worker"
            if disagg:
                wflags["--disaggregation-mode"] = role
            role_flags[role] = wflags
        comps.append(Component(role, module, gpus, replicas, secret))
    return Graph(router, tuple(sorted(comps, key=repr))), role_flags


def _upstream_dgd(name: str) -> tuple[dict, list[dict]]:
    docs = load_docs((EXAMPLES / name).read_text())
    return the_dgd(docs), docs


def _trtllm_engine_config() -> dict:
    _, docs = _upstream_dgd("trtllm_agg-with-config.yaml")
    (cm,) = [d for d in docs if d["kind"] == "ConfigMap"]
    return yaml.safe_load(cm["data"]["agg.yaml"])


MOCKER_EXTRA = [
    "--speedup-ratio",
    "1.0",
    "--planner-profile-data",
    "/workspace/components/src/dynamo/planner/tests/data/profiling_results/H200_TP1P_TP1D",
]
SECRET = {"hfTokenSecret": "hf-token-secret"}
# example file -> (backend, disaggregated, routing, our equivalent values)
CONFORMANCE = {
    "vllm_agg.yaml": ("vllm", False, "none", values_for("vllm", **SECRET)),
    "vllm_agg_router.yaml": ("vllm", False, "kv", values_for("vllm", routing="kv", decode={"replicas": 2}, **SECRET)),
    "vllm_disagg.yaml": ("vllm", True, "none", values_for("vllm", disagg=True, **SECRET)),
    "vllm_disagg_router.yaml": (
        "vllm",
        True,
        "kv",
        values_for("vllm", disagg=True, routing="kv", decode={"replicas": 2}, **SECRET),
    ),
    "sglang_agg_router.yaml": ("sglang", False, "kv", values_for("sglang", routing="kv", **SECRET)),
    "sglang_disagg.yaml": ("sglang", True, "none", values_for("sglang", disagg=True, **SECRET)),
    "trtllm_agg-with-config.yaml": ("trtllm", False, "none", None),  # built from the example's ConfigMap
    "mocker_agg.yaml": (
        "mocker",
        False,
        "none",
        values_for("mocker", model="nvidia/Llama-3.1-8B-Instruct-FP8", decode={"extraArgs": MOCKER_EXTRA}, **SECRET),
    ),
    "v1beta1/vllm_agg.yaml": ("vllm", False, "none", values_for("vllm", **SECRET)),
}


@pytest.mark.helm
@pytest.mark.parametrize("example", sorted(CONFORMANCE))
def test_semantics_match_upstream_example(render, example):
    backend, disagg, routing, ours_values = CONFORMANCE[example]
    if ours_values is None:  # trtllm agg-with-config: same engine config, given inline
        ours_values = values_for("trtllm", decode={"extraConfig": {"inline": _trtllm_engine_config()}}, **SECRET)
    upstream_doc, _ = _upstream_dgd(example)
    ours_docs = render(ours_values)
    upstream, upstream_flags = summarize(upstream_doc)
    ours, our_flags = summarize(the_dgd(ours_docs))

    assert ours.router == upstream.router
    assert ours.components == upstream.components, "roles, module, GPUs, replicas, HF Secret"

    config_flag = CONFIG_FLAG[backend]
    allowed_extra: set[str] = set()
    if disagg:
        allowed_extra |= ADDED_IN_1_4.get((backend, "disagg"), set())
    assert set(our_flags) == set(upstream_flags)
    for role, theirs in upstream_flags.items():
        mine = our_flags[role]
        if routing == "kv" and not (disagg and role == "decode"):  # disaggregated, prefill publishes (upstream)
            allowed_extra |= ADDED_IN_1_4.get((backend, "kv"), set())
        else:
            allowed_extra -= ADDED_IN_1_4.get((backend, "kv"), set())
        for flag, value in theirs.items():
            assert flag in mine, f"{role}: upstream {flag} missing"
            if flag == config_flag:
                assert mine[flag] == "$(DYNAMO_EXTRA_CONFIG)"
            else:
                assert mine[flag] == value, f"{role}: {flag}"
        assert set(mine) - set(theirs) == allowed_extra, f"{role}: 1.4 additions differ"

    if example.startswith("trtllm"):
        (cm,) = configmaps(ours_docs).values()
        assert yaml.safe_load(next(iter(cm["data"].values()))) == _trtllm_engine_config()


LORAS = [
    {
        "name": "codelion-recovery-lora-hf",
        "modelName": "codelion/Qwen3-0.6B-accuracy-recovery-lora",
        "source": {"uri": "hf://codelion/Qwen3-0.6B-accuracy-recovery-lora"},
    },
    {"name": "docvl.s3", "modelName": "Chhagan005/Chhagan-DocVL-Qwen3", "source": {"uri": "s3://my-loras/docvl"}},
]


@pytest.mark.helm
@pytest.mark.parametrize("version", ["1.4.0", "1.6.1"])
def test_loras_are_dynamo_models_of_the_workers_base_model(render, template, version):
    """model.loras: one DynamoModel (nvidia.com/v1alpha1, modelType lora) each, its baseModelName the
    workers' modelRef name (the operator finds their pods through it), in the release namespace with the
    chart's labels, valid against the DynamoModel CRD (render checks every custom resource against the CRD
    fixtures of its version: 1.6.1's is the 1.4.0 branch cut's copy, no later one could be read)."""
    ref = {"modelRef": {"name": "Qwen/Qwen3-0.6B", "revision": "main"}}
    values = values_for("vllm", disagg=True, decode=ref, prefill=ref, loras=LORAS)
    values["dynamoVersion"] = version
    docs = render(values)
    models = [d for d in docs if d["kind"] == "DynamoModel"]
    dgd = the_dgd(docs)
    assert [m["metadata"]["name"] for m in models] == [lora["name"] for lora in LORAS]
    for model, lora in zip(models, LORAS, strict=True):
        assert model["apiVersion"] == "nvidia.com/v1alpha1"
        assert model["metadata"]["namespace"] == NAMESPACE
        assert model["metadata"]["labels"] == dgd["metadata"]["labels"]
        assert model["spec"] == {
            "modelName": lora["modelName"],
            "baseModelName": "Qwen/Qwen3-0.6B",
            "modelType": "lora",
            "source": lora["source"],
        }
    # the validator knows the kind: a broken DynamoModel is an error, not skipped
    broken = copy.deepcopy(models[0])
    broken["spec"]["modelType"] = "qlora"
    del broken["spec"]["baseModelName"]
    assert len(crd_errors([broken])) == 2, crd_errors([broken])
    # helm alone (no compose in front): no modelRef, no DynamoModel that would find no pod
    values = values_for("vllm", loras=LORAS)
    values["dynamoVersion"] = version
    proc = template(values)
    assert proc.returncode != 0 and "model.loras needs model.decode.modelRef" in proc.stderr
    # none by default
    assert not [d for d in render(values_for("vllm", decode=ref)) if d["kind"] == "DynamoModel"]


@pytest.mark.helm
def test_config_maps_are_rendered_as_given(render):
    """model.configMaps: each a v1 ConfigMap of exactly its name and data (text as written, `{{` too: no
    tpl), in the release namespace with the chart's labels, as its engine-config ConfigMap has them (valid
    against Kubernetes' strict ConfigMap schema, which render checks)."""
    from tests.support.validate import k8s_errors

    spec = '{\n  "method": "mtp",\n  "num_speculative_tokens": 7\n}'
    maps = {
        "spec-config": {"speculative-config": spec, "a_b.c": "{{ .Values.not.a.template }}", "num": "1"},
        "empty.map": {},
    }
    docs = render(values_for("vllm", configMaps=maps, decode={"extraConfig": {"inline": {"x": 1}}}))
    got = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    assert sorted(got) == ["demo-decode-config", "empty.map", "spec-config"]
    engine_labels = dict(got["demo-decode-config"]["metadata"]["labels"])
    assert engine_labels.pop("app.kubernetes.io/component") == "decode"
    for name, data in maps.items():
        cm = got[name]
        assert cm["apiVersion"] == "v1" and cm["metadata"]["namespace"] == NAMESPACE
        assert cm["metadata"]["labels"] == engine_labels
        assert (cm.get("data") or {}) == data
    broken = copy.deepcopy(got["spec-config"])
    broken["data"]["num"] = 1
    assert k8s_errors([broken]), "render's validation would not see a broken ConfigMap"
    # none by default: only the chart's own ConfigMaps
    docs = render(values_for("vllm"))
    assert [d for d in docs if d["kind"] == "ConfigMap"] == []
