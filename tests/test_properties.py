"""Property tests (hypothesis) over generated values documents.

The strategies below build values files (and an environment overlay) that the values schema
accepts, across backend x disaggregation x routing x replicas/GPUs x engine config (ConfigMap
reference or inline) x the optional sections, with DNS names at and below their length limits.
They stay inside what the schema *means*; the places where the schema accepts more than the charts
or the Dynamo CRD do are pinned down one by one in `test_accepted_values_render` at the end.

Properties:
* generation never crashes, is deterministic (twice the same bytes) and does not depend on the key
  order of the input;
* any document, even a broken one, gives files or located problems (exit 2), never a crash;
* the generated helmfile renders with the real helmfile (`compose template --env dev`, offline),
  and every rendered object passes tests/support/validate.py (Dynamo CRD + strict Kubernetes schemas).
"""

from __future__ import annotations

import io
import random
import string
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from composer import project as p
from composer.errors import InvalidValues
from composer.model import K8S_NAME_MAX, derived_names
from tests.support.project import make_project
from tests.support.validate import all_errors, load_docs

# --- strategies ---------------------------------------------------------------------------------


def yaml11_string(s: str) -> bool:
    """Any string but one PyYAML (tests/support/validate) cannot read back: "=", YAML 1.1's value
    key, which helm's toYaml leaves plain. y/n/yes/no/on/off are in: compose and the charts quote
    them for helm's YAML 1.1 (test_yaml_1_1_words_stay_strings)."""
    try:
        yaml.safe_load(s)
    except yaml.constructor.ConstructorError:
        return False
    except yaml.YAMLError:  # not a plain scalar at all: every writer quotes it
        pass
    return True


def text(regex: str) -> st.SearchStrategy[str]:
    return st.from_regex(regex, fullmatch=True).filter(yaml11_string)


def dns_label(max_len: int = K8S_NAME_MAX, *, letter_first: bool = False) -> st.SearchStrategy[str]:
    """A DNS-1123 label of 1..max_len characters (a DNS-1035 label, as Service names are, with
    letter_first); lengths near the limit are drawn often."""
    alnum = string.ascii_lowercase + string.digits
    first = string.ascii_lowercase if letter_first else alnum

    @st.composite
    def build(draw):
        n = draw(st.one_of(st.integers(1, min(8, max_len)), st.integers(1, max_len), st.just(max_len)))
        if n == 1:
            return draw(st.sampled_from(first))
        inner = draw(st.text(alphabet=alnum + "-", min_size=n - 2, max_size=n - 2))
        return draw(st.sampled_from(first)) + inner + draw(st.sampled_from(alnum))

    return build().filter(yaml11_string)


def longest_deployment_name() -> int:
    """dynamoNamespace's real limit: the longest name whose derived names all fit."""
    return max(n for n in range(1, 64) if all(len(d) <= lim for d, lim in derived_names("a" * n)))


quantity_cpu = st.sampled_from(["100m", "250m", "1", "2", "4", "0.5"])
quantity_mem = st.sampled_from(["512Mi", "1Gi", "16Gi", "64G"])
resources = st.fixed_dictionaries(
    {},
    optional={
        "requests": st.fixed_dictionaries({}, optional={"cpu": quantity_cpu, "memory": quantity_mem}),
        "limits": st.fixed_dictionaries(
            {}, optional={"cpu": quantity_cpu, "memory": quantity_mem, "ephemeral-storage": quantity_mem}
        ),
    },
)
env_var = st.fixed_dictionaries(
    {
        "name": text(r"[A-Z_][A-Z0-9_]{0,20}"),
        "value": st.text(alphabet=string.ascii_letters + string.digits + " ._-/:=", max_size=30).filter(yaml11_string),
    }
)
flag = st.from_regex(r"--[a-z][a-z0-9-]{0,20}", fullmatch=True)
extra_args = st.lists(st.one_of(flag, text(r"[A-Za-z0-9._:/=-]{1,20}")), max_size=4)
# Absolute, at least two plain segments (see test_accepted_values_render for what else is accepted).
segment = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,15}", fullmatch=True).filter(lambda s: s not in (".", ".."))
abs_path = st.lists(segment, min_size=2, max_size=4).map(lambda parts: "/" + "/".join(parts))
scalar = st.one_of(
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(alphabet=string.ascii_letters + string.digits + " .:/_-", max_size=20).filter(yaml11_string),
)
inline_config = st.dictionaries(
    text(r"[a-z][a-z0-9-]{0,20}"), st.one_of(scalar, st.lists(scalar, max_size=3)), min_size=1, max_size=5
)
config_map_ref = st.fixed_dictionaries(
    {"name": dns_label(253)}, optional={"key": text(r"[-._a-zA-Z0-9]{1,40}").filter(lambda k: k not in (".", ".."))}
)


