"""charts/model-express, rendered by real helm: every ci/ scenario lints and renders valid objects,
the schema refuses what it must, and the Service answers on the URL the composer derives."""

from __future__ import annotations

import re

import pytest

from tests.support.component_charts import (
    by_kind,
    check_schema_rejects,
    container_env,
    one,
    scenarios,
    selects,
)

CHART = "model-express"
SCENARIOS = scenarios(CHART)
pytestmark = pytest.mark.helm


NEGATIVE = [
    ("model-express", {"replicaCount": 2}, "Additional property replicaCount is not allowed"),
    ("model-express", {"service": {"port": 8001, "type": "NodePort"}}, "Additional property type"),
    ("model-express", {"image": {"tag": None}}, "tag is required"),
    ("model-express", {"service": {"port": None}}, "port is required"),
]


@pytest.mark.parametrize("chart, values, message", NEGATIVE, ids=[f"{c}-{m.split()[0]}" for c, _, m in NEGATIVE])
def test_schema_rejects(helm, chart, values, message):
    check_schema_rejects(helm, chart, values, message)


def model_express_url(fullname: str, namespace: str, port: int = 8001) -> str:
    """What the composer passes to the platform as modelExpressURL (see values.yaml's naming rule)."""
    return f"http://{fullname}.{namespace}.svc.cluster.local:{port}"


@pytest.mark.parametrize(
    "release, values, fullname",
    [
        ("model-express", {}, "model-express"),
        ("qwen-model-express", {}, "qwen-model-express"),
        ("mx", {}, "mx-model-express"),
        ("mx", {"fullnameOverride": "model-express-server"}, "model-express-server"),
        ("mx", {"service": {"port": 9001}}, "mx-model-express"),
    ],
)
def test_model_express_serves_where_the_url_points(helm, release, values, fullname):
    docs = helm.render("model-express", values, release=release, namespace="cache")
    svc, dep = one(docs, "Service"), one(docs, "Deployment")
    port = values.get("service", {}).get("port", 8001)
    url = model_express_url(fullname, "cache", port)
    host, url_port = re.match(r"http://([^.]+)\.cache\.svc\.cluster\.local:(\d+)$", url).groups()

    assert svc["metadata"]["name"] == host and svc["spec"]["type"] == "ClusterIP"
    (svc_port,) = svc["spec"]["ports"]
    assert svc_port["port"] == int(url_port) and svc_port["name"] == "grpc"
    pod = dep["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    container_ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container_ports[svc_port["targetPort"]] == int(url_port)
    assert selects({"matchLabels": svc["spec"]["selector"]}, pod["metadata"]["labels"])
    assert selects(dep["spec"]["selector"], pod["metadata"]["labels"])
    env = container_env(container)
    assert env["MODEL_EXPRESS_SERVER_PORT"] == url_port
    assert env["MODEL_EXPRESS_CACHE_DIRECTORY"] == env["HF_HUB_CACHE"] == "/root"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["tcpSocket"]["port"] in ("grpc", int(url_port))
    notes = helm.notes("model-express", values, release=release, namespace="cache")
    assert f"\n  {url}\n" in notes and f"modelExpressURL: {url}\n" in notes


def test_model_express_defaults(helm):
    docs = helm.render("model-express")
    dep, pvc = one(docs, "Deployment"), one(docs, "PersistentVolumeClaim")
    pod = dep["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "nvcr.io/nvidia/ai-dynamo/modelexpress-server:0.2.0"
    assert container["resources"] == {
        "requests": {"cpu": "200m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    }
    assert pvc["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    (mount,) = container["volumeMounts"]
    assert mount["mountPath"] == "/root"
    (volume,) = pod["volumes"]
    assert volume["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"] == "model-express"
    assert dep["spec"]["strategy"] == {"type": "Recreate"} and dep["spec"]["replicas"] == 1
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert "envFrom" not in container
    with_token = one(helm.render("model-express", {"hfTokenSecret": "hf-token-secret"}), "Deployment")
    assert with_token["spec"]["template"]["spec"]["containers"][0]["envFrom"] == [
        {"secretRef": {"name": "hf-token-secret"}}
    ]
    existing = helm.render("model-express", {"persistence": {"existingClaim": "model-cache"}})
    assert by_kind(existing, "PersistentVolumeClaim") == []
    assert one(existing, "Deployment")["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"] == {
        "claimName": "model-cache"
    }


def test_a_secret_name_of_digits_stays_a_string(helm):
    """A Secret's name may be all digits: written bare, YAML would read it as a number."""
    dep = one(helm.render("model-express", {"hfTokenSecret": "0"}), "Deployment")
    assert dep["spec"]["template"]["spec"]["containers"][0]["envFrom"] == [{"secretRef": {"name": "0"}}]
