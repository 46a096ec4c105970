"""Values that `compose validate` used to accept and that then rendered wrong, were refused by a chart
later (exit 1, no location), or would be refused only by a cluster: each is now refused by
`compose validate` with exit 2 at its own line:column and JSON pointer. And what each chart
renders (plan.rendered_objects, which the patch-target rule uses) is what real helm renders."""

import pytest

from composer import manifests
from composer import project as p
from composer.plan import rendered_objects
from tests.support.cases import CASES, copy_case
from tests.support.project import compose, make_project
from tests.support.validate import load_docs

MODEL = "model:\n  name: Qwen/Qwen3-0.6B\n  backend: {type: vllm}\n"
LONG = "a" * 64

REFUSED = {
    # rendered wrong: -9223372036854775808 replicas; no GPU request and a negative GPU count for the Job
    "replicas-beyond-int64": (
        MODEL + "  decode: {replicas: 99999999999999999999}\n",
        "/model/decode/replicas",
        "expected at most 2147483647",
    ),
    "gpus-beyond-int64": (
        MODEL + "  decode: {gpus: 9223372036854775808}\n",
        "/model/decode/gpus",
        "expected at most 16",
    ),
    "gpus-1e308": (MODEL + "  decode: {gpus: 1e308}\n", "/model/decode/gpus", "expected an integer, got the decimal"),
    "gpus-a-million": (MODEL + "  decode: {gpus: 1000000}\n", "/model/decode/gpus", "expected at most 16"),
    "integral-decimal": (
        MODEL + "  frontend: {replicas: 4.0}\n",
        "/model/frontend/replicas",
        "expected an integer, got the decimal number 4.0",
    ),
    "isl-exponent": (
        MODEL + "benchmark: {config: {isl: 1e3}}\n",
        "/benchmark/config/isl",
        "expected an integer, got the decimal number 1000.0",
    ),
    "concurrency-decimal": (
        MODEL + "benchmark: {config: {concurrency: [4.0]}}\n",
        "/benchmark/config/concurrency/0",
        "expected an integer, got the decimal number 4.0",
    ),
    # refused by a chart later, without a location
    "dashboard-namespace-64": (
        MODEL + f"observability: {{enabled: true, dashboardNamespace: {LONG}}}\n",
        "/observability/dashboardNamespace",
        "64 characters; the limit is 63",
    ),
    "existing-claim-254": (
        MODEL + f"benchmark: {{config: {{storage: {{existingClaim: {'a' * 254}}}}}}}\n",
        "/benchmark/config/storage/existingClaim",
        "254 characters; the limit is 253",
    ),
    "storage-size-words": (
        MODEL + "benchmark: {config: {storage: {size: ten gigs}}}\n",
        "/benchmark/config/storage/size",
        "expected a Kubernetes quantity, got a string of 8 characters",
    ),
    "benchmark-image-space": (
        MODEL + "benchmark: {config: {image: my image}}\n",
        "/benchmark/config/image",
        "expected an image reference, got a string of 8 characters",
    ),
    "prometheus-release-label": (
        MODEL + "observability: {prometheusRelease: 'kube prometheus'}\n",
        "/observability/prometheusRelease",
        "expected a Kubernetes label value, got a string of 15 characters",
    ),
    "inline-inf": (
        MODEL + "  decode: {extraConfig: {inline: {a: .inf}}}\n",
        "/model/decode/extraConfig/inline/a",
        ".inf is not a number JSON, and so helm, can carry",
    ),
    "inline-nan": (
        MODEL + "  decode: {extraConfig: {inline: {a: [.nan]}}}\n",
        "/model/decode/extraConfig/inline/a/0",
        ".nan is not a number JSON, and so helm, can carry",
    ),
    "inline-rounded": (
        MODEL + "  decode: {extraConfig: {inline: {a: 12345678901234567}}}\n",
        "/model/decode/extraConfig/inline/a",
        "is beyond 2^53",
    ),
    "version-five-digits": (
        MODEL + "platform: {version: 12345.0.0}\n",
        "/platform/version",
        "expected a version MAJOR.MINOR.PATCH, got a string of 9 characters",
    ),
    # refused only by a cluster
    "env-value-and-value-from": (
        MODEL + "  decode: {env: [{name: A, value: b, valueFrom: {secretKeyRef: {name: s, key: k}}}]}\n",
        "/model/decode/env/0/valueFrom",
        "A has both value and valueFrom",
    ),
    "cpu-negative": (
        MODEL + "  decode: {resources: {requests: {cpu: '-4'}}}\n",
        "/model/decode/resources/requests/cpu",
        "expected a non-negative Kubernetes quantity, got a string of 2 characters",
    ),
    "cpu-nan": (
        MODEL + "  decode: {resources: {limits: {cpu: .nan}}}\n",
        "/model/decode/resources/limits/cpu",
        "expected a string or a number, got the non-finite number .nan",
    ),
    # valueFrom is a Kubernetes EnvVarSource: exactly one source, each with its required keys
    "value-from-empty": (
        MODEL + "  decode: {env: [{name: A, valueFrom: {}}]}\n",
        "/model/decode/env/0/valueFrom",
        "expected exactly one of secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef; got an empty mapping",
    ),
    "value-from-two-sources": (
        MODEL + "  decode: {env: [{name: A, valueFrom: {secretKeyRef: {name: s, key: k}, "
        "fieldRef: {fieldPath: metadata.name}}}]}\n",
        "/model/decode/env/0/valueFrom",
        "expected exactly one of",
    ),
    "value-from-unknown-source": (
        MODEL + "  decode: {env: [{name: A, valueFrom: {secretRef: {name: s}}}]}\n",
        "/model/decode/env/0/valueFrom/secretRef",
        "unknown key 'secretRef'",
    ),
    "secret-key-ref-without-key": (
        MODEL + "  decode: {env: [{name: A, valueFrom: {secretKeyRef: {name: s}}}]}\n",
        "/model/decode/env/0/valueFrom/secretKeyRef",
        "missing required key 'key'",
    ),
    "secret-key-ref-bad-name": (
        MODEL + "  decode: {env: [{name: A, valueFrom: {secretKeyRef: {name: My_Secret, key: k}}}]}\n",
        "/model/decode/env/0/valueFrom/secretKeyRef/name",
        "expected a valid Kubernetes object name",
    ),
    "secret-key-ref-unknown-key": (
        MODEL + "  decode: {env: [{name: A, valueFrom: {secretKeyRef: {name: s, key: k, namespace: x}}}]}\n",
        "/model/decode/env/0/valueFrom/secretKeyRef/namespace",
        "unknown key 'namespace'",
    ),
    "config-map-key-ref-without-name": (
        MODEL + "  prefill: {env: [{name: A, valueFrom: {configMapKeyRef: {key: k}}}]}\n  disaggregation: true\n",
        "/model/prefill/env/0/valueFrom/configMapKeyRef",
        "missing required key 'name'",
    ),
    "config-map-key-ref-bad-key": (
        MODEL + "  decode: {env: [{name: A, valueFrom: {configMapKeyRef: {name: c, key: a/b}}}]}\n",
        "/model/decode/env/0/valueFrom/configMapKeyRef/key",
        "expected a ConfigMap key",
    ),
    "field-ref-without-field-path": (
        MODEL + "  decode: {env: [{name: A, valueFrom: {fieldRef: {apiVersion: v1}}}]}\n",
        "/model/decode/env/0/valueFrom/fieldRef",
        "missing required key 'fieldPath'",
    ),
    "field-ref-bad-path": (
        MODEL + "  decode: {env: [{name: A, valueFrom: {fieldRef: {fieldPath: 'metadata name'}}}]}\n",
        "/model/decode/env/0/valueFrom/fieldRef/fieldPath",
        "expected a pod field path",
    ),
    "resource-field-ref-without-resource": (
        MODEL + "  decode: {env: [{name: A, valueFrom: {resourceFieldRef: {containerName: main}}}]}\n",
        "/model/decode/env/0/valueFrom/resourceFieldRef",
        "missing required key 'resource'",
    ),
    "resource-field-ref-bad-resource": (
        MODEL + "  decode: {env: [{name: A, valueFrom: {resourceFieldRef: {resource: cpu}}}]}\n",
        "/model/decode/env/0/valueFrom/resourceFieldRef/resource",
        "expected a container resource",
    ),
    "value-from-a-string": (
        MODEL + "  decode: {env: [{name: A, valueFrom: my-secret}]}\n",
        "/model/decode/env/0/valueFrom",
        "expected a mapping, got a string",
    ),
    # patches that would change nothing, or carry a path kustomize cannot follow
    "json-patch-bad-escape": (
        MODEL + "patches: {model: {jsonPatches: [{target: {version: v1beta1, "
        "kind: DynamoGraphDeployment, name: demo}, patch: [{op: remove, path: /a~2b}]}]}}\n",
        "/patches/model/jsonPatches/0/patch/0/path",
        "expected a JSON pointer, got a string of 5 characters",
    ),
    "patch-matches-nothing": (
        MODEL + "patches: {model: {strategicMergePatches: [{apiVersion: v1, kind: ConfigMap, "
        "metadata: {name: demo-decode-config}}]}}\n",
        "/patches/model/strategicMergePatches/0/metadata/name",
        "the model release renders no ConfigMap named 'demo-decode-config'",
    ),
}