@st.composite
def extra_config(draw):
    cfg = {}
    if draw(st.booleans()):
        cfg["path"] = draw(abs_path)
    source = draw(st.sampled_from(["inline", "configMapRef", "none"]))
    if source == "inline":
        cfg["inline"] = draw(inline_config)
    elif source == "configMapRef":
        cfg["configMapRef"] = draw(config_map_ref)
    return cfg


def worker(backend: str) -> st.SearchStrategy[dict]:
    # sglang passes gpus as --tp, so its chart needs at least 1 (see test_accepted_values_render)
    gpus = st.integers(1, 8) if backend == "sglang" else st.integers(0, 8)
    return st.fixed_dictionaries(
        {},
        optional={
            "replicas": st.integers(0, 4),
            "gpus": gpus,
            "resources": resources,
            "extraArgs": extra_args,
            "env": st.lists(env_var, max_size=3, unique_by=lambda e: e["name"]),
            "extraConfig": extra_config(),
        },
    )


label_key = st.sampled_from(
    ["kubernetes.io/arch", "node.kubernetes.io/instance-type", "nvidia.com/gpu.product", "pool"]
)
label_value = text(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,30}[A-Za-z0-9])?)?")
toleration = st.one_of(
    st.fixed_dictionaries(
        {"key": label_key, "operator": st.just("Exists")},
        optional={"effect": st.sampled_from(["NoSchedule", "NoExecute", "PreferNoSchedule"])},
    ),
    st.fixed_dictionaries(
        {"key": label_key, "operator": st.just("Equal"), "value": label_value},
        optional={"effect": st.sampled_from(["NoSchedule", "NoExecute"])},
    ),
)
image = st.one_of(
    st.sampled_from(
        [
            "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0",
            "my.registry:5000/team/runtime:latest",
            "runtime",
            "ghcr.io/x/y@sha256:" + "a" * 64,
            "registry.local/dynamo:v1.4.0-rc1",
        ]
    )
)
# ModelExpress's image is split at its last ':' into repository and tag, so it needs a tag
# (see test_accepted_values_render).
tagged_image = st.sampled_from(
    [
        "nvcr.io/nvidia/ai-dynamo/modelexpress-server:0.2.0",
        "registry.local:5000/mx:dev",
        "ghcr.io/x/mx@sha256:" + "b" * 64,
        "mx:1",
    ]
)
versions = st.sampled_from(["1.4.0", "1.5.1", "1.6.0", "1.6.1"])


