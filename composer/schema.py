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
import posixpath
import re
from collections.abc import Generator, Iterable, Iterator, Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any

from composer import dynamo, quickcheck, secrets
from composer.errors import InvalidValues, Problem, UsageError
from composer.load import Loaded, escape, segments

if TYPE_CHECKING:
    import jsonschema


DNS1123 = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1035 = "^[a-z]([-a-z0-9]*[a-z0-9])?$"  # Service names: a DNS-1123 label that starts with a letter
LABEL_VALUE = "^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"  # non-empty: an empty release label selects nothing
JSON_POINTER = "^(/([^~/]|~[01])*)+$"  # RFC 6901: '~' only as ~0 or ~1
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"  # Secrets, ConfigMaps, PVCs
LORA_URI = r"^((hf|s3)://[^/\s]+(/\S*)?|file:///\S+)$"  # the schemes the DynamoModel loader documents


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
        target = (values_schema() if root is None else root)["$defs"][segments(f"/{name}")[0]]
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
            yield jsonschema.exceptions.best_match(fitting) if fitting or e.validator not in ("anyOf", "oneOf") else e
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


_NOT_WORKERS = {"frontend": "frontend", "planner": "Planner", "epp": "endpoint picker"}


def _unknown_key(loaded: Loaded, ptr: str, key: str, known: list[str]) -> Problem:
    if secrets.token_kind(key):
        return _credential(loaded, ptr, f"looks like {secrets.token_kind(key)}", key=True)
    role = re.fullmatch(r"/model/(frontend|planner|epp)/modelRef", ptr)
    if role:  # the workers' key: said so, not guessed at
        return loaded.problem(
            ptr,
            f"modelRef names the model a worker serves; the {_NOT_WORKERS[role[1]]} serves none",
            "set it on model.decode (and model.prefill when disaggregated): a DynamoModel loads its "
            "LoRA adapters into the pods whose modelRef names its base model",
            key=True,
        )
    if re.fullmatch(r"/model/loras/\d+/(baseModelName|modelType)", ptr):  # the chart writes them
        return loaded.problem(
            ptr,
            f"{key} is not set per adapter: the chart writes baseModelName (the workers' modelRef name) "
            "and modelType lora",
            "remove it; set the base model as model.decode.modelRef.name",
            key=True,
        )
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
    if "propertyNames" in e.absolute_schema_path and isinstance(e.instance, str):
        # jsonschema reports a bad key at its mapping: point at the key itself
        ptr, at_key = f"{ptr}/{escape(e.instance)}", True
    else:
        at_key = False
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
    if v in ("type", "anyOf", "oneOf"):
        types = [b.get("type", "another value") for b in e.validator_value] if v != "type" else e.validator_value
        want = types if isinstance(types, str) else " or ".join(_article(t) for t in types)
        return loaded.problem(
            ptr, f"expected {_article(want)}, got {_describe(e.instance)}", _type_hint(want, e.instance) or about
        )
    if v == "pattern":
        what, hint = _pattern_meaning(e.validator_value, where)
        return loaded.problem(ptr, f"expected {what}, got {_describe(e.instance)}", hint, key=at_key)
    if v in ("minimum", "maximum"):
        bound = "at least" if v == "minimum" else "at most"
        return loaded.problem(ptr, f"expected {bound} {e.validator_value}, got {_describe(e.instance)}", about)
    if v == "maxLength":
        return loaded.problem(ptr, f"{len(e.instance)} characters; the limit is {e.validator_value}", about, key=at_key)
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
        return loaded.problem(ptr, f"{_describe(e.instance)} does not meet the schema's {v!r}", about, key=at_key)
    return loaded.problem(ptr, e.message, about, key=at_key)


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
    if pattern == LORA_URI:
        return "a LoRA adapter source the DynamoModel loader takes", (
            "hf://org/repo[@revision] (Hugging Face), s3://bucket/path (S3 or MinIO) or file:///path "
            "(in the worker pods); the loader's credentials come from the workers' env, from a Secret"
        )
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


