"""The four component charts (benchmark, metrics, model-express, inference-gateway), rendered by real helm.

Every `charts/<chart>/ci/*-values.yaml` scenario must lint with --strict and render to objects that pass
strict Kubernetes schemas (built-in kinds) or the structural checks below (PodMonitor, HTTPRoute, whose
CRDs we do not vendor). Then the wiring invariants: the benchmark Job executes exactly the argv it was
given; the PodMonitors select the pods the Dynamo operator labels; model-express serves on the port its
URL names; the Grafana dashboard is valid JSON with Grafana's own variables intact. Each schema refuses
an unknown key and a missing required value.

helm runs offline with HELM_CACHE_HOME/HELM_CONFIG_HOME/HELM_DATA_HOME in a temporary directory.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # also when run as plain `pytest`, not `python -m pytest`
    sys.path.insert(0, str(ROOT))

from tests.support.validate import k8s_errors, load_docs  # noqa: E402

CHARTS_DIR = ROOT / "charts"
CHARTS = ("benchmark", "metrics", "model-express", "inference-gateway")
NAMESPACE = "llm"
KUBE_VERSION = "1.30.0"

# Kinds each chart may render. Custom resources are checked structurally here, built-in kinds by k8s_errors.
# (validate.is_builtin counts every *.k8s.io group as built in, but kubernetes-validate has no schema for
# gateway.networking.k8s.io and raises instead of skipping, so custom kinds are kept away from it.)
CUSTOM_KINDS = {("monitoring.coreos.com/v1", "PodMonitor"), ("gateway.networking.k8s.io/v1", "HTTPRoute")}
EXPECTED_KINDS = {
    "benchmark": {"ConfigMap", "Job", "PersistentVolumeClaim"},
    "metrics": {"PodMonitor", "ConfigMap"},
    "model-express": {"Deployment", "Service", "PersistentVolumeClaim"},
    "inference-gateway": {"HTTPRoute"},
}


def _helm_binary() -> str:
    local = ROOT / ".venv" / "bin" / "helm"
    found = str(local) if local.exists() else shutil.which("helm")
    if not found:
        pytest.skip("helm is not installed")
    return found


def _scenarios() -> list:
    return [
        pytest.param(chart, path, id=f"{chart}/{path.name}")
        for chart in CHARTS
        for path in sorted((CHARTS_DIR / chart / "ci").glob("*-values.yaml"))
    ]


SCENARIOS = _scenarios()


def _scenario_values(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


# ----------------------------------------------------------------------------------------------------
# helm


class Helm:
    def __init__(self, binary: str, home: Path, work: Path):
        self.binary = binary
        self.work = work
        self.env = dict(os.environ)
        for var, sub in (("HELM_CACHE_HOME", "cache"), ("HELM_CONFIG_HOME", "config"), ("HELM_DATA_HOME", "data")):
            (home / sub).mkdir(parents=True, exist_ok=True)
            self.env[var] = str(home / sub)
        self._n = 0

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([self.binary, *args], env=self.env, capture_output=True, text=True, timeout=120)

    def values_file(self, values: dict) -> Path:
        self._n += 1
        path = self.work / f"values-{self._n}.yaml"
        path.write_text(yaml.safe_dump(values, sort_keys=False))
        return path

    def template(self, chart: str | Path, values: dict | None = None, files=(), release: str | None = None,
                 namespace: str = NAMESPACE, check: bool = True) -> subprocess.CompletedProcess:
        chart_dir = Path(chart) if isinstance(chart, Path) else CHARTS_DIR / chart
        args = ["template", release or chart_dir.name, str(chart_dir), "--namespace", namespace,
                "--kube-version", KUBE_VERSION]
        for f in files:
            args += ["-f", str(f)]
        if values is not None:
            args += ["-f", str(self.values_file(values))]
        proc = self.run(*args)
        if check:
            assert proc.returncode == 0, f"helm {' '.join(args)} failed:\n{proc.stderr}"
        return proc

    def render(self, chart, values=None, files=(), release=None, namespace=NAMESPACE) -> list[dict]:
        return load_docs(self.template(chart, values, files, release, namespace).stdout)

    def notes(self, chart: str, values: dict | None = None, files=(), release=None, namespace=NAMESPACE) -> str:
        """NOTES.txt as `helm install` would print it (helm template skips it): render a copy of the chart
        where the notes are a named template included into a YAML document."""
        copy = self.work / f"notes-{chart}-{self._n}"
        self._n += 1
        shutil.copytree(CHARTS_DIR / chart, copy)
        notes = copy / "templates" / "NOTES.txt"
        (copy / "templates" / "_zz_notes.tpl").write_text(
            '{{- define "zz.notes" -}}\n' + notes.read_text() + "\n{{- end -}}\n")
        (copy / "templates" / "zz-notes.yaml").write_text('notes: {{ include "zz.notes" . | toJson }}\n')
        notes.unlink()
        proc = self.template(copy, values, files, release or chart, namespace)
        out = [d for d in load_docs(proc.stdout) if set(d) == {"notes"}]
        assert len(out) == 1
        return out[0]["notes"]


@pytest.fixture(scope="session")
def helm(tmp_path_factory) -> Helm:
    return Helm(_helm_binary(), tmp_path_factory.mktemp("helm-home"), tmp_path_factory.mktemp("helm-work"))


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict], kind: str) -> dict:
    found = by_kind(docs, kind)
    assert len(found) == 1, f"expected one {kind}, got {[d['metadata']['name'] for d in found]}"
    return found[0]


# ----------------------------------------------------------------------------------------------------
# Structural checks for the custom resources (subsets of the upstream CRDs: prometheus-operator
# monitoring.coreos.com/v1 PodMonitor, Gateway API v1 HTTPRoute). Closed objects where we write fields,
# so a typo fails here as it would in the API server.

_DNS_LABEL = {"type": "string", "maxLength": 63, "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}
_DNS_SUBDOMAIN = {"type": "string", "maxLength": 253,
                  "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"}
_LABEL_MAP = {
    "type": "object",
    "propertyNames": {"pattern": r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"},
    "additionalProperties": {"type": "string", "maxLength": 63,
                             "pattern": r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$"},
}
_METADATA = {
    "type": "object", "required": ["name", "namespace"],
    "properties": {"name": _DNS_SUBDOMAIN, "namespace": _DNS_LABEL, "labels": _LABEL_MAP,
                   "annotations": {"type": "object", "additionalProperties": {"type": "string"}}},
}
_PROM_DURATION = {"type": "string",
                  "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"}
_RELABEL = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "sourceLabels": {"type": "array", "items": {"type": "string", "pattern": r"^[a-zA-Z_][a-zA-Z0-9_]*$"}},
        "separator": {"type": "string"}, "targetLabel": {"type": "string"}, "regex": {"type": "string"},
        "modulus": {"type": "integer"}, "replacement": {"type": "string"},
        "action": {"enum": ["replace", "Replace", "keep", "Keep", "drop", "Drop", "hashmod", "HashMod",
                            "labelmap", "LabelMap", "labeldrop", "LabelDrop", "labelkeep", "LabelKeep",
                            "lowercase", "Lowercase", "uppercase", "Uppercase", "keepequal", "KeepEqual",
                            "dropequal", "DropEqual"]},
    },
}
_LABEL_SELECTOR = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["key", "operator"],
            "properties": {"key": {"type": "string"},
                           "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                           "values": {"type": "array", "items": {"type": "string"}}}}},
    },
}
PODMONITOR_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"}, "kind": {"const": "PodMonitor"},
        "metadata": _METADATA,
        "spec": {
            "type": "object", "additionalProperties": False, "required": ["selector", "podMetricsEndpoints"],
            "properties": {
                "jobLabel": {"type": "string"},
                "podTargetLabels": {"type": "array", "items": {"type": "string"}},
                "selector": _LABEL_SELECTOR,
                "namespaceSelector": {"type": "object", "additionalProperties": False,
                                      "properties": {"any": {"type": "boolean"},
                                                     "matchNames": {"type": "array", "items": _DNS_LABEL}}},
                "podMetricsEndpoints": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "additionalProperties": False,
                    "properties": {
                        "port": {"type": "string", "minLength": 1}, "portNumber": {"type": "integer"},
                        "path": {"type": "string", "pattern": "^/"}, "scheme": {"enum": ["http", "https"]},
                        "interval": _PROM_DURATION, "scrapeTimeout": _PROM_DURATION,
                        "honorLabels": {"type": "boolean"},
                        "relabelings": {"type": "array", "items": _RELABEL},
                        "metricRelabelings": {"type": "array", "items": _RELABEL},
                    }}},
            },
        },
    },
}
_GW_DURATION = {"type": "string", "pattern": r"^([0-9]{1,5}(h|m|s|ms)){1,4}$"}
_GW_GROUP = {"type": "string", "maxLength": 253,
             "pattern": r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"}
_GW_KIND = {"type": "string", "minLength": 1, "maxLength": 63, "pattern": r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"}
HTTPROUTE_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "gateway.networking.k8s.io/v1"}, "kind": {"const": "HTTPRoute"},
        "metadata": _METADATA,
        "spec": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "parentRefs": {"type": "array", "minItems": 1, "maxItems": 32, "items": {
                    "type": "object", "additionalProperties": False, "required": ["name"],
                    "properties": {"group": _GW_GROUP, "kind": _GW_KIND, "namespace": _DNS_LABEL,
                                   "name": _DNS_SUBDOMAIN, "sectionName": _DNS_SUBDOMAIN,
                                   "port": {"type": "integer", "minimum": 1, "maximum": 65535}}}},
                "hostnames": {"type": "array", "maxItems": 16, "items": {"type": "string", "maxLength": 253}},
                "rules": {"type": "array", "minItems": 1, "maxItems": 16, "items": {
                    "type": "object", "additionalProperties": False,
                    "properties": {
                        "matches": {"type": "array", "maxItems": 64, "items": {
                            "type": "object", "additionalProperties": False,
                            "properties": {"path": {
                                "type": "object", "additionalProperties": False,
                                "properties": {"type": {"enum": ["Exact", "PathPrefix", "RegularExpression"]},
                                               "value": {"type": "string", "maxLength": 1024, "pattern": "^/"}}}}}},
                        "filters": {"type": "array", "maxItems": 16, "items": {
                            "type": "object", "additionalProperties": False, "required": ["type"],
                            "properties": {
                                "type": {"enum": ["RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror",
                                                  "RequestRedirect", "URLRewrite", "ExtensionRef"]},
                                "urlRewrite": {"type": "object", "additionalProperties": False, "properties": {
                                    "hostname": {"type": "string"},
                                    "path": {"type": "object", "additionalProperties": False, "required": ["type"],
                                             "properties": {"type": {"enum": ["ReplaceFullPath", "ReplacePrefixMatch"]},
                                                            "replaceFullPath": {"type": "string"},
                                                            "replacePrefixMatch": {"type": "string"}}}}}}}},
                        "backendRefs": {"type": "array", "maxItems": 16, "items": {
                            "type": "object", "additionalProperties": False, "required": ["name"],
                            "properties": {"group": _GW_GROUP, "kind": _GW_KIND, "name": _DNS_SUBDOMAIN,
                                           "namespace": _DNS_LABEL,
                                           "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                                           "weight": {"type": "integer", "minimum": 0, "maximum": 1000000}}}},
                        "timeouts": {"type": "object", "additionalProperties": False,
                                     "properties": {"request": _GW_DURATION, "backendRequest": _GW_DURATION}},
                    }}},
            },
        },
    },
}


def custom_resource_errors(doc: dict) -> list[str]:
    schema = {"PodMonitor": PODMONITOR_SCHEMA, "HTTPRoute": HTTPROUTE_SCHEMA}[doc["kind"]]
    name = f"{doc['kind']}/{doc.get('metadata', {}).get('name')}"
    errors = [f"{name}: {'.'.join(map(str, e.path)) or '<root>'}: {e.message}"
              for e in jsonschema.Draft7Validator(schema).iter_errors(doc)]
    if doc["kind"] == "HTTPRoute":  # the CRD's CEL rules that concern us
        for rule in doc["spec"].get("rules", []):
            for ref in rule.get("backendRefs", []):
                if ref.get("group", "") == "" and ref.get("kind", "Service") == "Service" and "port" not in ref:
                    errors.append(f"{name}: a Service backendRef needs a port")
            for f in rule.get("filters", []):
                if f["type"] == "URLRewrite" and f["urlRewrite"].get("path", {}).get("type") == "ReplacePrefixMatch":
                    if not all(m.get("path", {}).get("type") == "PathPrefix" for m in rule.get("matches", [])):
                        errors.append(f"{name}: ReplacePrefixMatch needs PathPrefix matches")
    return errors


# ----------------------------------------------------------------------------------------------------
# Every scenario: lint, schemas, labels


@pytest.mark.parametrize("chart, values_file", SCENARIOS)
def test_lint_strict(helm, chart, values_file):
    proc = helm.run("lint", "--strict", str(CHARTS_DIR / chart), "-f", str(values_file), "--kube-version", KUBE_VERSION)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[WARNING]" not in proc.stdout and "[ERROR]" not in proc.stdout, proc.stdout


@pytest.mark.parametrize("chart, values_file", SCENARIOS)
def test_scenario_renders_valid_objects(helm, chart, values_file):
    docs = helm.render(chart, files=[values_file])
    assert docs, "nothing rendered"
    assert {d["kind"] for d in docs} <= EXPECTED_KINDS[chart]

    custom = [d for d in docs if (d["apiVersion"], d["kind"]) in CUSTOM_KINDS]
    builtin = [d for d in docs if (d["apiVersion"], d["kind"]) not in CUSTOM_KINDS]
    assert k8s_errors(builtin) == []
    assert [e for d in custom for e in custom_resource_errors(d)] == []

    for d in docs:
        labels = d["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == chart
        assert labels["app.kubernetes.io/instance"] == chart
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert d["metadata"]["namespace"], "every object names its namespace"


@pytest.mark.parametrize("chart", CHARTS)
def test_charts_follow_the_style(chart):
    chart_dir = CHARTS_DIR / chart
    meta = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2" and meta["name"] == chart
    assert (chart_dir / "values.yaml").read_text().startswith("# yaml-language-server: $schema=values.schema.json\n")
    schema = json.loads((chart_dir / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)

    def closed_objects(s, where):
        if isinstance(s, dict):
            if s.get("type") == "object" and "properties" in s:
                assert s.get("additionalProperties") is False, f"{where} is not closed"
                for k, v in s["properties"].items():
                    assert "description" in v, f"{where}.{k} has no description"
            for k, v in s.items():
                closed_objects(v, f"{where}.{k}")
        elif isinstance(s, list):
            for i, v in enumerate(s):
                closed_objects(v, f"{where}[{i}]")

    closed_objects(schema, "$")
    helpers = (chart_dir / "templates" / "_helpers.tpl").read_text()
    for name in re.findall(r'define "([^"]+)"', helpers):
        assert name.startswith(f"{chart}."), name
    assert (chart_dir / "templates" / "NOTES.txt").exists()
    assert list((chart_dir / "ci").glob("*-values.yaml"))


# ----------------------------------------------------------------------------------------------------
# Negative: the schemas

NEGATIVE = [
    # chart, values, expected message fragment
    ("benchmark", {"bogus": 1}, "Additional property bogus is not allowed"),
    ("benchmark", {"target": {"url": "http://x:8000", "model": "m", "port": 8000}}, "Additional property port"),
    ("benchmark", {"target": {"model": "m"}, "image": "i", "runs": [{"name": "a", "args": ["x"]}]}, "target.url"),
    ("benchmark", {"target": {"url": "http://x:8000", "model": "m"}, "image": "i"}, "runs"),
    ("benchmark", {"target": {"url": "http://x:8000", "model": "m"}, "image": "i",
                   "runs": [{"name": "a", "args": ["aiperf", "--concurrency", 4]}]}, "runs.0.args.2"),
    ("metrics", {"dgdName": "qwen", "extra": True}, "Additional property extra is not allowed"),
    ("metrics", {"dgdName": "qwen", "podMonitor": {"release": "x"}}, "Additional property release"),
    ("metrics", {"namespace": "llm"}, "dgdName"),
    ("model-express", {"replicaCount": 2}, "Additional property replicaCount is not allowed"),
    ("model-express", {"service": {"port": 8001, "type": "NodePort"}}, "Additional property type"),
    ("model-express", {"image": {"tag": None}}, "tag is required"),
    ("model-express", {"service": {"port": None}}, "port is required"),
    ("inference-gateway", {"gateway": {"name": "gw"}, "backend": {"name": "p"}, "httpRoute": {}},
     "Additional property httpRoute is not allowed"),
    ("inference-gateway", {"gateway": {"name": "gw", "listener": "http"}, "backend": {"name": "p"}},
     "Additional property listener"),
    ("inference-gateway", {"backend": {"name": "p"}}, "gateway.name"),
    ("inference-gateway", {"gateway": {"name": "gw"}}, "backend.name"),
    ("inference-gateway", {"gateway": {"name": "gw"}, "backend": {"name": "p", "kind": "Pod"}}, "backend.kind"),
]


@pytest.mark.parametrize("chart, values, message", NEGATIVE,
                         ids=[f"{c}-{m.split()[0]}" for c, _, m in NEGATIVE])
def test_schema_rejects(helm, chart, values, message):
    proc = helm.template(chart, values, check=False)
    assert proc.returncode != 0
    assert "don't meet the specifications of the schema" in proc.stderr
    assert message in proc.stderr, proc.stderr


# ----------------------------------------------------------------------------------------------------
# benchmark


def _benchmark_scenarios():
    return [p for p in SCENARIOS if p.values[0] == "benchmark"]


def _env(container: dict) -> dict:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


@pytest.mark.parametrize("chart, values_file", _benchmark_scenarios())
def test_benchmark_job_executes_the_given_argv(helm, chart, values_file):
    values = _scenario_values(values_file)
    docs = helm.render(chart, files=[values_file])
    job, cm = one(docs, "Job"), one(docs, "ConfigMap")
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    env = _env(container)

    # The argv the entrypoint executes is runs.json, mounted read-only from the rendered ConfigMap.
    assert json.loads(cm["data"]["runs.json"]) == values["runs"]
    script_dir = mounts["scripts"]["mountPath"]
    assert mounts["scripts"]["readOnly"] is True
    assert volumes["scripts"]["configMap"]["name"] == cm["metadata"]["name"]
    assert container["command"] == ["python3", f"{script_dir}/run.py"]
    assert "args" not in container
    assert env["RUNS_FILE"] == f"{script_dir}/runs.json"
    assert cm["data"]["run.py"] == (CHARTS_DIR / "benchmark" / "files" / "run.py").read_text().rstrip("\n")

    assert env["TARGET_URL"] == values["target"]["url"]
    assert env["TARGET_MODEL"] == values["target"]["model"]
    assert container["image"] == values["image"]

    # Each run writes under <mountPath>/<name>, on the artifacts volume.
    mount_path = values.get("artifacts", {}).get("mountPath", "/artifacts")
    assert env["ARTIFACTS_DIR"] == mount_path == mounts["artifacts"]["mountPath"]
    for run in values["runs"]:
        args = run["args"]
        dirs = [args[i + 1] for i, a in enumerate(args) if a == "--artifact-dir"]
        dirs += [a.split("=", 1)[1] for a in args if a.startswith("--artifact-dir=")]
        assert len(dirs) == 1 and (dirs[0].rstrip("/") + "/").startswith(f"{mount_path}/{run['name']}/")

    persistence = values.get("artifacts", {}).get("persistence", {})
    pvcs = by_kind(docs, "PersistentVolumeClaim")
    if persistence.get("enabled", True) is False:
        assert volumes["artifacts"] == {"name": "artifacts", "emptyDir": {}} and not pvcs
    elif persistence.get("existingClaim"):
        assert volumes["artifacts"]["persistentVolumeClaim"]["claimName"] == persistence["existingClaim"]
        assert not pvcs
    else:
        (pvc,) = pvcs
        assert volumes["artifacts"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]

    # Non-root, one attempt, cleaned up after a week by default.
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 1000
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert pod["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] == values.get("backoffLimit", 0)
    assert job["spec"]["ttlSecondsAfterFinished"] == values.get("ttlSecondsAfterFinished", 604800)
    if values.get("hfTokenSecret"):
        assert container["envFrom"] == [{"secretRef": {"name": values["hfTokenSecret"]}}]
    else:
        assert "envFrom" not in container


BENCH = {
    "target": {"url": "http://qwen-test-frontend.llm.svc.cluster.local:8000", "model": "Qwen/Qwen3-0.6B"},
    "image": "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0",
}


def _run(name, *extra, artifact_dir=None):
    return {"name": name, "args": ["aiperf", "profile", *extra, "--artifact-dir", artifact_dir or f"/artifacts/{name}"]}


@pytest.mark.parametrize("runs, message", [
    ([_run("c1"), _run("c1")], 'runs[1].name "c1" is used twice'),
    ([{"name": "c1", "args": ["aiperf", "profile"]}], "must contain --artifact-dir exactly once (found 0)"),
    ([{"name": "c1", "args": ["aiperf", "--artifact-dir"]}], '--artifact-dir is "" but must be /artifacts/c1'),
    ([_run("c1", "--artifact-dir", "/artifacts/c1")], "exactly once (found 2)"),
    ([_run("c1", artifact_dir="/tmp/c1")], '--artifact-dir is "/tmp/c1" but must be /artifacts/c1'),
    ([_run("c1", artifact_dir="/artifacts/c10")], "must be /artifacts/c1 or a directory below it"),
    ([_run("c1"), _run("c2", artifact_dir="/artifacts/c1")], "runs[1] (c2)"),
])
def test_benchmark_refuses_runs_that_write_elsewhere(helm, runs, message):
    proc = helm.template("benchmark", {**BENCH, "runs": runs}, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr


@pytest.mark.parametrize("release, values, job, configmap, pvc", [
    ("benchmark", {}, "benchmark", "benchmark-scripts", "benchmark-artifacts"),
    ("qwen", {}, "qwen-benchmark", "qwen-benchmark-scripts", "qwen-benchmark-artifacts"),
    ("qwen", {"runId": "3f9a1c2b"}, "qwen-benchmark-3f9a1c2b", "qwen-benchmark-scripts", "qwen-benchmark-artifacts"),
    ("qwen", {"fullnameOverride": "perf"}, "perf", "perf-scripts", "perf-artifacts"),
    # Long names are cut so that the suffixes (and runId) survive within 63 characters.
    ("qwen", {"fullnameOverride": "a" * 63, "runId": "abc123"},
     "a" * 56 + "-abc123", "a" * 55 + "-scripts", "a" * 53 + "-artifacts"),
])
def test_benchmark_naming(helm, release, values, job, configmap, pvc):
    docs = helm.render("benchmark", {**BENCH, "runs": [_run("c1")], **values}, release=release)
    assert one(docs, "Job")["metadata"]["name"] == job and len(job) <= 63 and len(pvc) <= 63
    assert one(docs, "ConfigMap")["metadata"]["name"] == configmap
    assert one(docs, "PersistentVolumeClaim")["metadata"]["name"] == pvc


def test_benchmark_checksum_changes_with_the_runs(helm):
    def checksum(runs):
        job = one(helm.render("benchmark", {**BENCH, "runs": runs}), "Job")
        return job["spec"]["template"]["metadata"]["annotations"]["dynamo-compose/benchmark-checksum"]

    assert checksum([_run("c1")]) == checksum([_run("c1")])
    assert checksum([_run("c1")]) != checksum([_run("c1", "--concurrency", "2")])


def test_benchmark_anti_affinity_selects_the_model_pods(helm):
    job = one(helm.render("benchmark", {**BENCH, "runs": [_run("c1")], "antiAffinity": {"dgdName": "qwen-test"}}), "Job")
    term = job["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert selects(term["labelSelector"], operator_pod("qwen-test", "VllmDecodeWorker", "worker")["labels"])
    assert not selects(term["labelSelector"], operator_pod("other", "VllmDecodeWorker", "worker")["labels"])
    plain = one(helm.render("benchmark", {**BENCH, "runs": [_run("c1")]}), "Job")
    assert "affinity" not in plain["spec"]["template"]["spec"]


# The entrypoint itself, run here with python against a fake frontend and a fake aiperf.

FAKE_AIPERF = r"""
import json, os, sys
args = sys.argv[1:]
out = args[args.index("--artifact-dir") + 1]
with open(os.environ["CALLS"], "a") as f:
    f.write(json.dumps({"argv": args, "cwd": os.getcwd()}) + "\n")