@st.composite
def model_section(draw, backend: str):
    disagg = draw(st.booleans())
    model = {
        "name": draw(text(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}(/[A-Za-z0-9._-]{1,30})?")),
        "backend": {"type": backend},
    }
    if draw(st.booleans()):
        model["backend"]["image"] = draw(image)
    optional = {
        "deployment": st.fixed_dictionaries({}, optional={"create": st.booleans()}),
        "routingPolicy": st.sampled_from(
            ["none", "kv", "random", "round-robin", "power-of-two", "least-loaded", "device-aware-weighted"]
        ),
        "frontend": st.fixed_dictionaries({}, optional={"replicas": st.integers(1, 4), "resources": resources}),
        "decode": worker(backend),
        "hfTokenSecret": dns_label(253),
        "modelCache": st.fixed_dictionaries({"pvcName": dns_label(253)}, optional={"mountPath": abs_path}),
        "sharedMemorySize": st.sampled_from(["16Gi", "1.5Gi", "512Mi", "8G", "0"]),
        "imagePullSecrets": st.lists(dns_label(253), max_size=3, unique=True),
        "nodeSelector": st.dictionaries(label_key, label_value, max_size=2),
        "tolerations": st.lists(toleration, max_size=2),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            model[key] = draw(strategy)
    if disagg or draw(st.booleans()):
        model["disaggregation"] = disagg
    if disagg and draw(st.booleans()):
        model["prefill"] = draw(worker(backend))
    if draw(st.booleans()):  # the aggregated worker's type; decode is the only one a disaggregated graph takes
        model.setdefault("decode", {})["type"] = draw(st.sampled_from(["decode"] if disagg else ["worker", "decode"]))
    return model


sections = {
    "benchmark": st.fixed_dictionaries(
        {},
        optional={
            "enabled": st.booleans(),
            "config": st.fixed_dictionaries(
                {},
                optional={
                    "concurrency": st.lists(st.integers(1, 256), min_size=1, max_size=4, unique=True),
                    "requestCount": st.integers(1, 1000),
                    "isl": st.integers(1, 8192),
                    "osl": st.integers(1, 4096),
                    "warmupRequestCount": st.integers(0, 10),
                    "image": image,
                    "storage": st.fixed_dictionaries(
                        {},
                        optional={
                            "size": quantity_mem,
                            "storageClassName": dns_label(63),
                            "existingClaim": dns_label(253),
                        },
                    ),
                },
            ),
        },
    ),
    "observability": st.fixed_dictionaries(
        {}, optional={"enabled": st.booleans(), "prometheusRelease": dns_label(63), "dashboardNamespace": dns_label(63)}
    ),
    "inferenceGateway": st.fixed_dictionaries(
        {},
        optional={
            "enabled": st.booleans(),
            "gateway": st.fixed_dictionaries({}, optional={"name": dns_label(63), "namespace": dns_label(63)}),
        },
    ),
    "modelExpress": st.fixed_dictionaries(
        {}, optional={"enabled": st.booleans(), "image": tagged_image, "storageSize": quantity_mem}
    ),
    "platform": st.fixed_dictionaries(
        {}, optional={"install": st.booleans(), "version": versions, "namespace": dns_label(63)}
    ),
}
cluster = st.fixed_dictionaries(
    {"namespace": dns_label(63)},
    optional={
        "kubeContext": text(r"[A-Za-z0-9][A-Za-z0-9@:._/-]{0,30}"),
        "createNamespace": st.booleans(),
        "production": st.booleans(),
        "imageRegistry": st.sampled_from(["nvcr.io/nvidia/ai-dynamo", "registry.local:5000/mirror", "ghcr.io/org"]),
    },
)


@st.composite
def projects(draw):
    """(values, overlay): a values file and environments/dev.yaml that the schema accepts."""
    backend = draw(st.sampled_from(["vllm", "sglang", "trtllm", "mocker"]))
    values = {
        "dynamoNamespace": draw(dns_label(longest_deployment_name(), letter_first=True)),
        "model": draw(model_section(backend)),
    }
    for key, strategy in sections.items():
        if draw(st.booleans()):
            values[key] = draw(strategy)
    overlay = {"cluster": draw(cluster)}
    if backend == "mocker" and draw(st.booleans()):
        overlay["target"] = "local"
        if draw(st.booleans()):
            overlay["local"] = {"httpPort": draw(st.integers(1024, 65535))}
    if draw(st.booleans()):  # the overlay also resizes the decode workers
        overlay["model"] = {"decode": {"replicas": draw(st.integers(0, 4))}}
    return values, overlay


# --- helpers ------------------------------------------------------------------------------------


def to_yaml(data) -> str:
    yaml = YAML(typ="safe", pure=True)  # the YAML version compose reads (1.2)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


def shuffled(node, rng: random.Random):
    if isinstance(node, dict):
        keys = list(node)
        rng.shuffle(keys)
        return {k: shuffled(node[k], rng) for k in keys}
    if isinstance(node, list):
        return [shuffled(v, rng) for v in node]
    return node


def project_in(tmp: Path, values, overlay) -> p.Project:
    root = make_project(tmp / "proj", to_yaml(values), {"dev": to_yaml(overlay)})
    return p.Project.at(root / "values.yaml")


# --- properties ---------------------------------------------------------------------------------


@pytest.mark.sweep  # 60 generated projects, each in shuffled key orders
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=projects(), seed=st.integers(0, 2**32 - 1))
def test_generation_is_deterministic_and_ignores_key_order(doc, seed):
    values, overlay = doc
    with tempfile.TemporaryDirectory() as tmp:
        proj = project_in(Path(tmp), values, overlay)
        first = p.files(proj)  # never raises for a schema-valid document
        assert p.files(proj) == first
        assert set(first) >= {"dev.yaml"}

        rng = random.Random(seed)
        other = project_in(Path(tmp) / "shuffled", shuffled(values, rng), shuffled(overlay, rng))
        assert p.files(other) == first, "key order in the inputs changed the output"

        assert p.generate(proj) is True
        assert p.generate(proj) is False, "a second generate finds nothing to change"
        assert p.stale_diff(proj) == ""


# Places a broken document can break: replace a value, add an unknown key, delete a key.
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def mutate(node, path_seed: random.Random, replacement, action: str):
    """Apply one change at a random place in the (copied) document."""
    import copy

    doc = copy.deepcopy(node)
    containers = []

    def walk(n, depth):
        if isinstance(n, dict):
            containers.append(n)
            for v in n.values():
                walk(v, depth + 1)
        elif isinstance(n, list):
            containers.append(n)
            for v in n:
                walk(v, depth + 1)

    walk(doc, 0)
    target = path_seed.choice(containers)
    if isinstance(target, dict):
        if action == "add" or not target:
            target["x" + str(path_seed.randrange(100))] = replacement
        else:
            key = path_seed.choice(sorted(target))
            if action == "delete":
                del target[key]
            else:
                target[key] = replacement
    elif target:
        target[path_seed.randrange(len(target))] = replacement
    else:
        target.append(replacement)
    return doc


@pytest.mark.sweep  # 150 generated broken projects
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    doc=projects(),
    seed=st.integers(0, 2**32 - 1),
    replacement=junk,
    action=st.sampled_from(["replace", "add", "delete"]),
    in_overlay=st.booleans(),
)
def test_broken_documents_give_located_problems_never_a_crash(doc, seed, replacement, action, in_overlay):
    values, overlay = doc
    rng = random.Random(seed)
    if in_overlay:
        overlay = mutate(overlay, rng, replacement, action)
    else:
        values = mutate(values, rng, replacement, action)
    with tempfile.TemporaryDirectory() as tmp:
        proj = project_in(Path(tmp), values, overlay)
        try:
            p.files(proj)
        except InvalidValues as e:
            assert e.problems
            for problem in e.problems:
                assert problem.file in ("values.yaml", "environments/dev.yaml"), problem
                assert problem.line >= 1 and problem.column >= 1, f"not located: {problem}"
                assert problem.message


