"""`compose import`: an existing DynamoGraphDeployment becomes a compose project whose values render
the same graph.

`read_stream` reads the YAML stream (the DGD, maybe with ConfigMaps and other objects) keeping where
every value is written; `convert` turns it into plain data: the values file as a dict and the list
of what the values cannot express, each by its JSON pointer in the source and where it went
(`patches.model.components.<component>`, `patches.model.jsonPatches` or `model.extraObjects`);
`project_files` lays out the project `compose init` would make around those values, and `write`
writes it all at once (a temporary directory renamed into place).

A v1alpha1 DGD is first converted the way Dynamo's 1.x operator converts it
(deploy/operator/api/v1alpha1/{dynamographdeployment,shared_spec}_conversion.go in ai-dynamo/dynamo):
the `services` map becomes the `components` list sorted by name, `componentType` the `type` (a
worker's `subComponentType` prefill/decode promoted to the type), the flat pod fields the main
container of `podTemplate.spec` (`extraPodSpec.mainContainer` merged over them, env merged by name),
`resources.*.gpu` `nvidia.com/gpu` (or its `gpuType`), `envFromSecret` an envFrom secretRef,
`sharedMemory` `sharedMemorySize` ("0" when disabled), a `useAsCompilationCache` volume mount
`compilationCache`.

What the API server would drop is dropped first, and listed: a field written null (it prunes nulls from
a custom resource). Of a file with several DGDs, the one `--graph` names is imported, else the one whole
graph (a worker beside a frontend or an endpoint picker).
"""

from __future__ import annotations

import copy
import hashlib
import json
import posixpath
import re
import shlex
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from composer import dynamo, extraobjects
from composer.errors import InvalidValues, Problem, UsageError
from composer.load import escape, segments
from composer.model import derived_names
from composer.schema import DGD_OWN_LABELS, DNS1035, DNS1123, DNS1123_SUBDOMAIN

MAX_BYTES = 4 << 20  # a rendered graph with its ConfigMaps: kilobytes; megabytes already mean a wrong file
ALPHA, BETA = f"{dynamo.DGD_GROUP}/v1alpha1", dynamo.DGD_API
ROLES = ("frontend", "decode", "prefill")
BACKENDS = ("vllm", "sglang", "trtllm", "mocker")
# model.routingPolicy's values (Dynamo's `direct` needs an endpoint picker compose does not deploy)
ROUTER_MODES = tuple(m for m in dynamo.ALL_ROUTER_MODES if m != "direct")
ROUTER_ENV = "DYN_ROUTER_MODE"  # the values say it only as model.routingPolicy
GPU = "nvidia.com/gpu"
# NVIDIA's DRA ComputeDomain (k8s-dra-driver-gpu), which model.computeDomain renders, and the claim of its
# channel the model chart gives each claiming worker
CD_API, CD_KIND, CD_CLAIM = "resource.nvidia.com/v1beta1", "ComputeDomain", "compute-domain-channel"
CD_ALLOCATION_MODES = ("Single", "All")
# a DRA ResourceClaimTemplate of the workers' accelerators, which model.deviceClaim renders, and the claim
# (and its one request) the model chart gives each claiming worker
RCT_API, RCT_KIND, DEVICE_CLAIM = "resource.k8s.io/v1", "ResourceClaimTemplate", "gpu"
CONFIG_FLAGS = ("--extra-engine-args", "--config")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
# podTemplate.spec fields the values take per component, and their key there
POD_KEYS = {
    "volumes": "volumes",
    "nodeSelector": "nodeSelector",
    "tolerations": "tolerations",
    "affinity": "affinity",
    "priorityClassName": "priorityClassName",
    "serviceAccountName": "serviceAccountName",
    "terminationGracePeriodSeconds": "terminationGracePeriodSeconds",
    "securityContext": "podSecurityContext",
    "resourceClaims": "resourceClaims",
    "runtimeClassName": "runtimeClassName",
    "schedulerName": "schedulerName",
    "hostIPC": "hostIPC",
}
# main-container fields the values take per component, under the same key
MAIN_KEYS = (
    "image",
    "imagePullPolicy",
    "ports",
    "command",
    "args",
    "workingDir",
    "env",
    "envFrom",
    "resources",
    "volumeMounts",
    "startupProbe",
    "livenessProbe",
    "readinessProbe",
    "securityContext",
)
SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "finalizers",
    "ownerReferences",
    "generateName",
)


def _server_annotation(key: str) -> bool:
    """kubectl's record of the last apply, the operator's conversion bookkeeping (nvidia.com/dgd-*), and
    helm's record of the release that owns the object (meta.helm.sh/*, which helm writes again)."""
    return (
        key == "kubectl.kubernetes.io/last-applied-configuration"
        or key.startswith("nvidia.com/dgd-")
        or key.startswith("meta.helm.sh/")
    )


CHECKSUM = "checksum/extra-config"  # the model chart's pod annotation that rolls workers on a config change
PLANNER_CHECKSUM = "checksum/planner-config"  # and the Planner's, on a change of its config
# The Planner as the model chart renders it (upstream's profiler: dgd_generation.py add_planner_to_config)
PLANNER_COMMAND = ["python3", "-m", "dynamo.planner"]
PLANNER_WORKDIR = "/workspace/components/src/dynamo/planner"
# The endpoint picker's env the chart writes, and the frontend sidecar it adds to every worker pod
EPP_BLOCK_ENV, EPP_MODEL_ENV = "DYN_KV_CACHE_BLOCK_SIZE", "DYN_MODEL_NAME"
SIDECAR = "sidecar-frontend"
GATEWAY_PLACEHOLDER = "your-gateway"  # the environments' Gateway name, which the user sets
SIDECAR_ARGS = ("-m", "dynamo.frontend", "--router-mode", "direct")
# pod labels the model chart sets on every component (its selector and the component's name)
CHART_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component")
# v1alpha1 service fields the 1.x operator keeps only in an annotation of its own: they do nothing there
ALPHA_IGNORED = {
    "dynamoNamespace": "deprecated since Dynamo 0.7; the 1.x operator ignores it",
    "serviceName": "the component's name is its key in `services`",
}


@dataclass(frozen=True)
class Doc:
    """One document of the stream: its data and where each value is written (pointer -> line, column)."""

    data: Any
    line: int
    pos: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False)

    def where(self, pointer: str) -> tuple[int, int]:
        p = pointer
        while p not in self.pos and p:
            p = p.rsplit("/", 1)[0]
        return self.pos.get(p, (self.line, 1))


@dataclass(frozen=True)
class Unexpressed:
    """A part of the source the values cannot express, and where compose put it instead."""

    pointer: str  # JSON pointer in the source document
    into: str  # patches.model.components.<name>, patches.model.jsonPatches or model.extraObjects
    line: int
    column: int
    document: str = ""  # another object of the stream ("Service extra"): the pointer is its root, ""

    def __str__(self) -> str:
        where = f"{self.document} " if self.document else ""
        return f"{self.line}:{self.column} {where}{self.pointer or '/'} -> {self.into}"


@dataclass
class Imported:
    values: dict[str, Any]
    unexpressed: list[Unexpressed]
    notes: list[str]  # renamed components, engine configs moved, fields the operator ignores
    name: str  # the DGD's name: dynamoNamespace
    namespace: str | None  # its metadata.namespace, for the environments
    configs_moved: list[str] = field(default_factory=list)  # ConfigMaps now in extraConfig.inline/planner.config
    added: list[str] = field(default_factory=list)  # compose's components the graph did not have (frontend)
    empty: list[Empty] = field(default_factory=list)  # fields written null, dropped as Kubernetes drops them


@dataclass(frozen=True)
class Empty:
    """A field of the DGD written with no value (null): the API server prunes it from a custom resource
    (a structural schema drops nulls), so the import drops it too, and says where."""

    pointer: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column} {self.pointer}"


# ----------------------------------------------------------------------------------------- reading


def read_stream(path: Path, display: str) -> list[Doc]:
    """Every document of the YAML stream at path. Raises InvalidValues, located, when it cannot be read."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    from composer import yaml as yamlio

    def fail(message: str, hint: str = "", line: int = 0, column: int = 0) -> InvalidValues:
        return InvalidValues([Problem(display, line, column, "", message, hint)])

    if not path.exists():
        raise fail(
            "file not found", "pass the DynamoGraphDeployment's YAML file (kubectl get dgd NAME -o yaml > dgd.yaml)"
        )
    if not path.is_file():
        raise fail("not a regular file", "pass the DynamoGraphDeployment's YAML file")
    with open(path, "rb") as f:
        raw = f.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise fail(f"file is larger than {MAX_BYTES:,} bytes", "is this the DynamoGraphDeployment's file?", 1, 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise fail(f"not UTF-8 (byte 0x{raw[e.start]:02x})", "save the file as UTF-8", line, 1) from None
    yaml = yamlio.parser()
    try:
        nodes = list(yaml.compose_all(text))
        docs = []
        for node in nodes:
            if node is None:
                continue
            pos: dict[str, tuple[int, int]] = {}
            _positions(node, "", pos)
            docs.append(Doc(_plain(yaml.constructor.construct_document(node)), node.start_mark.line + 1, pos))
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise fail(
            f"invalid YAML: {e.problem or e.context}", "check the indentation and quoting here", line, col
        ) from None
    except YAMLError as e:  # pragma: no cover - ruamel marks nearly everything
        raise fail(f"invalid YAML: {e}") from None
    return docs


def _positions(node: Any, ptr: str, out: dict[str, tuple[int, int]]) -> None:
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    out.setdefault(ptr, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k.value, str):
                _positions(v, f"{ptr}/{escape(k.value)}", out)
    elif isinstance(node, SequenceNode):
        for i, v in enumerate(node.value):
            _positions(v, f"{ptr}/{i}", out)


def _plain(v: Any) -> Any:
    """JSON-like data: a date YAML read as one is text again, as Kubernetes reads it."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    return str(v)


# -------------------------------------------------------------------------------- v1alpha1 -> v1beta1


def alpha_to_beta(spec: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[str]]:
    """A v1alpha1 spec as the 1.x operator converts it: (v1beta1 spec, the source pointer of each
    component, notes on what the operator ignores)."""
    out: dict[str, Any] = {}
    notes: list[str] = []
    for key in ("annotations", "labels", "backendFramework", "priorityClassName", "restart", "topologyConstraint"):
        if key in spec:
            out[key] = copy.deepcopy(spec[key])
    if spec.get("envs"):
        out["env"] = copy.deepcopy(spec["envs"])
    if "experimental" in spec:
        out["experimental"] = copy.deepcopy(spec["experimental"])
    pvcs = {str(p.get("name")): p for p in spec.get("pvcs") or [] if isinstance(p, dict)}
    services = spec.get("services") or {}
    components, origins = [], []
    for name in sorted(services):
        svc = services[name] or {}
        ptr = f"/spec/services/{escape(name)}"
        components.append(_service_to_component(name, svc, pvcs))
        origins.append(ptr)
        for key, why in ALPHA_IGNORED.items():
            if key in svc:
                notes.append(f"{ptr}/{key}: not carried over ({why})")
    out["components"] = components
    return out, origins, notes


def _service_to_component(name: str, svc: dict[str, Any], pvcs: dict[str, Any]) -> dict[str, Any]:
    comp: dict[str, Any] = {"name": name}
    ctype, sub = svc.get("componentType"), svc.get("subComponentType")
    comp["type"] = sub if ctype == "worker" and sub in ("prefill", "decode") else ctype
    for key in ("replicas", "minAvailable", "multinode", "modelRef", "topologyConstraint", "eppConfig"):
        if key in svc:
            comp[key] = copy.deepcopy(svc[key])
    for key in ("runtimeVersionOverride", "globalDynamoNamespace"):
        if svc.get(key):
            comp[key] = svc[key]
    scaling = svc.get("scalingAdapter")
    if isinstance(scaling, dict) and scaling.get("enabled"):
        comp["scalingAdapter"] = {k: v for k, v in scaling.items() if k != "enabled"}
    shm = svc.get("sharedMemory")
    if isinstance(shm, dict) and (shm.get("disabled") or shm.get("size")):
        comp["sharedMemorySize"] = "0" if shm.get("disabled") else str(shm["size"])
    experimental = {k: copy.deepcopy(svc[k]) for k in ("gpuMemoryService", "failover", "checkpoint") if k in svc}
    if experimental:
        comp["experimental"] = experimental
    mounts = [m for m in svc.get("volumeMounts") or [] if isinstance(m, dict)]
    cache = next((m for m in mounts if m.get("useAsCompilationCache")), None)
    if cache:
        comp["compilationCache"] = {"pvcName": cache.get("name"), "mountPath": cache.get("mountPoint")}
    for key in ("annotations", "labels", "autoscaling", "ingress", "frontendSidecar"):
        if key in svc:  # no v1beta1 field: kept here so that the import lists it
            comp[f"v1alpha1:{key}"] = copy.deepcopy(svc[key])

    # podTemplate: the flat fields make the main container, extraPodSpec.mainContainer merges over them
    main: dict[str, Any] = {"name": "main"}
    if isinstance(svc.get("resources"), dict):
        main["resources"] = _resources_to_native(svc["resources"])
    if svc.get("envs"):
        main["env"] = copy.deepcopy(svc["envs"])
    if svc.get("envFromSecret"):
        main["envFrom"] = [{"secretRef": {"name": svc["envFromSecret"]}}]
    for probe in ("livenessProbe", "readinessProbe"):
        if probe in svc:
            main[probe] = copy.deepcopy(svc[probe])
    flat_mounts = [m for m in mounts if not m.get("useAsCompilationCache")]
    if flat_mounts:
        main["volumeMounts"] = [{"name": m.get("name"), "mountPath": m.get("mountPoint")} for m in flat_mounts]
    eps = svc.get("extraPodSpec") or {}
    pod_spec = {k: copy.deepcopy(v) for k, v in eps.items() if k != "mainContainer"}
    if isinstance(eps.get("mainContainer"), dict):
        over = copy.deepcopy(eps["mainContainer"])
        base_env = main.get("env") or []
        main = _merge_override(main, over)
        if base_env or over.get("env"):
            main["env"] = _merge_envs(base_env, over.get("env") or [])
    main["name"] = "main"
    # A PVC the v1alpha1 operator mounted by name: in v1beta1 the pod declares the volume itself.
    volumes = pod_spec.get("volumes") or []
    for m in flat_mounts:
        pvc = m.get("name")
        if pvc in pvcs and not any(isinstance(v, dict) and v.get("name") == pvc for v in volumes):
            volumes.append({"name": pvc, "persistentVolumeClaim": {"claimName": pvc}})
    if volumes:
        pod_spec["volumes"] = volumes
    has_pod = len(main) > 1 or pod_spec or svc.get("extraPodMetadata")
    if has_pod:
        others = [c for c in pod_spec.get("containers") or [] if isinstance(c, dict) and c.get("name") != "main"]
        pod_spec["containers"] = [main, *others]
        template: dict[str, Any] = {}
        meta = svc.get("extraPodMetadata") or {}
        if meta.get("annotations") or meta.get("labels"):
            template["metadata"] = {k: copy.deepcopy(meta[k]) for k in ("annotations", "labels") if meta.get(k)}
        template["spec"] = pod_spec
        comp["podTemplate"] = template
    return comp


