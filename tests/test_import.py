"""`compose import`: a DynamoGraphDeployment (v1beta1, or v1alpha1 converted as Dynamo's 1.x operator
converts it) becomes a project's values; what they cannot express is listed by JSON pointer and
carried in patches or extraObjects; bad input is refused, located, with nothing written."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from composer import dgd_import as imp
from composer.errors import InvalidValues, UsageError

FIXTURES = Path(__file__).parent / "fixtures"
TEMPLATES = FIXTURES / "dynamo" / "1.6.1" / "dgd-templates"
EXAMPLES = FIXTURES / "dgd-examples"
# Upstream's graphs, gaie/'s too (an endpoint picker and no frontend: compose adds its frontend).
IMPORTED_EXAMPLES = sorted(EXAMPLES.glob("**/*.yaml"))
# Upstream's examples and recipes at the 1.4.0 cut, where benchmarks/import_coverage.py measures
UPSTREAM = FIXTURES / "dgd-upstream-e147ceea"


def convert_text(tmp_path: Path, text: str) -> imp.Imported:
    f = tmp_path / "dgd.yaml"
    f.write_text(textwrap.dedent(text))
    return imp.convert(imp.read_stream(f, "dgd.yaml"), "dgd.yaml")


def refused(tmp_path: Path, text: str) -> list:
    with pytest.raises(InvalidValues) as e:
        convert_text(tmp_path, text)
    return e.value.problems


BETA_HEAD = """\
apiVersion: nvidia.com/v1beta1
kind: DynamoGraphDeployment
metadata:
  name: g
spec:
  components:
  - name: Frontend
    type: frontend
    podTemplate:
      spec:
        containers:
        - name: main
          image: img:1.6.1
"""
WORKER = """\
  - name: worker
    type: worker
    replicas: 2
    podTemplate:
      spec:
        containers:
        - name: main
          image: img:1.6.1
          command: [python3, -m, dynamo.vllm]
          args: [--model, Qwen/Qwen3-0.6B]
          resources:
            limits: {nvidia.com/gpu: "2"}
"""


# ------------------------------------------------------------------------------ v1alpha1 -> v1beta1


@pytest.mark.unit
def test_v1alpha1_services_convert_as_the_operator_converts_them():
    spec = {
        "envs": [{"name": "G", "value": "1"}],
        "pvcs": [{"name": "models", "create": False}],
        "services": {
            "Zed": {"componentType": "worker", "subComponentType": "prefill"},
            "Alpha": {
                "componentType": "worker",
                "subComponentType": "decode",
                "replicas": 3,
                "envs": [{"name": "A", "value": "flat"}, {"name": "B", "value": "flat"}],
                "envFromSecret": "hf",
                "resources": {
                    "limits": {"gpu": "2", "memory": "8Gi", "custom": {"rdma/ib": "1"}},
                    "requests": {"gpu": "1", "gpuType": "gpu.intel.com/xe"},
                },
                "sharedMemory": {"size": "16Gi"},
                "volumeMounts": [
                    {"name": "models", "mountPoint": "/models"},
                    {"name": "cache", "mountPoint": "/cache", "useAsCompilationCache": True},
                ],
                "livenessProbe": {"httpGet": {"path": "/live", "port": 9090}},
                "extraPodMetadata": {"labels": {"team": "a"}},
                "extraPodSpec": {
                    "nodeSelector": {"gpu": "h100"},
                    "mainContainer": {
                        "image": "img:1",
                        "args": ["--model", "m"],
                        "env": [{"name": "B", "value": "main"}, {"name": "C", "value": "main"}],
                        "resources": {"limits": {"memory": "9Gi"}},
                    },
                },
            },
        },
    }
    beta, origins, notes = imp.alpha_to_beta(spec)
    assert beta["env"] == [{"name": "G", "value": "1"}]
    assert [c["name"] for c in beta["components"]] == ["Alpha", "Zed"], "sorted by name, as the operator does"
    assert origins == ["/spec/services/Alpha", "/spec/services/Zed"]
    a, z = beta["components"]
    assert (a["type"], z["type"]) == ("decode", "prefill"), "subComponentType promoted to the type"
    assert a["replicas"] == 3 and a["sharedMemorySize"] == "16Gi"
    assert a["compilationCache"] == {"pvcName": "cache", "mountPath": "/cache"}
    assert a["podTemplate"]["metadata"] == {"labels": {"team": "a"}}
    pod = a["podTemplate"]["spec"]
    assert pod["nodeSelector"] == {"gpu": "h100"}
    assert pod["volumes"] == [{"name": "models", "persistentVolumeClaim": {"claimName": "models"}}]
    (main,) = pod["containers"]
    assert main["name"] == "main" and main["image"] == "img:1" and main["args"] == ["--model", "m"]
    assert main["env"] == [
        {"name": "A", "value": "flat"},
        {"name": "B", "value": "main"},
        {"name": "C", "value": "main"},
    ], "env merges by name, mainContainer winning"
    assert main["envFrom"] == [{"secretRef": {"name": "hf"}}]
    assert main["resources"] == {
        "limits": {"nvidia.com/gpu": "2", "memory": "9Gi", "rdma/ib": "1"},
        "requests": {"gpu.intel.com/xe": "1"},
    }, "gpu -> nvidia.com/gpu (or gpuType), custom keys kept, mainContainer's resources merged over"
    assert main["volumeMounts"] == [{"name": "models", "mountPath": "/models"}]
    assert main["livenessProbe"] == {"httpGet": {"path": "/live", "port": 9090}}
    assert "podTemplate" not in z
    assert notes == []


@pytest.mark.unit
def test_v1alpha1_disabled_shared_memory_is_size_zero():
    beta, _, _ = imp.alpha_to_beta({"services": {"w": {"componentType": "worker", "sharedMemory": {"disabled": True}}}})
    assert beta["components"][0]["sharedMemorySize"] == "0"


# ----------------------------------------------------------------------------------- the values


@pytest.mark.unit
def test_every_per_component_setting_lands_in_the_values(tmp_path):
    result = convert_text(
        tmp_path,
        """\
        apiVersion: nvidia.com/v1beta1
        kind: DynamoGraphDeployment
        metadata: {name: full, namespace: team-a}
        spec:
          env: [{name: GRAPH, value: "1"}]
          components:
          - name: frontend
            type: frontend
            replicas: 2
            podTemplate:
              spec:
                containers:
                - name: main
                  image: fe:1.6.1
                  imagePullPolicy: IfNotPresent
                  ports: [{name: http, containerPort: 8000}]
                  env: [{name: DYN_ROUTER_MODE, value: kv}, {name: DYN_ROUTER_TEMPERATURE, value: "0.5"}]
          - name: decode
            type: decode
            replicas: 3
            sharedMemorySize: 16Gi
            multinode: {nodeCount: 2}
            compilationCache: {pvcName: cc, mountPath: /cc}
            podTemplate:
              metadata: {labels: {team: a}, annotations: {note: x}}
              spec:
                nodeSelector: {gpu: h100}
                tolerations: [{key: gpu, operator: Exists}]
                affinity: {nodeAffinity: {}}
                priorityClassName: high
                serviceAccountName: sa
                terminationGracePeriodSeconds: 60
                securityContext: {runAsUser: 1000}
                resourceClaims: [{name: gpu, resourceClaimTemplateName: t}]
                runtimeClassName: nvidia
                schedulerName: default-scheduler
                volumes: [{name: data, emptyDir: {}}]
                containers:
                - name: main
                  image: w:1.6.1
                  command: [python3, -m, dynamo.sglang]
                  args: [--model-path, m, --served-model-name, served]
                  workingDir: /w
                  env: [{name: E, value: "1"}]
                  envFrom: [{configMapRef: {name: cm}}]
                  resources: {limits: {nvidia.com/gpu: "4", memory: 80Gi}, requests: {nvidia.com/gpu: "4"}}
                  volumeMounts: [{name: data, mountPath: /data}]
                  startupProbe: {httpGet: {path: /s, port: 9090}}
                  livenessProbe: {httpGet: {path: /l, port: 9090}}
                  readinessProbe: {httpGet: {path: /r, port: 9090}}
                  securityContext: {privileged: false}
          - name: prefill
            type: prefill
            podTemplate:
              spec:
                containers:
                - name: main
                  image: w:1.6.1
                  command: [python3, -m, dynamo.sglang]
                  args: [--model-path, m]
        """,
    )
    assert result.unexpressed == []
    assert result.name == "full" and result.namespace == "team-a"
    v = result.values
    assert v["dynamoNamespace"] == "full"
    m = v["model"]
    assert m["name"] == "served" and m["backend"] == {"type": "sglang", "image": "w:1.6.1"}
    assert m["disaggregation"] is True and m["routingPolicy"] == "kv"
    assert m["env"] == [{"name": "GRAPH", "value": "1"}]
    assert m["frontend"] == {
        "replicas": 2,
        "image": "fe:1.6.1",
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": 8000}],
        "env": [{"name": "DYN_ROUTER_TEMPERATURE", "value": "0.5"}],
    }
    d = m["decode"]
    assert d["gpus"] == 4 and d["resources"] == {"limits": {"memory": "80Gi"}}
    assert d["multinode"] == {"nodeCount": 2} and d["compilationCache"] == {"pvcName": "cc", "mountPath": "/cc"}
    assert d["podSecurityContext"] == {"runAsUser": 1000} and d["securityContext"] == {"privileged": False}
    assert d["labels"] == {"team": "a"} and d["annotations"] == {"note": "x"}
    for key in (
        "nodeSelector",
        "tolerations",
        "affinity",
        "priorityClassName",
        "serviceAccountName",
        "terminationGracePeriodSeconds",
        "resourceClaims",
        "runtimeClassName",
        "schedulerName",
        "volumes",
        "volumeMounts",
        "command",
        "args",
        "workingDir",
        "env",
        "envFrom",
        "startupProbe",
        "livenessProbe",
        "readinessProbe",
        "sharedMemorySize",
    ):
        assert key in d, key
    assert "image" not in d, "the worker's image is model.backend.image"
    assert m["prefill"]["gpus"] == 0, "no GPU in the original: compose's default of 1 would add one"
    assert "patches" not in v and "extraObjects" not in m


@pytest.mark.unit
def test_a_secret_every_component_reads_is_the_hf_token_secret(tmp_path):
    text = BETA_HEAD.replace("image: img:1.6.1\n", "image: img:1.6.1\n          envFrom: [{secretRef: {name: hf}}]\n")
    text += WORKER.replace("args:", "envFrom: [{secretRef: {name: hf}}]\n          args:")
    m = convert_text(tmp_path, text).values["model"]
    assert m["hfTokenSecret"] == "hf"
    assert "envFrom" not in m["frontend"] and "envFrom" not in m["decode"]
    m = convert_text(
        tmp_path, BETA_HEAD + WORKER.replace("args:", "envFrom: [{secretRef: {name: hf}}]\n          args:")
    ).values["model"]
    assert "hfTokenSecret" not in m and m["decode"]["envFrom"] == [{"secretRef": {"name": "hf"}}]


@pytest.mark.unit
def test_what_the_values_cannot_express_is_listed_and_carried(tmp_path):
    result = convert_text(
        tmp_path,
        """\
        apiVersion: nvidia.com/v1beta1
        kind: DynamoGraphDeployment
        metadata:
          name: g
          annotations: {nvidia.com/enable-grove: "false"}
        spec:
          annotations: {a: b}
          components:
          - name: Frontend
            type: frontend
            podTemplate:
              spec:
                hostNetwork: true
                containers:
                - {name: main, image: img:1.6.1, stdin: true}
                - {name: sidecar, image: busybox}
          - name: worker
            type: worker
            runtimeVersionOverride: 1.6.1
            podTemplate:
              spec:
                containers:
                - {name: main, image: img:1.6.1, command: [python3, -m, dynamo.vllm], args: [--model, m]}
          - name: Planner
            type: planner
            podTemplate:
              spec:
                containers:
                - {name: main, image: planner:1.6.1}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: extra}
        """,
    )
    got = {(u.pointer, u.into) for u in result.unexpressed}
    assert got == {
        ("/spec/annotations", "patches.model.jsonPatches"),
        ("/spec/components/0/podTemplate/spec/hostNetwork", "patches.model.components.frontend"),
        ("/spec/components/0/podTemplate/spec/containers/0/stdin", "patches.model.components.frontend"),
        ("/spec/components/0/podTemplate/spec/containers/1", "patches.model.components.frontend"),
        ("/spec/components/1/runtimeVersionOverride", "patches.model.components.decode"),
        ("/spec/components/2", "patches.model.jsonPatches"),
        ("", "model.extraObjects"),
    }
    (other,) = [u for u in result.unexpressed if u.into == "model.extraObjects"]
    assert (other.line, other.document) == (31, "Service extra")
    hostnet = next(u for u in result.unexpressed if u.pointer.endswith("hostNetwork"))
    assert (hostnet.line, hostnet.column) == (13, 22), "located where it is written"
    patches = result.values["patches"]["model"]
    fe = patches["components"]["frontend"]["podTemplate"]["spec"]
    assert fe["hostNetwork"] is True
    assert fe["containers"] == [
        {"name": "main", "stdin": True},
        {"name": "sidecar", "image": "busybox"},
    ], "containers merge by name: main's missing field into the chart's main, the sidecar appended"
    assert patches["components"]["decode"] == {"runtimeVersionOverride": "1.6.1"}
    (jp,) = patches["jsonPatches"]
    assert jp["target"] == {"group": "nvidia.com", "version": "v1beta1", "kind": "DynamoGraphDeployment", "name": "g"}
    planner = {"type": "planner", "podTemplate": {"spec": {"containers": [{"name": "main", "image": "planner:1.6.1"}]}}}
    assert {"op": "add", "path": "/spec/components/-", "value": {"name": "Planner", **planner}} in jp["patch"]
    assert {"op": "add", "path": "/spec/annotations", "value": {"a": "b"}} in jp["patch"]
    assert result.values["model"]["deployment"] == {"annotations": {"nvidia.com/enable-grove": "false"}}
    assert result.values["model"]["extraObjects"] == [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "extra"}}
    ]


@pytest.mark.unit
def test_v1alpha1_pointers_name_the_source_fields(tmp_path):
    result = convert_text(
        tmp_path,
        """\
        apiVersion: nvidia.com/v1alpha1
        kind: DynamoGraphDeployment
        metadata: {name: g}
        spec:
          services:
            Frontend:
              componentType: frontend
              extraPodSpec:
                hostNetwork: true
                mainContainer: {image: img:1.6.1}
            W:
              componentType: worker
              dynamoNamespace: g
              annotations: {x: y}
              extraPodSpec:
                mainContainer: {image: img:1.6.1, command: [python3, -m, dynamo.vllm], args: [--model, m], ports: []}
        """,
    )
    got = {(u.pointer, u.into, u.line) for u in result.unexpressed}
    assert got == {
        ("/spec/services/Frontend/extraPodSpec/hostNetwork", "patches.model.components.frontend", 9),
        ("/spec/services/W/annotations", "nowhere (no v1beta1 field)", 14),
    }
    assert any("/spec/services/W/dynamoNamespace" in n for n in result.notes)


@pytest.mark.unit
def test_components_keep_their_types_which_no_patch_may_change():
    """Two workers typed worker: compose's one worker, and the other added whole, both still `worker`."""
    result = imp.convert(imp.read_stream(EXAMPLES / "vllm_disagg_router.yaml", "x"), "x")
    m = result.values["model"]
    assert "disaggregation" not in m and m["routingPolicy"] == "kv" and m["decode"]["replicas"] == 2
    (jp,) = result.values["patches"]["model"]["jsonPatches"]
    ((op),) = jp["patch"]
    assert (op["op"], op["path"], op["value"]["name"], op["value"]["type"]) == (
        "add",
        "/spec/components/-",
        "VllmPrefillWorker",
        "worker",
    )
    assert "--is-prefill-worker" in op["value"]["podTemplate"]["spec"]["containers"][0]["args"]
    assert [(u.pointer, u.into) for u in result.unexpressed] == [
        ("/spec/services/VllmPrefillWorker", "patches.model.jsonPatches")
    ]
    # one worker typed decode (v1alpha1 componentType): model.decode.type says it
    result = imp.convert(imp.read_stream(EXAMPLES / "mocker_agg.yaml", "x"), "x")
    assert result.values["model"]["decode"]["type"] == "decode" and result.unexpressed == []


@pytest.mark.unit
def test_the_aggregated_workers_type_is_model_decode_type_where_the_values_can_say_it(tmp_path):
    """An aggregated worker typed decode sets model.decode.type (v1beta1 type, v1alpha1 componentType or
    subComponentType); typed worker it sets nothing, nor beside an endpoint picker, which types it decode
    anyway."""
    for src in (UPSTREAM / "mocker_agg.yaml", UPSTREAM / "qwen3-32b_vllm_agg-round-robin.yaml"):
        result = imp.convert(imp.read_stream(src, "x"), "x")
        assert (result.values["model"]["decode"]["type"], result.unexpressed) == ("decode", []), src.name
    text = (UPSTREAM / "mocker_agg.yaml").read_text()
    assert text.count("    type: decode\n") == 1
    result = convert_text(tmp_path, text.replace("    type: decode\n", "    type: worker\n"))
    assert "type" not in result.values["model"]["decode"] and result.unexpressed == []
    result = imp.convert(imp.read_stream(EXAMPLES / "gaie" / "vllm_agg.yaml", "x"), "x")
    assert "type" not in result.values["model"]["decode"], "the picker's graph is decode-typed already"


@pytest.mark.unit
def test_an_engine_config_in_a_configmap_becomes_extra_config_inline():
    result = imp.convert(imp.read_stream(EXAMPLES / "trtllm_agg-with-config.yaml", "x"), "x")
    d = result.values["model"]["decode"]
    assert d["extraConfig"]["path"] == "/workspace/components/backends/trtllm/engine_configs/agg.yaml"
    assert d["extraConfig"]["inline"]["kv_cache_config"] == {"free_gpu_memory_fraction": 0.95}
    assert "volumes" not in d and "volumeMounts" not in d, "the chart mounts it"
    assert d["args"][-2:] == ["--extra-engine-args", "engine_configs/agg.yaml"], "the flag still names the same file"
    assert "extraObjects" not in result.values["model"] and result.unexpressed == []


CONFIG_DGD = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data:
  prefill.yaml: |
    max_batch_size: 4
---
apiVersion: nvidia.com/v1beta1
kind: DynamoGraphDeployment
metadata: {name: g}
spec:
  components:
  - name: Frontend
    type: frontend
    podTemplate: {spec: {containers: [{name: main, image: img:1.6.1}]}}
  - name: prefill
    type: prefill
    podTemplate:
      spec:
        volumes: [{name: cfg, configMap: {name: cfg}}]
        containers:
        - name: main
          image: img:1.6.1
          command: [python3, -m, dynamo.trtllm]
          args: [--model-path, m, --extra-engine-args, /etc/engine/prefill.yaml]
          volumeMounts: [{name: cfg, mountPath: /etc/engine}]
  - name: decode
    type: decode
    podTemplate: {spec: {containers: [{name: main, image: img:1.6.1, command: [python3, -m, dynamo.trtllm]}]}}
"""


@pytest.mark.unit
def test_a_config_the_chart_would_change_stays_in_its_configmap(tmp_path):
    """TRT-LLM disaggregated: the chart adds cache_transceiver_config to an inline config lacking it."""
    result = convert_text(tmp_path, CONFIG_DGD)
    p = result.values["model"]["prefill"]
    assert "extraConfig" not in p and p["volumes"] == [{"name": "cfg", "configMap": {"name": "cfg"}}]
    assert list(result.values["model"]["configMaps"]) == ["cfg"]  # as it was, a plain ConfigMap
    result = convert_text(
        tmp_path,
        CONFIG_DGD.replace("max_batch_size: 4", "max_batch_size: 4\n    cache_transceiver_config: {backend: DEFAULT}"),
    )
    assert result.values["model"]["prefill"]["extraConfig"] == {
        "path": "/etc/engine/prefill.yaml",
        "inline": {"max_batch_size": 4, "cache_transceiver_config": {"backend": "DEFAULT"}},
    }
    assert "extraObjects" not in result.values["model"] and "configMaps" not in result.values["model"]


SHARED_DGD = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data:
  prefill.yaml: |
    chunked-prefill-size: 4096
  decode.yaml: |
    cuda-graph-max-bs: 64
---
apiVersion: nvidia.com/v1beta1
kind: DynamoGraphDeployment
metadata: {name: g}
spec:
  components:
  - name: Frontend
    type: frontend
    podTemplate: {spec: {containers: [{name: main, image: img:1.6.1}]}}
  - name: prefill
    type: prefill
    podTemplate:
      spec:
        volumes: [{name: cfg, configMap: {name: cfg}}]
        containers:
        - name: main
          image: img:1.6.1
          command: [/bin/sh, -c]
          args:
          - |
            exec python3 -m dynamo.sglang --model-path m \\
              --config "${CFG}" --disaggregation-mode prefill
          env: [{name: CFG, value: /etc/engine/prefill.yaml}]
          volumeMounts: [{name: cfg, mountPath: /etc/engine}]
  - name: decode
    type: decode
    podTemplate:
      spec:
        volumes: [{name: engine, configMap: {name: cfg}}]
        containers:
        - name: main
          image: img:1.6.1
          command: [python3, -m, dynamo.sglang]
          args: [--model-path, m, --config=/etc/engine/decode.yaml, --disaggregation-mode, decode]
          volumeMounts: [{name: engine, mountPath: /etc/engine, readOnly: true}]
"""


@pytest.mark.unit
def test_one_configmap_of_both_roles_configs_becomes_each_roles_extra_config(tmp_path):
    """Upstream's shapes: one ConfigMap holding both roles' configs, mounted whole in each; the config
    flag in a shell script, its path from the env (`--config "${CFG}"`), or written `--config=PATH`. Each
    role names only its own key: the chart mounts it that one, and the ConfigMap is not carried."""
    result = convert_text(tmp_path, SHARED_DGD)
    m = result.values["model"]
    assert m["prefill"]["extraConfig"] == {"path": "/etc/engine/prefill.yaml", "inline": {"chunked-prefill-size": 4096}}
    assert m["decode"]["extraConfig"] == {"path": "/etc/engine/decode.yaml", "inline": {"cuda-graph-max-bs": 64}}
    assert "volumes" not in m["prefill"] and "volumeMounts" not in m["decode"], "the chart mounts them"
    assert m["prefill"]["env"] == [{"name": "CFG", "value": "/etc/engine/prefill.yaml"}], "the script reads it"
    assert result.unexpressed == [] and result.configs_moved == ["cfg"] and "extraObjects" not in m


@pytest.mark.unit
@pytest.mark.parametrize(
    "old, new",
    [
        ("exec python3", "CFG=/tmp/other.yaml; exec python3"),  # the script sets the path itself
        ('--config "${CFG}"', '--config "${CFG}" --config /tmp/x.yaml'),  # two config flags
        ("exec python3", "cat /etc/engine/*; exec python3"),  # another file of the directory read
        ("--disaggregation-mode prefill", "--disaggregation-mode prefill --x decode.yaml"),  # the other key named
        ("value: /etc/engine/prefill.yaml}", "valueFrom: {fieldRef: {fieldPath: metadata.name}}}"),  # not a path
    ],
    ids=["variable-set-in-script", "two-flags", "directory-read", "other-key-named", "variable-not-plain"],
)
def test_a_config_the_container_may_read_otherwise_stays_in_its_configmap(tmp_path, old, new):
    """Where the container may read more of the ConfigMap than the one key (or the import cannot tell which
    file the flag names), mounting the chart's one key could change what it reads: the ConfigMap is carried."""
    assert old in SHARED_DGD
    result = convert_text(tmp_path, SHARED_DGD.replace(old, new, 1))
    m = result.values["model"]
    assert "extraConfig" not in m["prefill"] and m["prefill"]["volumes"] == [
        {"name": "cfg", "configMap": {"name": "cfg"}}
    ]
    assert list(m["configMaps"]) == ["cfg"] and "extraObjects" not in m  # as it was, a plain ConfigMap