if "--fail" in args:
    print("aiperf: failing on purpose"); sys.exit(3)
if "--no-export" in args:
    sys.exit(0)
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "profile_export_aiperf.json"), "w") as f:
    json.dump({"request_throughput": {"avg": 1.0}}, f)
print("aiperf: done", out)
"""


class _FakeFrontend:
    """/v1/models answers 503 `not_ready` times, then lists `models`."""

    def __init__(self, models, not_ready=0):
        self.models, self.not_ready, self.hits = models, not_ready, 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake.hits += 1
                if self.path != "/v1/models" or fake.hits <= fake.not_ready:
                    self.send_response(503 if self.path == "/v1/models" else 404)
                    self.end_headers()
                    return
                body = json.dumps({"object": "list", "data": [{"id": m, "object": "model"} for m in fake.models]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _run_entrypoint(helm, tmp_path, runs, models, not_ready=0, timeout="30"):
    """Render the chart with `runs`, then run the rendered run.py exactly as the Job would (its env, its
    ConfigMap files), with the artifacts directory and the frontend replaced by local ones."""
    artifacts = tmp_path / "artifacts"
    frontend = _FakeFrontend(models, not_ready)
    try:
        values = {**BENCH, "target": {"url": frontend.url, "model": BENCH["target"]["model"]},
                  "artifacts": {"mountPath": str(artifacts)}, "runs": runs,
                  "waitForModel": {"timeoutSeconds": 1, "intervalSeconds": 1}}
        docs = helm.render("benchmark", values)
        cm, job = one(docs, "ConfigMap"), one(docs, "Job")
        scripts = tmp_path / "scripts"
        scripts.mkdir()
        for key, text in cm["data"].items():
            (scripts / key).write_text(text)
        env = {**os.environ, **_env(job["spec"]["template"]["spec"]["containers"][0]),
               "RUNS_FILE": str(scripts / "runs.json"), "CALLS": str(tmp_path / "calls.jsonl"),
               "WAIT_TIMEOUT_SECONDS": timeout, "WAIT_INTERVAL_SECONDS": "0.05", "HOME": str(tmp_path)}
        proc = subprocess.run([sys.executable, str(scripts / "run.py")], env=env, capture_output=True,
                              text=True, timeout=120)
    finally:
        frontend.close()
    calls_file = tmp_path / "calls.jsonl"
    calls = [json.loads(line) for line in calls_file.read_text().splitlines()] if calls_file.exists() else []
    summary_file = artifacts / "_summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else None
    return proc, calls, summary, artifacts


def _fake_run(artifacts_name, name, *extra):
    return {"name": name, "args": [sys.executable, "-c", FAKE_AIPERF, *extra, "--artifact-dir", f"{artifacts_name}/{name}"]}


def test_benchmark_entrypoint_waits_then_runs_argv_in_order(helm, tmp_path):
    a = str(tmp_path / "artifacts")
    odd = "a&b<c>$(HOME) 'q' \"dq\" {{ x }} ${datasource}"
    runs = [_fake_run(a, "c4", "--concurrency", "4", "--extra-inputs", odd),
            _fake_run(a, "c1", "--concurrency", "1"),
            {"name": "c16", "args": [sys.executable, "-c", FAKE_AIPERF, "--artifact-dir", f"{a}/c16/raw"]}]
    proc, calls, summary, artifacts = _run_entrypoint(helm, tmp_path, runs, ["other", "Qwen/Qwen3-0.6B"], not_ready=3)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # argv reaches the program unchanged, in the given order, run from <mountPath>/<name>.
    assert [c["argv"] for c in calls] == [r["args"][3:] for r in runs]
    assert [c["cwd"] for c in calls] == [str(artifacts / r["name"]) for r in runs]
    assert (artifacts / "c4" / "profile_export_aiperf.json").exists()
    assert (artifacts / "c16" / "raw" / "profile_export_aiperf.json").exists()
    assert "aiperf: done" in (artifacts / "c1" / "benchmark.log").read_text()
    assert "aiperf: done" in proc.stdout
    assert summary["modelReady"] is True
    assert [(r["name"], r["ok"], r["args"]) for r in summary["runs"]] == [(r["name"], True, r["args"]) for r in runs]


def test_benchmark_entrypoint_fails_when_a_run_fails_but_runs_the_rest(helm, tmp_path):
    a = str(tmp_path / "artifacts")
    runs = [_fake_run(a, "c1", "--fail"), _fake_run(a, "c2", "--no-export"), _fake_run(a, "c4")]
    proc, calls, summary, _ = _run_entrypoint(helm, tmp_path, runs, ["Qwen/Qwen3-0.6B"])
    assert proc.returncode == 1
    assert len(calls) == 3
    assert [(r["name"], r["returncode"], r["ok"]) for r in summary["runs"]] == [
        ("c1", 3, False), ("c2", 0, False), ("c4", 0, True)]
    assert "2 of 3 runs failed: c1, c2" in proc.stdout


def test_benchmark_entrypoint_gives_up_when_the_model_never_appears(helm, tmp_path):
    a = str(tmp_path / "artifacts")
    proc, calls, summary, _ = _run_entrypoint(helm, tmp_path, [_fake_run(a, "c1")], ["some/other-model"], timeout="0.3")
    assert proc.returncode == 1
    assert calls == []
    assert summary["modelReady"] is False and summary["runs"] == []
    assert "not listed yet" in proc.stdout and "the model was never served" in proc.stdout


def test_benchmark_notes(helm):
    notes = helm.notes("benchmark", {**BENCH, "runs": [_run("c1"), _run("c4")], "runId": "abc"})
    assert "job/benchmark-abc" in notes
    assert "c4 -> /artifacts/c4/" in notes
    assert "PVC benchmark-artifacts" in notes


# ----------------------------------------------------------------------------------------------------
# metrics: PodMonitors select what the operator labels


def operator_pod(dgd: str, component: str, component_type: str, namespace: str = NAMESPACE,
                 metrics_enabled: bool = True) -> dict:
    """Labels and named ports the Dynamo operator gives a DGD component's pods (dynamo-notes §1.4)."""
    labels = {
        "nvidia.com/dynamo-graph-deployment-name": dgd,
        "nvidia.com/dynamo-component": component,
        "nvidia.com/dynamo-component-type": component_type,
        "nvidia.com/dynamo-namespace": f"{namespace}-{dgd}",
    }
    if metrics_enabled:
        labels["nvidia.com/metrics-enabled"] = "true"
    ports = {"http": 8000} if component_type == "frontend" else {"system": 9090}
    return {"namespace": namespace, "labels": labels, "ports": ports}


