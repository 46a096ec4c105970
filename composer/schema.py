"""Validate merged values against the packaged JSON Schema, plus the rules a schema cannot say.

Every problem is located (file:line:column via the loader's positions), names the JSON pointer,
says what was expected, and offers a hint: a did-you-mean for enums and unknown keys.
"""

from __future__ import annotations

import copy
import difflib
import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any

from composer import dynamo, quickcheck, secrets
from composer.errors import InvalidValues, Problem, UsageError
from composer.load import Loaded, escape

if TYPE_CHECKING:
    import jsonschema


DNS1123 = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1035 = "^[a-z]([-a-z0-9]*[a-z0-9])?$"  # Service names: a DNS-1123 label that starts with a letter
LABEL_VALUE = "^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"  # non-empty: an empty release label selects nothing
JSON_POINTER = "^(/([^~/]|~[01])*)+$"  # RFC 6901: '~' only as ~0 or ~1
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"  # Secrets, ConfigMaps, PVCs


@functools.cache
def values_schema() -> dict:
    return json.loads(resources.files("composer").joinpath("schema/values.schema.json").read_text())


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    import jsonschema  # here, not at the top: commands that validate nothing need not pay for it

    # jsonschema's "integer" takes 4.0 and 1e308, its "number" .inf and .nan: the charts would get
    # a float where Kubernetes wants an int, or a value JSON (and so helm) cannot carry.
    types = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many(
        {
            "integer": lambda _, v: type(v) is int,
            "number": lambda _, v: type(v) is int or (type(v) is float and math.isfinite(v)),
        }
    )
    return jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=types)(values_schema())


def _certainly_valid(data: Any) -> bool:
    """quickcheck's fast yes-or-unsure: valid values skip importing jsonschema (most of a cold start)."""
    try:
        return quickcheck.certainly_valid(values_schema(), data)
    except Exception:  # noqa: BLE001 - unsure: jsonschema decides
        return False


def validate(loaded: Loaded) -> dict:
    """Return the values with schema defaults filled in, or raise InvalidValues with every problem."""
    problems = []
    if not _certainly_valid(loaded.data):
        problems = [p for e in _leaf_errors(_validator().iter_errors(loaded.data)) for p in _problems(loaded, e)]
    values = with_defaults(values_schema(), loaded.data)
    problems += _rule_problems(values, loaded, reported=[p.pointer for p in problems])
    if problems:
        raise InvalidValues(problems)
    return values


def _rule_problems(values: dict, loaded: Loaded, *, reported: list[str]) -> list[Problem]:
    """The cross-field rules' problems, also beside the schema's: all at once. A rule that trips
    over a value the schema already reported is skipped, and says nothing more about that value."""
    out = []
    for rule in RULES:
        try:
            found = list(rule(values, loaded))
        except (KeyError, TypeError, AttributeError, ValueError):
            if not reported:
                raise  # on schema-valid values a rule must not fail: that is a bug, not bad input
            continue
        out += [p for p in found if not any(p.pointer == r or p.pointer.startswith(f"{r}/") for r in reported)]
    return out


DEFS = "#/$defs/"


def resolve(node: Any, root: dict | None = None) -> Any:
    """node with its `$ref` followed: the definition's keywords, then those written beside the $ref
    (the description saying which role or component) over them, as one mapping. The values schema
    refers only to its own #/$defs/<name> (it is shipped alone, to editors and into projects)."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        name = ref[len(DEFS) :]
        if not ref.startswith(DEFS) or "/" in name:
            raise ValueError(f"unsupported $ref {ref!r}: the values schema refers only to {DEFS}<name>")
        target = (values_schema() if root is None else root)["$defs"][name.replace("~1", "/").replace("~0", "~")]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def inlined(schema: dict) -> dict:
    """The schema with every $ref replaced by what it refers to, and no $defs: what a walker that
    knows no $ref would need."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: walk(v) for k, v in resolve(node, schema).items() if k != "$defs"}
        return [walk(v) for v in node] if isinstance(node, list) else node

    return walk(schema)


def at_schema_path(path: Iterable, root: dict | None = None) -> dict:
    """The subschema, resolved, holding the last keyword of a jsonschema error's absolute_schema_path
    (which passes through a $ref without naming it): the schema written where the error is, with
    the description beside its $ref. jsonschema's error.schema is the bare $defs entry."""
    root = values_schema() if root is None else root
    node = resolve(root, root)
    for step in list(path)[:-1]:
        node = resolve(node[step], root)
    return node