@pytest.mark.unit
@pytest.mark.parametrize(
    "name, configmaps",
    [
        ("qwen3-32b-fp8_trtllm_disagg.yaml", ["llm-config-decode", "llm-config-prefill"]),
        ("deepseek-v32-fp4_trtllm_disagg-kv-router.yaml", ["dsv32-trtllm-config"]),
        ("glm-5.2_sglang_disagg-h200-agentic.yaml", ["glm52-disagg-h200-agentic-sglang-config"]),
        ("trtllm_agg-with-config.yaml", ["nvidia-config"]),
    ],
)
def test_upstreams_engine_config_configmaps_import_clean(name, configmaps):
    result = imp.convert(imp.read_stream(UPSTREAM / name, name), name)
    assert result.unexpressed == [] and sorted(result.configs_moved) == configmaps
    for role in ("decode", "prefill") if result.values["model"].get("disaggregation") else ("decode",):
        assert result.values["model"][role]["extraConfig"]["inline"]


@pytest.mark.unit
def test_a_config_mounted_alone_by_subpath_is_mounted_alone_again():
    """Upstream mounts the engine config's file alone (subPath) into a directory of the image, which a
    directory mount would hide: extraConfig.mountFile mounts it alone again."""
    result = imp.convert(imp.read_stream(UPSTREAM / "trtllm_agg-with-config.yaml", "x"), "x")
    d = result.values["model"]["decode"]
    assert d["extraConfig"]["path"] == "/workspace/examples/backends/trtllm/engine_configs/qwen3/agg.yaml"
    assert d["extraConfig"]["mountFile"] is True and d["extraConfig"]["inline"]["max_batch_size"] == 16
    assert "volumes" not in d and "volumeMounts" not in d


@pytest.mark.unit
@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.yaml")) + IMPORTED_EXAMPLES, ids=lambda p: p.name)
def test_every_upstream_graph_imports(path):
    result = imp.convert(imp.read_stream(path, path.name), path.name)
    assert result.values["model"]["backend"]["type"] in imp.BACKENDS


# ------------------------------------------------------------------------------------------ bad input


@pytest.mark.unit
def test_a_file_without_a_dgd_is_refused_at_its_start(tmp_path):
    (p,) = refused(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert (p.line, p.column, p.message) == (1, 1, "no DynamoGraphDeployment in the file")
    assert p.hint


@pytest.mark.unit
def test_an_unknown_api_version_is_refused_at_its_line(tmp_path):
    (p,) = refused(tmp_path, "# c\nkind: DynamoGraphDeployment\napiVersion: nvidia.com/v2\nspec: {}\n")
    assert (p.file, p.line, p.column, p.pointer) == ("dgd.yaml", 3, 13, "/apiVersion")
    assert "nvidia.com/v1beta1" in p.hint


@pytest.mark.unit
def test_bad_yaml_and_non_objects_are_located(tmp_path):
    (p,) = refused(tmp_path, "kind: DynamoGraphDeployment\nspec: [\n")
    assert p.line == 3 and p.message.startswith("invalid YAML")
    (p,) = refused(tmp_path, "---\n- a list\n")
    assert p.line == 2 and "not a Kubernetes object" in p.message


@pytest.mark.unit
def test_of_several_dgds_the_one_whole_graph_is_imported_with_a_note(tmp_path):
    """Upstream's global Planner files put a control graph (a frontend, no worker) beside the graphs it
    steers; the one whole graph of a file is imported, the others named in a note."""
    whole = (BETA_HEAD + WORKER).replace("name: g\n", "name: model-a\n", 1)
    ctrl = BETA_HEAD.replace("name: g\n", "name: ctrl\n", 1)
    result = convert_text(tmp_path, ctrl + "---\n" + whole)
    assert result.name == "model-a"
    (note,) = [n for n in result.notes if "DynamoGraphDeployments" in n]
    assert "imported 'model-a'" in note and "not imported: 'ctrl'" in note and "--graph NAME" in note
    assert result.unexpressed == [], "the other DGD is no extra object"


@pytest.mark.unit
def test_several_whole_graphs_are_ambiguous_without_graph(tmp_path):
    one = BETA_HEAD + WORKER
    two = one.replace("name: g\n", "name: h\n", 1)
    (p,) = refused(tmp_path, one + "---\n" + two)
    assert p.line == one.count("\n") + 2, "at the second whole graph"
    assert "2 DynamoGraphDeployments in the file (g, h), 2 of them whole graphs" in p.message
    assert "--graph NAME" in p.hint
    f = tmp_path / "two.yaml"
    f.write_text(one + "---\n" + two)
    assert imp.convert(imp.read_stream(f, "two.yaml"), "two.yaml", graph="h").name == "h"
    with pytest.raises(InvalidValues) as e:
        imp.convert(imp.read_stream(f, "two.yaml"), "two.yaml", graph="nope")
    (p,) = e.value.problems
    assert "--graph nope: no DynamoGraphDeployment of that name" in p.message and p.hint == "the file has: g, h"
    ctrl = BETA_HEAD.replace("name: g\n", "name: ctrl\n", 1)
    (p,) = refused(tmp_path, ctrl + "---\n" + ctrl.replace("ctrl", "ctrl-2"))
    assert "none a whole graph" in p.message


@pytest.mark.unit
def test_fields_written_null_are_dropped_as_kubernetes_drops_them_and_listed(tmp_path):
    """Upstream's recipes write `subComponentType: null` and `containers: null`: the API server prunes a
    null from a custom resource, so the import drops it and lists it, located; --strict refuses it."""
    text = (
        (BETA_HEAD + WORKER)
        .replace("    replicas: 2\n", "    replicas: 2\n    multinode: null\n", 1)
        .replace("image: img:1.6.1\n", "image: img:1.6.1\n          env: [{name: A, value: null}]\n", 1)
    )
    result = convert_text(tmp_path, text)
    assert [(e.pointer, e.line) for e in result.empty] == [
        ("/spec/components/0/podTemplate/spec/containers/0/env/0/value", 14),
        ("/spec/components/1/multinode", 18),
    ]
    assert result.values["model"]["frontend"]["env"] == [{"name": "A"}]
    assert "multinode" not in result.values["model"]["decode"] and result.unexpressed == []
    alpha = textwrap.dedent(
        """\
        apiVersion: nvidia.com/v1alpha1
        kind: DynamoGraphDeployment
        metadata: {name: g}
        spec:
          services:
            Frontend:
              componentType: frontend
              subComponentType: null
              extraPodSpec:
                containers: null
                mainContainer: {image: img:1.6.1}
            W:
              componentType: worker
              extraPodSpec:
                mainContainer: {image: img:1.6.1, command: [python3, -m, dynamo.vllm], args: [--model, m]}
        """
    )
    result = convert_text(tmp_path, alpha)
    assert [(e.pointer, e.line, e.column) for e in result.empty] == [
        ("/spec/services/Frontend/subComponentType", 8, 25),
        ("/spec/services/Frontend/extraPodSpec/containers", 10, 21),
    ]
    f = tmp_path / "alpha.yaml"
    f.write_text(alpha)
    with pytest.raises(InvalidValues) as e:
        imp.import_file(f, tmp_path / "proj", strict=True, display="alpha.yaml")
    assert str(e.value).startswith("alpha.yaml:8:25: /spec/services/Frontend/subComponentType: written without a value")
    assert not (tmp_path / "proj").exists()
    imported, dest = imp.import_file(f, tmp_path / "proj")
    md = (dest / "IMPORT.md").read_text()
    assert "## Fields written without a value" in md and "| `/spec/services/Frontend/subComponentType` | 8 |" in md
    report = imp.report(imported, dest)
    assert report["empty"][0] == {"pointer": "/spec/services/Frontend/subComponentType", "line": 8, "column": 25}
    assert "2 field(s) written without a value (null)" in imp.summary(imported, dest)


@pytest.mark.unit
def test_what_upstreams_recipes_write_on_components_and_their_dgd_is_in_the_values():
    def imported(name: str, graph: str | None = None) -> imp.Imported:
        return imp.convert(imp.read_stream(UPSTREAM / name, name), name, graph)

    deepseek = imported("deepseek-v4-pro_vllm_agg-h200-agentic.yaml")
    assert deepseek.unexpressed == [] and deepseek.empty == []
    m = deepseek.values["model"]
    assert m["decode"]["runtimeClassName"] == "nvidia" and m["decode"]["schedulerName"] == "default-scheduler"
    assert m["frontend"]["schedulerName"] == "default-scheduler"

    nemotron = imported("nemotron-3-ultra_vllm_agg-h200-chat-mtp.yaml")
    m = nemotron.values["model"]
    assert m["frontend"]["ports"] == [{"name": "http", "containerPort": 8000}]
    assert m["frontend"]["imagePullPolicy"] == m["decode"]["imagePullPolicy"] == "IfNotPresent"
    assert m["decode"]["runtimeClassName"] == "nvidia"
    # the DGD's own app.kubernetes.io/name and part-of are the values' too (they replace the chart's)
    labels = m["deployment"]["labels"]
    assert labels["nemotron-ultra.nvidia.com/workload"] == "chat"
    assert labels["app.kubernetes.io/name"] == "ultra-agg-h200-chat-mtp"
    assert labels["app.kubernetes.io/part-of"] == "nemotron-ultra"
    assert nemotron.unexpressed == [] and "patches" not in nemotron.values

    qwen = imported("qwen3-32b_vllm_disagg-kv-router.yaml")
    assert qwen.unexpressed == [], "refused before: its frontend's subComponentType is null"
    assert [(e.pointer, e.line) for e in qwen.empty] == [("/spec/services/Frontend/subComponentType", 36)]

    with pytest.raises(InvalidValues) as e:
        imported("global-planner-gpu-budget.yaml")
    (p,) = e.value.problems
    assert "3 DynamoGraphDeployments in the file (gp-ctrl, model-a, model-b), 2 of them whole graphs" in p.message
    assert imported("global-planner-gpu-budget.yaml", graph="model-b").name == "model-b"


@pytest.mark.unit
def test_the_backend_of_a_worker_run_by_a_shell_script(tmp_path):
    """Upstream's qwen3.6 recipes run `bash -lc 'python3 -m dynamo.vllm ...'`."""
    text = (
        (BETA_HEAD + WORKER)
        .replace("command: [python3, -m, dynamo.vllm]", "command: [/bin/bash, -lc]")
        .replace("args: [--model, Qwen/Qwen3-0.6B]", 'args: ["python3 -m dynamo.sglang --model-path m"]')
    )
    assert "/bin/bash" in text and "dynamo.sglang" in text
    assert convert_text(tmp_path, text).values["model"]["backend"]["type"] == "sglang"


@pytest.mark.unit
def test_a_component_without_a_type_names_kustomize_patches(tmp_path):
    problems = refused(tmp_path, (BETA_HEAD + WORKER).replace("    type: worker\n", ""))
    assert [(p.pointer, p.message) for p in problems] == [
        ("/spec/components/1/type", "the component has no type (frontend, worker, prefill, decode, planner or epp)")
    ]
    assert "kustomize" in problems[0].hint


@pytest.mark.unit
def test_wrong_types_and_names_are_located(tmp_path):
    problems = refused(tmp_path, BETA_HEAD + WORKER.replace("args: [--model, Qwen/Qwen3-0.6B]", "args: [--tp, 1]"))
    assert [(p.pointer, p.line, p.message) for p in problems] == [
        ("/spec/components/1/podTemplate/spec/containers/0/args/1", 23, "must be a string, not a number")
    ]
    (p,) = refused(tmp_path, (BETA_HEAD + WORKER).replace("name: g", "name: G_1"))
    assert p.pointer == "/metadata/name" and p.line == 4
    (p,) = refused(tmp_path, BETA_HEAD)
    assert "no worker" in p.message


@pytest.mark.unit
def test_scheduling_of_the_wrong_shape_is_refused_where_it_is(tmp_path):
    """A nodeSelector or tolerations the pod could not take is refused, not carried into values the
    project then refuses; an envsubst placeholder there says to fill the template first."""
    spec = "      spec:\n        nodeSelector: ${HW_NODE_SELECTOR}\n        tolerations: [a]\n"
    problems = refused(tmp_path, BETA_HEAD + WORKER.replace("      spec:\n", spec, 1))
    assert [(p.pointer, p.line, p.message) for p in problems] == [
        ("/spec/components/1/podTemplate/spec/nodeSelector", 19, "must be a mapping, not a string"),
        ("/spec/components/1/podTemplate/spec/tolerations/0", 20, "must be a mapping, not a string"),
    ]
    assert "envsubst" in problems[0].hint and "envsubst" not in problems[1].hint


@pytest.mark.unit
def test_strict_refuses_and_writes_nothing(tmp_path):
    src = EXAMPLES / "vllm_disagg_router.yaml"
    with pytest.raises(InvalidValues) as e:
        imp.import_file(src, tmp_path / "proj", strict=True, display="dgd.yaml")
    assert [p.pointer for p in e.value.problems] == ["/spec/services/VllmPrefillWorker"]
    assert str(e.value).startswith("dgd.yaml:40:7: /spec/services/VllmPrefillWorker: not expressible")
    assert not (tmp_path / "proj").exists()


@pytest.mark.unit
def test_a_directory_in_use_is_refused_and_left_alone(tmp_path):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "keep").write_text("x")
    with pytest.raises(UsageError):
        imp.import_file(TEMPLATES / "vllm_agg.yaml", tmp_path / "proj")
    assert [p.name for p in (tmp_path / "proj").iterdir()] == ["keep"]