def selects(selector: dict, labels: dict) -> bool:
    """Kubernetes LabelSelector semantics."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        key, op, vals = e["key"], e["operator"], e.get("values", [])
        ok = {"In": key in labels and labels[key] in vals, "NotIn": key not in labels or labels[key] not in vals,
              "Exists": key in labels, "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


def pod_monitor_selects(pm: dict, pod: dict) -> bool:
    ns_sel = pm["spec"].get("namespaceSelector", {})
    in_ns = ns_sel.get("any") or pod["namespace"] in ns_sel.get("matchNames", [pm["metadata"]["namespace"]])
    return bool(in_ns) and selects(pm["spec"]["selector"], pod["labels"])


def _metrics_scenarios():
    return [p for p in SCENARIOS if p.values[0] == "metrics"]


@pytest.mark.parametrize("chart, values_file", _metrics_scenarios())
def test_pod_monitors_select_the_operator_labelled_pods(helm, chart, values_file):
    values = _scenario_values(values_file)
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
            assert {"sourceLabels": ["__meta_kubernetes_pod_label_nvidia_com_dynamo_graph_deployment_name"],
                    "targetLabel": "dynamo_graph_deployment"} in endpoint["relabelings"]
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


@pytest.mark.parametrize("chart, values_file", _metrics_scenarios())
def test_dashboard_is_grafana_json_for_this_dgd(helm, chart, values_file):
    values = _scenario_values(values_file)
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
    for metric in ("dynamo_frontend_time_to_first_token_seconds_bucket",
                   "dynamo_frontend_inter_token_latency_seconds_bucket", "dynamo_frontend_requests_total",
                   "dynamo_frontend_inflight_requests", "dynamo_component_kvstats_gpu_cache_usage_percent"):
        assert metric in joined, metric
    assert joined.count("histogram_quantile(") == 6
    assert re.findall(r"histogram_quantile\(0\.\d+, sum by \(le\) \(rate\((\w+)\{", joined) == [
        "dynamo_frontend_time_to_first_token_seconds_bucket"] * 3 + [
        "dynamo_frontend_inter_token_latency_seconds_bucket"] * 3


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


# ----------------------------------------------------------------------------------------------------
# model-express: the Service answers on the URL the composer derives


def model_express_url(fullname: str, namespace: str, port: int = 8001) -> str:
    """What the composer passes to the platform as modelExpressURL (see values.yaml's naming rule)."""
    return f"http://{fullname}.{namespace}.svc.cluster.local:{port}"


@pytest.mark.parametrize("release, values, fullname", [
    ("model-express", {}, "model-express"),
    ("qwen-model-express", {}, "qwen-model-express"),
    ("mx", {}, "mx-model-express"),
    ("mx", {"fullnameOverride": "model-express-server"}, "model-express-server"),
    ("mx", {"service": {"port": 9001}}, "mx-model-express"),
])
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
    env = _env(container)
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
    assert container["resources"] == {"requests": {"cpu": "200m", "memory": "128Mi"},
                                      "limits": {"cpu": "500m", "memory": "256Mi"}}
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
        {"secretRef": {"name": "hf-token-secret"}}]
    existing = helm.render("model-express", {"persistence": {"existingClaim": "model-cache"}})
    assert by_kind(existing, "PersistentVolumeClaim") == []
    assert one(existing, "Deployment")["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"] == {
        "claimName": "model-cache"}