@pytest.mark.cli
@pytest.mark.parametrize("values, pointer, message", REFUSED.values(), ids=REFUSED.keys())
def test_refused_at_its_location(values, pointer, message, tmp_path):
    root = make_project(tmp_path / "proj", f"dynamoNamespace: demo\n{values}", {"dev": "cluster: {namespace: llm}\n"})
    r = compose("validate", "--env", "dev", cwd=root)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    (line,) = [x for x in r.stderr.splitlines() if f": {pointer}: " in x]
    where = line.split(": ")[0].split(":")
    assert where[0] == "values.yaml" and int(where[1]) >= 1 and int(where[2]) >= 1, line
    assert message in line, r.stderr


@pytest.mark.cli
def test_a_config_map_over_a_mebibyte_is_refused_at_its_name(tmp_path):
    """Kubernetes refuses a ConfigMap of more than 1 MiB of data. A values file is at most 1 MiB itself, but
    an environment's overlay adds to it: the merged ConfigMap is refused where values.yaml names it."""
    values = f"dynamoNamespace: demo\n{MODEL}  configMaps:\n    big:\n      a: {'x' * 600_000}\n"
    env = f"cluster: {{namespace: llm}}\nmodel: {{configMaps: {{big: {{b: {'y' * 600_000}}}}}}}\n"
    root = make_project(tmp_path / "proj", values, {"dev": env})
    r = compose("validate", "--env", "dev", cwd=root)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.splitlines()[0] == (
        "values.yaml:6:5: /model/configMaps/big: 1,200,002 bytes of data; Kubernetes takes at most 1,048,576 in "
        "a ConfigMap"
    ), r.stderr


VALUE_FROM = [
    "{secretKeyRef: {name: hf-token, key: HF_TOKEN, optional: true}}",
    "{configMapKeyRef: {name: settings, key: log.level}}",
    "{fieldRef: {fieldPath: \"metadata.labels['app']\", apiVersion: v1}}",
    "{resourceFieldRef: {resource: limits.memory, containerName: main, divisor: 1Mi}}",
]


@pytest.mark.helm
def test_each_kind_of_value_from_is_accepted_and_rendered_as_written(tmp_path):
    env = "".join(f"      - {{name: V{i}, valueFrom: {v}}}\n" for i, v in enumerate(VALUE_FROM))
    root = make_project(
        tmp_path / "proj",
        f"dynamoNamespace: demo\n{MODEL}  decode:\n    env:\n{env}",
        {"dev": "cluster: {namespace: llm}\n"},
    )
    r = compose("validate", "--env", "dev", cwd=root)
    assert r.returncode == 0, r.stderr
    proj = p.Project.at(root / "values.yaml")
    p.generate(proj)
    plan = p.plans(proj, ["dev"])["dev"]
    (dgd,) = [
        d
        for d in load_docs(
            manifests.releases(proj.root, plan, [plan.release("model").name])[plan.release("model").name]
        )
        if d["kind"] == "DynamoGraphDeployment"
    ]
    import yaml

    def env_vars(node):
        if isinstance(node, dict):
            for k, v in node.items():
                yield from (v if k == "env" and isinstance(v, list) else env_vars(v))
        elif isinstance(node, list):
            for v in node:
                yield from env_vars(v)

    rendered = [e for e in env_vars(dgd) if e["name"].startswith("V")]
    assert [e["valueFrom"] for e in rendered] == [yaml.safe_load(v) for v in VALUE_FROM]


@pytest.mark.cli
def test_a_deployment_name_must_start_with_a_letter(tmp_path):
    root = make_project(tmp_path / "proj", f"dynamoNamespace: 9qwen\n{MODEL}", {"dev": "cluster: {namespace: llm}\n"})
    r = compose("validate", "--env", "dev", cwd=root)
    assert r.returncode == 2
    assert r.stderr.startswith(
        "values.yaml:1:18: /dynamoNamespace: expected a valid DNS-1035 label, got a string of 5 characters\n"
    ), r.stderr


def recipe_projects(tmp_path):
    from composer import recipes

    for recipe in recipes.available():
        dest = tmp_path / recipe.name.replace("/", "-")
        recipes.scaffold(recipe.name, dest)
        yield recipe.name, p.Project.at(dest / "values.yaml")


@pytest.mark.helm
def test_rendered_objects_are_what_helm_renders(tmp_path):
    """Every tests/cases/valid case and every recipe, every environment but local: the (kind, name)
    plan.rendered_objects gives each local release equals what `helm template` (with helmfile's
    kustomize step where the release has patches) renders for it."""
    projects = [(c.name, copy_case(c, tmp_path / "cases" / c.name)) for c in CASES]
    projects += list(recipe_projects(tmp_path / "recipes"))
    compared = 0
    for name, proj in projects:
        p.generate(proj)
        for env, plan in p.plans(proj).items():
            if plan.env == "local" or p.load_deployment(proj, env).target == "local":
                continue
            rendered = manifests.releases(proj.root, plan)
            for release in plan.releases:
                if release.remote:
                    continue
                objects = sorted((d["kind"], d["metadata"]["name"]) for d in load_docs(rendered[release.name]))
                assert sorted(rendered_objects(release)) == objects, f"{name} {env} {release.name}"
                compared += 1
    assert compared >= 20