@pytest.mark.unit
def test_the_project_is_complete_and_deterministic(tmp_path):
    src = EXAMPLES / "trtllm_agg-with-config.yaml"
    imp.import_file(src, tmp_path / "a")
    imp.import_file(src, tmp_path / "b")
    a = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in sorted((tmp_path / "a").rglob("*")) if p.is_file()}
    b = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in sorted((tmp_path / "b").rglob("*")) if p.is_file()}
    assert a == b
    for rel in (
        "values.yaml",
        "IMPORT.md",
        ".gitignore",
        "values.schema.json",
        "environments/dev.yaml",
        "environments/prod.yaml",
        "environments/local.yaml",
        "charts/model/Chart.yaml",
    ):
        assert Path(rel) in a, rel
    assert b"hfTokenSecret" not in a[Path("environments/dev.yaml")], "the graph says which Secret it reads"


@pytest.mark.cli
def test_the_command(tmp_path):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "composer", "import", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    (tmp_path / "not.yaml").write_text("apiVersion: v1\nkind: Secret\n")
    r = run("not.yaml")
    assert r.returncode == 2 and r.stderr.startswith("not.yaml:1:1: /: no DynamoGraphDeployment"), r.stderr
    assert "Traceback" not in r.stderr and sorted(p.name for p in tmp_path.iterdir()) == ["not.yaml"]
    r = run(str(TEMPLATES / "vllm_disagg.yaml"))
    assert r.returncode == 0, r.stderr
    assert "wrote a project for DynamoGraphDeployment 'vllm-disagg' into vllm-disagg/" in r.stdout
    assert (tmp_path / "vllm-disagg" / "values.yaml").is_file()
    r = run(str(EXAMPLES / "vllm_disagg_router.yaml"), "--dir", "router", "-o", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["unexpressed"] == [
        {"pointer": "/spec/services/VllmPrefillWorker", "line": 40, "column": 7, "into": "patches.model.jsonPatches"}
    ]
    r = run(str(EXAMPLES / "vllm_disagg_router.yaml"), "--dir", "strict", "--strict")
    assert r.returncode == 2 and "VllmPrefillWorker: not expressible" in r.stderr and not (tmp_path / "strict").exists()
    two = (TEMPLATES / "vllm_disagg.yaml").read_text()
    (tmp_path / "two.yaml").write_text(two + "---\n" + two.replace("name: vllm-disagg\n", "name: other\n", 1))
    r = run("two.yaml", "--dir", "two")
    assert r.returncode == 2 and "which one to import?" in r.stderr and not (tmp_path / "two").exists()
    r = run("two.yaml", "--dir", "two", "--graph", "other")
    assert r.returncode == 0, r.stderr
    assert "wrote a project for DynamoGraphDeployment 'other' into two/" in r.stdout


@pytest.mark.unit
@pytest.mark.parametrize("args", ["", "          args: []\n"], ids=["absent", "empty"])
def test_a_worker_whose_command_says_everything_gets_no_flags(tmp_path, args):
    """A worker with its own command and no args: `args: []`, so compose writes no flags; no patch."""
    text = BETA_HEAD + WORKER.replace(
        "          command: [python3, -m, dynamo.vllm]\n          args: [--model, Qwen/Qwen3-0.6B]\n",
        '          command: [/bin/bash, -c, "exec python3 -m dynamo.vllm --model Qwen/Qwen3-0.6B"]\n' + args,
    )
    result = convert_text(tmp_path, text)
    assert result.unexpressed == [] and "patches" not in result.values
    decode = result.values["model"]["decode"]
    assert decode["command"][:2] == ["/bin/bash", "-c"] and decode["args"] == []
    assert result.values["model"]["name"] == "Qwen/Qwen3-0.6B", "the model the script names"


@pytest.mark.unit
@pytest.mark.parametrize(
    "script, name",
    [
        ("exec python3 -m dynamo.sglang --model-path org/m --served-model-name served", "served"),
        ("cd /w && python3 -m dynamo.vllm \\\n --model 'org/m' --tp 2; echo --model other", "org/m"),
        ("python3 -m dynamo.vllm --model=org/a#b  # --served-model-name x", "org/a#b"),
        ("python3 -m dynamo.vllm --chat-template '' --model org/m", "org/m"),  # an empty word is no operator
        ("python3 -m dynamo.vllm --model org/m --served-model-name $NAME", "from-env"),  # the container's env
        ('python3 -m dynamo.vllm --model "${NAME}" --served-model-name "$NAME"', "from-env"),
        ("NAME=x; python3 -m dynamo.vllm --model org/m --served-model-name $NAME", None),  # set in the script
        ("python3 -m dynamo.vllm --model org/m --served-model-name $OTHER", None),  # not in the env
        ("python3 -m dynamo.vllm --served-model-name $GRAPH", "from-graph"),  # the DGD's spec.env
        ("python3 -m dynamo.vllm --served-model-name $SECRET", None),  # not a plain value
        ("python3 -m dynamo.vllm --served-model-name $(cat /name)", None),
        ("python3 -m dynamo.vllm --model org/m & python3 -m dynamo.vllm --model org/n", None),  # which one?
        ("python3 -m dynamo.frontend --model org/m", None),  # not the engine
        ("python3 -m dynamo.vllm --model 'org/m", None),  # unbalanced quote
    ],
)
def test_the_model_name_comes_from_the_engine_flags_of_a_shell_script(tmp_path, script, name):
    worker = WORKER.replace(
        "          command: [python3, -m, dynamo.vllm]\n          args: [--model, Qwen/Qwen3-0.6B]\n",
        f"          command: [sh, -c, {json.dumps(script)}]\n          env: [{{name: NAME, value: from-env}}]\n",
    )
    graph = "\nspec:\n  backendFramework: vllm\n  env: [{name: GRAPH, value: from-graph}, {name: NAME, value: x}, "
    graph += "{name: SECRET, valueFrom: {secretKeyRef: {name: s, key: k}}}]\n"
    result = convert_text(tmp_path, BETA_HEAD.replace("\nspec:\n", graph) + worker)
    assert result.values["model"]["name"] == (name or "g"), "else the DGD's name"
    assert result.values["model"]["decode"]["args"] == []


@pytest.mark.unit
def test_a_worker_without_command_or_args_loses_compose_ones_through_a_json_patch(tmp_path):
    """compose gives a worker with no command its own (`python3 -m dynamo.<backend>`, not the image's
    entrypoint) and its flags; a JSON patch removes both again."""
    worker = WORKER.replace(
        "          command: [python3, -m, dynamo.vllm]\n          args: [--model, Qwen/Qwen3-0.6B]\n", ""
    )
    result = convert_text(tmp_path, BETA_HEAD.replace("\nspec:\n", "\nspec:\n  backendFramework: vllm\n") + worker)
    ptr = "/spec/components/1/podTemplate/spec/containers/0"
    assert [(u.pointer, u.into) for u in result.unexpressed] == [
        (f"{ptr}/args", "patches.model.jsonPatches"),
        (f"{ptr}/command", "patches.model.jsonPatches"),
    ]
    (jp,) = result.values["patches"]["model"]["jsonPatches"]
    assert sorted(op["path"] for op in jp["patch"]) == [f"{ptr}/args", f"{ptr}/command"]
    assert {op["op"] for op in jp["patch"]} == {"remove"}
    assert "command" not in result.values["model"]["decode"] and "args" not in result.values["model"]["decode"]


@pytest.mark.unit
def test_labels_the_chart_owns_go_into_a_patch(tmp_path):
    text = BETA_HEAD.replace(
        "    podTemplate:\n",
        "    podTemplate:\n      metadata:\n        labels: {team: a, app.kubernetes.io/name: fe}\n",
        1,
    )
    result = convert_text(tmp_path, text + WORKER)
    assert result.values["model"]["frontend"]["labels"] == {"team": "a"}
    assert result.values["patches"]["model"]["components"]["frontend"] == {
        "podTemplate": {"metadata": {"labels": {"app.kubernetes.io/name": "fe"}}}
    }
    assert [u.pointer for u in result.unexpressed] == [
        "/spec/components/0/podTemplate/metadata/labels/app.kubernetes.io~1name"
    ]


@pytest.mark.unit
def test_the_dgds_own_labels_and_annotations_are_model_deployment(tmp_path):
    """Upstream's recipes label their DGDs, app.kubernetes.io/name and part-of among them: those two are
    model.deployment's too (they replace the chart's); the chart's other label keys with another value
    (which the values may not change: managed-by stays Helm) stay in a JSON patch."""
    text = BETA_HEAD.replace(
        "  name: g\n",
        "  name: g\n  labels:\n    app.kubernetes.io/name: g\n    app.kubernetes.io/part-of: dynamo\n"
        "    app.kubernetes.io/managed-by: dynamo-recipe\n"
        "    example.com/tier: gold\n  annotations:\n    nvidia.com/enable-grove: 'false'\n",
    )
    result = convert_text(tmp_path, text + WORKER)
    assert result.values["model"]["deployment"] == {
        "labels": {"app.kubernetes.io/name": "g", "app.kubernetes.io/part-of": "dynamo", "example.com/tier": "gold"},
        "annotations": {"nvidia.com/enable-grove": "false"},
    }
    assert [(u.pointer, u.into, u.line) for u in result.unexpressed] == [
        ("/metadata/labels/app.kubernetes.io~1managed-by", "patches.model.jsonPatches", 8)
    ]
    (jp,) = result.values["patches"]["model"]["jsonPatches"]
    assert jp["patch"] == [
        {"op": "add", "path": "/metadata/labels/app.kubernetes.io~1managed-by", "value": "dynamo-recipe"}
    ]
    # the chart's own values are no difference
    same = BETA_HEAD.replace("  name: g\n", "  name: g\n  labels:\n    app.kubernetes.io/part-of: dynamo-compose\n")
    (tmp_path / "same").mkdir()
    assert "deployment" not in convert_text(tmp_path / "same", same + WORKER).values["model"]


@pytest.mark.unit
def test_every_setting_of_our_own_graph_is_expressed():
    src = FIXTURES / "import" / "all-settings.yaml"
    result = imp.convert(imp.read_stream(src, src.name), src.name)
    assert result.unexpressed == []
    m = result.values["model"]
    assert m["imagePullSecrets"] == ["registry"] and m["hfTokenSecret"] == "hf-token-secret"
    assert m["prefill"]["extraConfig"] == {
        "path": "/etc/engine/prefill.yaml",
        "inline": {"max-model-len": 8192, "enforce-eager": True},
    }
    assert "volumes" not in m["prefill"] and "extraObjects" not in m
    assert result.namespace == "team-a"
    assert m["deployment"] == {
        "labels": {"example.com/tier": "gold"},
        "annotations": {"nvidia.com/enable-grove": "false"},
    }
    assert m["frontend"]["imagePullPolicy"] == "IfNotPresent" and m["frontend"]["ports"][0]["containerPort"] == 8000
    assert m["decode"]["runtimeClassName"] == "nvidia" and m["decode"]["schedulerName"] == "default-scheduler"
    assert m["decode"]["hostIPC"] is True


@pytest.mark.unit
def test_upstreams_host_ipc_is_the_roles_host_ipc():
    """hostIPC on a worker's pod (v1beta1 podTemplate; v1alpha1 extraPodSpec) is the role's hostIPC, no patch."""
    for name, roles in (
        ("inkling_sglang_agg-b200.yaml", ["decode"]),
        ("glm-5-nvfp4_sglang_disagg-efa.yaml", ["decode", "prefill"]),
    ):
        result = imp.convert(imp.read_stream(UPSTREAM / name, name), name)
        assert result.unexpressed == [], "carried in a patch before"
        m = result.values["model"]
        assert [r for r in ("frontend", "decode", "prefill") if m.get(r, {}).get("hostIPC")] == roles


@pytest.mark.unit
def test_what_the_server_wrote_into_an_exported_dgd_is_reported_not_carried(tmp_path):
    text = BETA_HEAD.replace(
        "  name: g\n",
        "  name: g\n  uid: 1234\n  resourceVersion: '42'\n  generation: 3\n  annotations:\n"
        "    kubectl.kubernetes.io/last-applied-configuration: '{}'\n    nvidia.com/dgd-spec: '{}'\n    mine: 'yes'\n"
        "    meta.helm.sh/release-name: g-model\n",
    )
    result = convert_text(tmp_path, text + WORKER + "status:\n  state: successful\n")
    assert result.unexpressed == []
    assert result.values["model"]["deployment"] == {"annotations": {"mine": "yes"}}
    (note,) = [n for n in result.notes if n.startswith("set by Kubernetes")]
    for field in (
        "/metadata/uid",
        "/metadata/resourceVersion",
        "/metadata/generation",
        "/status",
        "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration",
        "/metadata/annotations/nvidia.com~1dgd-spec",
        "/metadata/annotations/meta.helm.sh~1release-name",
    ):
        assert field in note


@pytest.mark.unit
def test_other_objects_become_extra_objects_as_the_chart_takes_them(tmp_path):
    result = convert_text(
        tmp_path,
        BETA_HEAD.replace("  name: g\n", "  name: g\n  namespace: team-a\n")
        + WORKER
        + """\
---
apiVersion: v1
kind: ConfigMap
metadata: {name: notes, namespace: team-a, uid: "1", resourceVersion: "7", labels: {team: a}}
data: {greeting: "{{ not a template }}"}
---
apiVersion: v1
kind: Secret
metadata: {name: token}
stringData: {HF_TOKEN: x}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: inference}
value: 1000
""",
    )
    (cm,) = result.values["model"]["extraObjects"]
    assert cm == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "notes", "labels": {"team": "a"}},
        "data": {"greeting": '{{ "{{" }} not a template }}'},
    }, "in the release namespace, without server fields, and tpl gives the text back as written"
    assert {(u.document, u.into) for u in result.unexpressed} == {
        ("ConfigMap notes", "model.extraObjects"),
        ("Secret token", "nowhere (create the Secret in the cluster yourself)"),
        ("PriorityClass inference", "nowhere (cluster-scoped: apply it yourself)"),
    }
    assert any("/metadata/uid" in n for n in result.notes)


