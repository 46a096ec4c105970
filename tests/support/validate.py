"""Offline validation of rendered manifests, for tests.

Custom resources are checked against the CRDs of the Dynamo version they are labelled with
(app.kubernetes.io/version, which every chart of ours sets; CRD_FIXTURES), and the default
version's when unlabelled (an nvidia.com resource the
CRDs do not define is an error, not skipped); everything else against the
Kubernetes JSON schemas bundled with kubernetes-validate (strict: unknown fields fail). The CRD
schemas are OpenAPI v3 "structural" schemas, which jsonschema misreads as is;
`_structural_to_jsonschema` translates the parts that matter: int-or-string, nullable, closed
objects, and Draft 4 for the boolean exclusiveMinimum. CEL rules are not evaluated.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable
from pathlib import Path

import jsonschema
import yaml

from composer import dynamo

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


# The DGD CRD each release line is checked against, by fixture directory. No released 1.5.x or 1.6.x
# CRD could be read: both lines use the newest upstream copy whose commit is known (main of
# 2026-08-21, 1.6.1/crds/SOURCES.md says what it lacks).
CRD_FIXTURES = {"1.4": "1.4.0", "1.5": "1.6.1", "1.6": "1.6.1"}


def crd_dir(version: str = dynamo.DEFAULT_VERSION) -> Path:
    """The CRD fixtures of version's release line."""
    return FIXTURES / "dynamo" / CRD_FIXTURES[dynamo.release(version).line] / "crds"


CRDS = crd_dir()
# The Gateway API HTTPRoute and the GAIE InferencePool, at the versions Dynamo's gateway docs pin.
GATEWAY_CRDS = FIXTURES / "gateway"
GATEWAY_GROUPS = ("gateway.networking.k8s.io", "inference.networking.k8s.io")
# NVIDIA's DRA driver's ComputeDomain (model.computeDomain), at the copy its SOURCES.md names.
DRA_CRDS = FIXTURES / "dra"
DRA_GROUPS = ("resource.nvidia.com",)
KUBE_VERSION = "1.30.0"
# resource.k8s.io/v1 (DRA, GA), which model.deviceClaim renders, is served from Kubernetes 1.34 on: its
# kinds are checked against that version's schemas (at KUBE_VERSION they have none, and would be skipped).
DRA_KUBE_VERSION = "1.34.0"
DRA_V1 = "resource.k8s.io/v1"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_docs(text: str) -> list[dict]:
    return [d for d in yaml.load_all(text, Loader=_Loader) if d]


def _structural_to_jsonschema(s):
    if isinstance(s, list):
        return [_structural_to_jsonschema(x) for x in s]
    if not isinstance(s, dict):
        return s
    s = {k: _structural_to_jsonschema(v) for k, v in s.items()}
    if s.pop("x-kubernetes-int-or-string", False):
        s.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if s.pop("nullable", False) and "type" in s:
        s["type"] = [s["type"], "null"]
    preserve = s.pop("x-kubernetes-preserve-unknown-fields", False)
    if s.get("type") == "object" and "properties" in s and not preserve:
        s.setdefault("additionalProperties", False)
    for k in [k for k in s if k.startswith("x-kubernetes-")]:
        del s[k]
    return s


@functools.cache
def crd_validators(crd_dir: Path = CRDS) -> dict[tuple[str, str], jsonschema.Draft4Validator]:
    out = {}
    for path in sorted(crd_dir.glob("*.yaml")):
        for crd in yaml.load_all(path.read_text(), Loader=_Loader):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for v in spec["versions"]:
                schema = (v.get("schema") or {}).get("openAPIV3Schema") or {"type": "object"}
                key = (f"{spec['group']}/{v['name']}", spec["names"]["kind"])
                out[key] = jsonschema.Draft4Validator(_structural_to_jsonschema(copy.deepcopy(schema)))
    return out


def _doc_id(doc: dict) -> str:
    return f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"


def _version_of(doc: dict) -> str:
    labels = (doc.get("metadata") or {}).get("labels") or {}
    version = labels.get("app.kubernetes.io/version", "")
    return version if dynamo.line(version) in dynamo.RELEASES else dynamo.DEFAULT_VERSION


def crd_errors(docs: Iterable[dict], crds: Path | None = None) -> list[str]:
    """Errors for every custom resource of a group the CRDs define: those in crds when given, else
    those of the version each resource is labelled with."""
    errors = []
    for doc in docs:
        group = doc.get("apiVersion", "").rpartition("/")[0]
        where = crds or (
            GATEWAY_CRDS if group in GATEWAY_GROUPS else DRA_CRDS if group in DRA_GROUPS else crd_dir(_version_of(doc))
        )
        validators = crd_validators(where)
        groups = {api.rpartition("/")[0] for api, _ in validators}
        v = validators.get((doc.get("apiVersion"), doc.get("kind")))
        if v is None:
            # only the CRDs the charts render are kept as fixtures: a new kind must bring its CRD
            if doc.get("apiVersion", "").rpartition("/")[0] in groups:
                errors.append(f"{_doc_id(doc)}: no {doc.get('apiVersion')} schema in {where}")
            continue
        for e in sorted(v.iter_errors(doc), key=lambda e: list(map(str, e.path))):
            errors.append(f"{_doc_id(doc)}: {'.'.join(map(str, e.path)) or '<root>'}: {e.message}")
    return errors


def is_builtin(doc: dict) -> bool:
    group = doc.get("apiVersion", "").rpartition("/")[0]
    return group == "" or "." not in group or group.endswith(".k8s.io")


def k8s_errors(docs: Iterable[dict], version: str = KUBE_VERSION) -> list[str]:
    """Strict Kubernetes schema errors for built-in kinds; custom resources are not looked at."""
    import kubernetes_validate

    errors = []
    for doc in docs:
        if not is_builtin(doc):
            continue
        at = DRA_KUBE_VERSION if doc.get("apiVersion") == DRA_V1 and version == KUBE_VERSION else version
        try:
            kubernetes_validate.validate(doc, at, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            continue  # a group under *.k8s.io that Kubernetes itself does not serve (Gateway API ...)
        except kubernetes_validate.ValidationError as e:
            errors.append(f"{_doc_id(doc)}: {'.'.join(map(str, e.path))}: {e.message}")
    return errors


def all_errors(docs: list[dict]) -> list[str]:
    return crd_errors(docs) + k8s_errors(docs)