def _rule_worker_type(values: dict, loaded: Loaded):
    """model.decode.type types the aggregated worker; where the graph needs a decode-typed worker
    (the chart renders decode there), worker is refused rather than silently overridden."""
    model = values["model"]
    if "type" in (model.get("prefill") or {}):
        yield loaded.problem(
            "/model/prefill/type",
            "model.prefill takes no type: a prefill worker is of type prefill",
            "remove it (model.decode.type chooses the aggregated worker's type)",
            key=True,
        )
    if (model.get("decode") or {}).get("type") != "worker":
        return
    if model.get("disaggregation"):
        yield loaded.problem(
            "/model/decode/type",
            "a disaggregated graph's decode workers are of type decode, not worker",
            "set type: decode, or leave it out (decode is the default here)",
        )
    elif (model.get("epp") or {}).get("enabled"):
        yield loaded.problem(
            "/model/decode/type",
            "the endpoint picker's decode profile filters workers on their type (label "
            "nvidia.com/dynamo-component-type: decode): a worker of type worker would be filtered out",
            "set type: decode, or leave it out (decode is the default with model.epp)",
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


# The mocker's engine-config keys (its --extra-engine-args, flat or under `engine`) that set its timings.
TWIN_ENGINE_KEYS = {"speedup_ratio", "decode_speedup_ratio", "planner_profile_data"}


def _rule_twin_sets_the_speed(values: dict, loaded: Loaded):
    """The twin runs the mocker at the GPU's speed: a speedup of its own would make its timings
    those of no GPU."""
    if values["target"] != "local" or not values["cluster"].get("gpuSku"):
        return
    for role in ("decode", "prefill"):
        for key in ("extraArgs", "args"):
            args = (values["model"].get(role) or {}).get(key) or []
            for i, a in enumerate(args):
                if str(a).split("=", 1)[0] in ("--speedup-ratio", "--decode-speedup-ratio"):
                    yield loaded.problem(
                        f"/model/{role}/{key}/{i}",
                        f"{a.split('=', 1)[0]} with cluster.gpuSku: the local twin runs the mocker at "
                        f"{values['cluster']['gpuSku']}'s speed (speedup 1)",
                        "remove the speedup flag, or remove cluster.gpuSku for the mocker's own timings",
                    )
        inline = ((values["model"].get(role) or {}).get("extraConfig") or {}).get("inline")
        for ptr, config in (
            ("", inline),
            ("/engine", (inline or {}).get("engine") if isinstance(inline, dict) else None),
        ):
            for key in sorted(TWIN_ENGINE_KEYS & set(config if isinstance(config, dict) else ())):
                yield loaded.problem(
                    f"/model/{role}/extraConfig/inline{ptr}/{key}",
                    f"{key} with cluster.gpuSku: the local twin sets the mocker's timings itself",
                    "remove it from the local environment's engine config, or remove cluster.gpuSku",
                    key=True,
                )


def _rule_no_null_in_configs(values: dict, loaded: Loaded):
    """A config given as a mapping reaches its file through Helm's values, where a key without a value
    is absent (compose reads values as Helm does): `cuda_graph_config: null` (TRT-LLM: no CUDA graphs)
    would silently become the engine's default."""
    places = [f"/model/{r}/extraConfig/inline/" for r in ROLES] + ["/model/planner/config/", "/model/epp/config/"]
    for ptr in sorted(p for p in loaded.empty if p.startswith(tuple(places))):
        yield loaded.problem(
            ptr,
            "a key without a value in a config written as a mapping: Helm drops it on its way to the file",
            "give the file as it is in model.configMaps and mount it with extraConfig.configMapRef "
            "(its text keeps `key: null`), or remove the key"
            if "/extraConfig/" in ptr
            else "give it a value, or remove it (the component's own default)",
            key=True,
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
        elif "strategicMergePatches" in kinds and len(kinds) > 1:
            # chartify in helmfile 0.166 writes two `patches:` keys into one kustomization and
            # the JSON patches silently vanish; refuse rather than lose them.
            other = "jsonPatches" if "jsonPatches" in kinds else "components"
            also = "" if other == "jsonPatches" else " (components compile into jsonPatches)"
            yield loaded.problem(
                f"/patches/{component}/{other}",
                f"a component takes strategicMergePatches or jsonPatches, not both{also}",
                "helmfile 0.166 drops the jsonPatches of a release that has both; express all of them as one kind"
                + ("" if other == "jsonPatches" else ": the strategic merge patches as jsonPatches"),
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
# Of those, the two a DGD's own labels (model.deployment.labels) may set instead: nothing selects the DGD
# by them (compose and the operator find its pods by the operator's nvidia.com/* labels, the DGD by its
# name). The others stay the chart's: managed-by Helm (Helm 3 adopts and upgrades only an object so
# labelled), instance the release, version and helm.sh/chart the chart's.
DGD_OWN_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/part-of")
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
        elif kind == "ConfigMap" and name in (values["model"].get("configMaps") or {}):
            yield loaded.problem(
                f"{at}/metadata/name",
                f"model.configMaps renders a ConfigMap named {name!r} already",
                "give each ConfigMap its own name (a plain ConfigMap belongs in model.configMaps alone)",
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
    model = values["model"]
    lists = [("/model", model.get("env", []))]
    lists += [(f"/model/{r}", (model.get(r) or {}).get("env", [])) for r in (*ROLES, "planner", "epp")]
    for at, env in lists:
        for i, var in enumerate(env):
            if at in ("/model", "/model/frontend") and var["name"] == "DYN_ROUTER_MODE":
                yield loaded.problem(
                    f"{at}/env/{i}/name",
                    "the frontend's DYN_ROUTER_MODE is model.routingPolicy",
                    "set model.routingPolicy instead (none leaves Dynamo's default, round-robin)",
                )
            if "value" in var and "valueFrom" in var:
                yield loaded.problem(
                    f"{at}/env/{i}/valueFrom",
                    f"{var['name']} has both value and valueFrom; Kubernetes takes one",
                    "keep value for a literal, or valueFrom to read a Secret or ConfigMap",
                    key=True,
                )


HELM_ANNOTATIONS = "meta.helm.sh/"  # helm's record of the release that owns an object


def _rule_deployment_metadata(values: dict, loaded: Loaded):
    """The DGD's own labels and annotations (model.deployment): beside the chart's and helm's, never
    in their place (the chart's labels would win silently; helm's annotations say which release owns it),
    but for the two of the chart's labels the DGD may have its own (DGD_OWN_LABELS)."""
    deployment = values["model"]["deployment"]
    for key in ("labels", "annotations"):
        if key in deployment and not deployment["create"]:
            yield loaded.problem(
                f"/model/deployment/{key}",
                "model.deployment.create is false: compose renders no DynamoGraphDeployment to put them on",
                "set them on the existing DGD, or let compose create it",
                key=True,
            )
    for key, value in deployment.get("labels", {}).items():
        ptr = f"/model/deployment/labels/{escape(key)}"
        if key in CHART_LABELS and key not in DGD_OWN_LABELS:
            why = (
                "Helm 3 adopts and upgrades only an object labelled managed-by Helm"
                if key == "app.kubernetes.io/managed-by"
                else "the chart sets it"
            )
            yield loaded.problem(
                ptr,
                f"{key} is one of the model chart's own labels on the DynamoGraphDeployment",
                f"leave it out ({why}); of the chart's labels only {' and '.join(DGD_OWN_LABELS)} may be "
                "given here; add labels of your own under another key",
                key=True,
            )
        elif value and not (re.fullmatch(LABEL_VALUE, value) and len(value) <= 63):
            yield loaded.problem(
                ptr,
                "not a valid label value",
                "at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
            )
    for key in deployment.get("annotations", {}):
        if key.startswith(HELM_ANNOTATIONS):
            yield loaded.problem(
                f"/model/deployment/annotations/{escape(key)}",
                f"{key} is Helm's: it records the release that owns the DynamoGraphDeployment",
                "leave it out (helm sets it)",
                key=True,
            )


# Component pod settings: what Kubernetes refuses only when the operator creates the pods, long
# after apply, is refused here. Names the chart gives: its volumes, its labels.
ROLES = ("frontend", "decode", "prefill")
POD_SELECTOR_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component")
PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
# A port's name (Kubernetes' IsValidPortName): 1-15 of a-z, 0-9 and '-', a letter among them, no '-' at
# either end or twice in a row.
IANA_SVC_NAME = r"(?=.{1,15}$)(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*"


def _components(values: dict) -> list[tuple[str, dict]]:
    """The DGD's components (those the chart renders) and their values."""
    from composer.model import Deployment

    model = values["model"]
    return [(role, model.get(role) or {}) for role in Deployment(env="", values=values).graph_components]


def _chart_volumes(values: dict, role: str) -> dict[str, str]:
    """The volumes the model chart gives a component: name -> mount path."""
    from composer.plan import makes_config

    model = values["model"]
    if role in ("frontend", "epp"):
        return {}
    if role == "planner":
        planner = model["planner"]
        out = {"planner-config": dynamo.PLANNER_CONFIG_MOUNT}
        if "profileData" in planner:
            out["profile-data"] = planner.get("config", {}).get("profile_results_dir", dynamo.PLANNER_PROFILE_MOUNT)
        return out
    out = {}
    cfg = model.get(role, {}).get("extraConfig", {})
    if cfg.get("configMapRef") or makes_config(model, role):
        role_schema = resolve(values_schema()["properties"]["model"]["properties"][role])
        default = resolve(role_schema["properties"]["extraConfig"])["properties"]["path"]["default"]
        path = cfg.get("path", default)
        out["extra-config"] = path if cfg.get("mountFile") else posixpath.dirname(path)
    if model.get("modelCache"):
        out["model-cache"] = model["modelCache"]["mountPath"]
    return out


CHART_VOLUME_SOURCES = {
    "extra-config": "model.<role>.extraConfig",
    "model-cache": "model.modelCache",
    "planner-config": "model.planner.config",
    "profile-data": "model.planner.profileData",
}


def _rule_volumes_and_mounts(values: dict, loaded: Loaded):
    for role, c in _components(values):
        at = f"/model/{role}"
        chart = _chart_volumes(values, role)
        names: set[str] = set()
        for i, vol in enumerate(c.get("volumes", [])):
            name = vol["name"]
            if name in chart:
                yield loaded.problem(
                    f"{at}/volumes/{i}/name",
                    f"volume name {name!r} is the chart's in this component",
                    f"choose another name; the chart's {name} volume is set with " + CHART_VOLUME_SOURCES[name],
                )
            elif not re.match(DNS1123, name) or len(name) > 63:
                yield loaded.problem(
                    f"{at}/volumes/{i}/name",
                    f"volume name {name!r} is not a DNS label, which Kubernetes requires",
                    "lower-case letters, digits and '-', at most 63 characters, e.g. scratch",
                )
            elif name in names:
                yield loaded.problem(
                    f"{at}/volumes/{i}/name", f"volume {name!r} is listed twice", "give each volume its own name"
                )
            sources = [k for k in vol if k != "name"]
            if len(sources) != 1:
                yield loaded.problem(
                    f"{at}/volumes/{i}",
                    f"volume {name!r} has {len(sources)} sources ({', '.join(sources) or 'none'}); Kubernetes takes exactly one",
                    "give one of emptyDir, hostPath, persistentVolumeClaim, secret, configMap, ...",
                )
            names.add(name)
        paths = {path: f"the chart's {name} volume" for name, path in chart.items()}
        for i, mount in enumerate(c.get("volumeMounts", [])):
            if mount["name"] not in names | set(chart):
                known = sorted(names | set(chart))
                yield loaded.problem(
                    f"{at}/volumeMounts/{i}/name",
                    f"no volume {mount['name']!r} in this component",
                    f"add it to model.{role}.volumes" + (f" (it has: {', '.join(known)})" if known else ""),
                )
            path = mount["mountPath"].rstrip("/") or "/"
            if path in paths:
                yield loaded.problem(
                    f"{at}/volumeMounts/{i}/mountPath",
                    f"{path} is already the mount path of {paths[path]}",
                    "Kubernetes needs each mount path once per container; choose another",
                )
            paths[path] = f"volumeMounts/{i}"


def _rule_pod_settings(values: dict, loaded: Loaded):
    model = values["model"]
    for role, c in _components(values):
        at = f"/model/{role}"
        for key in c.get("labels", {}):
            if key in POD_SELECTOR_LABELS:
                yield loaded.problem(
                    pointer(["model", role, "labels", key]),
                    f"label {key} is the chart's: the operator and the charts select the pods by it",
                    "use another label key",
                    key=True,
                )
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            handlers = [h for h in PROBE_HANDLERS if h in c.get(probe, {})]
            if probe in c and len(handlers) != 1:
                yield loaded.problem(
                    f"{at}/{probe}",
                    f"a probe needs exactly one handler, this has {len(handlers)}"
                    + (f" ({', '.join(handlers)})" if handlers else ""),
                    f"give one of {', '.join(PROBE_HANDLERS)}",
                )
        # Kubernetes refuses a pod whose container names a port twice or lists one port/protocol twice
        port_names: dict[str, int] = {}
        port_numbers: dict[tuple[int, str], int] = {}
        for i, port in enumerate(c.get("ports", [])):
            number = (port["containerPort"], port.get("protocol", "TCP"))
            if "name" in port and port["name"] in port_names:
                yield loaded.problem(
                    f"{at}/ports/{i}/name",
                    f"port name {port['name']!r} is /model/{role}/ports/{port_names[port['name']]}'s already",
                    "give each port its own name",
                )
            elif number in port_numbers:
                yield loaded.problem(
                    f"{at}/ports/{i}/containerPort",
                    f"port {number[0]}/{number[1]} is /model/{role}/ports/{port_numbers[number]}'s already",
                    "list each port and protocol once",
                )
            if "name" in port and not re.fullmatch(IANA_SVC_NAME, port["name"]):
                yield loaded.problem(
                    f"{at}/ports/{i}/name",
                    f"port name {port['name']!r} is not an IANA service name, which Kubernetes requires",
                    "at most 15 lowercase letters, digits and single '-', with a letter, e.g. metrics",
                )
            if "name" in port:
                port_names.setdefault(port["name"], i)
            port_numbers.setdefault(number, i)
        claims = {claim["name"] for claim in c.get("resourceClaims", [])}
        for i, claim in enumerate(c.get("resources", {}).get("claims", [])):
            if claim["name"] not in claims:
                yield loaded.problem(
                    f"{at}/resources/claims/{i}/name",
                    f"no resource claim {claim['name']!r} in model.{role}.resourceClaims",
                    "name one of the pod's resourceClaims"
                    + (f": {', '.join(sorted(claims))}" if claims else ", or add it there"),
                )
        if "multinode" in c and model["backend"]["type"] == "mocker":
            yield loaded.problem(
                f"{at}/multinode",
                "the mocker runs on one node",
                "remove multinode, or use vllm, sglang or trtllm",
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
                hint = f"change one element with a jsonPatches entry (op: add or replace, path {at}/<index>/...)"
                if p["kind"] == dynamo.DGD_KIND and at == "/spec/components":
                    hint = "change a component with patches.model.components.<name> (merged into the rendered one)"
                yield loaded.problem(
                    f"/patches/{component}/strategicMergePatches/{i}{at}",
                    f"a strategic merge patch replaces this list of the {p['kind']} whole: kustomize knows no "
                    "merge key for a custom resource's lists, so every element the patch leaves out is dropped",
                    f"{hint}, or set it in the values file",
                )


def _rule_component_patches_name_rendered_components(values: dict, loaded: Loaded):
    """patches.model.components names DGD components the model chart renders, and changes neither
    their name nor their type (the operator names their pods and Services after them, compose its
    URLs and selectors)."""
    from composer.model import Deployment

    components = values.get("patches", {}).get("model", {}).get("components", {})
    if not components:
        return
    rendered = list(Deployment(env="", values=values).graph_components)
    for name, patch in components.items():
        at = f"/patches/model/components/{escape(name)}"
        if name not in rendered:
            guess = _guess(name, rendered)
            if name == "prefill":
                hint = "set model.disaggregation: true to have a prefill component, or remove this patch"
            elif name in ("planner", "epp"):
                hint = f"set model.{name}.enabled: true to have a {name} component, or remove this patch"
            else:
                hint = f"did you mean {guess!r}?" if guess else "patch one of those, or remove this patch"
            yield loaded.problem(
                at,
                f"the DynamoGraphDeployment has no component {name!r}; expected one of {', '.join(rendered)}",
                hint,
                key=True,
            )
            continue
        for key in ("name", "type"):
            if key in patch:
                yield loaded.problem(
                    f"{at}/{key}",
                    f"a patch cannot change the {name} component's {key}: expected the chart's, {_WHY[key]}",
                    "remove it; the key under components already says which component"
                    if key == "name"
                    else "remove it; model.disaggregation decides the workers' types",
                    key=True,
                )


_WHY = {
    "name": "which the operator names the component's pods and Services after, and compose its URLs and selectors",
    "type": "from which the operator gives the component its role (frontend, worker, prefill, decode)",
}
_SPEC_COMPONENTS = ("spec", "components")
# Under a component: what holds its pod. Removed or emptied, the component runs nothing.
_POD = (("podTemplate",), ("podTemplate", "spec"), ("podTemplate", "spec", "containers"))


def _index(segment: str) -> int | None:
    """A list index in a JSON pointer: ASCII digits ('²'.isdigit() too, and int() refuses it)."""
    return int(segment) if segment.isascii() and segment.isdigit() else None


def _graph_damage(op: str, segs: list[str], value: Any, names: list[str]) -> tuple[str, str] | None:
    """(what it does, hint) when an op writing (add, replace, copy, the target of move) or removing
    (remove, the source of move) at segs drops, empties, renames or replaces a DGD component;
    names: the components at that point, by index."""
    if op == "test":
        return None
    writes = op in ("add", "replace", "copy", "move")
    if segs == list(_SPEC_COMPONENTS[: len(segs)]):  # spec or spec.components itself
        what = "spec.components" if len(segs) == 2 else "spec, and with it spec.components,"
        return (
            f"{'removes' if op == 'remove' else 'replaces'} the DynamoGraphDeployment's {what} whole; "
            "expected a change inside one component",
            "use patches.model.components.<name>, or paths /spec/components/<index>/<field>",
        )
    if segs[:2] != list(_SPEC_COMPONENTS) or len(segs) < 3:
        return None
    index, rest = _index(segs[2]), segs[3:]
    if index is None:
        return None  # '-' appends; anything else kustomize refuses
    if index >= len(names):
        if writes and op != "replace" and not rest and index == len(names):
            return None  # an add at the end: a new component
        listed = ", ".join(f"{i} {n}" for i, n in enumerate(names))
        return (
            f"the DynamoGraphDeployment has no component {index}; expected an index it has",
            f"it renders components {listed}",
        )
    name = names[index]
    about = f"component {index} ({name})"
    if not rest:
        if writes and op != "replace":
            return None  # add, copy or move here insert a new component before it
        hint = f"change its fields (path /spec/components/{index}/<field>) or use patches.model.components.{name}"
        return (
            f"{'removes' if op == 'remove' else 'replaces'} {about} whole; expected a change inside it",
            hint + (f"; model.{name}.replicas sets how many run" if name != "frontend" else ""),
        )
    if rest in (["name"], ["type"]):
        return (
            f"{'removes' if op == 'remove' else 'changes'} the {rest[0]} of {about}; expected the chart's, "
            + _WHY[rest[0]],
            "leave name and type as rendered",
        )
    if tuple(rest) in _POD and (op == "remove" or (writes and value in ({}, [], None))):
        return (
            f"{'removes' if op == 'remove' else 'empties'} {'.'.join(rest)} of {about}: the component would "
            "run nothing; expected a change inside it",
            f"change fields under it (path /spec/components/{index}/{'/'.join(rest)}/...)",
        )
    return None


_NO_VALUE = object()  # an op without `value` (kustomize refuses an add or replace without one)


def _rule_patches_keep_the_graph(values: dict, loaded: Loaded):
    """No patch of the DGD drops, empties, renames or replaces a component: the graph would lose a
    role and still pass the CRD. Checked on the ops themselves (explicit paths), without a render;
    what a strategic merge patch's list does is _rule_strategic_lists_of_custom_resources'."""
    from composer.model import Deployment

    model = values.get("patches", {}).get("model", {})
    names = list(Deployment(env="", values=values).graph_components)
    for i, p in enumerate(model.get("jsonPatches", [])):
        if p["target"]["kind"] != dynamo.DGD_KIND:
            continue
        for j, o in enumerate(p["patch"]):
            checks = [("path", o["op"], o["path"])]
            if o["op"] == "move" and "from" in o:
                checks.insert(0, ("from", "remove", o["from"]))
            for field, op, ptr in checks:
                found = _graph_damage(op, segments(ptr), o.get("value", _NO_VALUE), names)
                if found:
                    yield loaded.problem(f"/patches/model/jsonPatches/{i}/patch/{j}/{field}", *found)
                    break
            else:
                segs = segments(o["path"])
                if o["op"] in ("add", "copy", "move") and len(segs) == 3 and segs[:2] == list(_SPEC_COMPONENTS):
                    index = len(names) if segs[2] == "-" else _index(segs[2])
                    if index is not None:  # later ops see the new component at its index
                        names.insert(index, "(added)")
    for i, p in enumerate(model.get("strategicMergePatches", [])):
        if p["kind"] != dynamo.DGD_KIND:
            continue
        spec = p.get("spec", {})
        for at, bad in (
            ("/$patch", "$patch" in p),
            ("/spec", not isinstance(spec, dict)),
            ("/spec/$patch", isinstance(spec, dict) and "$patch" in spec),
            (
                "/spec/components",
                isinstance(spec, dict) and "components" in spec and not isinstance(spec["components"], list),
            ),
        ):
            if bad:
                yield loaded.problem(
                    f"/patches/model/strategicMergePatches/{i}{at}",
                    "this would replace or delete the DynamoGraphDeployment's spec.components; "
                    "expected changes to fields of the DynamoGraphDeployment outside spec.components",
                    "change a component with patches.model.components.<name>",
                    key=True,
                )


PLANNER_MODES = {False: ("agg",), True: ("disagg", "prefill", "decode")}


def _rule_planner_fits_the_graph(values: dict, loaded: Loaded):
    """What the Planner is told about the graph must be the graph; and it must reach Prometheus."""
    model = values["model"]
    planner = model.get("planner") or {}
    if not planner.get("enabled"):
        return
    config = planner.get("config", {})
    modes = PLANNER_MODES[bool(model.get("disaggregation"))]
    if "mode" in config and config["mode"] not in modes:
        yield loaded.problem(
            "/model/planner/config/mode",
            f"mode {config['mode']} does not fit this graph, which is "
            + ("disaggregated" if model.get("disaggregation") else "aggregated"),
            f"use {' or '.join(modes)}, or leave mode out for {modes[0]}",
        )
    if "backend" in config and config["backend"] != model["backend"]["type"]:
        yield loaded.problem(
            "/model/planner/config/backend",
            f"the Planner would be told backend {config['backend']}; the workers run {model['backend']['type']}",
            "leave backend out: compose fills it from model.backend.type",
        )
    platform = values["platform"]
    if values["target"] == "kubernetes" and platform["install"] and "prometheusEndpoint" not in planner:
        yield loaded.problem(
            "/model/planner",
            "the Planner reads Prometheus, and no model.planner.prometheusEndpoint says where",
            "add prometheusEndpoint: http://<prometheus service>.<namespace>.svc.cluster.local:9090; "
            "compose gives it to the platform release, which passes it to the Planner",
            key=True,
        )
    if "prometheusEndpoint" in planner and not platform["install"]:
        yield loaded.problem(
            "/model/planner/prometheusEndpoint",
            "compose passes the Prometheus URL to the platform release, and platform.install is false",
            "set dynamo-operator.dynamo.metrics.prometheusEndpoint on your platform release, and remove this",
            key=True,
        )


def _rule_epp(values: dict, loaded: Loaded):
    epp = values["model"].get("epp") or {}
    if not epp.get("enabled"):
        return
    if not values["inferenceGateway"]["enabled"]:
        yield loaded.problem(
            "/model/epp/enabled",
            "an endpoint picker serves an Inference Gateway, and inferenceGateway.enabled is false",
            "turn inferenceGateway on (its route then goes to the picker's InferencePool), or remove model.epp",
        )
    for key, why in (
        ("image", "the picker's image: Dynamo's examples name only a placeholder, so compose has no default"),
        ("kvCacheBlockSize", "the workers' KV cache block size: the picker hashes prompts in blocks of it"),
    ):
        if key not in epp:
            yield loaded.problem(
                "/model/epp", f"model.epp.{key} is required with enabled: true", f"give {why}", key=True
            )
    if values["model"]["routingPolicy"] != "kv":
        yield loaded.problem(
            "/model/routingPolicy",
            "the endpoint picker scores workers by their KV events, which workers publish with routingPolicy: kv",
            "set model.routingPolicy: kv",
        )


COMPUTE_DOMAIN_CLAIM = "compute-domain-channel"  # the claim the model chart adds to each claiming worker


def _claim_key_problems(model: dict, loaded: Loaded, key: str, kind: str) -> Generator[Problem, None, bool]:
    """model.<key> renders a <kind> beside the DGD that worker roles claim: it needs the model release,
    and the roles it names must be this graph's. Returns whether the key's own rules apply."""
    if not model["deployment"]["create"]:
        yield loaded.problem(
            f"/model/{key}/enabled",
            f"model.deployment.create is false: compose renders no model release to hold the {kind}",
            f"create the {kind} beside the existing DGD yourself, or let compose create the DGD",
        )
        return False
    workers = ["decode", "prefill"] if model.get("disaggregation") else ["decode"]
    for i, role in enumerate(model[key].get("roles", [])):
        if role not in workers:
            yield loaded.problem(
                f"/model/{key}/roles/{i}",
                f"{role} is no worker role of this graph, which is aggregated (its one worker is decode)",
                "name decode, or set model.disaggregation: true",
            )
    return True


def _own_claim_problems(spec: dict, role: str, loaded: Loaded, claim: str, key: str) -> Iterator[Problem]:
    """A role's own claim under the name of the one model.<key> gives it."""
    given = {
        "resourceClaims": spec.get("resourceClaims", []),
        "resources/claims": spec.get("resources", {}).get("claims", []),
    }
    for at, items in given.items():
        for j, item in enumerate(items):
            if isinstance(item, dict) and item.get("name") == claim:
                yield loaded.problem(
                    f"/model/{role}/{at}/{j}/name",
                    f"{claim} is the claim model.{key} gives {role}",
                    "remove this entry (the chart adds it), or name your own claim otherwise",
                )


def _rule_compute_domain(values: dict, loaded: Loaded):
    """A ComputeDomain gives GPU workers of this graph a multi-node NVLink channel: the model release must
    exist, the roles it names must be the graph's, each must have GPUs, and none may hold a claim of the
    chart's name already. A local run skips it (it renders nothing for Kubernetes)."""
    model = values["model"]
    cd = model.get("computeDomain") or {}
    if not cd.get("enabled") or values["target"] == "local":
        return
    if not (yield from _claim_key_problems(model, loaded, "computeDomain", "ComputeDomain")):
        return
    workers = ["decode", "prefill"] if model.get("disaggregation") else ["decode"]
    claiming = [r for r in cd.get("roles", workers) if r in workers]
    mocker = model["backend"]["type"] == "mocker"
    if mocker:
        yield loaded.problem(
            "/model/computeDomain/enabled",
            "a ComputeDomain links GPUs over NVLink, and the mocker runs on CPUs",
            "remove model.computeDomain, or deploy a GPU engine (vllm, sglang, trtllm)",
        )
    for role in claiming:
        spec = model.get(role, {})
        if not mocker and spec.get("gpus") == 0:
            yield loaded.problem(
                f"/model/{role}/gpus",
                f"{role} claims the ComputeDomain's NVLink channel (model.computeDomain) and has no GPU",
                "give the role GPUs, or leave it out of model.computeDomain.roles",
            )
        yield from _own_claim_problems(spec, role, loaded, COMPUTE_DOMAIN_CLAIM, "computeDomain")


DEVICE_CLAIM = "gpu"  # the claim (and its one request) the model chart gives each role claiming model.deviceClaim


def _rule_device_claim(values: dict, loaded: Loaded):
    """DRA devices are a claiming role's accelerators: the model release must exist, the roles named
    must be the graph's, a claiming role has no nvidia.com/gpu beside them (gpus: 0, which sglang, taking
    gpus as --tp, cannot run with), the mocker claims none, and no role holds a claim of the chart's name.
    A local run skips it (it renders nothing for Kubernetes)."""
    from composer.model import device_claim_roles

    model = values["model"]
    dc = model.get("deviceClaim") or {}
    if not dc.get("enabled") or values["target"] == "local":
        return
    if not (yield from _claim_key_problems(model, loaded, "deviceClaim", "ResourceClaimTemplate")):
        return
    if model["backend"]["type"] == "mocker":
        yield loaded.problem(
            "/model/deviceClaim/enabled",
            "the mocker runs on CPUs and claims no accelerator",
            "remove model.deviceClaim, or deploy an engine (vllm, sglang, trtllm)",
        )
        return
    for role in device_claim_roles(model):
        spec = model.get(role, {})
        if spec.get("gpus") != 0:
            at = (
                f"/model/{role}/gpus" if "gpus" in spec else f"/model/{role}" if role in model else "/model/deviceClaim"
            )
            yield loaded.problem(
                at,
                f"{role} claims DRA devices (model.deviceClaim), which are its accelerators, and would also "
                f"take {spec.get('gpus', '1 (the default)')} nvidia.com/gpu of the device plugin",
                f"set model.{role}.gpus: 0, or leave {role} out of model.deviceClaim.roles",
            )
        yield from _own_claim_problems(spec, role, loaded, DEVICE_CLAIM, "deviceClaim")


def _rule_experimental(values: dict, loaded: Loaded):
    """What the DGD CRD's CEL rules and the operator's validation webhook refuse in a component's
    experimental block (the schema takes each field alone): failover without gpuMemoryService or in
    another mode, extraClientContainers with InterPod GMS; and GMS on a role without GPUs to share (on
    Kubernetes: a local run renders no DGD)."""
    from composer.model import device_claim_roles

    model = values["model"]
    default_gpus = 0 if model["backend"]["type"] == "mocker" else 1
    for role in ("decode", "prefill"):
        spec = model.get(role) or {}
        ex = spec.get("experimental") or {}
        at = f"/model/{role}/experimental"
        gms, failover = ex.get("gpuMemoryService"), ex.get("failover")
        gms_mode = (gms or {}).get("mode", "IntraPod")  # the CRD's default, for both
        if failover is not None and gms is None:
            yield loaded.problem(
                f"{at}/failover",
                "failover keeps shadow engines through the GPU Memory Service, which is not set",
                "add gpuMemoryService: {} (with the same mode)",
            )
        elif failover is not None and failover.get("mode", "IntraPod") != gms_mode:
            yield loaded.problem(
                f"{at}/failover/mode" if "mode" in failover else f"{at}/failover",
                f"failover's mode {failover.get('mode', 'IntraPod')} is not gpuMemoryService's, "
                f"{gms_mode} (the operator's webhook refuses it)",
                "give both the same mode",
            )
        if gms is not None and gms.get("extraClientContainers") and gms_mode != "IntraPod":
            yield loaded.problem(
                f"{at}/gpuMemoryService/extraClientContainers",
                "extraClientContainers share the GPUs inside the pod: mode IntraPod only (the CRD refuses it)",
                "remove it, or use mode IntraPod",
            )
        # a local run renders no DGD (its environment may put the mocker, with no GPU, in the engine's place)
        if (
            gms is not None
            and spec.get("gpus", default_gpus) == 0
            and role not in device_claim_roles(model)  # its DRA devices are its GPUs
            and values["target"] != "local"
        ):
            yield loaded.problem(
                f"{at}/gpuMemoryService",
                f"the GPU Memory Service shares {role}'s GPUs, and it has none",
                f"give model.{role} gpus, or remove gpuMemoryService",
            )


def _rule_model_ref(values: dict, loaded: Loaded):
    """A disaggregated request runs on a prefill and a decode worker, so a LoRA adapter must be loaded
    into both: the DynamoModel that loads it finds the pods by modelRef, which the two roles then give
    alike (they serve one model)."""
    model = values["model"]
    if not model.get("disaggregation"):
        return
    decode, prefill = (model.get(r, {}).get("modelRef") for r in ("decode", "prefill"))
    if decode == prefill:
        return
    if decode is None or prefill is None:
        has, lacks = ("decode", "prefill") if prefill is None else ("prefill", "decode")
        yield loaded.problem(
            f"/model/{has}/modelRef",
            f"{has} names the model it serves (modelRef), {lacks} does not: a DynamoModel would load "
            f"its LoRA adapters into the {has} workers only, and disaggregated requests need them on both",
            f"give model.{lacks} the same modelRef, or remove this one",
            key=True,
        )
        return
    for field in ("name", "revision"):
        if decode.get(field) != prefill.get(field):
            yield loaded.problem(
                f"/model/prefill/modelRef/{field}" if field in prefill else "/model/prefill/modelRef",
                f"prefill's modelRef {field} is not decode's: the two roles serve one model, and a "
                "DynamoModel loads its LoRA adapters only where modelRef names its base model",
                "give model.prefill and model.decode the same modelRef",
                key=field not in prefill,
            )


def _rule_loras(values: dict, loaded: Loaded):
    """model.loras: each a DynamoModel whose baseModelName is the workers' modelRef name, so a worker role
    must name one (else the operator finds no pod to load the adapter into); names unique (each is a
    DynamoModel's metadata.name: helm would fail on the second)."""
    model = values["model"]
    loras = model.get("loras") or []
    if loras and not any((model.get(r) or {}).get("modelRef") for r in ("decode", "prefill")):
        yield loaded.problem(
            "/model/loras",
            "a LoRA adapter's DynamoModel loads it into the workers whose modelRef names its base model, "
            "and no worker role has a modelRef",
            "give model.decode (and model.prefill when disaggregated) modelRef: {name: <the base model, "
            "e.g. the engine's --model>}",
            key=True,
        )
    seen: dict[str, int] = {}
    for i, lora in enumerate(loras):
        if lora["name"] in seen:
            yield loaded.problem(
                f"/model/loras/{i}/name",
                f"a second LoRA adapter named {lora['name']!r}: /model/loras/{seen[lora['name']]} is one already",
                "give each adapter its own name (it is its DynamoModel's metadata.name)",
            )
        seen.setdefault(lora["name"], i)


CONFIG_MAP_MAX_BYTES = 1 << 20  # Kubernetes' cap on a ConfigMap's data (its keys and values, in bytes)


def _rule_config_maps(values: dict, loaded: Loaded):
    """model.configMaps: each fits Kubernetes' 1 MiB, none takes the name of a ConfigMap the model chart
    renders itself (helm would fail on the second object), the model release exists to hold them, and
    a component that reads one of them (env configMapKeyRef, a configMap volume's items, a role's
    extraConfig.configMapRef) names a key it holds, unless optional: else its pod never starts."""
    from composer.plan import chart_config_maps

    model = values["model"]
    maps = model.get("configMaps") or {}
    if not maps:
        return
    if not model["deployment"]["create"] and values["target"] != "local":
        yield loaded.problem(
            "/model/configMaps",
            "model.deployment.create is false: compose renders no model release to hold the ConfigMaps",
            "create them beside the existing DGD yourself, or let compose create the DGD",
            key=True,
        )
        return
    chart_own = chart_config_maps(values["dynamoNamespace"], model)
    for name, data in maps.items():
        at = f"/model/configMaps/{escape(name)}"
        if name in chart_own:
            role = name[len(values["dynamoNamespace"]) + 1 : -len("-config")]
            yield loaded.problem(
                at,
                f"the model chart renders a ConfigMap of this name itself: model.{role}'s "
                + ("config" if role == "planner" else "engine config"),
                "choose another name for this ConfigMap (and its references)",
                key=True,
            )
        size = sum(len(k.encode()) + len(v.encode()) for k, v in data.items())
        if size > CONFIG_MAP_MAX_BYTES:
            yield loaded.problem(
                at,
                f"{size:,} bytes of data; Kubernetes takes at most {CONFIG_MAP_MAX_BYTES:,} in a ConfigMap",
                "split it into several ConfigMaps, or mount a volume for large files",
                key=True,
            )
    for at, ref in _config_map_key_refs(values):
        data = maps.get(ref.get("name"))
        key = ref.get("key")
        if data is None or key in data or ref.get("optional"):
            continue
        held = ", ".join(sorted(data)) or "none"
        close = difflib.get_close_matches(key, sorted(data), n=1, cutoff=0.8)  # a typo, not any key alike
        guess = close[0] if close else None
        yield loaded.problem(
            at,
            f"model.configMaps.{ref['name']} holds no key {key!r}: the pod would not start",
            (f"did you mean {guess!r}? " if guess else "")
            + f"its keys: {held}; or add the key to the ConfigMap, or set optional: true",
        )


def _config_map_key_refs(values: dict) -> Iterator[tuple[str, dict]]:
    """(pointer, {name, key, optional}) of every place the values read one key of a ConfigMap: env
    valueFrom.configMapKeyRef (the graph's and each component's), each configMap item of a component's
    volumes (projected ones too), a worker role's extraConfig.configMapRef (its key, or the file's name)."""
    model = values["model"]
    envs = [("/model", model.get("env", []))]
    envs += [(f"/model/{r}", (model.get(r) or {}).get("env", [])) for r in (*ROLES, "planner", "epp")]
    for at, env in envs:
        for i, var in enumerate(env):
            ref = (var.get("valueFrom") or {}).get("configMapKeyRef")
            if ref:
                yield f"{at}/env/{i}/valueFrom/configMapKeyRef/key", ref
    for role, spec in _components(values):
        for i, vol in enumerate(spec.get("volumes", [])):
            sources = [(f"/model/{role}/volumes/{i}/configMap", vol.get("configMap"))]
            sources += [
                (f"/model/{role}/volumes/{i}/projected/sources/{j}/configMap", s.get("configMap"))
                for j, s in enumerate((vol.get("projected") or {}).get("sources", []))
            ]
            for at, cm in sources:
                if not cm:
                    continue
                for k, item in enumerate(cm.get("items", [])):
                    yield (
                        f"{at}/items/{k}/key",
                        {"name": cm.get("name"), "key": item["key"], "optional": cm.get("optional")},
                    )
        ref = spec.get("extraConfig", {}).get("configMapRef")
        if role in ("decode", "prefill") and ref and ref.get("name"):
            path = spec["extraConfig"]["path"]  # the schema's default fills it
            at = f"/model/{role}/extraConfig/configMapRef" + ("/key" if "key" in ref else "")
            yield at, {"name": ref["name"], "key": ref.get("key") or posixpath.basename(path)}


def _rule_benchmark_settings(values: dict, loaded: Loaded):
    """A sweep is over concurrencies or request rates; with rates, one concurrency caps every
    rate. extraArgs may not set again what compose sets (AIPerf would silently take the last)."""
    from composer import bench

    raw = ((loaded.data.get("benchmark") or {}).get("config") or {}) if isinstance(loaded.data, dict) else {}
    if not isinstance(raw, dict):
        return
    concurrency = raw.get("concurrency")
    if raw.get("requestRate") and isinstance(concurrency, list) and len(concurrency) > 1:
        yield loaded.problem(
            "/benchmark/config/concurrency",
            f"with requestRate set the sweep is over request rates; {len(concurrency)} concurrencies cannot be swept too",
            "give one concurrency (it caps the requests in flight at every rate), or remove concurrency "
            "(no cap), or remove requestRate to sweep concurrencies",
        )
    extra = raw.get("extraArgs")
    for i, arg in enumerate(extra if isinstance(extra, list) else []):
        flag = bench.own_flag(arg) if isinstance(arg, str) else None
        if flag:
            yield loaded.problem(
                f"/benchmark/config/extraArgs/{i}",
                f"{arg!r} sets what compose sets itself ({flag})",
                _OWN_FLAG_HINTS.get(flag, "remove it: compose sets it from the deployment"),
            )


_OWN_FLAG_HINTS = {
    "--concurrency": "set benchmark.config.concurrency",
    "--request-rate": "set benchmark.config.requestRate",
    "--request-count": "set benchmark.config.requestCount (or minRequests)",
    "--warmup-request-count": "set benchmark.config.warmupRequestCount",
    "--synthetic-input-tokens-mean": "set benchmark.config.isl",
    "--output-tokens-mean": "set benchmark.config.osl",
}


RULES = (
    _rule_prefill_needs_disaggregation,
    _rule_no_null_in_configs,
    _rule_worker_type,
    _rule_planner_fits_the_graph,
    _rule_epp,
    _rule_compute_domain,
    _rule_device_claim,
    _rule_config_maps,
    _rule_experimental,
    _rule_model_ref,
    _rule_loras,
    _rule_volumes_and_mounts,
    _rule_pod_settings,
    _rule_deployment_metadata,
    _rule_one_config_source,
    _rule_name_lengths,
    _rule_local_runs_mocker,
    _rule_twin_sets_the_speed,
    _rule_patches_have_a_release,
    _rule_backend_needs,
    _rule_supported_version,
    _rule_router_mode_of_the_version,
    _rule_no_literal_credentials,
    _rule_env_value_or_value_from,
    _rule_numbers_helm_can_carry,
    _rule_patch_targets_exist,
    _rule_strategic_lists_of_custom_resources,
    _rule_component_patches_name_rendered_components,
    _rule_patches_keep_the_graph,
    _rule_extra_objects,
    _rule_benchmark_settings,
)