def _paths(x, p=()):
    yield p
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _paths(v, (*p, k))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _paths(v, (*p, i))


@pytest.mark.sweep
@pytest.mark.parametrize(
    "path",
    sorted(TEMPLATES.glob("*.yaml")) + IMPORTED_EXAMPLES + sorted((FIXTURES / "import").glob("*.yaml")),
    ids=lambda p: p.name,
)
def test_any_value_of_the_wrong_kind_is_refused_located_never_a_crash(path):
    """Every value of every graph here replaced by one of another kind: imported, or refused with a
    located problem; never an exception of another kind (which would be exit 70)."""
    docs = imp.read_stream(path, path.name)
    for di, doc in enumerate(docs):
        for p in list(_paths(doc.data))[1:]:
            for bad in (None, 1, "", [], {}, [1], {"a": 1}, True):
                data = copy.deepcopy(doc.data)
                node = data
                for k in p[:-1]:
                    node = node[k]
                node[p[-1]] = bad
                mutated = [*docs[:di], imp.Doc(data, doc.line, doc.pos), *docs[di + 1 :]]
                try:
                    imp.convert(mutated, path.name)
                except InvalidValues as e:
                    assert all(problem.line for problem in e.problems), (p, bad, str(e))


@pytest.mark.unit
def test_what_is_not_a_readable_file_is_refused(tmp_path):
    for path, message in ((tmp_path / "missing.yaml", "file not found"), (tmp_path, "not a regular file")):
        with pytest.raises(InvalidValues) as e:
            imp.read_stream(path, "dgd.yaml")
        (p,) = e.value.problems
        assert (p.file, p.message) == ("dgd.yaml", message) and p.hint
    (tmp_path / "dup.yaml").write_text("kind: DynamoGraphDeployment\nkind: x\n")
    with pytest.raises(InvalidValues) as e:
        imp.read_stream(tmp_path / "dup.yaml", "dup.yaml")
    assert e.value.problems[0].line == 2


@pytest.mark.unit
def test_what_only_patches_carry_is_listed_by_its_pointer():
    """tests/fixtures/import/needs-patches.yaml, which the round trip renders back as it was."""
    src = FIXTURES / "import" / "needs-patches.yaml"
    result = imp.convert(imp.read_stream(src, src.name), src.name)
    assert [(u.pointer, u.into) for u in result.unexpressed] == [
        ("/spec/env/0", "patches.model.jsonPatches"),  # DYN_ROUTER_MODE: model.env refuses it
        ("/spec/components/0/podTemplate/spec/dnsPolicy", "patches.model.components.frontend"),
        ("/spec/components/0/podTemplate/spec/containers/0/env/0", "patches.model.components.frontend"),
        ("/spec/components/0/podTemplate/spec/containers/1", "patches.model.components.frontend"),
        ("/spec/components/1/scalingAdapter", "patches.model.components.decode"),
        ("/spec/components/1/podTemplate/spec/containers/0/lifecycle", "patches.model.components.decode"),
        ("/spec/components/2", "patches.model.jsonPatches"),
        ("", "model.extraObjects"),
    ]
    assert "routingPolicy" not in result.values["model"], "direct is no routingPolicy"


@pytest.mark.unit
def test_a_config_from_a_configmap_of_the_cluster_is_a_config_map_ref(tmp_path):
    text = CONFIG_DGD.split("---\n", 1)[1].replace(
        "volumes: [{name: cfg, configMap: {name: cfg}}]",
        "volumes: [{name: cfg, configMap: {name: cluster-cfg, items: [{key: engine.yaml, path: prefill.yaml}]}}]",
    )
    p = convert_text(tmp_path, text).values["model"]["prefill"]
    assert p["extraConfig"] == {
        "path": "/etc/engine/prefill.yaml",
        "configMapRef": {"name": "cluster-cfg", "key": "engine.yaml"},
    }
    assert "volumes" not in p and "volumeMounts" not in p
    # without items the volume shows every key of a ConfigMap nobody here can read: kept as it is
    p = convert_text(tmp_path, text.replace(", items: [{key: engine.yaml, path: prefill.yaml}]", "")).values
    assert "extraConfig" not in p["model"]["prefill"]


@pytest.mark.unit
def test_a_volume_named_as_the_charts_own_is_renamed_with_its_mounts(tmp_path):
    """TRT-LLM disaggregated workers under compose's own flags always get the chart's extra-config volume."""
    text = CONFIG_DGD.split("---\n", 1)[1].replace(
        "{name: cfg, configMap: {name: cfg}}", "{name: extra-config, emptyDir: {}}"
    )
    text = text.replace("[{name: cfg, mountPath: /etc/engine}]", "[{name: extra-config, mountPath: /scratch}]")
    result = convert_text(tmp_path, text)
    p = result.values["model"]["prefill"]
    assert p["volumes"] == [{"name": "extra-config-1", "emptyDir": {}}]
    assert p["volumeMounts"] == [{"name": "extra-config-1", "mountPath": "/scratch"}]
    assert any("'extra-config' is 'extra-config-1'" in n for n in result.notes)
    # a name the chart does not use here stays
    result = convert_text(tmp_path, text.replace("dynamo.trtllm", "dynamo.vllm"))
    assert result.values["model"]["prefill"]["volumes"] == [{"name": "extra-config", "emptyDir": {}}]


# ---------------------------------------------------------------------- the Planner, the endpoint picker

PLANNER_GRAPH = """\
apiVersion: nvidia.com/v1beta1
kind: DynamoGraphDeployment
metadata:
  name: g
spec:
  components:
  - name: Frontend
    type: frontend
    podTemplate:
      spec:
        containers:
        - {name: main, image: nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.6.1}
  - name: decode
    type: decode
    scalingAdapter: {}
    podTemplate:
      spec:
        containers:
        - name: main
          image: nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.6.1
          command: [python3, -m, dynamo.vllm]
          args: [--model, m, --disaggregation-mode, decode]
  - name: prefill
    type: prefill
    scalingAdapter: {}
    podTemplate:
      spec:
        containers:
        - name: main
          image: nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.6.1
          command: [python3, -m, dynamo.vllm]
          args: [--model, m, --disaggregation-mode, prefill]
  - name: Planner
    type: planner
    replicas: 1
    podTemplate:
      metadata:
        annotations: {checksum/planner-config: abc}
      spec:
        nodeSelector: {pool: cpu}
        containers:
        - name: main
          image: nvcr.io/nvidia/ai-dynamo/dynamo-planner:1.6.1
          command: [python3, -m, dynamo.planner]
          args: [--config, /workspace/planner_config/planner_config.json]
          workingDir: /workspace/components/src/dynamo/planner
          env: [{name: DYN_LOG, value: info}]
          volumeMounts:
          - {name: cfg, mountPath: /workspace/planner_config, readOnly: true}
          - {name: profile, mountPath: /workspace/profiling_results, readOnly: true}
        volumes:
        - {name: cfg, configMap: {name: planner-cfg}}
        - {name: profile, configMap: {name: qwen-profile}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: planner-cfg}
data:
  planner_config.json: '{"environment":"kubernetes","backend":"vllm","mode":"disagg","ttft_ms":200,
    "profile_results_dir":"/workspace/profiling_results","optimization_target":"sla"}'
"""


@pytest.mark.unit
def test_a_planner_reading_its_config_map_becomes_model_planner(tmp_path):
    result = convert_text(tmp_path, PLANNER_GRAPH)
    assert result.values["model"]["planner"] == {
        "enabled": True,
        "profileData": {"configMapRef": {"name": "qwen-profile"}},
        # what compose fills (environment, backend, mode, the default profile directory) is left out
        "config": {"ttft_ms": 200, "optimization_target": "sla"},
        "env": [{"name": "DYN_LOG", "value": "info"}],
        "nodeSelector": {"pool": "cpu"},
    }
    assert result.unexpressed == [], "the chart renders the Planner, its config and both scaling adapters"
    assert result.configs_moved == ["planner-cfg"] and "extraObjects" not in result.values["model"]
    assert "prometheusEndpoint" not in result.values["model"]["planner"], "no DGD says where Prometheus is"
    envs = imp.environments(result)
    for env in ("dev", "prod"):
        assert "platform:\n  install: false\n" in envs[env], "the cluster's platform release names Prometheus"
    assert "platform" not in envs["local"]
    doc = imp.import_doc(result, "dgd.yaml", "0")
    assert "model.planner.prometheusEndpoint" in doc and "platform.install: false" in doc


