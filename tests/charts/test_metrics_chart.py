"""charts/metrics, rendered by real helm: every ci/ scenario lints and renders valid objects, the
schema refuses what it must, the PodMonitors select the pods the Dynamo operator labels, and the
Grafana dashboard is valid JSON with Grafana's own variables intact."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.component_charts import (
    NAMESPACE,
    by_kind,
    check_schema_rejects,
    operator_pod,
    pod_monitor_selects,
    scenario_values,
    scenarios,
)

CHART = "metrics"
SCENARIOS = scenarios(CHART)
pytestmark = pytest.mark.helm


NEGATIVE = [
    ("metrics", {"dgdName": "qwen", "extra": True}, "Additional property extra is not allowed"),
    ("metrics", {"dgdName": "qwen", "podMonitor": {"release": "x"}}, "Additional property release"),
    ("metrics", {"namespace": "llm"}, "dgdName"),
]


@pytest.mark.parametrize("chart, values, message", NEGATIVE, ids=[f"{c}-{m.split()[0]}" for c, _, m in NEGATIVE])
def test_schema_rejects(helm, chart, values, message):
    check_schema_rejects(helm, chart, values, message)


@pytest.mark.parametrize("chart, values_file", SCENARIOS)
def test_pod_monitors_select_the_operator_labelled_pods(helm, chart, values_file):
    values = scenario_values(values_file)
    dgd, ns = values["dgdName"], values.get("namespace") or NAMESPACE
    docs = helm.render(chart, files=[values_file])
    pms = {pm["metadata"]["name"].rsplit("-", 1)[1]: pm for pm in by_kind(docs, "PodMonitor")}
    if values.get("podMonitor", {}).get("enabled", True) is False:
        assert pms == {}
        return
    assert set(pms) == {"frontend", "worker"}

    pods = {
        "frontend": operator_pod(dgd, "Frontend", "frontend", ns),
        "worker": operator_pod(dgd, "VllmDecodeWorker", "worker", ns),
        "prefill": operator_pod(dgd, "VllmPrefillWorker", "prefill", ns),
        "decode": operator_pod(dgd, "VllmDecodeWorker", "decode", ns),
    }
    expected = {"frontend": {"frontend"}, "worker": {"worker", "prefill", "decode"}}
    for role, pm in pms.items():
        assert {k for k, pod in pods.items() if pod_monitor_selects(pm, pod)} == expected[role]
        # ...and the port it scrapes is one those pods expose.
        for endpoint in pm["spec"]["podMetricsEndpoints"]:
            assert all(endpoint["port"] in pods[k]["ports"] for k in expected[role])
            assert endpoint["path"] == "/metrics"
            assert endpoint["interval"] == values.get("podMonitor", {}).get("interval", "15s")
            assert {
                "sourceLabels": ["__meta_kubernetes_pod_label_nvidia_com_dynamo_graph_deployment_name"],
                "targetLabel": "dynamo_graph_deployment",
            } in endpoint["relabelings"]
        # Not another DGD's pods, not another namespace, not pods that opted out of metrics.
        assert not pod_monitor_selects(pm, operator_pod(f"{dgd}-2", "Frontend", "frontend", ns))
        assert not pod_monitor_selects(pm, operator_pod(dgd, "VllmDecodeWorker", "worker", f"{ns}-other"))
        assert not pod_monitor_selects(pm, operator_pod(dgd, "Frontend", "frontend", ns, metrics_enabled=False))
        assert not pod_monitor_selects(pm, operator_pod(dgd, "Planner", "planner", ns))
        assert pm["metadata"]["namespace"] == ns
        assert pm["spec"]["namespaceSelector"] == {"matchNames": [ns]}
        for k, v in values.get("podMonitor", {}).get("labels", {"release": "kube-prometheus-stack"}).items():
            assert pm["metadata"]["labels"][k] == v


def _dashboard(docs):
    (cm,) = [d for d in by_kind(docs, "ConfigMap")]
    ((key, text),) = cm["data"].items()
    return cm, key, json.loads(text)


@pytest.mark.parametrize("chart, values_file", SCENARIOS)
def test_dashboard_is_grafana_json_for_this_dgd(helm, chart, values_file):
    values = scenario_values(values_file)
    dgd, ns = values["dgdName"], values.get("namespace") or NAMESPACE
    docs = helm.render(chart, files=[values_file])
    dash_values = values.get("dashboard", {})
    if dash_values.get("enabled", True) is False:
        assert by_kind(docs, "ConfigMap") == []
        return
    cm, key, dash = _dashboard(docs)
    assert cm["metadata"]["namespace"] == (dash_values.get("namespace") or NAMESPACE)
    for k, v in dash_values.get("labels", {"grafana_dashboard": "1"}).items():
        assert cm["metadata"]["labels"][k] == v
    assert key == f"dynamo-{ns}-{dgd}.json"

    text = cm["data"][key]
    assert "${datasource}" in text and "{{pod}}" in text and "$__rate_interval" in text
    assert dash["title"] == f"Dynamo: {dgd} ({ns})" and 0 < len(dash["uid"]) <= 40
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert variables["namespace"]["query"] == ns and variables["namespace"]["current"]["value"] == ns
    assert variables["dgd"]["query"] == dgd and variables["dgd"]["current"]["value"] == dgd

    exprs = []
    for panel in dash["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
            # Every query is limited to this DGD, through the label this chart's PodMonitors add.
            assert 'namespace="$namespace"' in target["expr"] and 'dynamo_graph_deployment="$dgd"' in target["expr"]
            exprs.append(target["expr"])
    joined = "\n".join(exprs)
    for metric in (
        "dynamo_frontend_time_to_first_token_seconds_bucket",
        "dynamo_frontend_inter_token_latency_seconds_bucket",
        "dynamo_frontend_requests_total",
        "dynamo_frontend_active_requests",
        "dynamo_component_gpu_cache_usage_percent",
    ):
        assert metric in joined, metric
    assert joined.count("histogram_quantile(") == 6
    assert (
        re.findall(r"histogram_quantile\(0\.\d+, sum by \(le\) \(rate\((\w+)\{", joined)
        == ["dynamo_frontend_time_to_first_token_seconds_bucket"] * 3
        + ["dynamo_frontend_inter_token_latency_seconds_bucket"] * 3
    )


def test_dashboards_of_two_dgds_do_not_collide(helm):
    a = _dashboard(helm.render("metrics", {"dgdName": "qwen", "namespace": "llm"}, release="qwen-metrics"))
    b = _dashboard(helm.render("metrics", {"dgdName": "llama", "namespace": "llm"}, release="llama-metrics"))
    c = _dashboard(helm.render("metrics", {"dgdName": "qwen", "namespace": "prod"}, release="qwen-metrics"))
    assert len({x[0]["metadata"]["name"] for x in (a, b)}) == 2
    # Grafana's sidecar writes every ConfigMap key into one folder, and dashboards are keyed by uid.
    assert len({x[1] for x in (a, b, c)}) == 3
    assert len({x[2]["uid"] for x in (a, b, c)}) == 3


def test_metrics_notes(helm):
    notes = helm.notes("metrics", {"dgdName": "qwen", "namespace": "llm", "dashboard": {"namespace": "monitoring"}})
    assert "metrics-frontend" in notes and "metrics-worker" in notes and "namespace monitoring" in notes