@pytest.mark.helm
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=projects())
def test_generated_helmfile_renders_valid_manifests(doc):
    values, overlay = doc
    with tempfile.TemporaryDirectory() as tmp:
        proj = project_in(Path(tmp), values, overlay)
        plan = p.plans(proj, ["dev"])["dev"]
        r = subprocess.run(
            [sys.executable, "-m", "composer", "template", "--env", "dev"],
            cwd=proj.root,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, f"{to_yaml(values)}\n---\n{to_yaml(overlay)}\n{r.stderr}"
        docs = load_docs(r.stdout)
        assert all_errors(docs) == []

        merged = p.load_deployment(proj, "dev").values
        dgds = [d for d in docs if d["kind"] == "DynamoGraphDeployment"]
        if not merged["model"]["deployment"]["create"]:
            assert dgds == []
            return
        [dgd] = dgds
        assert dgd["metadata"]["name"] == merged["dynamoNamespace"]
        assert dgd["metadata"]["namespace"] == plan.release("model").namespace == merged["cluster"]["namespace"]
        components = {c["name"]: c for c in dgd["spec"]["components"]}
        model = merged["model"]
        roles = ["decode", "prefill"] if model["disaggregation"] else ["decode"]
        assert set(components) == {"frontend", *roles}
        for role in roles:
            assert components[role]["replicas"] == model.get(role, {}).get("replicas", 1)
        assert components["frontend"]["replicas"] == model["frontend"]["replicas"]
        for c in components.values():
            spec = c["podTemplate"]["spec"]
            pulls = [s["name"] for s in spec.get("imagePullSecrets", [])]
            assert pulls == model.get("imagePullSecrets", [])
            env_from = [e["secretRef"]["name"] for e in spec["containers"][0].get("envFrom", [])]
            assert env_from == ([model["hfTokenSecret"]] if model.get("hfTokenSecret") else [])


# --- what the schema accepts but the charts or the CRD do not -------------------------------------
# Each input passes `compose validate`/`generate` (exit 0), then `compose template` or
# `compose up` fails in helm, or renders a DynamoGraphDeployment the Dynamo CRD rejects. The
# property that must hold: compose either rejects the input with a located error (exit 2), or
# renders valid manifests.

GAPS = {
    "sglang-zero-gpus": "model: {name: m, backend: {type: sglang}, decode: {gpus: 0}}",
    "config-path-one-segment": "model: {name: m, backend: {type: vllm}, decode: {extraConfig: "
    "{path: /config.yaml, inline: {a: 1}}}}",
    "config-path-double-slash": "model: {name: m, backend: {type: vllm}, decode: {extraConfig: "
    "{path: /opt//config.yaml, inline: {a: 1}}}}",
    "config-path-dot-segment": "model: {name: m, backend: {type: vllm}, decode: {extraConfig: "
    "{path: /opt/./config.yaml, inline: {a: 1}}}}",
    "cache-mount-trailing-slash": "model: {name: m, backend: {type: vllm}, modelCache: {pvcName: c, mountPath: /data/}}",
    "cache-mount-root": "model: {name: m, backend: {type: vllm}, modelCache: {pvcName: c, mountPath: /}}",
    "cache-mount-space": "model: {name: m, backend: {type: vllm}, modelCache: {pvcName: c, mountPath: /my cache}}",
    "platform-version-before-1.2": "model: {name: m, backend: {type: vllm}}\nplatform: {version: 1.0.0}",
    "platform-version-leading-zero": "model: {name: m, backend: {type: vllm}}\nplatform: {version: 01.4.0}",
    "image-with-space": "model: {name: m, backend: {type: vllm, image: my image}}",
    "env-empty-name": "model: {name: m, backend: {type: vllm}, decode: {env: [{name: ''}]}}",
    "env-misspelt-field": "model: {name: m, backend: {type: vllm}, decode: {env: [{name: A, valu: x}]}}",
    "toleration-not-a-toleration": "model: {name: m, backend: {type: vllm}, tolerations: [{foo: bar}]}",
    "cpu-not-a-quantity": "model: {name: m, backend: {type: vllm}, decode: {resources: {requests: {cpu: lots}}}}",
    "model-express-image-without-tag": "model: {name: m, backend: {type: vllm}}\n"
    "modelExpress: {enabled: true, image: modelexpress-server}",
    "model-express-image-registry-port-no-tag": "model: {name: m, backend: {type: vllm}}\n"
    "modelExpress: {enabled: true, image: 'registry.local:5000/mx'}",
    "pull-secret-longer-than-253": "model: {name: m, backend: {type: vllm}, imagePullSecrets: [" + "a" * 254 + "]}",
}


@pytest.mark.helm  # an accepted value is rendered by real helm
@pytest.mark.parametrize("values", GAPS.values(), ids=GAPS.keys())
def test_accepted_values_render(values, tmp_path):
    root = make_project(tmp_path / "proj", f"dynamoNamespace: gap\n{values}\n", {"dev": "cluster: {namespace: llm}\n"})
    r = subprocess.run(
        [sys.executable, "-m", "composer", "template", "--env", "dev"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if r.returncode == 2:  # rejected up front: the error must be located in the values file
        assert r.stderr.startswith("values.yaml:"), r.stderr
        return
    assert r.returncode == 0, r.stderr
    assert all_errors(load_docs(r.stdout)) == []


@pytest.mark.cli
def test_template_without_local_releases_is_not_an_error(tmp_path):
    """deployment.create: false is documented ("it exists already; compose adds only the other
    components"); with no other component there is nothing of ours to render, which is no error."""
    root = make_project(
        tmp_path / "proj",
        "dynamoNamespace: a\nmodel: {name: m, backend: {type: vllm}, deployment: {create: false}}\n",
        {"dev": "cluster: {namespace: a}\n"},
    )
    r = subprocess.run(
        [sys.executable, "-m", "composer", "template", "--env", "dev"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert load_docs(r.stdout) == []


# helm reads values files as YAML 1.1: these words, written unquoted by compose, arrive as booleans.
YAML11 = {
    "model-name": (
        "model: {name: 'N', backend: {type: vllm}}",
        lambda docs: _dgd(docs)["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]["args"][1] == "N",
    ),
    "env-value": (
        "model: {name: m, backend: {type: vllm}, decode: {env: [{name: A, value: 'yes'}]}}",
        lambda docs: _worker(docs)["env"] == [{"name": "A", "value": "yes"}],
    ),
    "extra-arg": (
        "model: {name: m, backend: {type: vllm}, decode: {extraArgs: [--mode, 'off']}}",
        lambda docs: _worker(docs)["args"][-2:] == ["--mode", "off"],
    ),
    "node-selector": (
        "model: {name: m, backend: {type: vllm}, nodeSelector: {gpu: 'yes'}}",
        lambda docs: _dgd(docs)["spec"]["components"][1]["podTemplate"]["spec"]["nodeSelector"] == {"gpu": "yes"},
    ),
    "deployment-name": ("model: {name: m, backend: {type: vllm}}", lambda docs: _dgd(docs)["metadata"]["name"] == "on"),
    # the manifests say `namespace: yes`, which kubectl and helm (YAML 1.1) read as true
    "cluster-namespace": (
        "model: {name: m, backend: {type: vllm}}\ncluster: {namespace: 'yes'}",
        lambda docs: {d["metadata"]["namespace"] for d in docs} == {"yes"},
    ),
    "config-map-key": (
        "model: {name: m, backend: {type: vllm}, decode: {extraConfig: {configMapRef: {name: c, key: 'on'}}}}",
        lambda docs: (
            _dgd(docs)["spec"]["components"][1]["podTemplate"]["spec"]["volumes"][0]["configMap"]["items"][0]["key"]
            == "on"
        ),
    ),
    # no error anywhere: the engine silently gets `mode: true`
    "inline-config": (
        "model: {name: m, backend: {type: vllm}, decode: {extraConfig: {inline: {mode: 'on'}}}}",
        lambda docs: (
            yaml.safe_load(next(d for d in docs if d["kind"] == "ConfigMap")["data"]["config.yaml"]) == {"mode": "on"}
        ),
    ),
}


def _dgd(docs):
    return next(d for d in docs if d["kind"] == "DynamoGraphDeployment")


def _worker(docs):
    return _dgd(docs)["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]


@pytest.mark.helm
@pytest.mark.parametrize("values, check", YAML11.values(), ids=YAML11.keys())
def test_yaml_1_1_words_stay_strings(values, check, tmp_path):
    name = "'on'" if check is YAML11["deployment-name"][1] else "gap"
    # the overlay must not override a namespace the case sets itself
    overlay = "target: kubernetes\n" if "cluster:" in values else "cluster: {namespace: llm}\n"
    root = make_project(tmp_path / "proj", f"dynamoNamespace: {name}\n{values}\n", {"dev": overlay})
    r = subprocess.run(
        [sys.executable, "-m", "composer", "template", "--env", "dev"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    docs = load_docs(r.stdout)  # PyYAML: YAML 1.1, as helm, kubectl and the engines read it
    assert all_errors(docs) == []
    assert check(docs)
