"""model.extraObjects: Kubernetes objects the model release renders beside the DynamoGraphDeployment.

The model chart passes every string of an object through Helm's `tpl` with its own context, so a
string may say `{{ .Values.dynamoNamespace }}-cache`. compose takes the templates it can check before
helm runs, so that what `compose validate` takes, helm renders (and names are known, to find
duplicates and collisions): references (`.Values.<path>`, `.Release.Name`, `.Release.Namespace`) and
string constants (`{{ "{{" }}` for a literal `{{`). The chart itself, used without compose, renders
any template. Pure functions.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from typing import Any

# Built-in cluster-scoped kinds: an extra object goes into the deployment's namespace.
CLUSTER_SCOPED = frozenset(
    {
        "APIService",
        "CSIDriver",
        "CSINode",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
    }
)

# An action: `{{ ... }}`, with Go's trim markers `{{- ` and ` -}}` eating the whitespace beside it.
_ACTION = re.compile(r"(\s*)\{\{(-\s)?(.*?)(\s-)?\}\}(\s*)", re.S)
_VALUES_REF = re.compile(r"^\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)$")
_RELEASE_REF = re.compile(r"^\$?\.Release\.(Name|Namespace)$")
# A string constant, the way to write a literal `{{`: {{ "{{" }} or {{ `{{` }}
_LITERAL = re.compile(r'^"([^"\\]*)"$|^`([^`]*)`$')
MORE_THAN_A_REFERENCE_HINT = (
    "compose takes {{ .Values.<path> }}, {{ .Release.Name }}, {{ .Release.Namespace }} and "
    '{{ "{{" }} (a literal {{), which it can check before helm renders them'
)


class Unresolved(ValueError):
    """A template compose does not take (helm might refuse it); args: (message, hint)."""


def templated(text: Any) -> bool:
    return isinstance(text, str) and "{{" in text  # as the chart decides whether to call tpl


def _lookup(values: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = values
    for part in path.strip(".").split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _did_you_mean(values: Mapping[str, Any], path: str) -> str:
    """`did you mean .Values.model.name?` for .Values.model.nmae, from the keys where the path leaves the values."""
    parts = path.strip(".").split(".")
    node: Any = values
    for i, part in enumerate(parts):
        if not isinstance(node, Mapping):
            return ""
        if part not in node:
            guess = difflib.get_close_matches(part, [str(k) for k in node], n=1)
            return f"did you mean .Values.{'.'.join([*parts[:i], guess[0]])}?" if guess else ""
        node = node[part]
    return ""


def _value(body: str, values: Mapping[str, Any], release: Mapping[str, str], strings_only: bool) -> str:
    literal = _LITERAL.match(body)
    if literal:
        return literal.group(1) if literal.group(1) is not None else literal.group(2)
    rel = _RELEASE_REF.match(body)
    if rel:
        return release[rel.group(1)]
    ref = _VALUES_REF.match(body)
    if not ref:
        raise Unresolved(f"`{{{{ {body} }}}}` is more than a reference to a value", MORE_THAN_A_REFERENCE_HINT)
    found, value = _lookup(values, ref.group(1))
    if not found:
        raise Unresolved(
            f"the template refers to .Values{ref.group(1)}, which the model chart is not given",
            _did_you_mean(values, ref.group(1))
            or "refer to a value the values file sets, e.g. {{ .Values.dynamoNamespace }} or {{ .Values.model.name }}",
        )
    if isinstance(value, str):
        return value
    if strings_only or value is None or isinstance(value, (Mapping, list)):
        want = "a string" if strings_only else "a string, number or boolean"
        raise Unresolved(
            f"the template refers to .Values{ref.group(1)}, which is not {want}",
            "refer to a string here, e.g. {{ .Values.dynamoNamespace }}"
            if strings_only
            else "refer to one value, e.g. {{ .Values.model.name }}",
        )
    return str(value).lower() if isinstance(value, bool) else str(value)


def render(text: str, values: Mapping[str, Any], release: Mapping[str, str], *, strings_only: bool = False) -> str:
    """text as helm's tpl renders it, for the templates compose takes (Unresolved for others):
    references to values and the release, and string constants. strings_only: a name or label
    value, where a number would come out in Go's float format (1e+06)."""
    if "{{" in _ACTION.sub("", text):  # a `}}` alone is text to Go's templates; a `{{` alone is an error
        raise Unresolved("an action `{{` without its `}}`", 'close it with }}, or write a literal {{ as {{ "{{" }}')

    def one(m: re.Match[str]) -> str:
        lead, left, body, right, trail = m.groups()
        value = _value(body.strip(), values, release, strings_only)
        return ("" if left else lead) + value + ("" if right else trail)

    return _ACTION.sub(one, text)


def strings(obj: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """(path, string) of every string value in obj (keys are not templated)."""
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from strings(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from strings(v, (*path, i))
    elif isinstance(obj, str):
        yield path, obj


def name_of(obj: Mapping[str, Any], values: Mapping[str, Any], release: Mapping[str, str]) -> str:
    """The object's metadata.name as helm renders it (as written when it cannot be resolved: the
    values schema's rule has refused that already)."""
    name = obj["metadata"]["name"]
    try:
        return render(name, values, release, strings_only=True) if templated(name) else name
    except Unresolved:
        return name


def objects(values: Mapping[str, Any], release: Mapping[str, str]) -> list[tuple[str, str]]:
    """(kind, name) of every extra object the model chart renders for its values."""
    return [(o["kind"], name_of(o, values, release)) for o in values["model"].get("extraObjects") or []]
