"""model.extraObjects end to end: what `compose validate` accepts, real helm renders into objects the
Kubernetes schemas take, with the names compose predicted (plan.rendered_objects, which the collision
and patch-target checks use); what it refuses is refused at the value's own line."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml as pyyaml
from click.testing import CliRunner

from composer import cli, extraobjects
from composer import project as p
from composer.plan import rendered_objects
from tests.support.component_charts import helm_binary
from tests.support.project import REPO, make_project
from tests.support.validate import KUBE_VERSION, all_errors, load_docs

pytestmark = pytest.mark.helm

# Names, label values and data strings near the edge of what compose takes: templates it resolves
# (trim markers, constants, the release), templates it cannot check, values that are not strings.
NAMES = [
    "{{ .Values.dynamoNamespace }}-cache",
    "{{- .Values.dynamoNamespace -}}",
    "{{ .Release.Name }}-{{ .Release.Namespace }}",
    "{{ $.Values.dynamoVersion }}",
    "{{\n.Values.dynamoNamespace\n}}",
    "{{ `x` }}-y",
    "{{ .Values.model.name }}",
    "{{ .Values.model.decode.replicas }}",
    "{{ .Values.nope }}",
    "{{ .Values.dynamoNamespace | upper }}",
    '{{ include "model.fullname" . }}',
    "{{ .Values.dynamoNamespace",
    "{{-.Values.dynamoNamespace}}",
    '{{ "{{" }}',
    "UPPER",
    "a..b",
    "a" * 254,
    "-a",
    "demo\n",  # a block scalar's last newline: "$" in a pattern would take it
]
LABELS = [
    "{{ .Values.dynamoNamespace }}",
    "{{ .Values.model.backend.type }}-{{ .Release.Name }}",
    "",
    "{{ .Values.model.name }}",
    "{{ .Values.model.disaggregation }}",
    "a" * 64,
    "-x",
    "x\n",
]
TEXTS = [
    "{{ .Values.model.decode.replicas }} replicas",  # no decode section: not given
    "{{ .Values.model.frontend.replicas }} frontend",
    "{{ .Values.model.disaggregation }}",
    '{{ "{{" }} $labels.instance }}',
    "a }} b",
    "{{ .Values.model }}",
    "{{ .Values.model.nope.deeper }}",
    "{{ .Values.model.name | quote }}",
    "{{/* a comment */}}",
    '{{ "}}" }}',
    "{{{{ .Values.dynamoNamespace }}}}",
]
# Kubernetes' own rules (apimachinery validation), written out here rather than taken from composer.
SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
LABEL = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
LINE = re.compile(r"^values\.yaml:(\d+):(\d+): (\S+): ")


def values_file(name: str = "cm", label: str = "x", text: str = "x") -> dict:
    return {
        "dynamoNamespace": "demo",
        "model": {
            "name": "Qwen/Qwen3-0.6B",
            "backend": {"type": "vllm"},
            "extraObjects": [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": name, "labels": {"team": label}},
                    "data": {"text": text},
                }
            ],
        },
    }


@pytest.fixture(scope="module")
def proj(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("xo") / "proj", "", {"dev": "cluster: {namespace: llm}\n"})


def validate(root, doc: dict) -> tuple[int, str]:
    (root / "values.yaml").write_text(pyyaml.safe_dump(doc, sort_keys=False))
    r = CliRunner().invoke(cli.main, ["validate", "-f", str(root / "values.yaml")])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.output
    return r.exit_code, r.stderr


def helm_render(release) -> list[dict]:
    proc = subprocess.run(
        [
            helm_binary(),
            "template",
            release.name,
            str(REPO / release.chart),
            "--namespace",
            release.namespace,
            "--kube-version",
            KUBE_VERSION,
            "--values",
            "-",
        ],
        input=json.dumps(dict(release.values)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return load_docs(proc.stdout)


CASES = (
    [("name", n, values_file(name=n)) for n in NAMES]
    + [("label", v, values_file(label=v)) for v in LABELS]
    + [("text", t, values_file(text=t)) for t in TEXTS]
)


@pytest.mark.parametrize(("field", "value", "doc"), CASES, ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(CASES)])
def test_what_validate_accepts_helm_renders_as_predicted(proj, field, value, doc):
    code, stderr = validate(proj, doc)
    if code == 2:
        where = {"name": "metadata/name", "label": "metadata/labels/team", "text": "data/text"}[field]
        lines = [LINE.match(line) for line in stderr.splitlines() if LINE.match(line)]
        assert lines and all(m[3] == f"/model/extraObjects/0/{where}" for m in lines), stderr
        return
    assert code == 0, stderr
    (release,) = [
        r for r in p.plans(p.Project.at(proj / "values.yaml"), ["dev"])["dev"].releases if r.component == "model"
    ]
    docs = helm_render(release)
    assert all_errors(docs) == []
    assert sorted(rendered_objects(release)) == sorted((d["kind"], d["metadata"]["name"]) for d in docs)
    for d in docs:  # what the API server checks beyond the schemas: names and labels
        assert re.fullmatch(SUBDOMAIN, d["metadata"]["name"]) and len(d["metadata"]["name"]) <= 253, d["metadata"]
        assert all(re.fullmatch(LABEL, v) and len(v) <= 63 for v in d["metadata"].get("labels", {}).values())
    (cm,) = [d for d in docs if d["kind"] == "ConfigMap"]
    refs = {"Name": release.name, "Namespace": release.namespace}
    assert cm["data"]["text"] == extraobjects.render(
        doc["model"]["extraObjects"][0]["data"]["text"], release.values, refs
    )
    assert cm["metadata"]["labels"]["team"] == extraobjects.render(label_of(doc), release.values, refs)
    assert (
        cm["metadata"]["namespace"] == "llm" and cm["metadata"]["labels"]["app.kubernetes.io/instance"] == release.name
    )


def label_of(doc: dict) -> str:
    return doc["model"]["extraObjects"][0]["metadata"]["labels"]["team"]


def test_both_outcomes_are_exercised(proj):
    """The cases above are only worth something if some are accepted and some refused, in each field."""
    outcomes = {(f, validate(proj, d)[0]) for f, _, d in CASES}
    assert outcomes == {(f, c) for f in ("name", "label", "text") for c in (0, 2)}, outcomes