def with_defaults(schema: dict, data: Any, root: dict | None = None) -> Any:
    """Fill the `default` of every absent property, then the defaults inside it. An absent object
    is created only where the schema gives it a default ({}): sections, not optional roles."""
    root = schema if root is None else root
    schema = resolve(schema, root)
    if schema.get("type") != "object" or not isinstance(data, dict):
        return data
    out = dict(data)
    for key, sub in schema.get("properties", {}).items():
        sub = resolve(sub, root)
        if key not in out and "default" in sub:
            out[key] = copy.deepcopy(sub["default"])
        if key in out:
            out[key] = with_defaults(sub, out[key], root)
    return out


def _leaf_errors(errors: Iterable[jsonschema.ValidationError]) -> Iterable[jsonschema.ValidationError]:
    """Replace anyOf/oneOf failures by their most relevant branch error."""
    import jsonschema

    errors = list(errors)
    mistyped = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    for e in errors:
        if e.validator != "type" and tuple(e.absolute_path) in mistyped:
            continue  # 1e308 for an integer: "expected an integer" says it; "at most 16" adds nothing
        if e.context:
            # the branch whose type fits the value says what is wrong with it; if none fits, the
            # anyOf itself says which types would
            fitting = [c for c in e.context if c.validator != "type"]
            yield jsonschema.exceptions.best_match(fitting) if fitting or e.validator != "anyOf" else e
        else:
            yield e


def pointer(path: Iterable) -> str:
    return "".join(f"/{escape(p)}" for p in path)


def _problems(loaded: Loaded, e: jsonschema.ValidationError) -> list[Problem]:
    if e.validator == "additionalProperties":  # jsonschema groups a mapping's unknown keys: one problem each
        known = sorted(at_schema_path(e.absolute_schema_path).get("properties", {}))
        return [
            _unknown_key(loaded, f"{pointer(e.absolute_path)}/{escape(key)}", key, known)
            for key in sorted(set(e.instance) - set(known))
        ]
    return [_problem(loaded, e)]


def _unknown_key(loaded: Loaded, ptr: str, key: str, known: list[str]) -> Problem:
    if secrets.token_kind(key):
        return _credential(loaded, ptr, f"looks like {secrets.token_kind(key)}", key=True)
    guess = _guess(key, known)
    hint = f"did you mean {guess!r}?" if guess else f"known keys here: {', '.join(known)}"
    return loaded.problem(ptr, f"unknown key {key!r}", hint, key=True)


