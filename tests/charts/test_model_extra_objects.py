"""charts/model: model.extraObjects, objects rendered beside the DynamoGraphDeployment. Real helm,
offline; the rendered objects are checked against the Kubernetes schemas (tests/support/validate.py)."""

from __future__ import annotations

import pytest

from composer import extraobjects
from tests.support.validate import all_errors

pytestmark = pytest.mark.helm

NAMESPACE = "models"
RELEASE = "rel"
CHART_LABELS = {
    "app.kubernetes.io/name": "model",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/version": "1.6.1",
    "app.kubernetes.io/managed-by": "Helm",
    "app.kubernetes.io/part-of": "dynamo-compose",
    "helm.sh/chart": "model-0.1.0",
}


def values(*objects: dict) -> dict:
    return {
        "dynamoNamespace": "demo",
        "dynamoVersion": "1.6.1",
        "model": {
            "name": "Qwen/Qwen3-0.6B",
            "backend": {"type": "vllm", "image": "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.6.1"},
            "extraObjects": list(objects),
        },
    }


def render(helm, v: dict) -> dict[tuple[str, str], dict]:
    docs = helm.render("model", v, release=RELEASE, namespace=NAMESPACE)
    errors = all_errors(docs)
    assert not errors, "\n".join(errors)
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


PVC = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "{{ .Values.dynamoNamespace }}-cache", "labels": {"team": "ml"}},
    "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "100Gi"}}},
}
CONFIG_MAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "tuning", "annotations": {"example.com/for": "{{ .Values.model.name }}"}},
    "data": {"release": "{{ .Release.Name }} in {{ .Release.Namespace }}", "replicas": "3"},
}


def test_extra_objects_are_rendered_namespaced_labelled_and_valid(helm):
    objects = render(helm, values(PVC, CONFIG_MAP))
    assert ("DynamoGraphDeployment", "demo") in objects  # beside the graph, not instead of it
    pvc, cm = objects[("PersistentVolumeClaim", "demo-cache")], objects[("ConfigMap", "tuning")]
    for obj in (pvc, cm):
        assert obj["metadata"]["namespace"] == NAMESPACE
        assert CHART_LABELS.items() <= obj["metadata"]["labels"].items()
    assert pvc["metadata"]["labels"]["team"] == "ml"
    assert pvc["spec"] == PVC["spec"]
    assert cm["metadata"]["annotations"] == {"example.com/for": "Qwen/Qwen3-0.6B"}
    assert cm["data"] == {"release": f"{RELEASE} in {NAMESPACE}", "replicas": "3"}  # a string stays a string


def test_the_charts_labels_win_over_the_objects_own(helm):
    """compose refuses such a label (schema._rule_extra_objects); the chart alone keeps its own."""
    cm = {**CONFIG_MAP, "metadata": {"name": "tuning", "labels": {"app.kubernetes.io/name": "mine", "team": "ml"}}}
    labels = render(helm, values(cm))[("ConfigMap", "tuning")]["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "model" and labels["team"] == "ml"


# Templates compose resolves itself (names, labels) before helm runs: each must come out as helm's tpl
# renders it. Rendered as ConfigMap data, where any text may go.
TEMPLATES = [
    "{{ .Values.dynamoNamespace }}-cache",
    "{{.Values.model.name}}",
    "a {{- .Values.dynamoNamespace -}} b",
    "x-{{ $.Values.model.backend.type }}",
    "{{ .Release.Name }}.{{ .Release.Namespace }}",
    '{{ "{{" }} kept }}',
    "{{ `{{` }}",
    "no template }} at all",
    "{{ .Values.dynamoVersion }}",
]


def test_compose_resolves_templates_as_helm_renders_them(helm):
    v = values({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "t"}, "data": {}})
    v["model"]["extraObjects"][0]["data"] = {f"k{i}": t for i, t in enumerate(TEMPLATES)}
    data = render(helm, v)[("ConfigMap", "t")]["data"]
    release = {"Name": RELEASE, "Namespace": NAMESPACE}
    mine = {f"k{i}": extraobjects.render(t, v, release) for i, t in enumerate(TEMPLATES)}
    assert mine == data


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "v"}},
            "model.extraObjects[0]: a Secret with data",
        ),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "other"}},
            "model.extraObjects[0]: leave metadata.namespace out",
        ),
        (
            {"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment", "metadata": {"name": "d"}},
            "model.extraObjects[0]: this chart renders the DynamoGraphDeployment",
        ),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}, "name is required"),
    ],
    ids=["secret-data", "namespace", "second-dgd", "no-name"],
)
def test_the_chart_refuses_what_it_must_not_render(helm, obj, message):
    proc = helm.template("model", values(obj), release=RELEASE, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr
