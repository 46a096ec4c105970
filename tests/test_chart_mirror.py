"""Every constraint a chart's values.schema.json puts on a value the values file feeds is mirrored by
the values schema (or a rule): a value that breaks it is refused by `compose validate`, exit 2, at
that value's own line:column and JSON pointer, not later by helm without a location.

The test walks each charts/*/values.schema.json (through $ref) and, for every constraint keyword
on a chart value that FEEDS traces to a place in the values file, builds values files whose value
there breaks it: another type, a string outside the enum or pattern, one character too many, a number
one past the bound, a duplicate, an unknown key, a required key removed. Each must be either
* refused at its place (exit 2, a line `values.yaml:L:C: /pointer: ...` whose L:C is where that value
  or key is written), or
* accepted and harmless: compose did not pass the broken value on (a default or a derivation took
  its place), and the chart values plan() gives pass every chart schema.
A value constraint for which no broken value is refused (nothing to show it is mirrored) fails the
test, as does a chart value plan() fills that is neither in FEEDS nor in DERIVED: a new chart
constraint or a new chart input cannot go unnoticed.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml as pyyaml
from click.testing import CliRunner

from composer import cli, schema
from composer import project as p
from tests.support.charts import FastDumper, FastLoader, chart, coalesce
from tests.support.project import REPO, make_project

pytestmark = pytest.mark.sweep  # every constraint of every chart, hundreds of values files

CHARTS = ("model", "benchmark", "model-express", "inference-gateway", "metrics")


@dataclass(frozen=True)
class Feed:
    chart: str  # chart values pointer (prefix); '*' is any list index or map key
    values: str  # where the values file gives it
    wrap: Callable[[Any], Any] = lambda v: v  # the chart's value -> the values file's, where compose reshapes it


# Chart value <- values file value. A prefix feed carries everything below it.
FEEDS: dict[str, list[Feed]] = {
    "model": [
        Feed("/dynamoNamespace", "/dynamoNamespace"),
        Feed("/dynamoVersion", "/platform/version"),
        Feed("/model", "/model"),
    ],
    "benchmark": [
        Feed("/image", "/benchmark/config/image"),
        Feed("/dynamoVersion", "/platform/version"),
        Feed("/target/model", "/model/name"),
        Feed("/hfTokenSecret", "/model/hfTokenSecret"),
        Feed("/imagePullSecrets/*/name", "/model/imagePullSecrets/*"),
        Feed("/artifacts/persistence/size", "/benchmark/config/storage/size"),
        Feed("/artifacts/persistence/storageClassName", "/benchmark/config/storage/storageClassName"),
        Feed("/artifacts/persistence/existingClaim", "/benchmark/config/storage/existingClaim"),
        Feed("/antiAffinity/dgdName", "/dynamoNamespace"),
    ],
    "model-express": [
        # the image reference is split at its last ':'
        Feed("/image/repository", "/modelExpress/image", lambda v: f"{v}:1.0" if isinstance(v, str) else v),
        Feed("/image/tag", "/modelExpress/image", lambda v: f"registry.example/mx:{v}" if isinstance(v, str) else v),
        Feed("/persistence/size", "/modelExpress/storageSize"),
        Feed("/hfTokenSecret", "/model/hfTokenSecret"),
    ],
    "inference-gateway": [
        Feed("/dynamoVersion", "/platform/version"),
        Feed("/gateway/name", "/inferenceGateway/gateway/name"),
        Feed("/gateway/namespace", "/inferenceGateway/gateway/namespace"),
        Feed("/gateway/namespace", "/cluster/namespace"),  # the deployment's, unless set
    ],
    "metrics": [
        Feed("/dynamoVersion", "/platform/version"),
        Feed("/dgdName", "/dynamoNamespace"),
        Feed("/namespace", "/cluster/namespace"),
        Feed("/podMonitor/labels/*", "/observability/prometheusRelease"),
        Feed("/dashboard/namespace", "/observability/dashboardNamespace"),
        Feed("/dashboard/namespace", "/cluster/namespace"),  # the deployment's, unless set
    ],
}
# Chart values compose computes rather than copies; what bounds them is the values they are made from
# (names from dynamoNamespace: the name-length rule; URLs, ports, run argvs: compose's own).
DERIVED: dict[str, set[str]] = {
    "model": set(),
    "benchmark": {"/fullnameOverride", "/target/url", "/target/gpus", "/runs", "/runId", "/artifacts/mountPath"},
    "model-express": {"/fullnameOverride", "/service/port"},
    "inference-gateway": {"/fullnameOverride", "/backend/kind", "/backend/name", "/backend/port"},
    "metrics": {"/fullnameOverride"},
}

# A values file with every section and optional structure present, so each fed value has a place.
BASE: dict[str, Any] = {
    "dynamoNamespace": "demo",
    "model": {
        "name": "Qwen/Qwen3-0.6B",
        "backend": {"type": "vllm", "image": "registry.example/vllm-runtime:1.4.0"},
        "deployment": {"create": True, "labels": {"team": "llm"}, "annotations": {"note": "x"}},
        "disaggregation": True,
        "routingPolicy": "kv",
        "frontend": {
            "replicas": 1,
            "resources": {"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}},
            "env": [{"name": "F", "value": "x"}],
        },
        "decode": {
            "replicas": 1,
            "gpus": 1,
            "resources": {"requests": {"cpu": "2"}, "limits": {"memory": "4Gi"}},
            "extraArgs": ["--x"],
            "modelRef": {"name": "Qwen/Qwen3-0.6B"},
            "env": [{"name": "A", "value": "b"}],
            "extraConfig": {"path": "/opt/dynamo/model/config.yaml", "configMapRef": {"name": "cm", "key": "k"}},
        },
        "prefill": {
            "replicas": 1,
            "gpus": 0,
            "resources": {"requests": {"cpu": "2"}, "limits": {"memory": "4Gi"}},
            "extraArgs": ["--y"],
            "modelRef": {"name": "Qwen/Qwen3-0.6B"},
            "env": [{"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
            "extraConfig": {"path": "/opt/dynamo/model/config.yaml", "inline": {"a": 1}},
        },
        "hfTokenSecret": "hf-token",
        "modelCache": {"pvcName": "cache", "mountPath": "/cache"},
        "sharedMemorySize": "16Gi",
        "imagePullSecrets": ["pull"],
        "computeDomain": {
            "enabled": True,
            "name": "nvl72",
            "numNodes": 4,
            "allocationMode": "Single",
            "roles": ["decode"],
        },
        # prefill's accelerators are DRA devices (it has gpus: 0, below)
        "deviceClaim": {
            "enabled": True,
            "deviceClassName": "gpu.intel.com",
            "count": 1,
            "templateName": "gpu-template",
            "roles": ["prefill"],
        },
        "nodeSelector": {"zone": "a"},
        "tolerations": [{"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}],
        "configMaps": {"spec-config": {"speculative-config": '{"method": "mtp"}'}},
        "loras": [{"name": "adapter", "modelName": "my/adapter", "source": {"uri": "s3://loras/adapter"}}],
        "extraObjects": [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "{{ .Values.dynamoNamespace }}-notes", "labels": {"team": "ml"}},
                "data": {"model": "{{ .Values.model.name }}"},
            }
        ],
    },
    "benchmark": {
        "enabled": True,
        "config": {
            "image": "registry.example/aiperf:1",
            "storage": {"size": "10Gi", "storageClassName": "fast", "existingClaim": "claim"},
        },
    },
    "observability": {"enabled": True, "prometheusRelease": "kps", "dashboardNamespace": "grafana"},
    "inferenceGateway": {"enabled": True, "gateway": {"name": "gw", "namespace": "gw-ns"}},
    "modelExpress": {"enabled": True, "image": "registry.example/mx:1.0", "storageSize": "10Gi"},
    "platform": {"version": "1.4.0"},
    "cluster": {"namespace": "llm"},
}
# Every per-component setting, on every component (the workers' own too), so each constraint has a value to break.
POD_SETTINGS: dict[str, Any] = {
    "image": "registry.example/other:1",
    "imagePullPolicy": "Always",
    "ports": [{"name": "metrics", "containerPort": 9085}],
    "runtimeClassName": "nvidia",
    "schedulerName": "kai-scheduler",
    "hostIPC": True,
    "command": ["python3"],
    "args": ["-m", "x"],
    "extraArgs": ["--z"],
    "workingDir": "/work",
    "envFrom": [{"configMapRef": {"name": "vars"}}],
    "volumes": [{"name": "scratch", "emptyDir": {}}],
    "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
    "startupProbe": {"tcpSocket": {"port": 9090}},
    "livenessProbe": {"httpGet": {"path": "/live", "port": 9090}},
    "readinessProbe": {"exec": {"command": ["true"]}},
    "securityContext": {"capabilities": {"add": ["IPC_LOCK"]}},
    "podSecurityContext": {"runAsUser": 1000},
    "affinity": {"nodeAffinity": {}},
    "priorityClassName": "high",
    "serviceAccountName": "runner",
    "terminationGracePeriodSeconds": 60,
    "annotations": {"a": "b"},
    "labels": {"tier": "gold"},
    "resourceClaims": [{"name": "gpus", "resourceClaimTemplateName": "gpus"}],
    "sharedMemorySize": "8Gi",
    "nodeSelector": {"zone": "b"},
    "tolerations": [{"key": "k2", "operator": "Exists"}],
}
WORKER_SETTINGS: dict[str, Any] = {
    "multinode": {"nodeCount": 2},
    "compilationCache": {"pvcName": "cc", "mountPath": "/cc"},
    "experimental": {
        "gpuMemoryService": {"mode": "IntraPod", "deviceClassName": "gpu.nvidia.com", "extraClientContainers": ["aux"]},
        "failover": {"mode": "IntraPod", "numShadows": 1},
        "checkpoint": {
            "enabled": True,
            "checkpointRef": "ckpt",
            "deletionPolicy": "Retain",
            "startupPolicy": "WaitForCheckpoint",
            "targetContainerName": "main",
        },
        "grove": {"forceScalingGroup": True},
    },
    "modelRef": {"name": "Qwen/Qwen3-0.6B", "revision": "main"},
}
BASE["model"]["env"] = [{"name": "G", "value": "g"}]
BASE["model"]["frontend"] |= POD_SETTINGS
BASE["model"]["decode"] |= POD_SETTINGS | WORKER_SETTINGS
BASE["model"]["prefill"] |= POD_SETTINGS | WORKER_SETTINGS
BASE["model"]["planner"] = {
    "enabled": True,
    "prometheusEndpoint": "http://prometheus.monitoring.svc.cluster.local:9090",
    "config": {"optimization_target": "sla", "ttft_ms": 200},
    "profileData": {"configMapRef": {"name": "profile"}},
    "resources": {"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}},
    "env": [{"name": "P", "value": "p"}],
    **POD_SETTINGS,
}
BASE["model"]["epp"] = {
    "enabled": True,
    "replicas": 1,
    "kvCacheBlockSize": 16,
    "config": {"plugins": [{"name": "picker", "type": "max-score-picker"}]},
    "resources": {"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}},
    "env": [{"name": "E", "value": "e"}],
    **POD_SETTINGS,
}

# --- the chart schemas' constraints --------------------------------------------------------------

VALUE_KEYWORDS = (
    "type",
    "enum",
    "const",
    "pattern",
    "maxLength",
    "minLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "maxItems",
    "minItems",
    "uniqueItems",
    "anyOf",
    "oneOf",
    "allOf",
    "not",
    "format",
)
OBJECT_KEYWORDS = ("required", "additionalProperties", "propertyNames", "minProperties", "maxProperties")
STRUCTURE = {"properties", "items", "definitions", "$ref", "$schema", "title", "description", "default"}


def resolve(root: dict, node: dict) -> dict:
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/definitions/"), ref
        target = root["definitions"][ref.split("/")[-1]]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def constraints(root: dict) -> list[tuple[str, str, dict]]:
    """(chart pointer pattern, keyword, resolved subschema) of every constraint in a chart schema."""
    out = []

    def walk(node: dict, ptr: str) -> None:
        node = resolve(root, node)
        for kw in node:
            if kw in VALUE_KEYWORDS or kw in OBJECT_KEYWORDS:
                out.append((ptr, kw, node))
            else:
                assert kw in STRUCTURE, f"{ptr}: keyword {kw!r} that this test does not know"
        for key, sub in node.get("properties", {}).items():
            walk(sub, f"{ptr}/{key}")
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{ptr}/*")
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{ptr}/*")

    walk(root, "")
    return out


# null is left out: in a values file it means "no value" (the default), which `required` covers
EXAMPLE = {"string": "x", "integer": 7, "number": 1.5, "boolean": True, "object": {"k": "v"}, "array": ["x"]}
STRINGS = [
    "",
    " ",
    "a b",
    "UPPER",
    "-a",
    "a-",
    "a_b",
    "a/b",
    "/",
    "a/",
    "/a/",
    "/a/../b",
    "/a/./b",
    "a//b",
    "..",
    "a..b",
    ".a",
    "a.",
    "a:b",
    "a@b",
    "é",
    "9a",
    "*",
    "1",
    "ab\tc",
    "a\nb",
    "http://",
    "a" * 300,
]


def candidates(kw: str, node: dict) -> list[Any]:
    """Values that may break `kw` of node (filtered afterwards to those that do)."""
    arg = node[kw]
    if kw == "type":
        allowed = {arg} if isinstance(arg, str) else set(arg)
        if "number" in allowed:
            allowed.add("integer")
        return [v for t, v in EXAMPLE.items() if t not in allowed]
    if kw == "enum":
        return ["zz-not-an-option", 12345]
    if kw in ("maxLength", "minLength"):
        n = arg + 1 if kw == "maxLength" else arg - 1
        return ["a" * n, "1" * n] if n >= 0 else []
    if kw in ("minimum", "exclusiveMinimum"):
        return [arg - 1, arg]
    if kw in ("maximum", "exclusiveMaximum"):
        return [arg + 1, arg]
    if kw in ("maxItems", "minItems"):
        n = arg + 1 if kw == "maxItems" else arg - 1
        return [[f"a{i}" for i in range(n)]] if n >= 0 else []
    if kw == "uniqueItems":
        item = {"name": "a"} if resolve_items(node).get("type") == "object" else "a"
        return [[item, item]]
    return STRINGS + list(EXAMPLE.values()) + [-1, 2**31, 2**63]


def resolve_items(node: dict) -> dict:
    return node.get("items") if isinstance(node.get("items"), dict) else {}


def breaks(kw: str, node: dict, value: Any) -> bool:
    """Whether value violates keyword kw of node itself (not something nested)."""
    sub = {k: v for k, v in node.items() if k not in ("properties", "items", "additionalProperties", "required")}
    errors = jsonschema.Draft7Validator(sub).iter_errors(value)
    return any(e.validator == kw and not e.absolute_path for e in errors)


# --- the values file side -------------------------------------------------------------------------


def source(feed: Feed, chart_ptr: str) -> str | None:
    """The values pointer that gives chart_ptr through feed, or None."""
    if chart_ptr == feed.chart or chart_ptr.startswith(feed.chart + "/"):
        return feed.values + chart_ptr[len(feed.chart) :]
    return None


def values_node(ptr: str) -> dict | None:
    """The values schema's node for a pointer pattern, or None if the values file has no such place."""
    node = schema.values_schema()
    for part in ptr.split("/")[1:]:
        if part == "*" and isinstance(node.get("items"), dict):
            node = node["items"]
        elif part == "*" and isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        elif part in node.get("properties", {}):
            node = node["properties"][part]
        else:
            return None
        node = schema.resolve(node)  # a $defs entry (a worker role, resources) as if written here
    return node