def _resources_to_native(r: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for side in ("requests", "limits"):
        item = r.get(side)
        if not isinstance(item, dict):
            continue
        native: dict[str, Any] = {}
        for key in ("cpu", "memory"):
            if item.get(key):
                native[key] = item[key]
        if item.get("gpu"):
            native[item.get("gpuType") or GPU] = item["gpu"]
        native.update(item.get("custom") or {})
        if native:
            out[side] = native
    if r.get("claims"):
        out["claims"] = copy.deepcopy(r["claims"])
    return out


def _merge_override(base: Any, over: Any) -> Any:
    """mergo.Merge(base, over, WithOverride): maps merge, anything else set in `over` wins."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            if v in (None, "", [], {}):
                continue
            out[k] = _merge_override(base.get(k), v) if k in base else v
        return out
    return over


def _merge_envs(common: list[Any], specific: list[Any]) -> list[Any]:
    out: list[Any] = []
    seen: dict[Any, int] = {}
    for e in [*common, *specific]:
        name = e.get("name") if isinstance(e, dict) else None
        if name in seen:
            out[seen[name]] = e
            continue
        seen[name] = len(out)
        out.append(e)
    return out


# ----------------------------------------------------------------------------------------- convert


class _Report:
    """Collects problems (bad input) and what the values cannot express."""

    def __init__(self, doc: Doc, display: str, origin: list[str] | None):
        self.doc, self.display, self.origin = doc, display, origin
        self.problems: list[Problem] = []
        self.unexpressed: list[Unexpressed] = []
        self.notes: list[str] = []

    def source(self, ptr: str) -> str:
        """The source pointer of a pointer into the (converted) v1beta1 document."""
        m = re.match(r"^/spec/components/(\d+)(/.*)?$", ptr)
        if self.origin is None or not m:
            return ptr
        base, tail = self.origin[int(m.group(1))], m.group(2) or ""
        for beta, alpha in (
            ("/podTemplate/spec/containers/0", "/extraPodSpec/mainContainer"),
            ("/podTemplate/spec", "/extraPodSpec"),
            ("/podTemplate/metadata", "/extraPodMetadata"),
            ("/type", "/componentType"),
            ("/v1alpha1:", "/"),
        ):
            if tail == beta or tail.startswith(beta + "/") or (beta.endswith(":") and tail.startswith(beta)):
                tail = alpha + tail[len(beta) :]
                break
        return base + tail

    def problem(self, ptr: str, message: str, hint: str = "") -> None:
        src = self.source(ptr)
        line, col = self.doc.where(src)
        self.problems.append(Problem(self.display, line, col, src, message, hint))

    def unexpress(self, ptr: str, into: str) -> None:
        src = self.source(ptr)
        line, col = self.doc.where(src)
        self.unexpressed.append(Unexpressed(src, into, line, col))

    def check(self) -> None:
        if self.problems:
            raise InvalidValues(self.problems)


# ------------------------------------------------------------------------------------------ shapes
# The Kubernetes types of what the import reads, checked before it reads them (the rest is copied as
# written; `compose validate` judges it in the project). A shape is "string", "integer", "boolean",
# "quantity" (string or number), ("list", item) or ("map", {key: shape}, shape of any other key or None).


def _m(fields: dict[str, Any], rest: Any = None) -> tuple:
    return ("map", fields, rest)


def _l(item: Any) -> tuple:
    return ("list", item)


_STR, _INT, _BOOL, _QTY = "string", "integer", "boolean", "quantity"
_STRMAP = _m({}, _STR)
_ENV = _m({"name": _STR, "value": _STR, "valueFrom": _m({})})
_ENVFROM = _m({"secretRef": _m({"name": _STR}), "configMapRef": _m({"name": _STR}), "prefix": _STR})
_MOUNT = _m({"name": _STR, "mountPath": _STR, "subPath": _STR, "subPathExpr": _STR, "readOnly": _BOOL})
_CONTAINER = _m(
    {
        "name": _STR,
        "image": _STR,
        "command": _l(_STR),
        "args": _l(_STR),
        "workingDir": _STR,
        "env": _l(_ENV),
        "envFrom": _l(_ENVFROM),
        "resources": _m({"limits": _m({}, _QTY), "requests": _m({}, _QTY), "claims": _l(_m({}))}),
        "volumeMounts": _l(_MOUNT),
        "imagePullPolicy": _STR,
        "ports": _l(_m({"containerPort": _INT, "hostPort": _INT, "hostIP": _STR, "name": _STR, "protocol": _STR})),
    }
)
_VOLUME = _m(
    {
        "name": _STR,
        "configMap": _m({"name": _STR, "items": _l(_m({"key": _STR, "path": _STR}))}),
        "persistentVolumeClaim": _m({"claimName": _STR}),
    }
)
_POD = {
    "containers": _l(_CONTAINER),
    "volumes": _l(_VOLUME),
    "imagePullSecrets": _l(_m({"name": _STR})),
    "runtimeClassName": _STR,
    "schedulerName": _STR,
    "hostIPC": _BOOL,
    "nodeSelector": _STRMAP,
    "tolerations": _l(_m({})),
    "affinity": _m({}),
}
_META = _m({"name": _STR, "namespace": _STR, "labels": _STRMAP, "annotations": _STRMAP})
_POD_META = _m({"labels": _STRMAP, "annotations": _STRMAP})
_COMPONENT = _m(
    {
        "name": _STR,
        "type": _STR,
        "replicas": _INT,
        "sharedMemorySize": _QTY,
        "multinode": _m({"nodeCount": _INT}),
        "compilationCache": _m({"pvcName": _STR, "mountPath": _STR}),
        "podTemplate": _m({"metadata": _POD_META, "spec": _m(_POD)}),
    }
)
_ALPHA_ITEM = _m({"cpu": _QTY, "memory": _QTY, "gpu": _QTY, "gpuType": _STR, "custom": _m({}, _QTY)})
_SERVICE = _m(
    {
        "componentType": _STR,
        "subComponentType": _STR,
        "replicas": _INT,
        "envs": _l(_ENV),
        "envFromSecret": _STR,
        "resources": _m({"requests": _ALPHA_ITEM, "limits": _ALPHA_ITEM, "claims": _l(_m({}))}),
        "sharedMemory": _m({"disabled": _BOOL, "size": _QTY}),
        "volumeMounts": _l(_m({"name": _STR, "mountPoint": _STR, "useAsCompilationCache": _BOOL})),
        "extraPodSpec": _m({"mainContainer": _CONTAINER, **_POD}),
        "extraPodMetadata": _POD_META,
        "livenessProbe": _m({}),
        "readinessProbe": _m({}),
        "scalingAdapter": _m({}),
        "multinode": _m({"nodeCount": _INT}),
        "annotations": _STRMAP,
        "labels": _STRMAP,
        "runtimeVersionOverride": _STR,
    }
)
_DGD = {
    BETA: _m({"metadata": _META, "spec": _m({"env": _l(_ENV), "components": _l(_COMPONENT)})}),
    ALPHA: _m(
        {
            "metadata": _META,
            "spec": _m({"envs": _l(_ENV), "pvcs": _l(_m({"name": _STR})), "services": _m({}, _SERVICE)}),
        }
    ),
}
_OTHER = _m({"metadata": _META, "data": _STRMAP})
_KIND = {"map": "a mapping", "list": "a list", _STR: "a string", _INT: "an integer", _BOOL: "true or false"}


def _shape_problems(value: Any, shape: Any, ptr: str, out: list[tuple[str, str]]) -> None:
    """(pointer, message) for each value that does not have its shape."""
    kind = shape if isinstance(shape, str) else shape[0]
    ok = {
        "map": isinstance(value, dict),
        "list": isinstance(value, list),
        _STR: isinstance(value, str),
        _INT: isinstance(value, int) and not isinstance(value, bool),
        _BOOL: isinstance(value, bool),
        _QTY: isinstance(value, (str, int, float)) and not isinstance(value, bool),
    }[kind]
    if not ok:
        out.append((ptr, f"must be {_KIND.get(kind, 'a quantity (e.g. 16Gi)')}, not {_kind_of(value)}"))
    elif kind == "list":
        for i, item in enumerate(value):
            _shape_problems(item, shape[1], f"{ptr}/{i}", out)
    elif kind == "map":
        for k, v in value.items():
            sub = shape[1].get(k, shape[2])
            if sub is not None:
                _shape_problems(v, sub, f"{ptr}/{escape(k)}", out)


PLACEHOLDER = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")


def _at(data: Any, ptr: str) -> Any:
    for part in segments(ptr):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def _kind_of(v: Any) -> str:
    if v is None:
        return "empty (null)"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(type(v), "a number")


def _check_shapes(docs: list[Doc], dgd: Doc, api: str, display: str) -> None:
    problems = []
    for d in docs:
        found: list[tuple[str, str]] = []
        _shape_problems(d.data, _DGD[api] if d is dgd else _OTHER, "", found)
        for ptr, message in found:
            line, col = d.where(ptr)
            hint = "as the DynamoGraphDeployment CRD and Kubernetes define it"
            if PLACEHOLDER.fullmatch(str(_at(d.data, ptr))):  # a template for envsubst, not a manifest
                hint = "a ${VARIABLE} to fill: import the file its template makes (e.g. envsubst < FILE)"
            problems.append(Problem(display, line, col, ptr, message, hint))
    if problems:
        raise InvalidValues(problems)


def convert(docs: list[Doc], display: str, graph: str | None = None) -> Imported:
    """The values of a project rendering the DGD in docs (the one named graph, when given), and what
    they cannot express."""
    dgd_docs = []
    bad = []
    for i, doc in enumerate(docs):
        if not isinstance(doc.data, dict) or not isinstance(doc.data.get("kind"), str):
            bad.append(
                Problem(
                    display,
                    doc.line,
                    1,
                    "",
                    f"document {i + 1} is not a Kubernetes object (no kind)",
                    "the file holds Kubernetes objects: a DynamoGraphDeployment, maybe ConfigMaps",
                )
            )
        elif doc.data["kind"] == dynamo.DGD_KIND:
            dgd_docs.append(doc)
    if bad:
        raise InvalidValues(bad)
    if not dgd_docs:
        raise InvalidValues(
            [
                Problem(
                    display,
                    1,
                    1,
                    "",
                    "no DynamoGraphDeployment in the file",
                    "export one: kubectl get dynamographdeployment NAME -o yaml > dgd.yaml",
                )
            ]
        )
    original, chosen = _choose_graph(dgd_docs, display, graph)
    doc, empty = _drop_nulls(original)
    docs = [doc if d is original else d for d in docs]
    dgd = doc.data
    api = dgd.get("apiVersion")
    line, col = doc.where("/apiVersion")
    if api not in (ALPHA, BETA):
        raise InvalidValues(
            [
                Problem(
                    display,
                    line,
                    col,
                    "/apiVersion",
                    f"apiVersion {api!r} is not supported",
                    f"compose imports {BETA} and {ALPHA}",
                )
            ]
        )
    spec = dgd.get("spec")
    if not isinstance(spec, dict):
        line, col = doc.where("/spec")
        raise InvalidValues(
            [
                Problem(
                    display,
                    line,
                    col,
                    "/spec",
                    "spec is missing or not a mapping",
                    "a DynamoGraphDeployment has a spec with its components",
                )
            ]
        )
    _check_shapes(docs, doc, api, display)
    notes: list[str] = []
    origin: list[str] | None = None
    if api == ALPHA:
        if not isinstance(spec.get("services"), dict):
            line, col = doc.where("/spec/services")
            raise InvalidValues(
                [
                    Problem(
                        display, line, col, "/spec/services", "no services", "v1alpha1 lists each under spec.services"
                    )
                ]
            )
        spec, origin, notes = alpha_to_beta(spec)
    rep = _Report(doc, display, origin)
    meta = dgd.get("metadata") if isinstance(dgd.get("metadata"), dict) else {}
    name = meta.get("name")
    if not isinstance(name, str) or not re.fullmatch(DNS1035, name):
        rep.problem(
            "/metadata/name",
            f"name {name!r} is not a DNS-1035 label: compose names the deployment with it",
            "rename the DGD (lowercase letters, digits and '-', starting with a letter) before importing it",
        )
    else:
        long = [(n, limit) for n, limit in derived_names(name) if len(n) > limit]
        if long:
            n, limit = long[0]
            rep.problem(
                "/metadata/name",
                f"name {name!r} is too long: it makes {n!r} (limit {limit} characters)",
                "rename the DGD to a shorter name before importing it",
            )
    comps = spec.get("components")
    if not isinstance(comps, list) or not comps:
        rep.problem("/spec/components", "no components", "a DynamoGraphDeployment lists its components")
    rep.check()
    for i, c in enumerate(comps):
        _check_component(c, f"/spec/components/{i}", rep)
    rep.check()
    values, more_notes, configs_moved = _values(dgd, spec, rep, docs, doc)
    rep.check()
    assert isinstance(name, str)  # checked above
    types = {c.get("type") for c in comps}
    namespace = meta.get("namespace")
    if namespace is not None and not (re.fullmatch(DNS1123, str(namespace)) and len(str(namespace)) <= 63):
        # upstream's recipes write a placeholder (<your-namespace>): the environments keep compose's
        more_notes.append(
            f"/metadata/namespace {namespace!r} is no namespace name (a placeholder?): environments/dev.yaml "
            "and prod.yaml keep compose's; set cluster.namespace there"
        )
        namespace = None
    return Imported(
        values,
        sorted(set(rep.unexpressed), key=lambda u: (u.line, u.column, u.pointer)),
        chosen + notes + more_notes + rep.notes,
        name,
        namespace,
        configs_moved,
        [] if "frontend" in types else ["frontend"],
        empty,
    )


def _whole_graph(data: Any) -> bool:
    """Whether a DGD has what a compose graph needs: a worker, and a frontend or an endpoint picker."""
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    if isinstance(spec.get("components"), list):
        types = {c.get("type") for c in spec["components"] if isinstance(c, dict)}
    elif isinstance(spec.get("services"), dict):
        types = {s.get("componentType") for s in spec["services"].values() if isinstance(s, dict)}
    else:
        return False
    return bool(types & {"worker", "decode", "prefill"}) and bool(types & {"frontend", "epp"})


def _choose_graph(dgd_docs: list[Doc], display: str, graph: str | None) -> tuple[Doc, list[str]]:
    """The DGD to import, and a note when the file holds others: the one named `graph`; else the one
    whole graph among several (upstream's global Planner files put a control graph beside the
    graphs it steers); several whole graphs are refused as ambiguous."""

    def name_of(d: Doc) -> str:
        meta = d.data.get("metadata")
        return str(meta.get("name")) if isinstance(meta, dict) else ""

    names = [name_of(d) for d in dgd_docs]
    if graph is not None:
        found = [d for d in dgd_docs if name_of(d) == graph]
        if not found:
            raise InvalidValues(
                [
                    Problem(
                        display,
                        dgd_docs[0].line,
                        1,
                        "",
                        f"--graph {graph}: no DynamoGraphDeployment of that name in the file",
                        f"the file has: {', '.join(names)}",
                    )
                ]
            )
        if len(found) > 1:
            raise InvalidValues(
                [
                    Problem(
                        display,
                        found[1].line,
                        1,
                        "/metadata/name",
                        f"a second DynamoGraphDeployment named {graph!r}",
                        "give each DGD of the file its own name",
                    )
                ]
            )
        chosen = found[0]
    elif len(dgd_docs) == 1:
        return dgd_docs[0], []
    else:
        whole = [d for d in dgd_docs if _whole_graph(d.data)]
        if len(whole) > 1:
            raise InvalidValues(
                [
                    Problem(
                        display,
                        whole[1].line,
                        1,
                        "",
                        f"{len(dgd_docs)} DynamoGraphDeployments in the file ({', '.join(names)}), "
                        f"{len(whole)} of them whole graphs: which one to import?",
                        "a compose project deploys one graph: choose it with --graph NAME (import each in turn)",
                    )
                ]
            )
        if not whole:
            raise InvalidValues(
                [
                    Problem(
                        display,
                        dgd_docs[1].line,
                        1,
                        "",
                        f"{len(dgd_docs)} DynamoGraphDeployments in the file ({', '.join(names)}), none a whole "
                        "graph (a worker beside a frontend or an endpoint picker)",
                        "a compose project deploys one whole graph: name one with --graph NAME to see what it lacks",
                    )
                ]
            )
        chosen = whole[0]
    others = [n for d, n in zip(dgd_docs, names) if d is not chosen]
    why = "named by --graph" if graph is not None else "the one whole graph"
    return chosen, [
        f"the file holds {len(dgd_docs)} DynamoGraphDeployments: imported {name_of(chosen)!r} (line {chosen.line}, "
        f"{why}); not imported: {', '.join(repr(n) for n in others)} (import each with --graph NAME)"
    ]


def _drop_nulls(doc: Doc) -> tuple[Doc, list[Empty]]:
    """The document without the mapping entries written null (`value:` with nothing, `containers: null`),
    as the API server stores it, and where each was."""
    empty: list[Empty] = []

    def walk(v: Any, ptr: str) -> Any:
        if isinstance(v, dict):
            out = {}
            for k, x in v.items():
                sub = f"{ptr}/{escape(k)}"
                if x is None:
                    empty.append(Empty(sub, *doc.where(sub)))
                else:
                    out[k] = walk(x, sub)
            return out
        if isinstance(v, list):
            return [walk(x, f"{ptr}/{i}") for i, x in enumerate(v)]
        return v

    data = walk(doc.data, "")
    return (Doc(data, doc.line, doc.pos) if empty else doc), empty


def _check_component(c: dict[str, Any], ptr: str, rep: _Report) -> None:
    """A component's name and type (the shapes are checked already)."""
    if not c.get("name"):
        rep.problem(f"{ptr}/name", "a component needs a name")
    if c.get("type") is None:
        rep.problem(
            f"{ptr}/type",
            "the component has no type (frontend, worker, prefill, decode, planner or epp)",
            "a file that patches a DGD (kustomize's patch-dgd.yaml) is no whole graph: import what "
            "`kubectl kustomize` builds",
        )
    elif c.get("type") not in ("frontend", "worker", "prefill", "decode", "planner", "epp"):
        rep.problem(
            f"{ptr}/type",
            f"type {c.get('type')!r} is not a component type",
            "one of frontend, worker, prefill, decode, planner, epp",
        )


def _main_index(comp: dict[str, Any]) -> int | None:
    containers = ((comp.get("podTemplate") or {}).get("spec") or {}).get("containers") or []
    return next((i for i, c in enumerate(containers) if c.get("name") == "main"), None)


def _main(comp: dict[str, Any]) -> dict[str, Any]:
    i = _main_index(comp)
    return comp["podTemplate"]["spec"]["containers"][i] if i is not None else {}


def _argv(comp: dict[str, Any]) -> list[str]:
    main = _main(comp)
    return [*(main.get("command") or []), *(main.get("args") or [])]


def _roles(comps: list[dict[str, Any]], rep: _Report) -> tuple[dict[str, int], list[int], bool]:
    """Which component plays which compose role: ({role: index}, extra indexes, disaggregated)."""
    by_type: dict[str, list[int]] = {}
    for i, c in enumerate(comps):
        by_type.setdefault(c["type"], []).append(i)
    frontends, workers = by_type.get("frontend", []), by_type.get("worker", [])
    decodes, prefills = by_type.get("decode", []), by_type.get("prefill", [])
    planners, epps = by_type.get("planner", []), by_type.get("epp", [])
    # upstream's endpoint-picker graphs (gaie/) have no frontend: the picker sends each request to a
    # worker's frontend sidecar; compose's graph always has one, which the import then adds
    if not frontends and not epps:
        rep.problem(
            "/spec/components",
            "no frontend component: a compose deployment always has one",
            "add the frontend (type: frontend) to the DGD before importing it",
        )
    if not (workers or decodes or prefills):
        rep.problem(
            "/spec/components",
            "no worker component (type worker, decode or prefill)",
            "compose deploys a model: the DGD needs its worker",
        )
    rep.check()
    # By type, which no patch may change: a decode and a prefill component make compose's
    # disaggregated roles; else the first worker (or the one decode/prefill) is the one worker. The
    # rest keep their own types as components the values do not describe.
    roles = {"frontend": frontends[0]} if frontends else {}
    if planners:
        roles["planner"] = planners[0]
    if epps:
        roles["epp"] = epps[0]
    if decodes and prefills:
        roles["decode"], roles["prefill"] = decodes[0], prefills[0]
    else:
        roles["decode"] = (workers or decodes or prefills)[0]
    used = set(roles.values())
    extra = [i for i in range(len(comps)) if i not in used]
    return roles, extra, "prefill" in roles


def _backend(comps: list[dict[str, Any]], spec: dict[str, Any], worker: int, rep: _Report) -> str:
    argv = _argv(comps[worker])
    for token in argv:
        m = re.fullmatch(r"dynamo\.(vllm|sglang|trtllm|mocker)", token)
        if m:
            return m.group(1)
    for token in argv:  # a shell script's `python3 -m dynamo.vllm ...` (bash -c)
        m = re.search(r"-m\s+dynamo\.(vllm|sglang|trtllm|mocker)\b", token)
        if m:
            return m.group(1)
    if spec.get("backendFramework") in BACKENDS:
        return spec["backendFramework"]
    image = _main(comps[worker]).get("image") or ""
    repo = image.rsplit("/", 1)[-1].split(":")[0].split("@")[0]
    for needle, backend in (
        ("vllm", "vllm"),
        ("sglang", "sglang"),
        ("tensorrtllm", "trtllm"),
        ("trtllm", "trtllm"),
        ("dynamo-planner", "mocker"),
    ):
        if needle in repo:
            return backend
    rep.problem(
        f"/spec/components/{worker}",
        "cannot tell the worker's backend (vllm, sglang, trtllm or mocker)",
        "its command runs `python3 -m dynamo.<backend>`, or spec.backendFramework names it",
    )
    rep.check()
    raise AssertionError  # pragma: no cover - check() raised


def _model_name(
    comps: list[dict[str, Any]], workers: Iterable[int], graph_env: list[Any] | None = None
) -> tuple[str, bool] | None:
    """The name the workers serve, and whether a shell script's flags gave it (`graph_env`: the DGD's
    spec.env, which every container has under its own)."""
    for flags in (("--served-model-name", "--model-name"), ("--model", "--model-path")):
        for i in workers:
            argv = _argv(comps[i])
            value = _flag_value(argv, flags)
            if value is not None:
                return value, False
            value = _flag_value(_script_engine_argv(argv), flags)
            if value is not None:
                value = _script_variable(value, argv, _main(comps[i]), graph_env or [])
                return (value, True) if value else None  # a value set otherwise names no model we know
    return None


def _script_variable(value: str, argv: list[str], main: dict[str, Any], graph_env: list[Any]) -> str | None:
    """A word of a shell script as the engine sees it: itself when it is plain; a variable (`$NAME`,
    `${NAME}`) the container's env (else the graph's) gives a plain value and the script only reads;
    else None."""
    ref = re.fullmatch(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})", value)
    if not ref:
        return None if re.search(r"[$`\\]", value) else value
    name = ref.group(1) or ref.group(2)
    # every mention a read ($NAME, ${NAME}): the script sets it nowhere (`NAME=`, `read NAME`)
    uses = sum(len(re.findall(rf"(?<![A-Za-z0-9_]){name}(?![A-Za-z0-9_])", a)) for a in argv)
    reads = sum(len(re.findall(rf"\$\{{?{name}(?![A-Za-z0-9_])", a)) for a in argv)
    if uses != reads:
        return None
    own = any(isinstance(e, dict) and e.get("name") == name for e in main.get("env") or [])
    return _env_value(main if own else {"env": graph_env}, name)


