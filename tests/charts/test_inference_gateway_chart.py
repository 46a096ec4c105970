"""charts/inference-gateway, rendered by real helm: every ci/ scenario lints and renders valid
objects (the HTTPRoute checked structurally), the schema refuses what it must, and the route
targets the given backend."""

from __future__ import annotations

import pytest

from tests.support.component_charts import (
    CHARTS_DIR,
    check_schema_rejects,
    one,
    scenario_values,
    scenarios,
)

CHART = "inference-gateway"
SCENARIOS = scenarios(CHART)
pytestmark = pytest.mark.helm


NEGATIVE = [
    (
        "inference-gateway",
        {"gateway": {"name": "gw"}, "backend": {"name": "p"}, "httpRoute": {}},
        "Additional property httpRoute is not allowed",
    ),
    (
        "inference-gateway",
        {"gateway": {"name": "gw", "listener": "http"}, "backend": {"name": "p"}},
        "Additional property listener",
    ),
    ("inference-gateway", {"backend": {"name": "p"}}, "gateway.name"),
    ("inference-gateway", {"gateway": {"name": "gw"}}, "backend.name"),
    ("inference-gateway", {"gateway": {"name": "gw"}, "backend": {"name": "p", "kind": "Pod"}}, "backend.kind"),
]


@pytest.mark.parametrize("chart, values, message", NEGATIVE, ids=[f"{c}-{m.split()[0]}" for c, _, m in NEGATIVE])
def test_schema_rejects(helm, chart, values, message):
    check_schema_rejects(helm, chart, values, message)


@pytest.mark.parametrize("chart, values_file", SCENARIOS)
def test_http_route_targets_the_given_backend(helm, chart, values_file):
    values = scenario_values(values_file)
    route = one(helm.render(chart, files=[values_file]), "HTTPRoute")
    (parent,) = route["spec"]["parentRefs"]
    gw = values["gateway"]
    assert (parent["group"], parent["kind"], parent["name"]) == ("gateway.networking.k8s.io", "Gateway", gw["name"])
    assert parent.get("namespace") == (gw.get("namespace") or None)
    assert parent.get("sectionName") == (gw.get("sectionName") or None)

    (rule,) = route["spec"]["rules"]
    (ref,) = rule["backendRefs"]
    backend = values["backend"]
    kind = backend.get("kind", "InferencePool")
    assert ref["kind"] == kind and ref["name"] == backend["name"] and ref["port"] == backend.get("port", 8000)
    assert ref["group"] == ("" if kind == "Service" else backend.get("group", "inference.networking.k8s.io"))

    prefix = values.get("route", {}).get("pathPrefix", "/")
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": prefix}}]
    if prefix == "/":
        assert "filters" not in rule
    else:
        assert rule["filters"] == [
            {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}
        ]
    assert rule["timeouts"] == {"request": values.get("route", {}).get("requestTimeout", "300s")}
    assert route["spec"].get("hostnames", []) == values.get("route", {}).get("hostnames", [])


def test_http_route_to_the_frontend_service_of_the_dgd(helm):
    """backend.kind Service: the composer passes the frontend Service the operator creates for the DGD."""
    dgd = "qwen-test"
    route = one(
        helm.render(
            "inference-gateway", {"gateway": {"name": "gw"}, "backend": {"kind": "Service", "name": f"{dgd}-frontend"}}
        ),
        "HTTPRoute",
    )
    assert route["spec"]["rules"][0]["backendRefs"] == [
        {"group": "", "kind": "Service", "name": f"{dgd}-frontend", "port": 8000, "weight": 1}
    ]


def test_inference_gateway_documents_its_prerequisites(helm):
    readme = (CHARTS_DIR / "inference-gateway" / "README.md").read_text()
    for needle in ("Gateway API CRDs", "Inference Extension", "allowedRoutes"):
        assert needle in readme
    pool = helm.notes(
        "inference-gateway", {"gateway": {"name": "gw", "namespace": "gw-system"}, "backend": {"name": "qwen-pool"}}
    )
    assert "Gateway API Inference Extension CRDs" in pool and "allows routes from namespace llm" in pool
    svc = helm.notes(
        "inference-gateway", {"gateway": {"name": "gw"}, "backend": {"kind": "Service", "name": "q-frontend"}}
    )
    assert "Inference Extension" not in svc and "Gateway API CRDs" in svc


def test_names_of_digits_stay_strings(helm):
    """Gateway, listener and backend names may be all digits: written bare, YAML would read numbers."""
    values = {"gateway": {"name": "1", "sectionName": "2"}, "backend": {"kind": "Service", "name": "3"}}
    route = one(helm.render("inference-gateway", values), "HTTPRoute")
    (parent,) = route["spec"]["parentRefs"]
    assert (parent["name"], parent["sectionName"]) == ("1", "2")
    assert route["spec"]["rules"][0]["backendRefs"][0]["name"] == "3"
