"""The README's values reference is generated from the schema; a test keeps it in step
(`pytest --update-goldens` rewrites it)."""

import json
import re

import pytest

from composer.schema import inlined, resolve, values_schema
from tests.support.project import REPO

pytestmark = pytest.mark.unit

START = "<!-- values-reference: generated from composer/schema/values.schema.json by tests/test_docs.py -->\n"
END = "<!-- end values-reference -->"
KUBE = "#/$defs/io.k8s."  # generated from Kubernetes' schemas: named, not listed field by field


def reference() -> str:
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]

    root = values_schema()

    def walk(node, prefix):
        for key, sub in resolve(node, root).get("properties", {}).items():
            path = f"{prefix}.{key}" if prefix else key
            kube = sub.get("$ref", "").rpartition(".")[2] if sub.get("$ref", "").startswith(KUBE) else ""
            sub = resolve(sub, root)  # a $ref is walked as what it refers to, but for Kubernetes' own shapes
            kind = " \\| ".join(sub["enum"]) if "enum" in sub else f"Kubernetes {kube}" if kube else sub.get("type", "")
            default = sub.get("default")
            shown = "" if default in (None, {}) else f"`{json.dumps(default)}`"
            rows.append(f"| `{path}` | {kind} | {shown} | {sub.get('description', '')} |")
            if not kube:
                walk(sub, path)

    walk(root, "")
    return "\n".join(rows) + "\n"


def test_readme_values_reference_matches_schema(request):
    readme = REPO / "README.md"
    text = readme.read_text()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    assert pattern.search(text), "README lost its values-reference markers"
    wanted = pattern.sub(lambda _: START + reference() + END, text)
    if request.config.getoption("--update-goldens"):
        readme.write_text(wanted)
        text = wanted
    assert text == wanted, "README values reference is stale: run ./scripts/test --update-goldens"


def test_every_schema_field_has_a_description():
    missing = []

    def walk(node, path):
        for key, sub in node.get("properties", {}).items():
            if not sub.get("description"):
                missing.append(f"{path}/{key}")
            walk(sub, f"{path}/{key}")

    walk(inlined(values_schema()), "")  # a $ref is walked as what it refers to
    assert missing == []


def test_our_objects_are_closed():
    open_ok = {
        "/model/decode/extraConfig/inline",
        "/model/prefill/extraConfig/inline",
        "/model/nodeSelector",
        "/model/decode/resources/requests",
        "/model/decode/resources/limits",
        "/model/prefill/resources/requests",
        "/model/prefill/resources/limits",
        "/model/frontend/resources/requests",
        "/model/frontend/resources/limits",
        # any name: a rule refuses one the chart does not render, saying which it does
        "/patches/model/components",
        # a partial DynamoGraphDeployment component: any field of the CRD's
        *(
            f"/patches/model/components/{name}{under}"
            for name in ("frontend", "decode", "prefill")
            for under in ("", "/podTemplate", "/podTemplate/spec")
        ),
    }
    leaks = []

    def walk(node, path):
        if node.get("type") == "object" and "properties" in node and node.get("additionalProperties") is not False:
            leaks.append(path)
        for key, sub in node.get("properties", {}).items():
            walk(sub, f"{path}/{key}")

    walk(inlined(values_schema()), "")  # a $ref is walked as what it refers to
    assert [p for p in leaks if p not in open_ok] == []