# ----------------------------------------------------------------------------------------------------
# inference-gateway


@pytest.mark.parametrize("chart, values_file", [p for p in SCENARIOS if p.values[0] == "inference-gateway"])
def test_http_route_targets_the_given_backend(helm, chart, values_file):
    values = _scenario_values(values_file)
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
        assert rule["filters"] == [{"type": "URLRewrite", "urlRewrite": {
            "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}]
    assert rule["timeouts"] == {"request": values.get("route", {}).get("requestTimeout", "300s")}
    assert route["spec"].get("hostnames", []) == values.get("route", {}).get("hostnames", [])


def test_http_route_to_the_frontend_service_of_the_dgd(helm):
    """backend.kind Service: the composer passes the frontend Service the operator creates for the DGD."""
    dgd = "qwen-test"
    route = one(helm.render("inference-gateway", {"gateway": {"name": "gw"},
                                                  "backend": {"kind": "Service", "name": f"{dgd}-frontend"}}),
                "HTTPRoute")
    assert route["spec"]["rules"][0]["backendRefs"] == [
        {"group": "", "kind": "Service", "name": f"{dgd}-frontend", "port": 8000, "weight": 1}]


def test_inference_gateway_documents_its_prerequisites(helm):
    readme = (CHARTS_DIR / "inference-gateway" / "README.md").read_text()
    for needle in ("Gateway API CRDs", "Inference Extension", "allowedRoutes"):
        assert needle in readme
    pool = helm.notes("inference-gateway", {"gateway": {"name": "gw", "namespace": "gw-system"},
                                            "backend": {"name": "qwen-pool"}})
    assert "Gateway API Inference Extension CRDs" in pool and "allows routes from namespace llm" in pool
    svc = helm.notes("inference-gateway", {"gateway": {"name": "gw"}, "backend": {"kind": "Service", "name": "q-frontend"}})
    assert "Inference Extension" not in svc and "Gateway API CRDs" in svc