def _problem(loaded: Loaded, e: jsonschema.ValidationError) -> Problem:
    ptr = pointer(e.absolute_path)
    v = e.validator
    where = at_schema_path(e.absolute_schema_path)  # not e.schema: a $defs entry, without its user's description
    # Messages describe a value by its kind and length, never show it: it may be a credential,
    # and stderr ends up in CI logs.
    kind = secrets.token_kind(e.instance)
    if kind:  # a credential where a name was expected (hfTokenSecret: hf_...): say what to do
        return _credential(loaded, ptr, f"looks like {kind}")
    if v == "enum":
        options = e.validator_value
        guess = _guess(str(e.instance), [str(o) for o in options])
        expected = ", ".join(map(str, options))
        hint = f"did you mean {guess!r}?" if guess else f"choose one of: {expected}"
        return loaded.problem(ptr, f"expected one of {expected}; got {_describe(e.instance)}", hint)
    if v == "required":
        missing = e.message.split("'")[1] if "'" in e.message else e.message
        gone = loaded.removed.get(f"{ptr}/{escape(missing)}")
        if gone:  # an overlay's `key: null` removed it: point there
            return Problem(
                gone.file,
                gone.line,
                gone.column,
                f"{ptr}/{escape(missing)}",
                f"required key {missing!r} is removed by `{missing}: null`",
                "null removes a key (Helm's rule); give a value instead, or drop the line",
            )
        prop = resolve(where.get("properties", {}).get(missing, {}))
        empty = loaded.empty.get(f"{ptr}/{escape(missing)}")
        if empty:  # the base file names the key but gives it no value
            return Problem(
                empty.file,
                empty.line,
                empty.column,
                f"{ptr}/{escape(missing)}",
                f"required key {missing!r} has no value",
                prop.get("description") or "give it a value",
            )
        return loaded.problem(
            ptr, f"missing required key {missing!r}", prop.get("description") or f"add `{missing}:` here", key=True
        )
    about = where.get("description") or "see the values reference in README.md"
    if v in ("type", "anyOf"):
        types = [b.get("type", "another value") for b in e.validator_value] if v == "anyOf" else e.validator_value
        want = types if isinstance(types, str) else " or ".join(_article(t) for t in types)
        return loaded.problem(
            ptr, f"expected {_article(want)}, got {_describe(e.instance)}", _type_hint(want, e.instance) or about
        )
    if v == "pattern":
        what, hint = _pattern_meaning(e.validator_value, where)
        return loaded.problem(ptr, f"expected {what}, got {_describe(e.instance)}", hint)
    if v in ("minimum", "maximum"):
        bound = "at least" if v == "minimum" else "at most"
        return loaded.problem(ptr, f"expected {bound} {e.validator_value}, got {_describe(e.instance)}", about)
    if v == "maxLength":
        return loaded.problem(ptr, f"{len(e.instance)} characters; the limit is {e.validator_value}", about)
    if v == "minLength":
        return loaded.problem(
            ptr, f"expected at least {_count(e.validator_value, 'character')}, got {_describe(e.instance)}", about
        )
    if v == "minItems":
        return loaded.problem(
            ptr, f"expected at least {_count(e.validator_value, 'entry')}, got {_describe(e.instance)}", about
        )
    if v in ("minProperties", "maxProperties") and isinstance(e.instance, dict):  # valueFrom: one source
        options = ", ".join(where.get("properties", {}))
        if not e.instance:
            return loaded.problem(
                ptr,
                f"expected exactly one of {options}; got an empty mapping",
                "for example {secretKeyRef: {name: my-secret, key: MY_KEY}}",
            )
        return loaded.problem(
            ptr,
            f"expected exactly one of {options}; got {len(e.instance)} keys",
            "Kubernetes takes one source per variable: keep one",
        )
    if v == "uniqueItems":
        first: dict[str, int] = {}
        for i, item in enumerate(e.instance):
            seen = first.setdefault(json.dumps(item, sort_keys=True), i)
            if seen != i:
                return loaded.problem(f"{ptr}/{i}", f"the same as {ptr}/{seen}", "list each entry once")
    if isinstance(e.instance, (str, dict, list)):  # jsonschema's own messages show the value
        return loaded.problem(ptr, f"{_describe(e.instance)} does not meet the schema's {v!r}", about)
    return loaded.problem(ptr, e.message, about)


def _guess(word: str, options: list[str]) -> str | None:
    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not found:  # case-only differences (e.g. VLLM) are the commonest typo
        found = [o for o in options if o.lower() == word.lower()]
    return found[0] if found else None


def _article(t: str) -> str:
    return {
        "object": "a mapping",
        "array": "a list",
        "integer": "an integer",
        "boolean": "true or false",
        "string": "a string",
        "number": "a number",
    }.get(t, t)


def _describe(v: Any) -> str:
    if v is None:
        return "nothing (null)"
    if isinstance(v, bool):
        return f"the boolean {str(v).lower()}"
    if isinstance(v, dict):
        return f"a mapping of {_count(len(v), 'key')}" if v else "an empty mapping"
    if isinstance(v, list):
        return f"a list of {_count(len(v), 'entry')}" if v else "an empty list"
    if isinstance(v, str):
        return f"a string of {_count(len(v), 'character')}" if v else "an empty string"
    if isinstance(v, float) and not math.isfinite(v):
        return f"the non-finite number {_yaml_float(v)}"
    if isinstance(v, float):
        return f"the decimal number {v!r}"
    return f"the number {v}"


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {noun if n == 1 else plural}"


def _yaml_float(v: float) -> str:
    return ".nan" if math.isnan(v) else (".inf" if v > 0 else "-.inf")


def _type_hint(want: str, got: Any) -> str:
    if want == "string" and isinstance(got, (int, float, bool)):
        return "quote the value to make it a string"
    if want in ("integer", "number") and isinstance(got, str) and got.strip().lstrip("-").isdigit():
        return "remove the quotes to make it a number"
    if want == "boolean" and isinstance(got, str):
        return "write true or false without quotes"
    if got is None:
        return "the key has no value; give one or remove the key"
    if want == "integer" and isinstance(got, float) and math.isfinite(got):
        whole = f"{got:.0f}" if got.is_integer() and abs(got) < 1e16 else "a whole number"
        return f"YAML reads a number with '.' or an exponent as a decimal; write {whole}"
    if isinstance(got, float) and not math.isfinite(got):
        return "JSON, and so helm, has no .inf or .nan: write a finite number"
    return ""


def _pattern_meaning(pattern: str, schema: dict) -> tuple[str, str]:
    if pattern == JSON_POINTER:
        return "a JSON pointer", "segments after '/'; write '~' as ~0 and a '/' inside a key as ~1 (RFC 6901)"
    if pattern.startswith(("^/", "^(/")):
        return (
            "an absolute path of plain segments (no '.', '..', '//', spaces or trailing '/')",
            "write a path like /opt/dynamo/model/config.yaml",
        )
    if pattern == DNS1123:
        return "a valid DNS-1123 name", (
            "use lowercase letters, digits and '-', starting and ending with a letter or digit"
        )
    if pattern == DNS1035:
        return "a valid DNS-1035 label", (
            "use lowercase letters, digits and '-', starting with a letter and "
            "ending with a letter or digit (Kubernetes Service names)"
        )
    if pattern == DNS1123_SUBDOMAIN:
        return "a valid Kubernetes object name", (
            "use lowercase letters, digits, '-' and '.', each part starting and ending with a letter or digit"
        )
    if pattern.startswith(("^[0-9]+\\.[0-9]+\\.[0-9]+", "^(0|[1-9]")):
        return (
            "a version MAJOR.MINOR.PATCH",
            f"for example {dynamo.DEFAULT_VERSION} (at most four digits each, as the model chart takes)",
        )
    if pattern == "^\\S+$":
        return "an image reference", "no spaces: registry/repository:tag"
    if pattern.endswith("@sha256:[a-f0-9]{64})$"):
        return (
            "an image reference with a tag or digest",
            "for example nvcr.io/nvidia/ai-dynamo/modelexpress-server:0.2.0",
        )
    if pattern.startswith("^[-._a-zA-Z][-._a-zA-Z0-9]*"):
        return "an environment variable name", "letters, digits, '_', '-' and '.', not starting with a digit"
    if pattern.startswith("^([0-9]+(\\.[0-9]*)?|"):
        return "a non-negative Kubernetes quantity", "for example 4, 500m or 32Gi; no sign"
    if "Ki|Mi|Gi" in pattern:
        return "a Kubernetes quantity", "for example 16Gi or 512Mi"
    if pattern == LABEL_VALUE:
        return "a Kubernetes label value", (
            "at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
        )
    if pattern == "^[-._a-zA-Z0-9]+$":
        what = "a Secret key" if "Secret" in schema.get("description", "") else "a ConfigMap key"
        return what, "use letters, digits, '-', '_' and '.'; no '/'"
    if pattern.startswith("^[A-Za-z][A-Za-z0-9]*(\\."):
        return "a pod field path", "for example metadata.name, status.podIP or metadata.labels['app']"
    if pattern.startswith("^(limits|requests)\\."):
        return "a container resource", "limits.<name> or requests.<name>, for example limits.memory"
    if pattern == "^[A-Z][A-Za-z0-9]*$":
        return "a Kubernetes kind", "letters and digits, starting with a capital: for example PersistentVolumeClaim"
    if pattern.startswith("^([a-z0-9.-]+/)?v[0-9]"):
        return "an API version", "for example v1"
    return f"of the expected form ({pattern})", schema.get("description", "")


# Cross-field rules: each takes the values (defaults filled) and the loader, yields Problems.


def _rule_prefill_needs_disaggregation(values: dict, loaded: Loaded):
    model = values["model"]
    if "prefill" in loaded.data["model"] and not model.get("disaggregation"):
        yield loaded.problem(
            "/model/prefill",
            "prefill settings need model.disaggregation: true",
            "set model.disaggregation: true, or remove model.prefill "
            "(aggregated workers are configured under model.decode)",
            key=True,
        )


def _rule_one_config_source(values: dict, loaded: Loaded):
    for role in ("decode", "prefill"):
        cfg = values["model"].get(role, {}).get("extraConfig", {})
        if "configMapRef" in cfg and "inline" in cfg:
            yield loaded.problem(
                f"/model/{role}/extraConfig/inline",
                "extraConfig takes either configMapRef or inline, not both",
                "keep configMapRef to use an existing ConfigMap, or inline to have one made",
                key=True,
            )


def _rule_name_lengths(values: dict, loaded: Loaded):
    from composer.model import derived_names

    name = values["dynamoNamespace"]
    too_long = [(n, limit) for n, limit in derived_names(name) if len(n) > limit]
    if too_long:
        n, limit = max(too_long, key=lambda t: len(t[0]) - t[1])
        over = len(n) - limit
        yield loaded.problem(
            "/dynamoNamespace",
            f"{len(name)} characters is too long: the name "
            f"it makes with {n[len(name) :]!r} has {len(n)}, the limit is {limit}",
            f"shorten dynamoNamespace by at least {over} character{'s' if over > 1 else ''}",
        )


def _rule_local_runs_mocker(values: dict, loaded: Loaded):
    if values["target"] == "local" and values["model"]["backend"]["type"] != "mocker":
        yield loaded.problem(
            "/model/backend/type",
            f"target: local runs on this machine's CPU; backend {values['model']['backend']['type']!r} needs GPUs",
            "set model.backend.type: mocker in the local environment",
        )


def _rule_patches_have_a_release(values: dict, loaded: Loaded):
    from composer.model import Deployment

    present = Deployment(env="", values=values).components()
    for component, kinds in values.get("patches", {}).items():
        if component not in present:
            yield loaded.problem(
                f"/patches/{component}",
                f"there is no {component} release to patch",
                f"this deployment has: {', '.join(present)}; turn {component} on, or remove the patches",
                key=True,
            )
        elif len(kinds) > 1:
            # chartify in helmfile 0.166 writes two `patches:` keys into one kustomization and
            # the JSON patches silently vanish; refuse rather than lose them.
            yield loaded.problem(
                f"/patches/{component}/jsonPatches",
                "a component takes strategicMergePatches or jsonPatches, not both",
                "helmfile 0.166 drops the jsonPatches of a release that has both; express all of them as one kind",
                key=True,
            )


def _rule_backend_needs(values: dict, loaded: Loaded):
    model = values["model"]
    if model["backend"]["type"] == "sglang":
        for role in ("decode", "prefill"):
            if model.get(role, {}).get("gpus") == 0:
                yield loaded.problem(
                    f"/model/{role}/gpus",
                    "sglang needs at least one GPU per worker",
                    "the chart passes gpus as sglang's --tp; use the mocker for CPU-only runs",
                )


def _rule_supported_version(values: dict, loaded: Loaded):
    version = values["platform"]["version"]
    if dynamo.line(version) not in dynamo.RELEASES:
        yield loaded.problem(
            "/platform/version",
            f"Dynamo {version} is not supported: compose renders and runs {', '.join(dynamo.SUPPORTED)}",
            f"pin one of those (the newest: {dynamo.DEFAULT_VERSION}), or leave platform.version out for it",
        )


def _rule_router_mode_of_the_version(values: dict, loaded: Loaded):
    version, mode = values["platform"]["version"], values["model"]["routingPolicy"]
    if mode == "none" or dynamo.line(version) not in dynamo.RELEASES:  # an unsupported version: its own rule
        return
    if mode not in dynamo.release(version).router_modes:
        have = [r.line + ".x" for r in dynamo.RELEASES.values() if mode in r.router_modes]
        yield loaded.problem(
            "/model/routingPolicy",
            f"Dynamo {version}'s frontend has no {mode} router mode",
            f"pin a version that has it ({', '.join(have)}), or choose another routingPolicy",
        )


SECRET_HINT = (
    "keep it in a Kubernetes Secret and reference that: model.hfTokenSecret for the Hugging Face "
    "token; env valueFrom: {secretKeyRef: {name: ..., key: ...}} for another variable, "
    "and $(VARIABLE) to pass that variable in extraArgs"
)


def _credential(loaded: Loaded, ptr: str, why: str, *, key: bool = False) -> Problem:
    return loaded.problem(
        ptr,
        f"{'this key' if key else 'this'} {why}; it would be written in plain text "
        "into helmfile.d/, rendered manifests and the cluster",
        SECRET_HINT,
        key=key,
    )


def _rule_no_literal_credentials(values: dict, loaded: Loaded):
    """Every string and key, wherever it sits (env, extraArgs, inline engine config, patches):
    one with a credential's format, or the value of a credential-named env var, key or flag."""
    for found in secrets.find(values):
        if not _secret_data_of_an_extra_object(values, found.path):  # _rule_extra_objects says it, once
            yield _credential(loaded, pointer(found.path), found.why, key=found.key)


# --- model.extraObjects (composer/extraobjects.py) ------------------------------------------------

# The labels the model chart puts on every object (its model.labels helper): an extra object may add
# labels, not change these (the chart's own would win silently).
CHART_LABELS = (
    "helm.sh/chart",
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/part-of",
)
QUALIFIED_NAME = re.compile(
    rf"^({DNS1123_SUBDOMAIN[1:-1]}/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)  # a label or annotation key: [prefix/]name
SECRET_REFERENCE_HINT = (
    "create the Secret outside compose (kubectl create secret, External Secrets, Sealed Secrets) and "
    "refer to it by name: model.hfTokenSecret, env valueFrom.secretKeyRef, or an extra ExternalSecret"
)


def _secret_data_of_an_extra_object(values: dict, path: tuple) -> bool:
    if len(path) < 4 or path[:2] != ("model", "extraObjects") or path[3] not in ("data", "stringData"):
        return False
    obj = values["model"]["extraObjects"][path[2]]
    return isinstance(obj, dict) and obj.get("kind") == "Secret"


def _rule_extra_objects(values: dict, loaded: Loaded):
    """What the model chart's extra-objects template takes, and what the cluster would refuse or
    helm would fail on after validation: a literal Secret, another DynamoGraphDeployment, a namespace,
    a cluster-scoped kind, a name or label that is invalid once rendered, a broken template, the same
    (kind, name) twice or as one of the objects our charts render."""
    from composer import extraobjects as xo
    from composer.model import Deployment
    from composer.plan import plan, rendered_objects

    objects = values["model"].get("extraObjects") or []
    if not objects:
        return
    try:
        releases = plan(Deployment(env="", values=values), {}).releases
    except UsageError:  # refused where the schema refused it already
        return
    model = next(r for r in releases if r.component == "model")
    chart_values, release = model.values, {"Name": model.name, "Namespace": model.namespace}
    theirs = {obj: r.component for r in releases if not r.remote for obj in rendered_objects(r, extra=False)}
    seen: dict[tuple[str, str], int] = {}
    for i, obj in enumerate(objects):
        at = f"/model/extraObjects/{i}"
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        kind = obj.get("kind") if isinstance(obj, dict) else None
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not isinstance(kind, str):
            continue  # the schema says what is missing; judge the others still
        name = xo.name_of(obj, chart_values, release)
        if kind == dynamo.DGD_KIND:
            yield loaded.problem(
                f"{at}/kind",
                "the model release renders the DynamoGraphDeployment; a second one is not an extra object",
                "serve another model from its own values file (its own project or dynamoNamespace)",
            )
        elif kind in xo.CLUSTER_SCOPED:
            yield loaded.problem(
                f"{at}/kind",
                f"a {kind} is cluster-scoped: extraObjects go into the deployment's namespace",
                "create cluster-wide objects outside compose (they outlive one deployment)",
            )
        for key in ("data", "stringData"):
            if kind == "Secret" and key in obj:
                yield loaded.problem(
                    f"{at}/{key}",
                    f"a Secret's {key} would be written in plain text into helmfile.d/, rendered manifests "
                    "and the cluster",
                    SECRET_REFERENCE_HINT,
                    key=True,
                )
        if "namespace" in meta:
            yield loaded.problem(
                f"{at}/metadata/namespace",
                "an extra object goes into the deployment's namespace; metadata.namespace is not taken",
                "remove it (the namespace is cluster.namespace, set per environment)",
                key=True,
            )
        problem = _extra_name_problem(kind, meta["name"], chart_values, release)
        if problem:
            yield loaded.problem(f"{at}/metadata/name", *problem)
        elif (kind, name) in seen:
            yield loaded.problem(
                f"{at}/metadata/name",
                f"a second {kind} named {name!r}: /model/extraObjects/{seen[(kind, name)]} is one already",
                "give each extra object its own name (or merge the two)",
            )
        elif (kind, name) in theirs:
            yield loaded.problem(
                f"{at}/metadata/name",
                f"the {theirs[(kind, name)]} release renders a {kind} named {name!r} already",
                f"choose another name; to change the chart's object, use patches.{theirs[(kind, name)]} instead",
            )
        seen.setdefault((kind, name), i)
        for key, value in (meta.get("labels") or {}).items():
            yield from _extra_label_problems(
                loaded, f"{at}/metadata/labels/{escape(key)}", key, value, chart_values, release
            )
        for key in meta.get("annotations") or {}:
            if not _qualified_name(key):
                yield loaded.problem(
                    f"{at}/metadata/annotations/{escape(key)}",
                    "not a valid annotation key",
                    "[prefix/]name: a name of at most 63 letters, digits, '-', '_' and '.', the prefix a DNS subdomain",
                    key=True,
                )
        for path, text in xo.strings(obj):
            if path in (("metadata", "name"),) or path[:2] == ("metadata", "labels") or not xo.templated(text):
                continue
            try:
                xo.render(text, chart_values, release)
            except xo.Unresolved as e:
                yield loaded.problem(f"{at}{pointer(path)}", *e.args)


def _qualified_name(key: Any) -> bool:
    return isinstance(key, str) and bool(QUALIFIED_NAME.fullmatch(key)) and len(key.rpartition("/")[2]) <= 63


def _extra_name_problem(kind: str, name: str, chart_values: Mapping[str, Any], release: dict) -> tuple[str, str] | None:
    from composer import extraobjects as xo

    if xo.templated(name):
        try:
            name = xo.render(name, chart_values, release, strings_only=True)
        except xo.Unresolved as e:
            return e.args
    shown = f"{name!r}" if len(name) <= 80 else f"a name of {len(name)} characters"
    if kind == "Service" and not (re.fullmatch(DNS1035, name) and len(name) <= 63):
        return (
            f"the Service name {shown} is not a valid DNS-1035 label",
            "at most 63 lowercase letters, digits and '-', starting with a letter",
        )
    if not re.fullmatch(DNS1123_SUBDOMAIN, name) or len(name) > 253:  # fullmatch: "$" takes a last "\n"
        return (
            f"the name {shown} is not a valid Kubernetes object name",
            "at most 253 lowercase letters, digits, '-' and '.', each part starting and ending with a letter or digit",
        )
    return None


def _extra_label_problems(
    loaded: Loaded, ptr: str, key: str, value: Any, chart_values: Mapping[str, Any], release: dict
):
    from composer import extraobjects as xo

    if key in CHART_LABELS:
        yield loaded.problem(
            ptr,
            f"{key} is one of the model chart's own labels, which every object of the release carries",
            "leave it out (the chart sets it); add labels of your own under another key",
            key=True,
        )
        return
    if not _qualified_name(key):
        yield loaded.problem(
            ptr,
            "not a valid label key",
            "[prefix/]name: a name of at most 63 letters, digits, '-', '_' and '.', the prefix a DNS subdomain",
            key=True,
        )
    if not isinstance(value, str):
        return  # the schema says so
    if xo.templated(value):
        try:
            value = xo.render(value, chart_values, release, strings_only=True)
        except xo.Unresolved as e:
            yield loaded.problem(ptr, *e.args)
            return
    if value and not (re.fullmatch(LABEL_VALUE, value) and len(value) <= 63):
        yield loaded.problem(
            ptr,
            "not a valid label value",
            "at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
        )


def _rule_env_value_or_value_from(values: dict, loaded: Loaded):
    for role in ("frontend", "decode", "prefill"):
        for i, var in enumerate(values["model"].get(role, {}).get("env", [])):
            if role == "frontend" and var["name"] == "DYN_ROUTER_MODE":
                yield loaded.problem(
                    f"/model/frontend/env/{i}/name",
                    "the frontend's DYN_ROUTER_MODE is model.routingPolicy",
                    "set model.routingPolicy instead (none leaves Dynamo's default, round-robin)",
                )
            if "value" in var and "valueFrom" in var:
                yield loaded.problem(
                    f"/model/{role}/env/{i}/valueFrom",
                    f"{var['name']} has both value and valueFrom; Kubernetes takes one",
                    "keep value for a literal, or valueFrom to read a Secret or ConfigMap",
                    key=True,
                )


HELM_EXACT_INT = 2**53  # helm carries values as 64-bit floats: larger integers come out rounded


def _rule_numbers_helm_can_carry(values: dict, loaded: Loaded):
    """Numbers anywhere, also where the schema leaves the form free (inline engine config, patches)."""
    todo: list[tuple[str, Any]] = [("", loaded.data)]
    while todo:
        ptr, node = todo.pop()
        if isinstance(node, dict):
            todo += [(f"{ptr}/{escape(k)}", v) for k, v in node.items()]
        elif isinstance(node, list):
            todo += [(f"{ptr}/{i}", v) for i, v in enumerate(node)]
        elif isinstance(node, float) and not math.isfinite(node):
            yield loaded.problem(
                ptr,
                f"{_yaml_float(node)} is not a number JSON, and so helm, can carry",
                "write a finite number, or quote it to pass the text",
            )
        elif type(node) is int and abs(node) > HELM_EXACT_INT:
            yield loaded.problem(
                ptr,
                f"{node} is beyond 2^53: helm carries numbers as 64-bit floats and would round it",
                "quote it to pass the digits as text",
            )


def _rule_patch_targets_exist(values: dict, loaded: Loaded):
    """A patch selects its object by kind and name; one that selects nothing would be dropped silently."""
    from composer.model import Deployment
    from composer.plan import plan, rendered_objects

    if not any(values.get("patches", {}).values()):
        return
    try:
        releases = {r.component: r for r in plan(Deployment(env="", values=values), {}).releases}
    except UsageError:  # bench refuses what the schema refused already, and says so there
        return
    for component, kinds in values["patches"].items():
        release = releases.get(component)
        if release is None or release.remote:  # no release: its own rule; a remote chart: not ours to know
            continue
        objects = rendered_objects(release)
        selectors = [
            (f"strategicMergePatches/{i}/metadata/name", p["kind"], p["metadata"]["name"])
            for i, p in enumerate(kinds.get("strategicMergePatches", []))
        ]
        selectors += [
            (f"jsonPatches/{i}/target/name", p["target"]["kind"], p["target"]["name"])
            for i, p in enumerate(kinds.get("jsonPatches", []))
        ]
        for at, kind, name in selectors:
            if (kind, name) not in objects:
                yield loaded.problem(
                    f"/patches/{component}/{at}",
                    f"the {component} release renders no {kind} named {name!r}; the patch would change nothing",
                    "it renders " + ", ".join(f"{k} {n}" for k, n in objects),
                )


# API groups whose kinds kustomize knows the list merge keys of (built into Kubernetes).
_BUILTIN_GROUPS = {"", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "rbac.authorization.k8s.io"}


def _first_list(node, ptr: str) -> str | None:
    if isinstance(node, list):
        return ptr
    if isinstance(node, dict):
        for key, value in node.items():
            found = _first_list(value, f"{ptr}/{escape(key)}")
            if found:
                return found
    return None


def _rule_strategic_lists_of_custom_resources(values: dict, loaded: Loaded):
    """kustomize's strategic merge knows no merge key for a custom resource's lists: a list in the patch
    replaces the rendered list whole (a DGD's spec.components: every component the patch omits is gone,
    and the gutted graph still passes the CRD)."""
    for component, kinds in values.get("patches", {}).items():
        for i, p in enumerate(kinds.get("strategicMergePatches", [])):
            group = p["apiVersion"].rpartition("/")[0]
            if group in _BUILTIN_GROUPS:
                continue
            at = _first_list({k: v for k, v in p.items() if k not in ("apiVersion", "kind")}, "")
            if at:
                yield loaded.problem(
                    f"/patches/{component}/strategicMergePatches/{i}{at}",
                    f"a strategic merge patch replaces this list of the {p['kind']} whole: kustomize knows no "
                    "merge key for a custom resource's lists, so every element the patch leaves out is dropped",
                    "change one element with a jsonPatches entry (op: add or replace, path "
                    f"{at}/<index>/...), or set it in the values file",
                )


RULES = (
    _rule_prefill_needs_disaggregation,
    _rule_one_config_source,
    _rule_name_lengths,
    _rule_local_runs_mocker,
    _rule_patches_have_a_release,
    _rule_backend_needs,
    _rule_supported_version,
    _rule_router_mode_of_the_version,
    _rule_no_literal_credentials,
    _rule_env_value_or_value_from,
    _rule_numbers_helm_can_carry,
    _rule_patch_targets_exist,
    _rule_strategic_lists_of_custom_resources,
    _rule_extra_objects,
)