def _engine_script(argv: list[str]) -> str | None:
    """The one word of argv that is a shell script running `-m dynamo.<backend>`, if exactly one is."""
    scripts = [a for a in argv if re.search(r"-m\s+dynamo\.(vllm|sglang|trtllm|mocker)\b", a)]
    return scripts[0] if len(scripts) == 1 else None


def _script_engine_argv(argv: list[str]) -> list[str]:
    """The engine's flags in a shell script (`bash -c "exec python3 -m dynamo.vllm --model X ..."`): the
    words after `-m dynamo.<backend>` up to the next shell operator, when one script runs the engine once;
    else none."""
    script = _engine_script(argv)
    if script is None:
        return []
    lexer = shlex.shlex(script.replace("\\\n", " "), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""  # shlex would cut `a#b`; bash starts a comment only at a word (below)
    try:
        words = list(lexer)
    except ValueError:  # unbalanced quotes: not a script we can read
        return []
    engine = re.compile(r"dynamo\.(vllm|sglang|trtllm|mocker)")
    starts = [j for j in range(1, len(words)) if words[j - 1] == "-m" and engine.fullmatch(words[j])]
    if len(starts) != 1:
        return []
    rest = words[starts[0] + 1 :]
    ends = (j for j, w in enumerate(rest) if w.startswith("#") or (w and set(w) <= set(lexer.punctuation_chars)))
    return rest[: next(ends, len(rest))]


def _version(image: str) -> str | None:
    """The supported Dynamo version an image's tag names, if it names one other than the default."""
    tag = image.rsplit("/", 1)[-1]
    m = re.fullmatch(r"[^:@]+:v?(\d+\.\d+\.\d+)", tag)
    if not m:
        return None
    try:
        dynamo.release(m.group(1))
    except Exception:
        return None
    return None if m.group(1) == dynamo.DEFAULT_VERSION else m.group(1)


def _values(dgd: dict[str, Any], spec: dict[str, Any], rep: _Report, docs: list[Doc], src: Doc):
    comps = spec["components"]
    roles, extra, disagg = _roles(comps, rep)
    workers = [roles[r] for r in ("decode", "prefill") if r in roles]
    backend = _backend(comps, spec, roles["decode"], rep)
    name = dgd["metadata"]["name"]
    notes: list[str] = []
    # a ComputeDomain the workers claim as the chart wires one: model.computeDomain, the claims the chart's
    compute_domain = (
        None if backend == "mocker" else _compute_domain(docs, comps, roles, name, dgd["metadata"].get("namespace"))
    )
    if compute_domain:
        comps = compute_domain[2]
    # a ResourceClaimTemplate of DRA devices the workers claim as the chart wires one: model.deviceClaim
    device_claim = None if backend == "mocker" else _device_claim(docs, comps, roles, name, dgd["metadata"])
    if device_claim:
        comps = device_claim[2]
    patches: dict[str, Any] = {}  # component name -> JSON merge patch
    ops: list[dict[str, Any]] = []  # JSON patch on the rendered DGD
    configs_moved: list[str] = []
    json_patches: list[dict[str, Any]] = []
    extra_objects: list[dict[str, Any]] = []

    named_by = _model_name(comps, workers, spec.get("env"))
    model_name = named_by[0] if named_by else None
    if named_by and named_by[1]:
        notes.append(f"model.name is the model the flags in the workers' shell script name, {model_name!r}")
    if model_name is None and "epp" in roles:  # the picker is told the model's name
        named = [e for e in _main(comps[roles["epp"]]).get("env") or [] if e.get("name") == EPP_MODEL_ENV]
        if len(named) == 1 and isinstance(named[0].get("value"), str) and named[0]["value"]:
            model_name = named[0]["value"]
            notes.append(f"model.name is the endpoint picker's {EPP_MODEL_ENV}, {model_name!r}")
    if model_name is None:
        model_name = name
        notes.append(f"no --model/--served-model-name flag in the workers: model.name is the DGD's name, {name!r}")
    images = {r: _main(comps[i]).get("image") for r, i in roles.items() if r in ROLES}
    image = images["decode"] or next((x for x in images.values() if x), None)
    if not image:
        rep.problem(
            f"/spec/components/{roles['decode']}",
            "the worker has no image",
            "its main container (podTemplate.spec.containers[name=main]) names the image",
        )
        rep.check()
    assert isinstance(image, str)  # checked above

    # What every component shares becomes model-level: the HF token Secret (the chart gives it to every
    # component but the Planner), image pull Secrets.
    env_froms = [_main(comps[i]).get("envFrom") for r, i in roles.items() if r != "planner"]
    hf = None
    if all(
        isinstance(e, list) and len(e) == 1 and set(e[0]) == {"secretRef"} and set(e[0]["secretRef"]) == {"name"}
        for e in env_froms
    ):
        names = {e[0]["secretRef"]["name"] for e in env_froms}  # type: ignore[index]
        hf = names.pop() if len(names) == 1 else None
    pulls = [((comps[i].get("podTemplate") or {}).get("spec") or {}).get("imagePullSecrets") for i in roles.values()]
    pull_names = None
    if (
        pulls[0]
        and all(p == pulls[0] for p in pulls)
        and all(isinstance(p, dict) and set(p) == {"name"} for p in pulls[0])
    ):
        pull_names = [p["name"] for p in pulls[0]]

    configmaps = {
        d.data.get("metadata", {}).get("name"): d
        for d in docs
        if d.data.get("kind") == "ConfigMap"
        and d.data.get("apiVersion") == "v1"
        and isinstance(d.data.get("metadata"), dict)
    }
    moved: dict[str, set[str]] = {}  # ConfigMap -> keys whose content became an extraConfig.inline
    planner = None
    if "planner" in roles:
        found = _planner_config(comps[roles["planner"]], configmaps, backend, disagg)
        if isinstance(found, str):  # not as compose renders a Planner: added whole, as any other component
            i = roles.pop("planner")
            extra = sorted([*extra, i])
            notes.append(
                f"{rep.source(f'/spec/components/{i}')}: the Planner {found}: it is added whole by a JSON patch, "
                "not as model.planner"
            )
        else:
            planner = found
            scaled = [roles[r] for r in planner["scales"] if r in roles]
            if scaled and all("scalingAdapter" not in comps[i] for i in scaled):
                # no role it scales opts into an adapter (upstream's examples): the Planner patches the DGD
                planner["values"]["scalingAdapters"] = False
                planner["scales"] = []

    model: dict[str, Any] = {"name": model_name, "backend": {"type": backend, "image": image}}
    if disagg:
        model["disaggregation"] = True
    model_env = spec.get("env")
    routing = None
    fe_env = _main(comps[roles["frontend"]]).get("env") or [] if "frontend" in roles else []
    router = [e for e in fe_env if isinstance(e, dict) and e.get("name") == ROUTER_ENV]
    if len(router) == 1 and set(router[0]) == {"name", "value"} and router[0]["value"] in ROUTER_MODES:
        routing = router[0]["value"]
        model["routingPolicy"] = routing
    if "epp" in roles and routing != "kv":
        # the picker scores workers by their KV events (the schema's rule): the frontend's own mode,
        # if any, stays in its env by a patch
        model["routingPolicy"] = "kv"
        if "frontend" in roles:
            notes.append(
                "model.routingPolicy is kv, which the endpoint picker needs: compose's frontend gets "
                f"{ROUTER_ENV}=kv"
                + (", its own mode kept by a patch" if routing or router else ", which it did not have")
            )
    if "epp" in roles:
        if "frontend" not in roles:
            notes.append(
                "the graph has no frontend component (the endpoint picker sends requests to each worker's "
                "frontend sidecar); compose's graph always has one: it adds the frontend, and with it the "
                f"Service {name}-frontend the graph did not have"
            )
        if not any(re.search(r"kv-events|publish-events", " ".join(_argv(comps[i]))) for i in workers):
            notes.append(
                "no worker's command line names --kv-events-config: the workers may publish no KV events, "
                "which the endpoint picker's KV scorers read"
            )
    if hf:
        model["hfTokenSecret"] = hf
    if pull_names:
        model["imagePullSecrets"] = pull_names
    stray = [j for j, e in enumerate(model_env or []) if e.get("name") == ROUTER_ENV]
    if stray:  # the values refuse it in model.env: the graph's whole env by a JSON patch
        ops.append({"op": "add", "path": "/spec/env", "value": copy.deepcopy(model_env)})
        for j in stray:
            rep.unexpress(f"/spec/env/{j}", "patches.model.jsonPatches")
    elif model_env:
        model["env"] = copy.deepcopy(model_env)

    # the chart renders the frontend, the workers, the Planner, the endpoint picker, in this order
    order = ["frontend", "decode", *(["prefill"] if disagg else []), *(r for r in ("planner", "epp") if r in roles)]
    for role in (*ROLES, "planner", "epp"):
        if role not in roles:
            continue
        i = roles[role]
        comp = copy.deepcopy(comps[i])
        ptr = f"/spec/components/{i}"
        if comp["name"] != role:
            notes.append(f"{rep.source(ptr)}: component {comp['name']!r} is compose's {role!r}")
        # the aggregated worker is of type worker, or decode by model.decode.type (as upstream's recipes
        # often type it); decode always with the picker, whose decode profile filters on its type
        typed = role == "decode" and not disagg and "epp" not in roles and comp["type"] == "decode"
        if role in ("frontend", "planner", "epp") or disagg:
            rendered_type = role
        else:
            rendered_type = "decode" if "epp" in roles or typed else "worker"
        patch: dict[str, Any] = {}
        removes: list[str] = []
        if comp["type"] != rendered_type:  # no patch may change a component's type
            rep.unexpress(f"{ptr}/type", f"nowhere (compose's {role} is of type {rendered_type})")
        v = _component_values(
            comp,
            role,
            ptr,
            rep,
            patch,
            backend=backend,
            image=image,
            hf=hf,
            pull=pull_names is not None,
            routing=routing if routing == model.get("routingPolicy") else None,  # else the frontend keeps its own
            disagg=disagg,
            configmaps=configmaps,
            moved=moved,
            version=_version(image or ""),
            removes=removes,
            dgd_name=name,
            model_name=model_name,
            planner=planner,
            epp="epp" in roles,
            workers_argv=tuple(a for w in workers for a in _argv(comps[w])),
            # the values refuse prefill and decode naming different models (or one none)
            model_refs_agree=len({json.dumps(comps[w].get("modelRef"), sort_keys=True) for w in workers}) == 1,
        )
        model[role] = {"type": "decode", **v} if typed else v
        if patch:
            patches[role] = patch
        ops += [{"op": "remove", "path": f"/spec/components/{order.index(role)}/{k}"} for k in removes]

    # components beyond compose's roles keep their own type: added whole by a JSON patch
    for i in extra:
        comp = copy.deepcopy(comps[i])
        for key in sorted(k for k in comp if k.startswith("v1alpha1:")):
            rep.unexpress(f"/spec/components/{i}/{key}", "nowhere (no v1beta1 field)")
        ops.append({"op": "add", "path": "/spec/components/-", "value": _strip_alpha(comp)})
        rep.unexpress(f"/spec/components/{i}", "patches.model.jsonPatches")

    # graph-level fields without a values key: a JSON patch on the DGD
    target = {"group": dynamo.DGD_GROUP, "version": dynamo.DGD_VERSION, "kind": dynamo.DGD_KIND, "name": name}
    for key in ("annotations", "labels", "priorityClassName", "restart", "topologyConstraint", "experimental"):
        if key in spec:
            ops.append({"op": "add", "path": f"/spec/{key}", "value": copy.deepcopy(spec[key])})
            rep.unexpress(f"/spec/{key}", "patches.model.jsonPatches")
    if spec.get("backendFramework") not in (None, backend if backend != "mocker" else None):
        ops.append({"op": "add", "path": "/spec/backendFramework", "value": spec["backendFramework"]})
        rep.unexpress("/spec/backendFramework", "patches.model.jsonPatches")
    meta = dgd["metadata"]
    # What the API server and the operator write into an exported object (kubectl get -o yaml) is
    # theirs, not the graph's: reported, not carried.
    server = sorted(k for k in meta if k in SERVER_METADATA)
    server += [f"annotations/{escape(k)}" for k in sorted(meta.get("annotations") or {}) if _server_annotation(k)]
    server += ["status"] if "status" in dgd else []
    if server:
        notes.append(
            "set by Kubernetes or the operator, not carried: "
            + ", ".join(f"/metadata/{k}" if k != "status" else "/status" for k in server)
        )
    # The DGD's own labels and annotations are model.deployment's, but for the chart's labels the values
    # may not set (all of them but app.kubernetes.io/name and part-of): one of those with another value
    # only a JSON patch puts back.
    ours = _chart_dgd_labels(name, _version(image) or dynamo.DEFAULT_VERSION)
    own: dict[str, dict[str, Any]] = {}
    for key in ("labels", "annotations"):
        for k, val in sorted((meta.get(key) or {}).items()):
            if key == "annotations" and _server_annotation(k) or key == "labels" and ours.get(k) == val:
                continue
            if key == "labels" and k in ours and k not in DGD_OWN_LABELS:
                ops.append({"op": "add", "path": f"/metadata/{key}/{escape(k)}", "value": val})
                rep.unexpress(f"/metadata/{key}/{escape(k)}", "patches.model.jsonPatches")
            else:
                own.setdefault(key, {})[k] = val
    if own:
        model["deployment"] = own
    if ops:
        json_patches.append({"target": target, "patch": ops})

    for mapped, key, what in (
        (compute_domain, "computeDomain", "its channel claimed"),
        (device_claim, "deviceClaim", "claimed"),
    ):
        if mapped:
            claim_values, claim_doc, _, claim_dropped = mapped
            model[key] = claim_values
            claimed = " and ".join(claim_values.get("roles", [r for r in ("decode", "prefill") if r in roles]))
            notes.append(
                f"{claim_doc.data['kind']} {claim_doc.data['metadata']['name']!r} (line {claim_doc.line}): "
                f"model.{key}, {what} by {claimed} as the chart claims it"
                + (f"; not carried: {', '.join(claim_dropped)}" if claim_dropped else "")
            )

    # other objects of the stream
    config_maps: dict[str, dict[str, str]] = {}
    loras: list[dict[str, Any]] = []
    for d in docs:
        obj = d.data
        if (
            obj is src.data
            or obj.get("kind") == dynamo.DGD_KIND
            or (compute_domain and d is compute_domain[1])
            or (device_claim and d is device_claim[1])
        ):
            continue
        cm = obj.get("metadata", {}).get("name") if obj.get("kind") == "ConfigMap" else None
        data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
        if (
            planner
            and cm
            and cm == planner["configMap"]
            and set(data) == {planner["key"]}
            and not obj.get("binaryData")
        ):
            notes.append(f"ConfigMap {cm!r} (line {d.line}): its planner config is model.planner.config")
            configs_moved.append(cm)
            continue
        if cm in moved and set(data) <= moved[cm] and not obj.get("binaryData"):
            notes.append(
                f"ConfigMap {cm!r} (line {d.line}): "
                + (
                    "its engine configs are the workers' extraConfig.inline, each worker mounting its own only "
                    "(it names no other)"
                    if len(data) > 1
                    else "its engine config is the worker's extraConfig.inline"
                )
            )
            configs_moved.append(cm)
            continue
        lora = _lora_values(d, docs, dgd, model)
        if lora is not None:
            loras.append(lora[0])
            notes.append(
                f"DynamoModel {lora[0]['name']!r} (line {d.line}): model.loras, its base model the workers' modelRef"
                + (f"; not carried: {', '.join(lora[1])}" if lora[1] else "")
            )
            continue
        plain = _config_map_values(d, docs, dgd, model)
        if plain is not None and isinstance(cm, str):
            config_maps[cm], dropped = plain
            notes.append(
                f"ConfigMap {cm!r} (line {d.line}): model.configMaps"
                + (f"; not carried: {', '.join(dropped)}" if dropped else "")
            )
            continue
        what = f"{obj.get('kind')} {(obj.get('metadata') or {}).get('name', '')}".strip()
        if obj.get("kind") == "Secret":  # a values file holds no credential: the Secret stays the user's
            rep.unexpressed.append(
                Unexpressed("", "nowhere (create the Secret in the cluster yourself)", d.line, 1, what)
            )
            continue
        if obj.get("kind") in extraobjects.CLUSTER_SCOPED:  # extraObjects live in the deployment's namespace
            rep.unexpressed.append(Unexpressed("", "nowhere (cluster-scoped: apply it yourself)", d.line, 1, what))
            continue
        carried, dropped = _extra_object(obj, meta.get("namespace"))
        if dropped:
            notes.append(f"{what} (line {d.line}): not carried: {', '.join(dropped)}")
        extra_objects.append(carried)
        rep.unexpressed.append(Unexpressed("", "model.extraObjects", d.line, 1, what))
    if config_maps:
        model["configMaps"] = config_maps
    if loras:
        model["loras"] = loras
    if extra_objects:
        model["extraObjects"] = extra_objects

    values: dict[str, Any] = {"dynamoNamespace": name, "model": model}
    if "epp" in roles:  # the picker serves a gateway (the schema's rule); environments name the Gateway
        values["inferenceGateway"] = {"enabled": True}
    version = _version(image or "")
    if version:
        values["platform"] = {"version": version}
    if patches or json_patches:
        mp: dict[str, Any] = {}
        if patches:
            mp["components"] = patches
        if json_patches:
            mp["jsonPatches"] = json_patches
        values["patches"] = {"model": mp}
    return values, notes, configs_moved


def _compute_domain(
    docs: list[Doc], comps: list[dict[str, Any]], roles: dict[str, int], dgd_name: str, namespace: str | None
) -> tuple[dict[str, Any], Doc, list[dict[str, Any]], list[str]] | None:
    """model.computeDomain, when the stream's one ComputeDomain is the chart's: named as the chart names
    its channel template (<name>-channel), nothing but numNodes and the channel's allocationMode set, and
    claimed (one pod claim compute-domain-channel of that template, and the main container's claim of it)
    by compose's worker roles that have GPUs, by no frontend, Planner or endpoint picker. Then (its values,
    its document, the components without those claims, what of it is not carried); else None, and the
    ComputeDomain stays an extra object."""
    found = [d for d in docs if d.data.get("kind") == CD_KIND]
    if len(found) != 1 or found[0].data.get("apiVersion") != CD_API:
        return None
    doc = found[0]
    obj = doc.data
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    spec = obj.get("spec")
    name = meta.get("name")
    if (
        set(obj) - {"apiVersion", "kind", "metadata", "spec", "status"}
        or set(meta) - {"name", "namespace", "annotations", *SERVER_METADATA}
        or not all(_server_annotation(k) for k in meta.get("annotations") or {})
        or not isinstance(name, str)
        or len(name) > 245
        or not re.fullmatch(DNS1123_SUBDOMAIN, name)
        or not isinstance(spec, dict)
        or set(spec) - {"numNodes", "channel"}
    ):
        return None
    channel = spec.get("channel")
    template = f"{name}-channel"
    nodes = spec.get("numNodes", 0)
    mode = channel.get("allocationMode", "Single") if isinstance(channel, dict) else None
    if (
        not isinstance(channel, dict)
        or set(channel) - {"allocationMode", "resourceClaimTemplate"}
        or channel.get("resourceClaimTemplate") != {"name": template}
        or mode not in CD_ALLOCATION_MODES
        or not isinstance(nodes, int)
        or isinstance(nodes, bool)
        or not 0 <= nodes <= 2147483647
    ):
        return None
    claimed = _claimed_by_workers(
        comps, roles, template, CD_CLAIM, lambda res: re.fullmatch(r"0*[1-9][0-9]*", _gpus(res)) is not None
    )
    if claimed is None:
        return None
    comps, claiming = claimed
    values: dict[str, Any] = {"enabled": True}
    if name != f"{dgd_name}-compute-domain":
        values["name"] = name
    if nodes:
        values["numNodes"] = nodes
    if mode != "Single":
        values["allocationMode"] = mode
    values |= _claiming_roles(roles, claiming)
    dropped = [f"/{k}" for k in ("status",) if k in obj] + _metadata_dropped(meta, namespace)
    return values, doc, comps, dropped


def _device_claim(
    docs: list[Doc], comps: list[dict[str, Any]], roles: dict[str, int], dgd_name: str, dgd_meta: dict[str, Any]
) -> tuple[dict[str, Any], Doc, list[dict[str, Any]], list[str]] | None:
    """model.deviceClaim, when the stream's one ResourceClaimTemplate is the chart's: one request, gpu, of
    exactly count devices of a class (nothing else set), claimed (one pod claim gpu of it, and the main
    container's claim of it) by compose's worker roles that take no nvidia.com/gpu, by no frontend, Planner
    or endpoint picker. Then (its values, its document, the components without those claims, what of it is
    not carried); else None, and the template stays an extra object."""
    found = [d for d in docs if d.data.get("kind") == RCT_KIND]
    if len(found) != 1 or found[0].data.get("apiVersion") != RCT_API:
        return None
    doc = found[0]
    obj = doc.data
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    name = meta.get("name")
    outer = obj.get("spec")
    inner = outer.get("spec") if isinstance(outer, dict) else None
    devices = inner.get("devices") if isinstance(inner, dict) else None
    requests = devices.get("requests") if isinstance(devices, dict) else None
    if (
        set(obj) - {"apiVersion", "kind", "metadata", "spec"}
        or set(meta) - {"name", "namespace", "annotations", *SERVER_METADATA}
        or not all(_server_annotation(k) for k in meta.get("annotations") or {})
        or not isinstance(name, str)
        or len(name) > 253
        or not re.fullmatch(DNS1123_SUBDOMAIN, name)
        or not isinstance(outer, dict)
        or set(outer) != {"spec"}
        or not isinstance(inner, dict)
        or set(inner) != {"devices"}
        or not isinstance(devices, dict)
        or set(devices) != {"requests"}
        or not isinstance(requests, list)
        or len(requests) != 1
        or not isinstance(requests[0], dict)
        or set(requests[0]) != {"name", "exactly"}
        or requests[0]["name"] != DEVICE_CLAIM
    ):
        return None
    exactly = requests[0]["exactly"]
    if not isinstance(exactly, dict) or set(exactly) - {"deviceClassName", "count"}:
        return None
    cls, count = exactly.get("deviceClassName"), exactly.get("count", 1)
    if (
        not isinstance(cls, str)
        or len(cls) > 253
        or not re.fullmatch(DNS1123_SUBDOMAIN, cls)
        or not isinstance(count, int)
        or isinstance(count, bool)
        or not 1 <= count <= 2147483647
    ):
        return None
    # its accelerators are the claim's: no nvidia.com/gpu beside it
    claimed = _claimed_by_workers(
        comps, roles, name, DEVICE_CLAIM, lambda res: GPU not in (res.get("limits") or {}) | (res.get("requests") or {})
    )
    if claimed is None:
        return None
    comps, claiming = claimed
    values: dict[str, Any] = {"enabled": True, "deviceClassName": cls}
    if count != 1:
        values["count"] = count
    if name != f"{dgd_name}-gpu":
        values["templateName"] = name
    values |= _claiming_roles(roles, claiming)
    return values, doc, comps, _metadata_dropped(meta, dgd_meta.get("namespace"))


def _metadata_dropped(meta: dict[str, Any], namespace: str | None) -> list[str]:
    """What of an object's metadata its values do not carry: the API server's own fields, the
    annotations, a namespace other than the DGD's."""
    dropped = [f"/metadata/{k}" for k in SERVER_METADATA if k in meta]
    dropped += [f"/metadata/annotations/{escape(k)}" for k in meta.get("annotations") or {}]
    ns = meta.get("namespace")
    if ns is not None and ns != namespace:
        dropped.append(f"/metadata/namespace ({ns!r}: it goes into the release's namespace)")
    return dropped


def _chart_can_own(doc: Doc, docs: list[Doc], dgd: dict[str, Any], api: str, kind: str, body: str) -> bool:
    """Whether the chart can render this object of the stream from values, as it is: of api and kind, only
    metadata and body beside them; metadata only its name (a valid object name no other object of its
    kind in the stream has), the DGD's namespace (or none: kubectl applies both to the same), labels of
    the keys the chart labels every object with (its values replace them) and the API server's own."""
    from composer.schema import CHART_LABELS

    obj = doc.data
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    name, ns = meta.get("name"), dgd["metadata"].get("namespace")
    return (
        obj.get("kind") == kind
        and obj.get("apiVersion") == api
        and not set(obj) - {"apiVersion", "kind", "metadata", body}
        and not set(meta) - {"name", "namespace", "labels", "annotations", *SERVER_METADATA}
        and not set(meta.get("labels") or {}) - set(CHART_LABELS)
        and all(_server_annotation(k) for k in meta.get("annotations") or {})
        and meta.get("namespace", ns) == ns
        and isinstance(name, str)
        and len(name) <= 253
        and bool(re.fullmatch(DNS1123_SUBDOMAIN, name))
        and sum(d.data.get("kind") == kind and (d.data.get("metadata") or {}).get("name") == name for d in docs) == 1
    )


def _lora_values(
    doc: Doc, docs: list[Doc], dgd: dict[str, Any], model: dict[str, Any]
) -> tuple[dict[str, Any], list[str]] | None:
    """A DynamoModel of the stream as model.loras takes it, (the entry, what of it is not carried), or
    None (it stays an extra object): nvidia.com/v1alpha1, a LoRA adapter (modelType lora) of exactly
    modelName, baseModelName and source.uri, its baseModelName the workers' modelRef name (the chart
    writes that one), its name a valid object name no other DynamoModel of the stream has, in the DGD's
    namespace (or none), no labels but the chart's (its values replace them) and no annotations but the
    API server's (dropped, listed)."""
    from composer.schema import LORA_URI

    obj = doc.data
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    spec: dict[str, Any] = obj["spec"] if isinstance(obj.get("spec"), dict) else {}
    source: dict[str, Any] = spec["source"] if isinstance(spec.get("source"), dict) else {}
    name, uri, served = meta.get("name"), source.get("uri"), spec.get("modelName")
    base = ((model.get("decode") or {}).get("modelRef") or {}).get("name")
    if (
        not _chart_can_own(doc, docs, dgd, "nvidia.com/v1alpha1", "DynamoModel", "spec")
        or set(spec) != {"modelName", "baseModelName", "modelType", "source"}
        or spec["modelType"] != "lora"
        or not isinstance(base, str)
        or spec["baseModelName"] != base
        or not isinstance(served, str)
        or not served
        or set(source) != {"uri"}
        or not isinstance(uri, str)
        or not re.fullmatch(LORA_URI, uri)
    ):
        return None
    dropped = _metadata_dropped(meta, dgd["metadata"].get("namespace"))
    dropped += [f"/metadata/labels/{escape(k)}" for k in meta.get("labels") or {}]
    return {"name": name, "modelName": served, "source": {"uri": uri}}, dropped


def _config_map_values(
    doc: Doc, docs: list[Doc], dgd: dict[str, Any], model: dict[str, Any]
) -> tuple[dict[str, str], list[str]] | None:
    """A ConfigMap of the stream as model.configMaps takes it, (its data, what of it is not carried), or
    None (it stays an extra object): a v1 ConfigMap of string data only, its name a valid ConfigMap
    name that no other ConfigMap of the stream and none the chart renders itself has, no annotations but
    the API server's, in the DGD's namespace (or none: kubectl applies both to the same), fitting
    Kubernetes' 1 MiB, and every key the graph reads of it (env configMapKeyRef, configMap volume items)
    one it holds, unless optional. Its labels only of the keys the chart labels every object with (as
    extra objects, which may not set them either): the chart's values replace them, listed when others."""
    from composer.plan import chart_config_maps
    from composer.schema import CONFIG_MAP_MAX_BYTES

    obj = doc.data
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    name, data = meta.get("name"), obj.get("data", {})
    dgd_name = dgd["metadata"]["name"]
    ours = _chart_dgd_labels(dgd_name, _version(model["backend"]["image"]) or dynamo.DEFAULT_VERSION)
    if (
        not _chart_can_own(doc, docs, dgd, "v1", "ConfigMap", "data")
        or not isinstance(data, dict)
        or not all(isinstance(k, str) and re.fullmatch(r"[-._a-zA-Z0-9]{1,253}", k) for k in data)
        or not all(isinstance(v, str) for v in data.values())
        or sum(len(k.encode()) + len(v.encode()) for k, v in data.items()) > CONFIG_MAP_MAX_BYTES
        or name in chart_config_maps(dgd_name, model)
    ):
        return None
    if any(
        ref.get("name") == name and ref.get("key") not in data and not ref.get("optional")
        for ref in _config_map_key_refs(dgd.get("spec"))
    ):
        return None
    dropped = _metadata_dropped(meta, dgd["metadata"].get("namespace"))
    dropped += [
        f"/metadata/labels/{escape(k)} (the chart's: {ours[k]})"
        for k, v in (meta.get("labels") or {}).items()
        if ours.get(k) != v
    ]
    return dict(data), dropped


def _config_map_key_refs(node: Any) -> Iterator[dict[str, Any]]:
    """{name, key, optional} of each key of a ConfigMap the graph reads: env valueFrom.configMapKeyRef,
    and the items of configMap volumes (projected ones too), wherever in the graph they are."""
    if isinstance(node, list):
        for x in node:
            yield from _config_map_key_refs(x)
    elif isinstance(node, dict):
        ref = node.get("configMapKeyRef")
        if isinstance(ref, dict):
            yield ref
        cm = node.get("configMap")
        if isinstance(cm, dict) and isinstance(cm.get("items"), list):
            for item in cm["items"]:
                if isinstance(item, dict):
                    yield {"name": cm.get("name"), "key": item.get("key"), "optional": cm.get("optional")}
        for x in node.values():
            yield from _config_map_key_refs(x)


def _gpus(resources: dict) -> str:
    """A container's nvidia.com/gpu count as written ("0" when it has none)."""
    return str(((resources.get("limits") or {}) | (resources.get("requests") or {})).get(GPU, "0"))


def _claimed_by_workers(
    comps: list, roles: dict[str, int], template: str, claim: str, fits: Callable[[dict], bool]
) -> tuple[list, list[str]] | None:
    """The components with the chart's claim of `template` taken out (a pod claim named `claim`, the
    main container's claim of it, no other container's), and the worker roles that had it. None
    when a component claims it otherwise, when one of compose's roles that claim nothing (frontend,
    Planner, picker) claims it, when a claiming worker's resources do not `fit`, or when no worker
    claims it."""
    comps = copy.deepcopy(comps)
    workers = {i: r for r, i in roles.items() if r in ("decode", "prefill")}
    claiming = []
    for i, comp in enumerate(comps):
        pod = (comp.get("podTemplate") or {}).get("spec") or {}
        pod_claims = pod.get("resourceClaims") or []
        refs = [c for c in pod_claims if isinstance(c, dict) and c.get("resourceClaimTemplateName") == template]
        if not refs:
            continue
        if i not in workers:
            if i in roles.values():  # the chart's frontend, Planner and picker claim nothing
                return None
            continue  # a component beyond compose's roles is added whole, its claim with it
        main = _main(comp)
        res = main.get("resources") or {}
        claims = res.get("claims") or []
        others = [
            c
            for c in pod.get("containers") or []
            if c is not main and any(x.get("name") == claim for x in (c.get("resources") or {}).get("claims") or [])
        ]
        if (
            refs != [{"name": claim, "resourceClaimTemplateName": template}]
            or [c for c in claims if c.get("name") == claim] != [{"name": claim}]
            or others
            or not fits(res)
        ):
            return None
        pod["resourceClaims"] = [c for c in pod_claims if c is not refs[0]]
        res["claims"] = [c for c in claims if c.get("name") != claim]
        for holder, key in ((pod, "resourceClaims"), (res, "claims")):
            if not holder[key]:
                del holder[key]
        if not res:
            main.pop("resources", None)
        claiming.append(workers[i])
    return (comps, claiming) if claiming else None


def _claiming_roles(roles: dict[str, int], claiming: list[str]) -> dict[str, Any]:
    """`roles` for the values when not every worker role of the graph claims."""
    graph_roles = [r for r in ("decode", "prefill") if r in roles]
    return {} if sorted(claiming) == sorted(graph_roles) else {"roles": [r for r in graph_roles if r in claiming]}


def _free_name(name: str, taken: set[str]) -> str:
    n = 1
    while f"{name}-{n}" in taken:
        n += 1
    return f"{name}-{n}"


def _chart_dgd_labels(name: str, version: str) -> dict[str, str]:
    """The labels the model chart puts on the DGD (its model.labels helper)."""
    from composer import recipes
    from composer import yaml as yamlio

    chart = yamlio.load((recipes.charts_dir() / "model" / "Chart.yaml").read_text())
    return {
        "helm.sh/chart": f"model-{chart['version']}",
        "app.kubernetes.io/name": "model",
        "app.kubernetes.io/instance": f"{name}-model",
        "app.kubernetes.io/version": version,
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/part-of": "dynamo-compose",
    }


def _extra_object(obj: dict[str, Any], namespace: str | None) -> tuple[dict[str, Any], list[str]]:
    """An object of the stream as model.extraObjects takes it: in the release's namespace, without what
    the API server wrote, and every `{{` written so that the chart's `tpl` gives it back as it was."""
    obj = copy.deepcopy(obj)
    dropped = [f"/{k}" for k in ("status",) if obj.pop(k, None) is not None]
    meta: dict[str, Any] = obj["metadata"] if isinstance(obj.get("metadata"), dict) else {}
    for k in SERVER_METADATA:
        if meta.pop(k, None) is not None:
            dropped.append(f"/metadata/{k}")
    ns = meta.pop("namespace", None)
    if ns is not None and ns != namespace:
        dropped.append(f"/metadata/namespace ({ns!r}: it goes into the release's namespace)")
    for k in [k for k in meta.get("annotations") or {} if _server_annotation(k)]:
        del meta["annotations"][k]
        dropped.append(f"/metadata/annotations/{escape(k)}")
    return _tpl_literal(obj), dropped


def _tpl_literal(v: Any) -> Any:
    """The chart passes every string of an extra object through Helm's tpl: {{ "{{" }} is a literal {{."""
    if isinstance(v, dict):
        return {k: _tpl_literal(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_tpl_literal(x) for x in v]
    if isinstance(v, str) and "{{" in v:
        return v.replace("{{", '{{ "{{" }}')
    return v


def _strip_alpha(comp: dict[str, Any]) -> dict[str, Any]:
    """A component as a merge patch: v1alpha1-only fields have no place in it (they are listed anyway)."""
    return {k: v for k, v in comp.items() if not k.startswith("v1alpha1:")}


def _component_values(
    comp: dict[str, Any],
    role: str,
    ptr: str,
    rep: _Report,
    patch: dict[str, Any],
    *,
    backend: str,
    image: str,
    hf: str | None,
    pull: bool,
    routing: str | None,
    disagg: bool,
    configmaps: dict[str, Doc],
    moved: dict[str, set[str]],
    version: str | None,
    removes: list[str],
    dgd_name: str,
    model_name: str = "",
    planner: dict[str, Any] | None = None,
    epp: bool = False,
    workers_argv: tuple[str, ...] = (),
    model_refs_agree: bool = True,
) -> dict[str, Any]:
    """The values of one component (model.frontend, .decode, .prefill); what they cannot say goes into
    `patch` (a JSON merge patch on the rendered component) and is listed."""
    into = f"patches.model.components.{role}"
    worker = role in ("decode", "prefill")
    v: dict[str, Any] = {"enabled": True} if role in ("planner", "epp") else {}
    comp.pop("name")
    comp.pop("type")
    if role == "planner":
        if comp.get("replicas") == 1:  # the chart's: one Planner decides for the graph
            comp.pop("replicas")
    elif "replicas" in comp:
        v["replicas"] = comp.pop("replicas")
    template = comp.pop("podTemplate", None) or {}
    pod = copy.deepcopy(template.get("spec") or {})
    containers = pod.pop("containers", None) or []
    mi = next((j for j, c in enumerate(containers) if c.get("name") == "main"), None)
    main = copy.deepcopy(containers[mi]) if mi is not None else {}
    main.pop("name", None)
    cptr = f"{ptr}/podTemplate/spec/containers/{mi}"
    skip: set[int] = set()  # containers the chart renders itself
    if worker and epp and comp.get("frontendSidecar") == SIDECAR:
        # the endpoint picker's target: the chart renders this sidecar in every worker pod
        sidecar = {
            "name": SIDECAR,
            "image": main.get("image") or image,
            "args": list(SIDECAR_ARGS),
            **({"envFrom": [{"secretRef": {"name": hf}}]} if hf else {}),
        }
        j = next((j for j, c in enumerate(containers) if c.get("name") == SIDECAR and j != mi), None)
        if j is not None and containers[j] == sidecar:
            skip.add(j)
            comp.pop("frontendSidecar")
    if role == "planner" and planner:
        v.update(planner["values"])
        if planner["inline"] is not None:  # the config inline: the chart writes it to the file it mounts
            argv = list(main["args"])
            for j, a in enumerate(argv):
                if a == "--config" and j + 1 < len(argv) and argv[j + 1] == planner["inline"]:
                    argv[j + 1] = dynamo.PLANNER_CONFIG_FILE
                    break
                if a == f"--config={planner['inline']}":
                    argv[j] = f"--config={dynamo.PLANNER_CONFIG_FILE}"
                    break
            main["args"] = argv
        defaults = {
            "command": PLANNER_COMMAND,
            "args": ["--config", dynamo.PLANNER_CONFIG_FILE],
            "workingDir": PLANNER_WORKDIR,
        }
        for k, default in defaults.items():
            if main.get(k) == default:
                main.pop(k)
            elif k == "workingDir" and k not in main:  # the image's own, which empty says
                main[k] = ""
            elif k not in main:  # the chart writes its default: a JSON patch removes it
                removes.append(f"podTemplate/spec/containers/0/{k}")
                rep.unexpress(f"{cptr}/{k}" if mi is not None else f"{ptr}/podTemplate", "patches.model.jsonPatches")
        gone = set(planner["mounts"])
        main["volumeMounts"] = [m for m in main.get("volumeMounts") or [] if m.get("name") not in gone]
        if not main["volumeMounts"]:
            main.pop("volumeMounts")
        pod["volumes"] = [x for x in pod.get("volumes") or [] if x.get("name") not in gone]
        if not pod["volumes"]:
            pod.pop("volumes")
    if role == "epp":
        eppc = comp.pop("eppConfig", None)
        eppc = eppc if isinstance(eppc, dict) else {}
        if "config" in eppc:
            if eppc["config"] != epp_default_config(disagg):
                v["config"] = eppc["config"]
        else:  # the chart writes its default config: a JSON patch removes it
            removes.append("eppConfig/config")
            rep.unexpress(f"{ptr}/eppConfig", "patches.model.jsonPatches")
        for k in sorted(set(eppc) - {"config"}):  # e.g. configMapRef: no values key
            patch.setdefault("eppConfig", {})[k] = eppc[k]
            rep.unexpress(f"{ptr}/eppConfig/{escape(k)}", into)

    # containers other than main, or main-container fields the values lack: the whole list as a patch
    # (a merge patch replaces a list), which then renders the containers exactly as they were
    leftover_main = sorted(k for k in main if k not in MAIN_KEYS)
    others = [j for j, c in enumerate(containers) if j != mi and j not in skip]
    if leftover_main or others:
        # a component patch merges containers by name: main's other fields into the chart's main,
        # any other container appended as it is
        entries = [{"name": "main", **{k: main[k] for k in leftover_main}}] if leftover_main else []
        entries += [copy.deepcopy(containers[j]) for j in others]
        patch.setdefault("podTemplate", {}).setdefault("spec", {})["containers"] = entries
        for k in leftover_main:
            rep.unexpress(f"{cptr}/{escape(k)}", into)
        for j in others:
            rep.unexpress(f"{ptr}/podTemplate/spec/containers/{j}", into)
    containers_patched = bool(others)  # a sidecar may read the engine config's volume too
    # a worker with its own command and no flags: `args: []`, the command says everything
    no_flags = worker and bool(main.get("command")) and not main.get("args")
    if worker:
        # a worker without its own command (or args) gets compose's: a JSON patch removes them. Compose's
        # command is `python3 -m dynamo.<backend>`, not the image's entrypoint: no values key says "none".
        for k in ("command", "args"):
            if not main.get(k) and not (k == "args" and no_flags):
                removes.append(f"podTemplate/spec/containers/0/{k}")
                rep.unexpress(f"{cptr}/{k}" if mi is not None else f"{ptr}/podTemplate", "patches.model.jsonPatches")

    if main.get("imagePullPolicy") not in (None, *PULL_POLICIES):
        rep.problem(
            f"{cptr}/imagePullPolicy",
            f"imagePullPolicy {main['imagePullPolicy']!r} is not one Kubernetes takes",
            f"one of {', '.join(PULL_POLICIES)}",
        )
    if role == "epp":  # required: compose has no default picker image
        if not main.get("image"):
            rep.problem(f"{ptr}", "the endpoint picker has no image", "its main container names the image")
        v["image"] = main.get("image")
    elif role == "planner":  # compose's default is the platform's dynamo-planner image
        if main.get("image") and main["image"] != planner_image(image):
            v["image"] = main["image"]
    elif main.get("image") and main["image"] != image:
        v["image"] = main["image"]
    for key in ("command", "args", "workingDir"):
        if key == "args" and no_flags:
            v["args"] = []
        elif key in main:
            v[key] = main[key]
    env = list(main.get("env") or [])
    if role == "frontend" and routing:
        env = [e for e in env if e.get("name") != ROUTER_ENV]
    stray = [j for j, e in enumerate(env) if e.get("name") == ROUTER_ENV]
    whole_env = False
    if role == "epp":
        # the chart writes DYN_KV_CACHE_BLOCK_SIZE (kvCacheBlockSize) and DYN_MODEL_NAME (model.name) first
        block = [e for e in env if e.get("name") == EPP_BLOCK_ENV]
        named = [e for e in env if e.get("name") == EPP_MODEL_ENV]
        if (
            len(block) == 1
            and set(block[0]) == {"name", "value"}
            and re.fullmatch(r"[1-9][0-9]{0,6}", str(block[0]["value"]))
            and named == [{"name": EPP_MODEL_ENV, "value": model_name}]
        ):
            v["kvCacheBlockSize"] = int(block[0]["value"])
            env = [e for e in env if e.get("name") not in (EPP_BLOCK_ENV, EPP_MODEL_ENV)]
        else:  # the values need a block size; the original's env then replaces the chart's whole
            flags = re.search(r"--(?:block-size|page-size)[ =]([1-9][0-9]{0,6})\b", " ".join(workers_argv))
            v["kvCacheBlockSize"] = int(flags.group(1)) if flags else 16
            stray = [j for j, e in enumerate(env) if e.get("name") in (EPP_BLOCK_ENV, EPP_MODEL_ENV)]
            whole_env = True
            rep.notes.append(
                f"{rep.source(ptr)}: the endpoint picker's {EPP_BLOCK_ENV} and {EPP_MODEL_ENV} are not one block "
                f"size and the model's name: model.epp.kvCacheBlockSize is {v['kvCacheBlockSize']} (the workers' "
                "block size flag, else vLLM's default 16), and the original env replaces the chart's by a patch"
            )
    if stray or whole_env:  # a router mode routingPolicy does not name: the whole env by a patch (a list replaces)
        entries = patch.setdefault("podTemplate", {}).setdefault("spec", {}).setdefault("containers", [])
        main_entry = next((e for e in entries if e.get("name") == "main"), None)
        if main_entry is None:
            entries.insert(0, main_entry := {"name": "main"})
        main_entry["env"] = main.get("env", [])
        for j in stray:
            rep.unexpress(f"{cptr}/env/{j}", into)
        if not stray:
            rep.unexpress(f"{cptr}/env" if "env" in main else cptr, into)
    elif env:
        v["env"] = env
    if main.get("envFrom") and (not hf or role == "planner"):
        v["envFrom"] = main["envFrom"]
    resources = copy.deepcopy(main.get("resources") or {})
    if worker:
        gpus = None
        for side in ("limits", "requests"):
            q = (resources.get(side) or {}).get(GPU)
            if q is not None and gpus is None:
                gpus = q
        if gpus is not None and re.fullmatch(r"\d+", str(gpus)) and int(gpus) <= 16:
            for side in ("limits", "requests"):
                if str((resources.get(side) or {}).get(GPU, gpus)) == str(gpus):
                    (resources.get(side) or {}).pop(GPU, None)
                    if side in resources and not resources[side]:
                        del resources[side]
            v["gpus"] = int(gpus)
        elif gpus is None:
            v["gpus"] = 0  # compose's default is 1 GPU for the GPU engines
    if resources:
        v["resources"] = resources
    for key in ("imagePullPolicy", "ports", "startupProbe", "livenessProbe", "readinessProbe", "securityContext"):
        if key in main:
            v[key] = main[key]
    volumes = pod.pop("volumes", None)
    mounts = main.get("volumeMounts")
    config_moved = False

    # an engine config in a ConfigMap of the file, mounted and passed by the config flag: extraConfig.inline
    if worker and not containers_patched and volumes and mounts:
        found = _engine_config(main, volumes, configmaps, backend, disagg, role, version)
        if found:
            path, inline, vol, mount, cm, key = found
            if inline is None:
                ref = {"name": cm, **({"key": key} if key != posixpath.basename(path) else {})}
                v["extraConfig"] = {"path": path, "configMapRef": ref}
            else:
                v["extraConfig"] = {"path": path, "inline": inline}
                moved.setdefault(cm, set()).add(key)
            if mount.get("subPath"):
                v["extraConfig"]["mountFile"] = True
            volumes = [x for x in volumes if x is not vol]
            mounts = [x for x in mounts if x is not mount]
            # what the chart writes with it (a graph compose rendered has them): not twice
            env = [e for e in v.get("env", []) if e != {"name": "DYNAMO_EXTRA_CONFIG", "value": path}]
            v.pop("env", None)
            if env:
                v["env"] = env
            config_moved = inline is not None  # the chart writes a checksum of the ConfigMap it makes
    # the chart's extra-config volume (with an engine config, and always for TRT-LLM disaggregated: its
    # cache transceiver default); the import sets no model.modelCache, so model-cache stays free
    charts = {"extra-config"} if worker and ("extraConfig" in v or (backend == "trtllm" and disagg)) else set()
    if role == "planner" and planner:
        charts = {"planner-config", *(["profile-data"] if "profileData" in v else [])}
    taken = {x.get("name") for x in volumes or []} & charts
    if taken:  # the chart's own volume name: the original's volume is renamed, with its mounts
        renamed = {n: _free_name(n, {x.get("name") for x in volumes or []}) for n in sorted(taken)}
        volumes = [{**x, "name": renamed.get(x["name"], x["name"])} for x in volumes or []]
        mounts = [{**m, "name": renamed.get(m.get("name"), m.get("name"))} for m in mounts or []]
        for entry in patch.get("podTemplate", {}).get("spec", {}).get("containers", []):
            if "volumeMounts" in entry:
                entry["volumeMounts"] = [
                    {**m, "name": renamed.get(m.get("name"), m.get("name"))} for m in entry["volumeMounts"]
                ]
        rep.notes.extend(
            f"{rep.source(ptr)}: volume {old!r} is {new!r} (the chart's {old} is its own)"
            for old, new in renamed.items()
        )
    if volumes:
        v["volumes"] = volumes
    if mounts:
        v["volumeMounts"] = mounts
    if pull:
        pod.pop("imagePullSecrets", None)
    for key, vkey in POD_KEYS.items():
        if key in pod:
            v[vkey] = pod.pop(key)
    for key in sorted(pod):
        patch.setdefault("podTemplate", {}).setdefault("spec", {})[key] = pod[key]
        rep.unexpress(f"{ptr}/podTemplate/spec/{escape(key)}", into)
    meta = copy.deepcopy(template.get("metadata") or {})
    labels = meta.pop("labels", None) or {}
    # the chart's own labels as it renders them (a graph compose rendered has them) are no difference
    chart_labels = dict(zip(CHART_LABELS, ("model", f"{dgd_name}-model", role)))
    owned = {k: labels.pop(k) for k in sorted(labels) if k in CHART_LABELS}
    owned = {k: x for k, x in owned.items() if x != chart_labels[k]}
    if labels:
        v["labels"] = labels
    annotations = meta.pop("annotations", None) or {}
    if config_moved:
        annotations.pop(CHECKSUM, None)  # the chart's, of the config it now renders
    if role == "planner" and planner:
        annotations.pop(PLANNER_CHECKSUM, None)  # the chart's, of the config it renders
    if annotations:
        v["annotations"] = annotations
    if owned:  # the chart sets these itself: only a patch puts the original's back
        patch.setdefault("podTemplate", {}).setdefault("metadata", {})["labels"] = owned
        for k in owned:
            rep.unexpress(f"{ptr}/podTemplate/metadata/labels/{escape(k)}", into)
    for key in sorted(meta):
        patch.setdefault("podTemplate", {}).setdefault("metadata", {})[key] = meta[key]
        rep.unexpress(f"{ptr}/podTemplate/metadata/{escape(key)}", into)
    if "sharedMemorySize" in comp:
        v["sharedMemorySize"] = str(comp.pop("sharedMemorySize"))
    if worker and planner:
        # the chart opts the roles the Planner scales into a scaling adapter (an empty one)
        if role in planner["scales"] and comp.get("scalingAdapter") == {}:
            comp.pop("scalingAdapter")
        elif role in planner["scales"] and "scalingAdapter" not in comp:
            removes.append("scalingAdapter")
            rep.unexpress(ptr, "patches.model.jsonPatches")
            rep.notes.append(f"{rep.source(ptr)}: no scaling adapter, which compose adds where the Planner scales")
    if worker:
        mn = comp.get("multinode")
        if isinstance(mn, dict) and set(mn) == {"nodeCount"}:
            v["multinode"] = comp.pop("multinode")
        cc = comp.get("compilationCache")
        if isinstance(cc, dict) and set(cc) <= {"pvcName", "mountPath"} and cc.get("pvcName"):
            v["compilationCache"] = comp.pop("compilationCache")
        if _worker_key_fits("experimental", comp.get("experimental")):
            v["experimental"] = comp.pop("experimental")
        if model_refs_agree and _worker_key_fits("modelRef", comp.get("modelRef")):
            v["modelRef"] = comp.pop("modelRef")
    for key in sorted(comp):
        if key.startswith("v1alpha1:"):  # no v1beta1 field, so no patch can carry it
            rep.unexpress(f"{ptr}/{key}", "nowhere (no v1beta1 field)")
            continue
        patch[key] = comp[key]
        rep.unexpress(f"{ptr}/{escape(key)}", into)
    return v


def _worker_key_fits(key: str, block: Any) -> bool:
    """Whether a worker's block is one the role's values key of that name takes (experimental: the CRD's
    fields less the deprecated and unimplemented ones; modelRef: a name and a revision not empty); else
    it stays in a patch."""
    import jsonschema

    from composer.schema import values_schema

    if not isinstance(block, dict) or not block:
        return False
    schema = values_schema()
    sub = {**schema["$defs"]["workerRole"]["properties"][key], "$defs": schema["$defs"]}
    return jsonschema.Draft202012Validator(sub).is_valid(block)


def planner_image(image: str) -> str:
    """The Planner image compose gives when the values name none: dynamo-planner of platform.version
    (the import's: the worker image's), from the default cluster.imageRegistry (the import sets none)."""
    from composer.schema import values_schema

    registry = values_schema()["properties"]["cluster"]["properties"]["imageRegistry"]["default"]
    return f"{registry}/{dynamo.PLANNER_IMAGE}:{_version(image) or dynamo.DEFAULT_VERSION}"


def _planner_config(
    comp: dict[str, Any], configmaps: dict[str, Doc], backend: str, disagg: bool
) -> dict[str, Any] | str:
    """What model.planner says of a Planner whose config the chart can render: `--config` of a
    ConfigMap of the file mounted where the chart mounts it (as compose and upstream's profiler write
    it), or `--config '<JSON>'` (upstream's examples; the Planner takes either, PlannerConfig.from_config_arg),
    which the chart then writes to its ConfigMap: {values, configMap (None when inline), key, inline (the
    flag's value), mounts (the volume names the chart's replace), scales (the worker roles it scales)};
    else why not."""
    main = _main(comp)
    arg = _flag_value(main.get("args") or [], ("--config",))
    pod = (comp.get("podTemplate") or {}).get("spec") or {}
    volumes = {x.get("name"): x for x in pod.get("volumes") or [] if isinstance(x, dict)}
    mounts = [m for m in main.get("volumeMounts") or [] if isinstance(m, dict)]
    how = (
        f"does not read `--config {dynamo.PLANNER_CONFIG_FILE}` from a ConfigMap of the file, nor a JSON "
        "object inline, as compose can render it"
    )
    if arg is None:
        return how
    inline = None
    if arg != dynamo.PLANNER_CONFIG_FILE:
        try:
            inline = json.loads(arg)
        except ValueError:
            return how
        if not isinstance(inline, dict):
            return how
        taken = [m for m in mounts if posixpath.normpath(str(m.get("mountPath") or "")) == dynamo.PLANNER_CONFIG_MOUNT]
        if taken:  # the chart's config volume goes there
            return f"has a volume of its own at {dynamo.PLANNER_CONFIG_MOUNT}, where compose mounts the config"

    def configmap_at(path: str) -> tuple[str, str] | None:
        """(volume name, ConfigMap name) of a whole-ConfigMap volume mounted at path."""
        for m in mounts:
            if set(m) - {"name", "mountPath", "readOnly"} or posixpath.normpath(m.get("mountPath") or "") != path:
                continue
            vol = volumes.get(m.get("name"))
            if vol and set(vol) == {"name", "configMap"} and set(vol["configMap"]) == {"name"}:
                return m["name"], vol["configMap"]["name"]
        return None

    key = posixpath.basename(dynamo.PLANNER_CONFIG_FILE)
    used: list[str] = []
    found = None
    if inline is None:
        found = configmap_at(dynamo.PLANNER_CONFIG_MOUNT)
        cm = configmaps.get(found[1]) if found else None
        text = ((cm.data.get("data") or {}) if cm else {}).get(key)
        try:
            config = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            config = None
        if not found or not isinstance(config, dict):
            return how + " (export its config ConfigMap with the DGD to import it)"
        used.append(found[0])
    else:
        config = inline
    config = _plain(config)
    values: dict[str, Any] = {}
    # what compose fills (the chart's model.plannerConfig) is left out where it is the same
    filled: dict[str, Any] = {"environment": "kubernetes", "backend": backend, "mode": "disagg" if disagg else "agg"}
    # profiling data where the config says (a config that names no directory reads the Planner's
    # relative default, which compose's filled-in directory is not)
    profile = (
        configmap_at(posixpath.normpath(config["profile_results_dir"])) if config.get("profile_results_dir") else None
    )
    if profile:
        filled["profile_results_dir"] = dynamo.PLANNER_PROFILE_MOUNT
        values["profileData"] = {"configMapRef": {"name": profile[1]}}
        used.append(profile[0])
    # a key compose would fill where the config lacks it must be what the Planner takes for it anyway
    differs = [k for k in filled if k not in config and filled[k] != dynamo.PLANNER_CONFIG_DEFAULTS[k]]
    if differs:
        return "has a config without " + ", ".join(
            f"{k} (the Planner's default {dynamo.PLANNER_CONFIG_DEFAULTS[k]!r}; compose's would say {filled[k]!r})"
            for k in differs
        )
    kept = {k: x for k, x in config.items() if not (k in filled and filled[k] == x)}
    if kept:
        values["config"] = kept
    mode = config.get("mode", filled["mode"])
    scaled = {"prefill": ["prefill"], "decode": ["decode"], "agg": ["decode"], "disagg": ["prefill", "decode"]}
    scales = [] if config.get("advisory") else scaled.get(str(mode), [])
    return {
        "values": values,
        "configMap": found[1] if found else None,
        "key": key,
        "inline": arg if inline is not None else None,
        "mounts": used,
        "scales": scales,
    }


def epp_default_config(disagg: bool) -> dict[str, Any]:
    """The endpoint picker's config the chart writes when model.epp.config is absent (its model.eppConfig)."""
    roles = ["prefill", "decode"] if disagg else ["decode"]
    plugins: list[dict[str, Any]] = [{"type": "disagg-profile-handler"}]
    for r in roles:
        plugins.append(
            {
                "name": f"{r}-filter",
                "type": "label-filter",
                "parameters": {
                    "allowsNoLabel": not disagg,
                    "label": "nvidia.com/dynamo-component-type",
                    "validValues": [r],
                },
            }
        )
    plugins.append({"name": "picker", "type": "max-score-picker"})
    plugins += [{"name": f"dyn-{r}", "type": f"dyn-{r}-scorer"} for r in roles]
    profiles = [
        {
            "name": r,
            "plugins": [{"pluginRef": f"{r}-filter", "weight": 1}, {"pluginRef": f"dyn-{r}", "weight": 1}]
            + [{"pluginRef": "picker", "weight": 1}],
        }
        for r in roles
    ]
    return {"plugins": plugins, "schedulingProfiles": profiles}


def _flag_value(argv: list[str], flags: tuple[str, ...]) -> str | None:
    for j, a in enumerate(argv):
        if a in flags and j + 1 < len(argv):
            return argv[j + 1]
        for f in flags:
            if a.startswith(f + "="):
                return a.split("=", 1)[1]
    return None


def _engine_config(main, volumes, configmaps, backend, disagg, role, version):
    """(path, inline, volume, mount, ConfigMap name, key) when the worker reads its engine config from a
    ConfigMap the chart can mount the same way (its directory, or the file alone by subPath): one of the
    file (inline: its content), or one of the cluster that the volume names with its key (inline None: a
    configMapRef); else None."""
    argv = [*(main.get("command") or []), *(main.get("args") or [])]
    arg = _flag_value(argv, CONFIG_FLAGS)
    ref = re.fullmatch(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", arg or "")
    if ref:  # Kubernetes expands $(VAR) from the container's env: compose's own DYNAMO_EXTRA_CONFIG
        arg = _env_value(main, ref.group(1))
    elif arg is None:
        arg = _script_config_arg(argv, main)
    if not isinstance(arg, str) or not arg or "$(" in arg:
        return None
    path = arg if arg.startswith("/") else (posixpath.join(main["workingDir"], arg) if main.get("workingDir") else None)
    if not path:
        return None
    path = posixpath.normpath(path)
    for mount in main.get("volumeMounts") or []:
        if not isinstance(mount, dict) or mount.get("subPathExpr"):
            continue
        sub = mount.get("subPath")  # the file alone, mounted at path: extraConfig.mountFile
        if posixpath.normpath(mount.get("mountPath") or "") != (path if sub else posixpath.dirname(path)):
            continue
        vol = next((x for x in volumes if x.get("name") == mount.get("name")), None)
        if not vol or set(vol) != {"name", "configMap"}:
            continue
        ref = vol["configMap"]
        items = ref.get("items")
        if set(ref) - {"name", "items"} or (items is not None and len(items) != 1):
            return None  # the chart mounts one key, with the default mode
        file = posixpath.basename(path)
        key = items[0].get("key") if items else (sub or file)
        if items and items[0].get("path") != (sub or file):
            return None
        if not re.fullmatch(r"(/(?!\.\.?(/|$))[A-Za-z0-9._-]+){2,}", path):
            return None  # the schema's rule for extraConfig.path
        cm = configmaps.get(ref.get("name"))
        if cm is None:  # a ConfigMap of the cluster: the chart mounts it by name, as this does
            return (path, None, vol, mount, ref["name"], key) if items or sub else None
        data = cm.data.get("data") or {}
        others = sorted(set(data) - {key})
        if not items and not sub and others and not _names_only(main, path, others):
            return None  # the volume shows every key of the ConfigMap, the chart's one: another may be read
        text = data.get(key)
        if not isinstance(text, str):
            return None
        inline = _parse_config(text)
        if inline is None or _has_null(inline) or _chart_rewrites(inline, backend, disagg, role, version):
            return None  # kept as it is: Helm would drop a null key of the inline mapping, the chart change it
        return path, inline, vol, mount, ref["name"], key
    return None


def _env_value(main: dict[str, Any], name: str) -> str | None:
    """The plain value the container's env gives name (None when it is set otherwise, or twice)."""
    found = [e for e in main.get("env") or [] if isinstance(e, dict) and e.get("name") == name]
    if len(found) != 1 or set(found[0]) != {"name", "value"} or not isinstance(found[0]["value"], str):
        return None
    return found[0]["value"] if "$" not in found[0]["value"] else None


# The config flag in a shell script (`sh -c "python3 -m dynamo.trtllm ... --extra-engine-args PATH"`): its
# value a plain absolute path or one variable, quoted or not, ending where the word ends
_SCRIPT_FLAG = re.compile(
    r"(?<![\w-])(?:--extra-engine-args|--config)(?:=|[ \t]+)"
    r"(\"?)(/[A-Za-z0-9._/-]+|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)\1(?=[\s;&|)]|$)"
)


def _script_config_arg(argv: list[str], main: dict[str, Any]) -> str | None:
    """The engine config's path a shell script passes by the config flag: the one script running
    `python3 -m dynamo.<backend>`, with one config flag, its variable (if any) from the container's env
    and named nowhere else in the script (which could set it); else None."""
    script = _engine_script(argv)
    if script is None:
        return None
    flags = list(_SCRIPT_FLAG.finditer(script))
    if len(flags) != 1 or len(re.findall(r"(?<![\w-])(?:--extra-engine-args|--config)\b", script)) != 1:
        return None
    value = flags[0].group(2)
    if not value.startswith("$"):
        return value
    name = value.strip("${}")
    if len(re.findall(rf"(?<![A-Za-z0-9_]){name}(?![A-Za-z0-9_])", script)) != 1:
        return None
    return _env_value(main, name)


def _names_only(main: dict[str, Any], path: str, others: list[str]) -> bool:
    """Whether the container names, of a ConfigMap's keys mounted as a directory, only the one at path:
    every mention of the directory in its command, args, env and working directory is that file, and no
    other key's name appears. Then mounting that one key (as the chart does) shows the engine the same
    file, and hides only files nothing named (upstream's one ConfigMap of both roles' configs)."""
    directory = posixpath.dirname(path)
    workdir = posixpath.normpath(main.get("workingDir") or "/")
    if workdir == directory or workdir.startswith(directory + "/"):
        return False  # a relative name could read another key
    texts = [*(main.get("command") or []), *(main.get("args") or [])]
    texts += [e.get("value") for e in main.get("env") or [] if isinstance(e, dict) and isinstance(e.get("value"), str)]
    for text in texts:
        rest = re.sub(rf"{re.escape(path)}(?![A-Za-z0-9._/-])", "", text)
        if re.search(rf"{re.escape(directory)}(?![A-Za-z0-9._-])", rest) or any(k in text for k in others):
            return False
    return True


def _parse_config(text: str) -> dict[str, Any] | None:
    from composer import yaml as yamlio

    try:
        data = yamlio.load(text)
    except ValueError:
        return None
    return _plain(data) if isinstance(data, dict) and data else None


def _has_null(data: Any) -> bool:
    if isinstance(data, dict):
        return any(_has_null(v) for v in data.values())
    if isinstance(data, list):
        return any(_has_null(v) for v in data)
    return data is None


def _chart_rewrites(inline: dict[str, Any], backend: str, disagg: bool, role: str, version: str | None) -> bool:
    """Whether the model chart would change this config on its way into its ConfigMap (it adds what
    compose's own configs need): then the original ConfigMap is kept instead."""
    if backend == "trtllm" and disagg:
        return "cache_transceiver_config" not in inline
    if backend == "mocker" and disagg:
        nested = dynamo.release(version or dynamo.DEFAULT_VERSION).mocker_engine_args_nested
        engine = inline.get("engine") if nested else inline
        return not isinstance(engine, dict) or engine.get("worker_type") != role
    return False


# ------------------------------------------------------------------------------------------ output


def values_text(imported: Imported, source: str) -> str:
    from composer import recipes
    from composer import yaml as yamlio

    head = (
        f"# yaml-language-server: $schema={recipes.SCHEMA_FILE}\n"
        f"# Imported from {source} by `compose import`; IMPORT.md says what went where.\n"
    )
    return head + yamlio.dump(imported.values)


def environments(imported: Imported) -> dict[str, str]:
    """environments/{dev,prod,local}.yaml as `compose init` writes them, minus the Hugging Face Secret
    (the imported graph says which Secret each component reads), with the DGD's namespace."""
    from composer import recipes

    model = imported.values["model"]
    # The mocker runs none of the imported engines' commands, flags or configs: back to compose's own.
    engine_only = ("command", "args", "workingDir", "image", "multinode", "compilationCache")
    nulls = {role: [k for k in engine_only if k in model.get(role, {})] for role in ROLES}
    # platform.install: false says where the Planner's Prometheus comes from (cluster_settings)
    envs = recipes.environments(model, hf_token_secret=False, local_nulls=nulls, prometheus=False)
    if imported.namespace:
        envs["dev"] = envs["dev"].replace("namespace: dynamo-dev\n", f"namespace: {imported.namespace}\n", 1)
        envs["prod"] = envs["prod"].replace("namespace: dynamo\n", f"namespace: {imported.namespace}\n", 1)
    for env in ("dev", "prod"):
        envs[env] += cluster_settings(imported)
    return envs


def cluster_settings(imported: Imported) -> str:
    """What the graph's Planner and endpoint picker need of a cluster, which no DGD says."""
    model = imported.values["model"]
    out = ""
    if model.get("planner"):
        out += (
            "# The Planner reads the Prometheus that the cluster's Dynamo platform release names (a DGD does not\n"
            "# say which): compose leaves that release as it is. To let compose install the platform, set\n"
            "# install: true and model.planner.prometheusEndpoint to the Prometheus URL.\n"
            "platform:\n"
            "  install: false\n"
        )
    if model.get("epp"):
        out += (
            "# The endpoint picker serves an Inference Gateway: its route goes to the picker's InferencePool.\n"
            "inferenceGateway:\n"
            "  gateway:\n"
            "    # Placeholder: set the name (and namespace) of your Gateway; a DGD does not say which.\n"
            f"    name: {GATEWAY_PLACEHOLDER}\n"
        )
    return out


def import_doc(imported: Imported, source: str, sha256: str) -> str:
    """IMPORT.md: where the graph came from, and where each part went that the values cannot express."""
    lines = [
        "# Imported DynamoGraphDeployment",
        "",
        f"`compose import` made this project from `{source}` (sha256 `{sha256}`), DynamoGraphDeployment",
        f"`{imported.name}`. `compose template` renders the same graph"
        + (f" with compose's {' and '.join(imported.added)} added" if imported.added else "")
        + (
            ", but for what is carried nowhere below."
            if any(u.into.startswith("nowhere") for u in imported.unexpressed)
            else "."
        ),
        "",
    ]
    model = imported.values["model"]
    todo = []
    if model.get("planner"):
        todo.append(
            "The Planner reads Prometheus at the URL the cluster's Dynamo platform release gives it "
            "(`dynamo-operator.dynamo.metrics.prometheusEndpoint`), which a DGD does not hold: "
            "`environments/{dev,prod}.yaml` set `platform.install: false`, so compose leaves that release as it "
            "is. To let compose install the platform, set `platform.install: true` and "
            "`model.planner.prometheusEndpoint`."
        )
    if model.get("epp"):
        todo.append(
            "The endpoint picker serves an Inference Gateway: `values.yaml` turns `inferenceGateway` on, and "
            f"`environments/{{dev,prod}}.yaml` name the Gateway `{GATEWAY_PLACEHOLDER}`, a placeholder: set "
            "`inferenceGateway.gateway.name` (and `namespace`) to your Gateway."
        )
    if "frontend" in imported.added:
        todo.append(
            "The graph had no frontend component; compose's graph always has one, so the project adds it, "
            f"with its Service `{imported.name}-frontend`."
        )
    if todo:
        lines += ["## Before you deploy", ""] + [f"- {t}" for t in todo] + [""]
    if imported.unexpressed:
        lines += [
            "## Not expressible in the values",
            "",
            "| source (JSON pointer) | line | went into |",
            "|---|---|---|",
        ]
        lines += [
            f"| {u.document + ' ' if u.document else ''}`{u.pointer or '/'}` | {u.line} | `{u.into}` |"
            for u in imported.unexpressed
        ]
        lines.append("")
    else:
        lines += [
            "Every field of the graph is in `values.yaml`: nothing went into `patches` or `model.extraObjects`.",
            "",
        ]
    if imported.empty:
        lines += [
            "## Fields written without a value",
            "",
            "These fields of the DGD are null (`key:` with nothing after it). Kubernetes drops a null from a",
            "DynamoGraphDeployment when it stores it, so the import dropped them too: the project renders what",
            "the cluster would have run. Where a value was meant, set it in `values.yaml`.",
            "",
            "| field (JSON pointer) | line |",
            "|---|---|",
        ]
        lines += [f"| `{e.pointer}` | {e.line} |" for e in imported.empty]
        lines.append("")
    if imported.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in imported.notes] + [""]
    return "\n".join(lines)


def project_files(imported: Imported, source: str, raw: bytes) -> dict[str, str]:
    from composer import recipes

    files = {
        "values.yaml": values_text(imported, source),
        "IMPORT.md": import_doc(imported, source, hashlib.sha256(raw).hexdigest()),
        ".gitignore": recipes.GITIGNORE,
        recipes.SCHEMA_FILE: recipes.schema_file().read_text(),
    }
    files.update({f"environments/{env}.yaml": text for env, text in environments(imported).items()})
    files.update({rel: src.read_text() for rel, src in recipes.chart_files().items()})
    return files


def strict_problems(imported: Imported, display: str) -> list[Problem]:
    empty = [
        Problem(
            display,
            e.line,
            e.column,
            e.pointer,
            "written without a value (null), which Kubernetes drops",
            "import without --strict to drop it, or give it a value (or remove it) in the DGD",
        )
        for e in imported.empty
    ]
    return empty + [
        Problem(
            display,
            u.line,
            u.column,
            u.pointer,
            f"{u.document + ': ' if u.document else ''}not expressible in compose's values (it would go into {u.into})",
            "import without --strict to carry it in patches/extraObjects, or change the DGD",
        )
        for u in imported.unexpressed
    ]


def import_file(
    path: Path, dest: Path | None, *, strict: bool = False, display: str | None = None, graph: str | None = None
) -> tuple[Imported, Path]:
    """Read, convert and write the project; (what was imported, the project directory). Writes nothing
    on bad input, with --strict when something is not expressible, or when dest is not empty."""
    from composer import write

    display = display or str(path)
    docs = read_stream(path, display)
    imported = convert(docs, display, graph)
    if strict and (imported.unexpressed or imported.empty):
        raise InvalidValues(strict_problems(imported, display))
    dest = dest if dest is not None else Path(imported.name)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise UsageError(f"--dir {dest}: exists and is not an empty directory; nothing was written")
    files = project_files(imported, path.name, path.read_bytes())
    dest.parent.mkdir(parents=True, exist_ok=True)
    write.write_tree(dest, files)
    return imported, dest


def report(imported: Imported, dest: Path) -> dict[str, Any]:
    """What `compose import -o json` prints."""
    return {
        "project": str(dest),
        "name": imported.name,
        "unexpressed": [
            {
                "pointer": u.pointer,
                "line": u.line,
                "column": u.column,
                "into": u.into,
                **({"object": u.document} if u.document else {}),
            }
            for u in imported.unexpressed
        ],
        "empty": [{"pointer": e.pointer, "line": e.line, "column": e.column} for e in imported.empty],
        "notes": imported.notes,
    }


def summary(imported: Imported, dest: Path) -> str:
    """What `compose import` prints."""
    total = len(imported.unexpressed)
    out = [f"wrote a project for DynamoGraphDeployment {imported.name!r} into {dest}/"]
    if total:
        out.append(f"{total} part(s) the values cannot express (listed in IMPORT.md):")
        out += [f"  {u}" for u in imported.unexpressed]
    else:
        out.append("everything is in values.yaml: no patches, no extraObjects")
    if imported.empty:
        out.append(f"{len(imported.empty)} field(s) written without a value (null), dropped as Kubernetes drops them:")
        out += [f"  {e}" for e in imported.empty]
    out += [f"note: {n}" for n in imported.notes]
    out += ["next:", f"  cd {dest}", "  compose template --env dev    # the same graph, rendered", ""]
    return "\n".join(out)


def dumps(data: Any) -> str:  # for tests and debugging: the values as JSON, keys in their order
    return json.dumps(data, indent=2)
