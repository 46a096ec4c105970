"""What the component chart tests (tests/charts/test_*_chart.py: benchmark, metrics, model-express,
inference-gateway) share: real helm offline, the scenarios under charts/<chart>/ci/, structural checks of
the custom resources, and the checks every component chart gets (lint, valid objects, style, schema).

helm runs offline with HELM_CACHE_HOME/HELM_CONFIG_HOME/HELM_DATA_HOME in a temporary directory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.support.validate import GATEWAY_CRDS, crd_errors, k8s_errors, load_docs

ROOT = Path(__file__).resolve().parents[2]
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


def helm_binary() -> str:
    local = Path(sys.executable).parent / "helm"  # the pinned one scripts/setup installs beside python
    found = str(local) if local.exists() else shutil.which("helm")
    if not found:
        pytest.skip("helm is not installed")
    return found


def scenarios(chart: str) -> list:
    """One pytest param per charts/<chart>/ci/*-values.yaml, with the id it always had."""
    return [
        pytest.param(chart, path, id=f"{chart}/{path.name}")
        for path in sorted((CHARTS_DIR / chart / "ci").glob("*-values.yaml"))
    ]


def scenario_values(path: Path) -> dict:
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

    def template(
        self,
        chart: str | Path,
        values: dict | None = None,
        files=(),
        release: str | None = None,
        namespace: str = NAMESPACE,
        check: bool = True,
    ) -> subprocess.CompletedProcess:
        chart_dir = Path(chart) if isinstance(chart, Path) else CHARTS_DIR / chart
        args = [
            "template",
            release or chart_dir.name,
            str(chart_dir),
            "--namespace",
            namespace,
            "--kube-version",
            KUBE_VERSION,
        ]
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
            '{{- define "zz.notes" -}}\n' + notes.read_text() + "\n{{- end -}}\n"
        )
        (copy / "templates" / "zz-notes.yaml").write_text('notes: {{ include "zz.notes" . | toJson }}\n')
        notes.unlink()
        proc = self.template(copy, values, files, release or chart, namespace)
        out = [d for d in load_docs(proc.stdout) if set(d) == {"notes"}]
        assert len(out) == 1
        return out[0]["notes"]


def container_env(container: dict) -> dict:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


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
_DNS_SUBDOMAIN = {
    "type": "string",
    "maxLength": 253,
    "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
}
_LABEL_MAP = {
    "type": "object",
    "propertyNames": {"pattern": r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"},
    "additionalProperties": {
        "type": "string",
        "maxLength": 63,
        "pattern": r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$",
    },
}
_METADATA = {
    "type": "object",
    "required": ["name", "namespace"],
    "properties": {
        "name": _DNS_SUBDOMAIN,
        "namespace": _DNS_LABEL,
        "labels": _LABEL_MAP,
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
_PROM_DURATION = {
    "type": "string",
    "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
}
_RELABEL = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "sourceLabels": {"type": "array", "items": {"type": "string", "pattern": r"^[a-zA-Z_][a-zA-Z0-9_]*$"}},
        "separator": {"type": "string"},
        "targetLabel": {"type": "string"},
        "regex": {"type": "string"},
        "modulus": {"type": "integer"},
        "replacement": {"type": "string"},
        "action": {
            "enum": [
                "replace",
                "Replace",
                "keep",
                "Keep",
                "drop",
                "Drop",
                "hashmod",
                "HashMod",
                "labelmap",
                "LabelMap",
                "labeldrop",
                "LabelDrop",
                "labelkeep",
                "LabelKeep",
                "lowercase",
                "Lowercase",
                "uppercase",
                "Uppercase",
                "keepequal",
                "KeepEqual",
                "dropequal",
                "DropEqual",
            ]
        },
    },
}
_LABEL_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["key", "operator"],
                "properties": {
                    "key": {"type": "string"},
                    "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                    "values": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
PODMONITOR_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PodMonitor"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "podMetricsEndpoints"],
            "properties": {
                "jobLabel": {"type": "string"},
                "podTargetLabels": {"type": "array", "items": {"type": "string"}},
                "selector": _LABEL_SELECTOR,
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"any": {"type": "boolean"}, "matchNames": {"type": "array", "items": _DNS_LABEL}},
                },
                "podMetricsEndpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string", "minLength": 1},
                            "portNumber": {"type": "integer"},
                            "path": {"type": "string", "pattern": "^/"},
                            "scheme": {"enum": ["http", "https"]},
                            "interval": _PROM_DURATION,
                            "scrapeTimeout": _PROM_DURATION,
                            "honorLabels": {"type": "boolean"},
                            "relabelings": {"type": "array", "items": _RELABEL},
                            "metricRelabelings": {"type": "array", "items": _RELABEL},
                        },
                    },
                },
            },
        },
    },
}
_GW_DURATION = {"type": "string", "pattern": r"^([0-9]{1,5}(h|m|s|ms)){1,4}$"}
_GW_GROUP = {
    "type": "string",
    "maxLength": 253,
    "pattern": r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
}
_GW_KIND = {"type": "string", "minLength": 1, "maxLength": 63, "pattern": r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"}
HTTPROUTE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "gateway.networking.k8s.io/v1"},
        "kind": {"const": "HTTPRoute"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "parentRefs": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 32,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name"],
                        "properties": {
                            "group": _GW_GROUP,
                            "kind": _GW_KIND,
                            "namespace": _DNS_LABEL,
                            "name": _DNS_SUBDOMAIN,
                            "sectionName": _DNS_SUBDOMAIN,
                            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                        },
                    },
                },
                "hostnames": {"type": "array", "maxItems": 16, "items": {"type": "string", "maxLength": 253}},
                "rules": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 16,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "matches": {
                                "type": "array",
                                "maxItems": 64,
                                "items": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {
                                        "path": {
                                            "type": "object",
                                            "additionalProperties": False,
                                            "properties": {
                                                "type": {"enum": ["Exact", "PathPrefix", "RegularExpression"]},
                                                "value": {"type": "string", "maxLength": 1024, "pattern": "^/"},
                                            },
                                        }
                                    },
                                },
                            },
                            "filters": {
                                "type": "array",
                                "maxItems": 16,
                                "items": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "required": ["type"],
                                    "properties": {
                                        "type": {
                                            "enum": [
                                                "RequestHeaderModifier",
                                                "ResponseHeaderModifier",
                                                "RequestMirror",
                                                "RequestRedirect",
                                                "URLRewrite",
                                                "ExtensionRef",
                                            ]
                                        },
                                        "urlRewrite": {
                                            "type": "object",
                                            "additionalProperties": False,
                                            "properties": {
                                                "hostname": {"type": "string"},
                                                "path": {
                                                    "type": "object",
                                                    "additionalProperties": False,
                                                    "required": ["type"],
                                                    "properties": {
                                                        "type": {"enum": ["ReplaceFullPath", "ReplacePrefixMatch"]},
                                                        "replaceFullPath": {"type": "string"},
                                                        "replacePrefixMatch": {"type": "string"},
                                                    },
                                                },
                                            },
                                        },
                                    },
                                },
                            },
                            "backendRefs": {
                                "type": "array",
                                "maxItems": 16,
                                "items": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "required": ["name"],
                                    "properties": {
                                        "group": _GW_GROUP,
                                        "kind": _GW_KIND,
                                        "name": _DNS_SUBDOMAIN,
                                        "namespace": _DNS_LABEL,
                                        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                                        "weight": {"type": "integer", "minimum": 0, "maximum": 1000000},
                                    },
                                },
                            },
                            "timeouts": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {"request": _GW_DURATION, "backendRequest": _GW_DURATION},
                            },
                        },
                    },
                },
            },
        },
    },
}


def custom_resource_errors(doc: dict) -> list[str]:
    schema = {"PodMonitor": PODMONITOR_SCHEMA, "HTTPRoute": HTTPROUTE_SCHEMA}[doc["kind"]]
    name = f"{doc['kind']}/{doc.get('metadata', {}).get('name')}"
    errors = [
        f"{name}: {'.'.join(map(str, e.path)) or '<root>'}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(doc)
    ]
    if doc["kind"] == "HTTPRoute":  # the CRD's schema, then its CEL rules that concern us
        errors += crd_errors([doc], GATEWAY_CRDS)
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
# What the Dynamo operator labels (the metrics PodMonitors and the benchmark's anti-affinity select it)


def operator_pod(
    dgd: str, component: str, component_type: str, namespace: str = NAMESPACE, metrics_enabled: bool = True
) -> dict:
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
        ok = {
            "In": key in labels and labels[key] in vals,
            "NotIn": key not in labels or labels[key] not in vals,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def pod_monitor_selects(pm: dict, pod: dict) -> bool:
    ns_sel = pm["spec"].get("namespaceSelector", {})
    in_ns = ns_sel.get("any") or pod["namespace"] in ns_sel.get("matchNames", [pm["metadata"]["namespace"]])
    return bool(in_ns) and selects(pm["spec"]["selector"], pod["labels"])


# ----------------------------------------------------------------------------------------------------
# Every component chart: each scenario lints and renders valid objects, the chart follows the style,
# its schema refuses what it must (each test_<chart>_chart.py parametrizes these)


def check_lint_strict(helm: Helm, chart: str, values_file: Path) -> None:
    proc = helm.run("lint", "--strict", str(CHARTS_DIR / chart), "-f", str(values_file), "--kube-version", KUBE_VERSION)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[WARNING]" not in proc.stdout and "[ERROR]" not in proc.stdout, proc.stdout


def check_renders_valid_objects(helm: Helm, chart: str, values_file: Path) -> None:
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


def check_style(chart: str) -> None:
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


def check_schema_rejects(helm: Helm, chart: str, values: dict, message: str) -> None:
    proc = helm.template(chart, values, check=False)
    assert proc.returncode != 0
    assert "don't meet the specifications of the schema" in proc.stderr
    assert message in proc.stderr, proc.stderr