@pytest.mark.unit
def test_a_planner_config_unlike_the_graph_or_a_missing_adapter_stays_visible(tmp_path):
    text = PLANNER_GRAPH.replace('"mode":"disagg"', '"mode":"prefill"').replace(
        "  - name: decode\n    type: decode\n    scalingAdapter: {}\n", "  - name: decode\n    type: decode\n"
    )
    result = convert_text(tmp_path, text)
    assert result.values["model"]["planner"]["config"]["mode"] == "prefill", "not what compose would fill"
    # mode prefill scales prefill only: the decode worker without an adapter needs nothing
    assert result.unexpressed == []
    text = PLANNER_GRAPH.replace(
        "  - name: prefill\n    type: prefill\n    scalingAdapter: {}\n", "  - name: prefill\n    type: prefill\n"
    )
    result = convert_text(tmp_path, text)
    assert [(u.pointer, u.into) for u in result.unexpressed] == [("/spec/components/2", "patches.model.jsonPatches")]
    (jp,) = result.values["patches"]["model"]["jsonPatches"]
    assert jp["patch"] == [{"op": "remove", "path": "/spec/components/2/scalingAdapter"}]


@pytest.mark.unit
def test_a_planner_whose_config_is_not_in_the_file_is_added_whole(tmp_path):
    result = convert_text(tmp_path, PLANNER_GRAPH.split("---")[0])
    assert "planner" not in result.values["model"]
    assert ("/spec/components/3", "patches.model.jsonPatches") in {(u.pointer, u.into) for u in result.unexpressed}
    assert any("export its config ConfigMap with the DGD" in n for n in result.notes)


@pytest.mark.unit
def test_a_planner_given_its_config_inline_becomes_model_planner():
    """Upstream's examples pass the config as a JSON string (`--config '<JSON>'`, which the Planner takes
    as well as a file): it becomes model.planner.config, parsed, the chart's flags naming its file; no
    working directory is the image's own (empty), not upstream's profiler's the chart would write."""
    path = UPSTREAM / "trtllm_disagg_planner.yaml"
    result = imp.convert(imp.read_stream(path, path.name), path.name)
    assert result.values["model"]["planner"] == {
        "enabled": True,
        # environment and backend are what compose fills; mode, absent, is the Planner's default disagg
        "config": {
            "optimization_target": "sla",
            "enable_throughput_scaling": True,
            "enable_load_scaling": True,
            "pre_deployment_sweeping_mode": "none",
            "throughput_adjustment_interval_seconds": 60,
            "load_adjustment_interval_seconds": 5,
        },
        "image": "my-registry/dynamo-planner:my-tag",
        "command": ["python3"],
        "args": ["-m", "dynamo.planner", "--config", "/workspace/planner_config/planner_config.json"],
        "workingDir": "",
        "envFrom": [{"secretRef": {"name": "hf-token-secret"}}],
        "ports": [{"containerPort": 9085, "name": "metrics"}],
        # neither worker opts into a scaling adapter: the Planner patches the DGD's replicas itself
        "scalingAdapters": False,
    }
    assert result.unexpressed == [], "the workers without their scalingAdapter need no patch"
    assert "/spec/components/1: component 'Planner' is compose's 'planner'" in "\n".join(result.notes)


@pytest.mark.unit
def test_a_planner_given_its_profile_data_and_config_inline():
    path = UPSTREAM / "vllm_disagg_planner_xpu_dra.yaml"
    result = imp.convert(imp.read_stream(path, path.name), path.name)
    planner = result.values["model"]["planner"]
    assert planner["profileData"] == {"configMapRef": {"name": "planner-profile-data"}}
    # profile_results_dir is where the chart mounts profileData, which it fills
    assert planner["config"] == {
        "throughput_adjustment_interval_seconds": 60,
        "prefill_engine_num_gpu": 1,
        "decode_engine_num_gpu": 1,
    }
    assert "volumes" not in planner and "volumeMounts" not in planner