def concrete(doc: dict, ptr: str) -> str:
    """ptr with each '*' replaced by the first index or key BASE has there."""
    out, node = "", doc
    for part in ptr.split("/")[1:]:
        if part == "*":
            part = "0" if isinstance(node, list) else next(iter(node))
        out += f"/{part}"
        node = node[int(part)] if isinstance(node, list) else (node or {}).get(part)  # a leaf BASE lacks: added
    return out


def edit(ptr: str, value: Any = None, *, delete: bool = False) -> dict:
    doc = copy.deepcopy(BASE)
    *parents, last = ptr.split("/")[1:]
    node = doc
    for part in parents:  # a mapping BASE lacks (the other role's config source) is added
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if delete:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


@functools.cache
def positions(text: str) -> dict[str, set[tuple[int, int]]]:
    """pointer -> where its value and its key are written, by PyYAML's own composer (not compose's;
    libyaml's: the same marks as the pure-Python one, ten times faster). Read-only: cached per text."""
    out: dict[str, set[tuple[int, int]]] = {}

    def walk(node, ptr):
        out.setdefault(ptr, set()).add((node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, pyyaml.MappingNode):
            for k, v in node.value:
                child = f"{ptr}/{k.value}"
                out.setdefault(child, set()).add((k.start_mark.line + 1, k.start_mark.column + 1))
                walk(v, child)
        elif isinstance(node, pyyaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, f"{ptr}/{i}")

    walk(pyyaml.compose(text, Loader=FastLoader), "")
    return out


@pytest.fixture(scope="module")
def proj(tmp_path_factory) -> Path:
    return make_project(tmp_path_factory.mktemp("mirror") / "proj", "", {"dev": "target: kubernetes\n"})


# `compose validate`'s (exit code, stderr) per (project, values text). A fifth of the values files
# are built again by another constraint or chart (the same bad value at the same place): compose
# validate is deterministic, so each distinct file is validated once a run.
_VALIDATED: dict[tuple[Path, str], tuple[int, str]] = {}


def validate(root: Path, doc: dict) -> tuple[int, str, str]:
    text = pyyaml.dump(doc, Dumper=FastDumper, default_flow_style=False, sort_keys=False, allow_unicode=True)
    # always written: chart_errors() and the plan tests read the file validated last
    (root / "values.yaml").unlink(missing_ok=True)  # replaced, not truncated: ext4 flushes a truncated file
    (root / "values.yaml").write_text(text)
    if (root, text) not in _VALIDATED:
        result = CliRunner().invoke(cli.main, ["validate", "-f", str(root / "values.yaml")])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        _VALIDATED[root, text] = result.exit_code, result.stderr
    return (*_VALIDATED[root, text], text)


def chart_errors(root: Path) -> list[str]:
    env_plan = p.plans(p.Project.at(root / "values.yaml"), ["dev"])["dev"]
    errors = []
    for release in env_plan.releases:
        if not release.remote:
            defaults, validator = chart(release.chart)
            merged = coalesce(defaults, json.loads(json.dumps(release.values)))
            errors += [
                f"{release.chart}: /{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors(merged)
            ]
    return errors


LINE = re.compile(r"^values\.yaml:(\d+):(\d+): (\S*): ")


def refused_at(stderr: str, text: str, ptrs: set[str]) -> bool:
    """A problem at one of ptrs, located where that value or key is written."""
    where = positions(text)
    for line in stderr.splitlines():
        m = LINE.match(line)
        # at the value, or inside it (a list's duplicate entry is reported at the entry)
        at = m and next((t for t in ptrs if m[3] == t or m[3].startswith(t + "/")), None)
        if at and (int(m[1]), int(m[2])) in where.get(m[3], set()):
            return True
    return False


# --- the tests ------------------------------------------------------------------------------------


def cases() -> list[tuple[str, str, str, dict]]:
    out = []
    for name in CHARTS:
        root = json.loads((REPO / "charts" / name / "values.schema.json").read_text())
        out += [(name, ptr, kw, node) for ptr, kw, node in constraints(root)]
    return out


def test_the_base_values_file_is_valid_and_every_chart_takes_it(proj):
    code, stderr, _ = validate(proj, BASE)
    assert code == 0, stderr
    assert chart_errors(proj) == []


@pytest.mark.parametrize("chart_name", CHARTS)
def test_chart_constraints_are_mirrored_at_the_values_location(chart_name, proj):
    """Each constraint on a fed chart value: the values files that break it are refused where the
    value is written, or do not reach the chart; and at least one is refused."""
    failures, checked = [], 0
    for name, ptr, kw, node in cases():
        if name != chart_name:
            continue
        for feed in FEEDS[name]:
            src = source(feed, ptr)
            if src is None or values_node(src) is None:
                continue  # the values file has no place that gives this chart value
            checked += 1
            failures += _check(proj, name, ptr, kw, node, feed, src)
    assert checked, f"no constraint of the {chart_name} chart is fed by the values file: is FEEDS right?"
    assert not failures, "\n".join(failures)


def _check(proj: Path, name: str, ptr: str, kw: str, node: dict, feed: Feed, src: str) -> list[str]:
    at = concrete(BASE, src)
    label = f"{name} {ptr} {kw} <- {at}"
    failures, refused, built = [], 0, 0
    if kw == "required":
        tries = [
            (f"{at}/{key}", None, True)
            for key in node["required"]
            if values_node(f"{src}/{key}") is not None and key in _get(BASE, at)
        ]
        expect = lambda target: {at, target}  # at the mapping, or at the key
    elif kw == "additionalProperties":
        if node[kw] is not False or values_node(src).get("type") != "object":
            return []
        tries = [(f"{at}/zzUnknownKey", "x", False)]
        expect = lambda target: {target}
    elif kw in OBJECT_KEYWORDS:
        return []  # propertyNames & co.: on keys compose writes itself (labels), not fed
    else:
        values = [v for v in candidates(kw, node) if breaks(kw, node, v)]
        tries = [(at, feed.wrap(v), False) for v in values]
        expect = lambda target: {target}
    for target, value, delete in tries:
        built += 1
        code, stderr, text = validate(proj, edit(target, value, delete=delete))
        if code == 2:
            refused += 1
            if not refused_at(stderr, text, expect(target)):
                failures.append(f"{label}: {value!r} refused, but not at {target}:\n{stderr}")
        elif code == 0:
            errors = chart_errors(proj)
            if errors:
                failures.append(
                    f"{label}: {value!r} accepted by compose validate, refused by the chart "
                    f"(no mirror in the values schema): {errors}"
                )
        else:
            failures.append(f"{label}: {value!r}: exit {code}\n{stderr}")
    if kw in VALUE_KEYWORDS and built and not refused and not failures:
        failures.append(f"{label}: no value breaking it was refused ({built} tried): is it mirrored?")
    return failures


def _get(doc: Any, ptr: str) -> Any:
    for part in ptr.split("/")[1:]:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def test_every_chart_value_plan_fills_is_fed_or_derived(proj):
    """A new chart input must be added to FEEDS (and so checked above) or DERIVED."""
    validate(proj, BASE)
    env_plan = p.plans(p.Project.at(proj / "values.yaml"), ["dev"])["dev"]
    unknown = []
    for release in env_plan.releases:
        if release.remote:
            continue
        name = release.chart.split("/")[-1]
        feeds = [f.chart for f in FEEDS[name]] + sorted(DERIVED[name])
        for leaf in _leaves(release.values, ""):
            if not any(_covers(f, leaf) for f in feeds):
                unknown.append(f"{name} {leaf}")
    assert unknown == []


def _leaves(v: Any, ptr: str):
    if isinstance(v, dict) and v:
        for k, x in v.items():
            yield from _leaves(x, f"{ptr}/{k}")
    elif isinstance(v, list) and v:
        for x in v:
            yield from _leaves(x, f"{ptr}/*")
    else:
        yield ptr


def _covers(pattern: str, ptr: str) -> bool:
    a, b = pattern.split("/"), ptr.split("/")
    return len(b) >= len(a) and all(x == y or x == "*" for x, y in zip(a, b))


def test_a_constraint_without_a_mirror_fails_this_test(proj, monkeypatch):
    """The check itself: a chart constraint the values schema lacks (a model name of at most 10
    characters) is reported as accepted by compose and refused by the chart."""
    strict = copy.deepcopy(chart("charts/model")[1].schema)
    strict["properties"]["model"]["properties"]["name"]["maxLength"] = 10
    real = chart
    monkeypatch.setitem(
        globals(),
        "chart",
        lambda path: (real(path)[0], jsonschema.Draft7Validator(strict)) if path == "charts/model" else real(path),
    )
    node = strict["properties"]["model"]["properties"]["name"]
    failures = _check(proj, "model", "/model/name", "maxLength", node, FEEDS["model"][2], "/model/name")
    assert failures and "no mirror in the values schema" in failures[0], failures


# --- the model chart's keys the values schema repeats: at least as strict, written once ----------

# The values schema cannot $ref the chart's file (it is shipped alone: to editors by values.yaml's
# $schema line, into projects by `compose init`), so it repeats the model chart's keys, each once
# (the two worker roles are one $defs entry). Each must refuse whatever the chart refuses, or
# something else must: LOOSER says what, and test_chart_constraints_are_mirrored_at_the_values_location
# shows it does.
MIRRORED = (("/dynamoNamespace", "/dynamoNamespace"), ("/dynamoVersion", "/platform/version"), ("/model", "/model"))
LOOSER = {
    ("/dynamoNamespace", "maxLength"): "schema._rule_name_lengths bounds every name made from it",
    ("/model/backend", "required"): "compose derives the image when none is given (Deployment.image)",
}
# Strings to hold a chart's string keywords against: near-misses of its patterns and bounds.
SAMPLES = STRINGS + [
    "16Gi",
    "1.5Gi",
    "512Mi",
    "1",
    "0",
    "500m",
    "1e3",
    "1Ei",
    "Qwen/Qwen3-0.6B",
    "HOME",
    "_X",
    "/opt/dynamo/model/config.yaml",
    "/a/b",
    "/a",
    "/a/..",
    "my-secret",
    "my.secret",
    "a.b.c",
    "vllm",
    "kv",
    "1.4.0",
    "01.2.3",
    "10000.0.0",
    "a" * 54,
    "a" * 55,
    "a" * 63,
    "a" * 64,
    "a" * 253,
    "a" * 254,
]
NESTED = ("properties", "items", "additionalProperties", "required", "description", "default", "title", "$ref")


def _own(node: dict, value: Any, draft=jsonschema.Draft202012Validator) -> bool:
    """Whether value passes node's own keywords (not those of what is nested in it)."""
    return draft({k: v for k, v in node.items() if k not in NESTED}).is_valid(value)


def looser_than_chart(values_root: dict) -> list[str]:
    """Where the values schema takes what the model chart's schema refuses, by keyword."""
    chart_root = json.loads((REPO / "charts" / "model" / "values.schema.json").read_text())
    out = []

    def walk(c: dict, v: dict, ptr: str) -> None:
        c, v = resolve(chart_root, c), schema.resolve(v, values_root)
        for kw in c:
            if kw in NESTED or (ptr, kw) in LOOSER:
                continue
            if kw == "type":
                kinds = {c[kw]} if isinstance(c[kw], str) else set(c[kw])
                mine = {v.get(kw)} if isinstance(v.get(kw), str) else set(v.get(kw) or ["any"])
                ok = mine <= kinds | ({"integer"} if "number" in kinds else set())
            elif kw == "enum":
                ok = set(v.get(kw, [None])) <= set(c[kw])
            elif kw in ("minimum", "exclusiveMinimum", "minItems", "minLength"):
                ok = v.get(kw, float("-inf")) >= c[kw] or kw == "minLength" and not _strings_loose(c, kw, v)
            elif kw in ("maximum", "exclusiveMaximum", "maxItems", "maxLength"):
                ok = v.get(kw, float("inf")) <= c[kw] or kw == "maxLength" and not _strings_loose(c, kw, v)
            elif kw == "uniqueItems":
                ok = v.get(kw) is True or not c[kw]
            elif kw in ("pattern", "anyOf", "oneOf", "allOf", "not", "const", "format"):
                ok = not _strings_loose(c, kw, v)
            else:
                ok = False  # a keyword this comparison does not know: teach it
            if not ok:
                out.append(
                    f"{ptr}: {kw} {json.dumps(c[kw])[:80]} in the chart, values schema has {json.dumps(v.get(kw))[:80]}"
                )
        if "required" in c and (ptr, "required") not in LOOSER:
            props = v.get("properties", {})
            out.extend(
                f"{ptr}: chart requires {key!r}"
                for key in c["required"]
                if key not in v.get("required", []) and "default" not in schema.resolve(props.get(key, {}), values_root)
            )
        if c.get("additionalProperties") is False and v.get("additionalProperties") is not False:
            out.append(f"{ptr}: the chart takes no unknown keys, the values schema does")
        for key, sub in c.get("properties", {}).items():
            if key in v.get("properties", {}):
                walk(sub, v["properties"][key], f"{ptr}/{key}")
        for kw in ("items", "additionalProperties"):
            if isinstance(c.get(kw), dict) and isinstance(v.get(kw), dict):
                walk(c[kw], v[kw], f"{ptr}/*")

    def _strings_loose(c: dict, kw: str, v: dict) -> bool:
        """A sample string the values schema takes and the chart's kw refuses (the pattern of one
        may be written another way, or say with a pattern what the other says with a length)."""
        return any(_own(v, s) and not jsonschema.Draft7Validator({kw: c[kw]}).is_valid(s) for s in SAMPLES)

    for chart_ptr, values_ptr in MIRRORED:
        c, v = chart_root, values_root
        for part in chart_ptr.split("/")[1:]:
            c = resolve(chart_root, c)["properties"][part]
        for part in values_ptr.split("/")[1:]:
            v = schema.resolve(v, values_root)["properties"][part]
        walk(c, v, chart_ptr)
    return out


def test_the_model_charts_keys_are_at_least_as_strict_in_the_values_schema():
    assert looser_than_chart(schema.values_schema()) == []


def test_the_worker_roles_are_one_definition():
    roles = schema.values_schema()["properties"]["model"]["properties"]
    assert roles["decode"]["$ref"] == roles["prefill"]["$ref"] == "#/$defs/workerRole"


def test_a_definition_looser_than_the_chart_is_found():
    """The check itself: an env var name that may be empty, a role with any number of replicas
    as a string, an extraConfig path anywhere: each is reported."""
    loose = copy.deepcopy(schema.values_schema())
    role = loose["$defs"]["workerRole"]["properties"]
    loose["$defs"]["envVar"]["properties"]["name"]["pattern"] = "^.*$"
    role["replicas"]["type"] = ["integer", "string"]
    role["extraConfig"]["properties"]["path"]["pattern"] = "^/"
    found = "\n".join(looser_than_chart(loose))
    for ptr in (
        "/model/decode/env/*/name: minLength",
        "/model/decode/replicas: type",
        "/model/prefill/extraConfig/path: pattern",
    ):
        assert ptr in found, found