def sglang_planner_graph() -> tuple[dict, dict, dict]:
    """(upstream's sglang disaggregated Planner graph, its Planner's main container, its config parsed)."""
    doc = yaml.safe_load((UPSTREAM / "sglang_disagg_planner.yaml").read_text())
    main = doc["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]
    return doc, main, json.loads(main["args"][1])


@pytest.mark.unit
def test_a_planner_config_lacking_a_key_compose_would_fill_otherwise_is_added_whole(tmp_path):
    """The Planner's default backend is vllm; compose would fill the graph's sglang: not the config the
    Planner runs, so the Planner is added whole by a JSON patch, and the note says why."""
    doc, main, config = sglang_planner_graph()
    del config["backend"]
    main["args"][1] = json.dumps(config)
    result = convert_text(tmp_path, yaml.safe_dump(doc))
    assert "planner" not in result.values["model"]
    assert ("/spec/components/1", "patches.model.jsonPatches") in {(u.pointer, u.into) for u in result.unexpressed}
    assert any(
        "/spec/components/1: the Planner has a config without backend (the Planner's default 'vllm'; compose's "
        "would say 'sglang')" in n
        for n in result.notes
    )


@pytest.mark.unit
def test_profiling_data_where_the_config_names_no_directory_stays_a_volume(tmp_path):
    """A config without profile_results_dir reads the Planner's relative default; compose's profileData
    would fill /workspace/profiling_results: the ConfigMap stays the Planner's own volume."""
    doc, main, _ = sglang_planner_graph()
    main["volumeMounts"] = [{"name": "prof", "mountPath": "/workspace/profiling_results", "readOnly": True}]
    doc["spec"]["components"][1]["podTemplate"]["spec"]["volumes"] = [{"name": "prof", "configMap": {"name": "p"}}]
    result = convert_text(tmp_path, yaml.safe_dump(doc))
    planner = result.values["model"]["planner"]
    assert "profileData" not in planner and "profile_results_dir" not in planner["config"]
    assert planner["volumes"] == [{"name": "prof", "configMap": {"name": "p"}}]
    assert planner["volumeMounts"] == main["volumeMounts"]


@pytest.mark.unit
def test_an_endpoint_picker_graph_without_a_frontend_gets_compose_frontend(tmp_path):
    result = imp.convert(imp.read_stream(EXAMPLES / "gaie" / "vllm_agg.yaml", "agg.yaml"), "agg.yaml")
    model = result.values["model"]
    assert model["epp"] == {
        "enabled": True,
        "replicas": 1,
        "image": "nvcr.io/nvidia/ai-dynamo/epp-image:my-tag",
        "kvCacheBlockSize": 128,  # its DYN_KV_CACHE_BLOCK_SIZE; its config is the chart's default
    }
    assert model["routingPolicy"] == "kv" and model["name"] == "Qwen/Qwen3-0.6B"
    assert "frontend" not in model and result.added == ["frontend"]
    assert result.values["inferenceGateway"] == {"enabled": True}
    assert result.unexpressed == [], "the workers' frontend sidecar is the chart's"
    assert any("Service qwen-frontend the graph did not have" in n for n in result.notes)
    envs = imp.environments(result)
    assert f"    name: {imp.GATEWAY_PLACEHOLDER}\n" in envs["dev"] and "# Placeholder" in envs["prod"]
    doc = imp.import_doc(result, "agg.yaml", "0")
    assert "with compose's frontend added" in doc and "inferenceGateway.gateway.name" in doc


@pytest.mark.unit
def test_what_the_chart_does_not_render_of_a_picker_graph_is_carried(tmp_path):
    text = (EXAMPLES / "gaie" / "vllm_agg.yaml").read_text()
    text = text.replace("          - direct\n", "          - direct\n          - --verbose\n")  # the sidecar's
    text = text.replace(
        "    eppConfig:\n      config:", "    eppConfig:\n      configMapRef: {name: picker}\n      config:"
    )
    text = text.replace(" --kv-events-config '{\"enable_kv_cache_events\":true}'", "")
    result = convert_text(tmp_path, text)
    got = {(u.pointer, u.into) for u in result.unexpressed}
    assert got == {
        ("/spec/components/0/eppConfig/configMapRef", "patches.model.components.epp"),
        ("/spec/components/1/frontendSidecar", "patches.model.components.decode"),
        ("/spec/components/1/podTemplate/spec/containers/1", "patches.model.components.decode"),
    }
    comps = result.values["patches"]["model"]["components"]
    assert comps["epp"] == {"eppConfig": {"configMapRef": {"name": "picker"}}}
    assert comps["decode"]["podTemplate"]["spec"]["containers"][0]["args"][-1] == "--verbose"
    assert any("may publish no KV events" in n for n in result.notes)


@pytest.mark.unit
def test_a_frontend_of_another_router_mode_keeps_it_beside_the_pickers_kv(tmp_path):
    text = (EXAMPLES / "gaie" / "vllm_agg.yaml").read_text()
    frontend = (
        "  - name: Frontend\n    type: frontend\n    podTemplate:\n      spec:\n        containers:\n"
        "        - name: main\n          image: nvcr.io/nvidia/ai-dynamo/vllm-runtime:my-tag\n"
        "          env: [{name: DYN_ROUTER_MODE, value: round-robin}]\n"
    )
    result = convert_text(tmp_path, text.replace("  components:\n", "  components:\n" + frontend, 1))
    assert result.values["model"]["routingPolicy"] == "kv", "the picker needs it"
    assert result.added == []
    main = result.values["patches"]["model"]["components"]["frontend"]["podTemplate"]["spec"]["containers"][0]
    assert main["env"] == [{"name": "DYN_ROUTER_MODE", "value": "round-robin"}], "its own mode, by a patch"
    assert any("its own mode kept by a patch" in n for n in result.notes)


@pytest.mark.unit
def test_a_picker_without_its_block_size_takes_the_workers_and_keeps_its_own_env(tmp_path):
    text = (EXAMPLES / "gaie" / "vllm_agg.yaml").read_text()
    text = text.replace('          - name: DYN_KV_CACHE_BLOCK_SIZE\n            value: "128"\n', "")
    result = convert_text(tmp_path, text)
    assert result.values["model"]["epp"]["kvCacheBlockSize"] == 128, "the workers' --block-size"
    main = result.values["patches"]["model"]["components"]["epp"]["podTemplate"]["spec"]["containers"][0]
    assert main["env"] == [{"name": "DYN_MODEL_NAME", "value": "Qwen/Qwen3-0.6B"}], "rendered as it was"
    assert [u.pointer for u in result.unexpressed] == ["/spec/components/0/podTemplate/spec/containers/0/env/0"]


# ------------------------------------------------------------------------------ ComputeDomain

CD = """\
apiVersion: resource.nvidia.com/v1beta1
kind: ComputeDomain
metadata:
  name: g-compute-domain
spec:
  numNodes: 0
  channel:
    allocationMode: Single
    resourceClaimTemplate:
      name: g-compute-domain-channel
---
"""
CLAIMING_WORKER = WORKER.replace(
    "      spec:\n        containers:\n",
    "      spec:\n        resourceClaims:\n        - name: compute-domain-channel\n"
    "          resourceClaimTemplateName: g-compute-domain-channel\n        containers:\n",
).replace(
    '            limits: {nvidia.com/gpu: "2"}\n',
    '            limits: {nvidia.com/gpu: "2"}\n            claims:\n            - name: compute-domain-channel\n',
)


@pytest.mark.unit
def test_a_compute_domain_the_workers_claim_is_model_compute_domain(tmp_path):
    result = convert_text(tmp_path, CD + BETA_HEAD + CLAIMING_WORKER)
    m = result.values["model"]
    assert m["computeDomain"] == {"enabled": True}  # the chart's name, numNodes and allocationMode
    assert "resourceClaims" not in m["decode"] and m["decode"].get("resources") is None, "the chart's claims"
    assert result.unexpressed == [] and "extraObjects" not in m
    assert any("ComputeDomain 'g-compute-domain' (line 1): model.computeDomain" in n for n in result.notes)
    # another name, numNodes and allocationMode are the values'; a worker's own other claim stays its own
    text = (CD + BETA_HEAD + CLAIMING_WORKER).replace("g-compute-domain", "nvl").replace("numNodes: 0", "numNodes: 4")
    text = text.replace("allocationMode: Single", "allocationMode: All").replace(
        "            - name: compute-domain-channel\n",
        "            - name: compute-domain-channel\n            - name: gpus\n",
    )
    text = text.replace(
        "          resourceClaimTemplateName: nvl-channel\n",
        "          resourceClaimTemplateName: nvl-channel\n        - name: gpus\n          resourceClaimTemplateName: gpu\n",
    )
    (tmp_path / "b").mkdir()
    m = convert_text(tmp_path / "b", text).values["model"]
    assert m["computeDomain"] == {"enabled": True, "name": "nvl", "numNodes": 4, "allocationMode": "All"}
    assert m["decode"]["resourceClaims"] == [{"name": "gpus", "resourceClaimTemplateName": "gpu"}]
    assert m["decode"]["resources"] == {"claims": [{"name": "gpus"}]}


@pytest.mark.unit
def test_upstreams_gb200_compute_domains_are_model_compute_domain():
    def imported(name: str) -> imp.Imported:
        return imp.convert(imp.read_stream(UPSTREAM / name, name), name)

    qwen = imported("qwen3.8-2.4t-a95b-fp8_sglang_disagg-gb200-chat.yaml")
    assert qwen.values["model"]["computeDomain"] == {"enabled": True, "name": "qwen38max-sgl-disagg-cd"}
    assert qwen.unexpressed == [], "carried as an extra object before"
    # v1alpha1; only the multinode decode claims the channel; a placeholder namespace is no namespace
    glm = imported("glm-5-nvfp4_sglang_disagg.yaml")
    assert glm.values["model"]["computeDomain"] == {
        "enabled": True,
        "name": "glm5-compute-domain",
        "numNodes": 5,
        "roles": ["decode"],
    }
    assert glm.namespace is None and any("'<your-namespace>' is no namespace name" in n for n in glm.notes)
    # two ComputeDomains, one per role: not the chart's one, both stay extra objects
    kimi = imported("kimi-k3_vllm_disagg-gb200-agentic.yaml")
    assert "computeDomain" not in kimi.values["model"]
    assert [u.document for u in kimi.unexpressed] == [
        "ComputeDomain kimi-k3-prefill-compute-domain",
        "ComputeDomain kimi-k3-decode-compute-domain",
    ]
    assert kimi.values["model"]["decode"]["resourceClaims"][0]["name"] == "compute-domain-channel"


@pytest.mark.unit
@pytest.mark.parametrize(
    "change",
    [
        # the frontend claims it: the chart's claims go to the workers only
        lambda t: t.replace(
            "    podTemplate:\n      spec:\n        containers:\n        - name: main\n          image: img:1.6.1\n  - name: worker",
            "    podTemplate:\n      spec:\n        resourceClaims:\n        - name: compute-domain-channel\n"
            "          resourceClaimTemplateName: g-compute-domain-channel\n        containers:\n"
            "        - name: main\n          image: img:1.6.1\n  - name: worker",
        ),
        # the main container does not claim it
        lambda t: t.replace("            claims:\n            - name: compute-domain-channel\n", ""),
        # the pod's claim has another name
        lambda t: t.replace(
            "        - name: compute-domain-channel\n          resourceClaimTemplateName",
            "        - name: nvl\n          resourceClaimTemplateName",
        ),
        # a channel template of another name than the chart's <name>-channel
        lambda t: t.replace("      name: g-compute-domain-channel\n", "      name: channel\n").replace(
            "resourceClaimTemplateName: g-compute-domain-channel", "resourceClaimTemplateName: channel"
        ),
        # labels of its own, which the chart's ComputeDomain does not take
        lambda t: t.replace("  name: g-compute-domain\nspec:", "  name: g-compute-domain\n  labels: {a: b}\nspec:"),
        # no GPU on the claiming worker
        lambda t: t.replace('limits: {nvidia.com/gpu: "2"}', "limits: {cpu: 1}"),
    ],
    ids=["frontend", "no-container-claim", "claim-name", "template-name", "labels", "no-gpu"],
)
def test_a_compute_domain_unlike_the_charts_stays_an_extra_object(tmp_path, change):
    text = change(CD + BETA_HEAD + CLAIMING_WORKER)
    assert text != CD + BETA_HEAD + CLAIMING_WORKER
    result = convert_text(tmp_path, text)
    assert "computeDomain" not in result.values["model"]
    assert [u.document for u in result.unexpressed if u.document] == ["ComputeDomain g-compute-domain"]
    assert result.values["model"]["extraObjects"][0]["kind"] == "ComputeDomain"


# ------------------------------------------------------------------------------ DRA device claims
def _xpu(name: str) -> str:
    return (UPSTREAM / name).read_text()


@pytest.mark.unit
def test_upstreams_xpu_dra_claims_are_model_device_claim(tmp_path):
    """Upstream's Intel XPU examples: one ResourceClaimTemplate of gpu.intel.com devices, claimed as gpu by
    every worker, which takes no nvidia.com/gpu: model.deviceClaim (an extra object before), gpus 0."""
    for name, roles in (("vllm_agg_xpu_dra.yaml", ["decode"]), ("vllm_disagg_xpu_dra.yaml", ["decode", "prefill"])):
        result = imp.convert(imp.read_stream(UPSTREAM / name, name), name)
        assert result.unexpressed == [], "carried as an extra object before"
        m = result.values["model"]
        assert m["deviceClaim"] == {"enabled": True, "deviceClassName": "gpu.intel.com", "templateName": "gpu-template"}
        for role in roles:
            assert m[role]["gpus"] == 0
            assert "resourceClaims" not in m[role]  # the chart's claim, not the role's own
            assert m[role]["resources"] == {"requests": {"ephemeral-storage": "2Gi"}}
        assert any("ResourceClaimTemplate 'gpu-template' (line 4): model.deviceClaim" in n for n in result.notes)
    # count, the chart's template name, only decode claiming
    text = (
        _xpu("vllm_disagg_xpu_dra.yaml")
        .replace("count: 1", "count: 2")
        .replace("gpu-template", "vllm-disagg-xpu-dra-gpu")
    )
    decode, prefill = text.split("  - name: VllmPrefillWorker\n")
    prefill = prefill.replace("            claims:\n            - name: gpu\n", "").replace(
        "        resourceClaims:\n        - name: gpu\n          resourceClaimTemplateName: vllm-disagg-xpu-dra-gpu\n",
        "",
    )
    text = decode + "  - name: VllmPrefillWorker\n" + prefill
    result = convert_text(tmp_path, text)
    assert result.values["model"]["deviceClaim"] == {
        "enabled": True,
        "deviceClassName": "gpu.intel.com",
        "count": 2,
        "roles": ["decode"],
    }, result.unexpressed
    assert result.unexpressed == []


@pytest.mark.unit
@pytest.mark.parametrize(
    "change",
    [
        # the worker also takes an nvidia.com/gpu: its accelerators are not the claim's alone
        lambda t: t.replace("ephemeral-storage: 2Gi", "ephemeral-storage: 2Gi\n              nvidia.com/gpu: 1"),
        # the main container does not claim it
        lambda t: t.replace("            claims:\n            - name: gpu\n", ""),
        # the pod's claim has another name than the chart's
        lambda t: t.replace(
            "        - name: gpu\n          resourceClaimTemplateName",
            "        - name: xpu\n          resourceClaimTemplateName",
        ),
        # an allocationMode, labels: more than the chart's template says
        lambda t: t.replace("            count: 1\n", "            count: 1\n            allocationMode: ExactCount\n"),
        lambda t: t.replace("  name: gpu-template\n", "  name: gpu-template\n  labels: {a: b}\n"),
        # the frontend claims it
        lambda t: t.replace(
            "          name: main\n    replicas: 1\n    type: frontend",
            "          name: main\n        resourceClaims:\n        - name: gpu\n"
            "          resourceClaimTemplateName: gpu-template\n    replicas: 1\n    type: frontend",
        ),
    ],
    ids=["nvidia-gpu", "no-container-claim", "claim-name", "allocation-mode", "labels", "frontend"],
)
def test_a_device_claim_unlike_the_charts_stays_an_extra_object(tmp_path, change):
    original = _xpu("vllm_agg_xpu_dra.yaml")
    text = change(original)
    assert text != original
    result = convert_text(tmp_path, text)
    assert "deviceClaim" not in result.values["model"]
    assert [u.document for u in result.unexpressed if u.document] == ["ResourceClaimTemplate gpu-template"]


@pytest.mark.unit
def test_dra_claimed_devices_are_the_roles_gpus_to_compose():
    """A role claiming model.deviceClaim has gpus 0 (no nvidia.com/gpu): compose's GPU count (the benchmark's
    per-GPU figures) and the twin's tensor parallelism take its claimed devices instead."""
    from composer import schema
    from composer.model import Deployment, engine_of

    name = "vllm_disagg_xpu_dra.yaml"
    values = imp.convert(imp.read_stream(UPSTREAM / name, name), name).values
    values["model"]["deviceClaim"]["count"] = 2
    values["model"]["decode"]["replicas"] = 3
    dep = Deployment(env="x", values=schema.with_defaults(schema.values_schema(), copy.deepcopy(values)))
    assert dep.gpu_count == 3 * 2 + 1 * 2
    assert engine_of(values).tp == {"decode": 2, "prefill": 2}
    values["model"]["deviceClaim"]["roles"] = ["decode"]  # prefill claims none: its gpus 0 are none
    assert Deployment(env="x", values=schema.with_defaults(schema.values_schema(), values)).gpu_count == 3 * 2


# ------------------------------------------------------------------------------ experimental
@pytest.mark.unit
def test_upstreams_experimental_blocks_are_the_roles_experimental():
    """A worker's experimental block (GPU Memory Service, failover, checkpoint) is the role's
    experimental, as given (the operator defaults what is left out), no patch."""
    for name, block in (
        ("sglang_agg_gms.yaml", {"gpuMemoryService": {}}),
        (
            "vllm_gms-failover.yaml",
            {"failover": {"mode": "InterPod", "numShadows": 1}, "gpuMemoryService": {"mode": "InterPod"}},
        ),
        ("trtllm_snapshot-restore.yaml", {"checkpoint": {"enabled": True, "startupPolicy": "WaitForCheckpoint"}}),
    ):
        result = imp.convert(imp.read_stream(UPSTREAM / name, name), name)
        assert result.unexpressed == [], "carried in a patch before"
        assert result.values["model"]["decode"]["experimental"] == block


@pytest.mark.unit
@pytest.mark.parametrize(
    "block",
    [
        "{checkpoint: {enabled: true, mode: Auto}}",  # deprecated in the CRD: the values leave it out
        "{gpuMemoryService: {extraClientPods: []}}",  # reserved, not implemented (the CRD refuses any)
        "{failover: {numShadows: 2}}",  # the CRD's bound
        "{snapshot: {}}",  # no such feature
    ],
)
def test_an_experimental_block_the_values_do_not_take_stays_in_a_patch(tmp_path, block):
    text = _xpu("sglang_agg_gms.yaml").replace(
        "  - experimental:\n      gpuMemoryService: {}\n", f"  - experimental: {block}\n"
    )
    assert block in text
    result = convert_text(tmp_path, text)
    assert "experimental" not in result.values["model"]["decode"]
    assert [u.pointer for u in result.unexpressed] == ["/spec/components/1/experimental"]


# ------------------------------------------------------------------------------ modelRef
@pytest.mark.unit
def test_upstreams_model_refs_are_the_workers_model_ref():
    """The LoRA examples' worker modelRef (the base model a DynamoModel's adapters attach to) is the
    role's modelRef, no patch."""
    for name, model in (
        ("vllm_agg_lora.yaml", "Qwen/Qwen3-0.6B"),
        ("vllm_agg_qwen_lora.yaml", "Qwen/Qwen3-VL-2B-Instruct"),
    ):
        result = imp.convert(imp.read_stream(UPSTREAM / name, name), name)
        assert result.unexpressed == [], "carried in a patch before"
        assert result.values["model"]["decode"]["modelRef"] == {"name": model}


def _disagg_with_refs(decode: str, prefill: str) -> str:
    text = (EXAMPLES / "vllm_disagg.yaml").read_text()
    for worker, ref in (("VllmDecodeWorker", decode), ("VllmPrefillWorker", prefill)):
        if ref:
            text = text.replace(f"    {worker}:\n", f"    {worker}:\n      modelRef: {ref}\n")
    return text


@pytest.mark.unit
def test_a_v1alpha1_services_model_ref_is_the_roles_model_ref(tmp_path):
    ref = "{name: Qwen/Qwen3-0.6B, revision: main}"
    result = convert_text(tmp_path, _disagg_with_refs(ref, ref))
    assert result.unexpressed == []
    for role in ("decode", "prefill"):
        assert result.values["model"][role]["modelRef"] == {"name": "Qwen/Qwen3-0.6B", "revision": "main"}


@pytest.mark.unit
@pytest.mark.parametrize(
    "decode, prefill",
    [
        ("{name: Qwen/Qwen3-0.6B}", ""),  # the values refuse one role naming its model and the other not
        ("{name: Qwen/Qwen3-0.6B}", "{name: Qwen/Qwen3-8B}"),  # or the two different ones
        ("{name: ''}", "{name: ''}"),  # an empty name
    ],
)
def test_model_refs_the_values_refuse_stay_in_patches(tmp_path, decode, prefill):
    result = convert_text(tmp_path, _disagg_with_refs(decode, prefill))
    assert all("modelRef" not in result.values["model"][r] for r in ("decode", "prefill"))
    expected = [
        f"/spec/services/{w}/modelRef"
        for w, ref in (("VllmDecodeWorker", decode), ("VllmPrefillWorker", prefill))
        if ref
    ]
    assert [u.pointer for u in result.unexpressed] == expected


# ------------------------------------------------------------------------ plain ConfigMaps beside the DGD
MTP = "nemotron-3.5-lightning_vllm_agg-h100-mtp.yaml"


@pytest.mark.unit
def test_a_plain_configmap_is_model_configmaps():
    """Upstream's ConfigMap of speculative-decoding configs, which the worker reads by env configMapKeyRef:
    model.configMaps, its data as written (an extra object before), with a note."""
    result = imp.convert(imp.read_stream(UPSTREAM / MTP, MTP), MTP)
    assert result.unexpressed == [], "carried as an extra object before"
    data = result.values["model"]["configMaps"]["vllm-agg-h100-mtp-config"]
    assert sorted(data) == ["speculative-config", "speculative-config-synthetic"]
    assert json.loads(data["speculative-config"]) == {"method": "mtp", "num_speculative_tokens": 7}
    assert "extraObjects" not in result.values["model"] and "patches" not in result.values
    assert "ConfigMap 'vllm-agg-h100-mtp-config' (line 6): model.configMaps" in result.notes
    assert result.configs_moved == []  # compared as an object, not as an engine config


@pytest.mark.unit
def test_a_configmap_exported_from_the_cluster_is_model_configmaps(tmp_path):
    """What the API server writes into an exported ConfigMap, and the DGD's own namespace, are not its data:
    dropped (the server's fields listed), and the ConfigMap is model.configMaps still."""
    text = (UPSTREAM / MTP).read_text()
    text = text.replace(
        "  name: vllm-agg-h100-mtp-config\n",
        "  name: vllm-agg-h100-mtp-config\n  namespace: llm\n  uid: 1234\n  resourceVersion: '7'\n"
        "  annotations: {kubectl.kubernetes.io/last-applied-configuration: '{}'}\n",
        1,
    ).replace("  name: vllm-agg-h100-mtp\n", "  name: vllm-agg-h100-mtp\n  namespace: llm\n", 1)
    result = convert_text(tmp_path, text)
    assert result.unexpressed == []
    assert sorted(result.values["model"]["configMaps"]) == ["vllm-agg-h100-mtp-config"]
    (note,) = [n for n in result.notes if "model.configMaps" in n]
    assert "not carried: /metadata/uid, /metadata/resourceVersion" in note and "namespace" not in note


@pytest.mark.unit
@pytest.mark.parametrize(
    "change",
    [
        # a label of its own (not one of the chart's keys), an annotation of its own
        lambda t: t.replace(
            "  name: vllm-agg-h100-mtp-config\n", "  name: vllm-agg-h100-mtp-config\n  labels: {a: b}\n", 1
        ),
        lambda t: t.replace(
            "  name: vllm-agg-h100-mtp-config\n", "  name: vllm-agg-h100-mtp-config\n  annotations: {a: b}\n", 1
        ),
        # binary data, immutable: no values key says them
        lambda t: t.replace("data:\n  speculative-config:", "binaryData: {b: AAAA}\ndata:\n  speculative-config:"),
        lambda t: t.replace("data:\n  speculative-config:", "immutable: true\ndata:\n  speculative-config:"),
        # another namespace than the DGD's
        lambda t: t.replace(
            "  name: vllm-agg-h100-mtp-config\n", "  name: vllm-agg-h100-mtp-config\n  namespace: x\n", 1
        ),
        # the worker reads a key it does not hold (the pod would not start): not made valid by the import
        lambda t: t.replace("key: speculative-config #", "key: speculative-confg #"),
    ],
    ids=["labels", "annotations", "binary-data", "immutable", "namespace", "missing-key"],
)
def test_a_configmap_values_cannot_say_stays_an_extra_object(tmp_path, change):
    result = stays_an_extra_object(tmp_path, MTP, change, "configMaps", "ConfigMap")
    assert "ConfigMap vllm-agg-h100-mtp" in " ".join(u.document for u in result.unexpressed)


def stays_an_extra_object(tmp_path: Path, fixture: str, change, key: str, kind: str) -> imp.Imported:
    """The import of the upstream fixture, changed: the object is no model.<key> but an extra object."""
    original = (UPSTREAM / fixture).read_text()
    text = change(original)
    assert text != original
    result = convert_text(tmp_path, text)
    assert key not in result.values["model"]
    assert result.values["model"]["extraObjects"][0]["kind"] == kind
    return result


@pytest.mark.unit
def test_two_configmaps_of_one_name_stay_extra_objects(tmp_path):
    text = (UPSTREAM / MTP).read_text()
    text += "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: vllm-agg-h100-mtp-config}\ndata: {a: b}\n"
    result = convert_text(tmp_path, text)
    assert "configMaps" not in result.values["model"]
    assert len(result.values["model"]["extraObjects"]) == 2


@pytest.mark.unit
def test_a_configmap_named_as_the_charts_own_stays_an_extra_object(tmp_path):
    """TRT-LLM disaggregated under compose's own flags: the chart renders <name>-decode-config itself (its
    default cache transceiver), so a ConfigMap of that name is no model.configMaps (helm would refuse two)."""
    # decode without a command of its own: compose's flags (a command without args would be `args: []`)
    text = CONFIG_DGD.replace(", command: [python3, -m, dynamo.trtllm]}]}}", "}]}}")
    text = text.replace("spec:\n  components:", "spec:\n  backendFramework: trtllm\n  components:")
    text += "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: g-decode-config}\ndata: {a: b}\n"
    result = convert_text(tmp_path, text)
    assert "args" not in result.values["model"]["decode"]
    assert list(result.values["model"]["configMaps"]) == ["cfg"]
    assert [o["metadata"]["name"] for o in result.values["model"]["extraObjects"]] == ["g-decode-config"]


# ---------------------------------------------------------------------- DynamoModels (LoRA adapters) beside the DGD
LORA_HF = "vllm_agg_lora_hf.yaml"


@pytest.mark.unit
def test_a_lora_dynamo_model_is_model_loras():
    """Upstream's DynamoModel of a LoRA adapter from hf://, its baseModelName the worker's modelRef name:
    a model.loras entry (an extra object before), with a note; the chart writes baseModelName and
    modelType back."""
    result = imp.convert(imp.read_stream(UPSTREAM / LORA_HF, LORA_HF), LORA_HF)
    assert result.unexpressed == [], "carried as an extra object before"
    model = result.values["model"]
    assert model["loras"] == [
        {
            "name": "codelion-recovery-lora-hf",
            "modelName": "codelion/Qwen3-0.6B-accuracy-recovery-lora",
            "source": {"uri": "hf://codelion/Qwen3-0.6B-accuracy-recovery-lora"},
        }
    ]
    assert model["decode"]["modelRef"] == {"name": "Qwen/Qwen3-0.6B"}
    assert "extraObjects" not in model and "patches" not in result.values
    assert any(n.startswith("DynamoModel 'codelion-recovery-lora-hf' (line 54): model.loras") for n in result.notes)


@pytest.mark.unit
@pytest.mark.parametrize(
    "change",
    [
        # another base model than the one the workers name: the chart would write the workers' one
        lambda t: t.replace("  baseModelName: Qwen/Qwen3-0.6B", "  baseModelName: Qwen/Qwen3-8B"),
        # a base model, not an adapter; no modelType (the CRD's default is base)
        lambda t: t.replace("  modelType: lora", "  modelType: base"),
        lambda t: t.replace("  modelType: lora\n", ""),
        # a source scheme the loader does not document; a field model.loras has no key for
        lambda t: t.replace("uri: hf://", "uri: https://"),
        lambda t: t.replace("  source:\n", "  extra: 1\n  source:\n"),
        # labels of its own, another namespace than the DGD's, the v1beta1 form
        lambda t: t.replace(
            "  name: codelion-recovery-lora-hf\n", "  name: codelion-recovery-lora-hf\n  labels: {a: b}\n"
        ),
        lambda t: t.replace(
            "  name: codelion-recovery-lora-hf\n", "  name: codelion-recovery-lora-hf\n  namespace: x\n"
        ),
        lambda t: t.replace(
            "apiVersion: nvidia.com/v1alpha1\nkind: DynamoModel", "apiVersion: nvidia.com/v1beta1\nkind: DynamoModel"
        ),
    ],
    ids=["other-base", "base-model", "no-type", "https", "unknown-field", "labels", "namespace", "v1beta1"],
)
def test_a_dynamo_model_loras_cannot_say_stays_an_extra_object(tmp_path, change):
    stays_an_extra_object(tmp_path, LORA_HF, change, "loras", "DynamoModel")


@pytest.mark.unit
def test_a_lora_without_a_worker_model_ref_stays_an_extra_object(tmp_path):
    """No modelRef on the worker: model.loras would be refused (its DynamoModel finds no pod), so the
    DynamoModel is carried as it was."""
    text = (UPSTREAM / LORA_HF).read_text().replace("      modelRef:\n        name: Qwen/Qwen3-0.6B\n", "")
    result = convert_text(tmp_path, text)
    assert "loras" not in result.values["model"] and "modelRef" not in result.values["model"].get("decode", {})
    assert result.values["model"]["extraObjects"][0]["kind"] == "DynamoModel"


@pytest.mark.unit
def test_two_dynamo_models_of_one_name_stay_extra_objects(tmp_path):
    text = (UPSTREAM / LORA_HF).read_text()
    text += text[text.index("---\napiVersion: nvidia.com/v1alpha1") :].replace("uri: hf://", "uri: s3://")
    result = convert_text(tmp_path, text)
    assert "loras" not in result.values["model"]
    assert [o["kind"] for o in result.values["model"]["extraObjects"]] == ["DynamoModel", "DynamoModel"]
