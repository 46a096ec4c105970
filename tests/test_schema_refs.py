"""The values schema says each repeated shape once, in $defs (a worker role, a component's patches,
an env var, resources, ...), and $ref says where it applies; a description beside a $ref says which
role or component it is.

* Inlining every $ref (composer.schema.inlined) gives a schema that judges every input exactly as
  the schema does: same problems, same locations, same messages, same defaults. The inlined form
  is what the schema was before $defs, so this is what keeps the restructure (and any later one)
  semantics-preserving, and what keeps schema.resolve honest for the walkers that use it.
* No sizeable subtree is written twice (descriptions aside): repetition cannot creep back.
"""

from __future__ import annotations

import collections
import copy
import json
import random
from typing import Any

import pytest
import yaml as pyyaml

from composer import load, schema
from composer.errors import InvalidValues
from tests.support.corpus import merged_inputs

INPUTS = merged_inputs()

# Drawn into the corpus' values: right and wrong types, near-misses of patterns, enums and limits.
ODD = [
    None,
    True,
    0,
    1,
    -1,
    1.5,
    17,
    2**31,
    "",
    "x",
    "vllm",
    "VLLM",
    "1.4.0",
    "/opt/a",
    "../a",
    "a b",
    "-a",
    "A",
    "a" * 300,
    "4Gi",
    "hf_" + "a" * 34,
    [],
    ["a", "a"],
    [{}],
    [{"name": "A", "value": "b", "valueFrom": {}}],
    {},
    {"name": "x"},
    {"bogus": 1},
    {"requests": {"cpu": "x"}},
    {"configMapRef": {"name": "UPPER"}},
]


def _paths(data: Any, prefix: tuple = ()):
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _paths(v, prefix + (i,))


def mutants(per_input: int = 12) -> list[tuple[str, Any]]:
    """Each shipped input, and a few seeded edits of it deep inside (the roles, patches, env)."""
    rng = random.Random(20261204)
    out = []
    for name, data in INPUTS:
        out.append((name, data))
        for n in range(per_input):
            value = copy.deepcopy(data)
            paths = [p for p in _paths(value) if p]
            if not paths:
                continue
            path = rng.choice(paths)
            parent = value
            for part in path[:-1]:
                parent = parent[part]
            if rng.random() < 0.2:
                del parent[path[-1]]
            elif rng.random() < 0.3 and isinstance(parent[path[-1]], dict):
                parent[path[-1]][rng.choice(["bogus", "name", "gpus", "env", "jsonPatches", "key"])] = rng.choice(ODD)
            else:
                parent[path[-1]] = copy.deepcopy(rng.choice(ODD))
            out.append((f"{name}~{n}", value))
    return out


def judge(loaded: load.Loaded) -> tuple[str, Any]:
    try:
        return "accepted", schema.validate(loaded)
    except InvalidValues as e:
        return "refused", [str(p) for p in e.problems]


@pytest.mark.unit
def test_the_schema_uses_refs_and_the_inlined_form_has_none():
    shipped = schema.values_schema()
    assert shipped["$defs"] and "$ref" in json.dumps(shipped)
    assert "$ref" not in json.dumps(schema.inlined(shipped)) and "$defs" not in schema.inlined(shipped)
    assert shipped["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.unit
def test_every_ref_is_to_an_own_definition_and_every_definition_is_used():
    shipped = schema.values_schema()
    refs = [m for _, m in _nodes(shipped) if isinstance(m, dict) and "$ref" in m]
    assert refs
    for node in refs:
        assert node["$ref"].startswith("#/$defs/") and node["$ref"][8:] in shipped["$defs"], node["$ref"]
        assert set(node) <= {"$ref", "description", "type"}, f"beside a $ref only what says where: {node}"
    used = {node["$ref"][8:] for node in refs}
    assert used == set(shipped["$defs"]), f"unused definitions: {set(shipped['$defs']) - used}"


@pytest.mark.sweep
def test_the_inlined_schema_judges_every_input_as_the_schema_does(tmp_path, monkeypatch):
    """Same problems (file:line:column, pointer, message, hint) or the same values with defaults,
    for every shipped input and seeded mutants of them, with $ref followed or everything inlined."""
    cases = mutants()
    loaded = []
    for i, (name, data) in enumerate(cases):
        path = tmp_path / f"{i}.yaml"
        path.write_text(pyyaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        loaded.append((name, load.load(path, display="values.yaml")))
    with_refs = [judge(one) for _, one in loaded]
    refused = sum(verdict == "refused" for verdict, _ in with_refs)
    assert 0 < refused < len(cases) - 20, "the corpus must hold both kinds"

    flat = schema.inlined(schema.values_schema())
    schema._validator.cache_clear()
    monkeypatch.setattr(schema, "values_schema", lambda: flat)
    try:
        inlined = [judge(one) for _, one in loaded]
    finally:
        monkeypatch.undo()
        schema._validator.cache_clear()
    differ = [f"{name}: {a} != {b}" for (name, _), a, b in zip(loaded, with_refs, inlined) if a != b]
    assert differ == []


@pytest.mark.unit
def test_a_problem_at_a_ref_is_described_by_what_is_written_beside_it(tmp_path):
    """A role or a component's patches that is not a mapping: the hint is that role's description
    (written beside its $ref), not the shared definition's."""
    path = tmp_path / "values.yaml"
    path.write_text(
        "dynamoNamespace: demo\nmodel:\n  name: m\n  backend: {type: vllm}\n  disaggregation: true\n"
        "  prefill: 5\npatches:\n  metrics: 5\n"
    )
    verdict, problems = judge(load.load(path, display="values.yaml"))
    shipped = schema.values_schema()
    prefill = shipped["properties"]["model"]["properties"]["prefill"]
    metrics = shipped["properties"]["patches"]["properties"]["metrics"]
    assert "$ref" in prefill and "$ref" in metrics
    assert verdict == "refused"
    assert any("/model/prefill: expected a mapping" in p and prefill["description"] in p for p in problems), problems
    assert any("/patches/metrics: expected a mapping" in p and metrics["description"] in p for p in problems)


@pytest.mark.unit
def test_defaults_inside_a_definition_are_filled():
    values = schema.with_defaults(schema.values_schema(), {"model": {"decode": {"extraConfig": {}}}})
    assert values["model"]["decode"] == {"replicas": 1, "extraConfig": {"path": "/opt/dynamo/model/config.yaml"}}
    assert "prefill" not in values["model"], "an absent role stays absent"


# --- no repetition --------------------------------------------------------------------------------

# A subtree whose JSON (descriptions aside) is at least this long is a shape: written once, in $defs.
# Shorter repeats (a DNS label's pattern, a port's bounds) read better where they are.
SHAPE = 100
ANNOTATIONS = {"description", "title", "default", "examples", "$comment"}


# Kubernetes' SecretKeySelector and ConfigMapKeySelector: one shape, but each says in its own words
# what it selects, and the hints say so ("a Secret key", "a ConfigMap key"): kept as two. Likewise the
# model cache and a worker's compilation cache: a PVC and a path, but only the first has a default path.
TWINS = (
    "/$defs/envVar/properties/valueFrom/properties/secretKeyRef",
    "/$defs/envVar/properties/valueFrom/properties/configMapKeyRef",
    "/properties/model/properties/modelCache",
    "/$defs/workerRole/properties/compilationCache",
)


def _nodes(node: Any, ptr: str = ""):
    yield ptr, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _nodes(v, f"{ptr}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _nodes(v, f"{ptr}/{i}")


def _bare(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _bare(v) for k, v in node.items() if k not in ANNOTATIONS}
    return [_bare(v) for v in node] if isinstance(node, list) else node


def repeated_subtrees(root: dict, size: int = SHAPE) -> dict[str, list[str]]:
    """JSON (descriptions aside) -> where, of each subtree of at least `size` characters written
    more than once, but for TWINS."""
    seen: dict[str, list[str]] = collections.defaultdict(list)
    for ptr, node in _nodes(root):
        if isinstance(node, dict):
            seen[json.dumps(_bare(node), sort_keys=True)].append(ptr)
    return {
        text: where
        for text, where in seen.items()
        if len(where) > 1 and len(text) >= size and not all(w.startswith(TWINS) for w in where)
    }


@pytest.mark.unit
def test_no_shape_is_written_twice():
    # The io.k8s.* definitions are Kubernetes' own, generated by scripts/gen-kube-defs: not ours to factor.
    ours = dict(schema.values_schema())
    ours["$defs"] = {k: v for k, v in ours["$defs"].items() if not k.startswith("io.k8s.")}
    assert repeated_subtrees(ours) == {}


@pytest.mark.unit
def test_the_detector_finds_the_repetition_that_inlining_brings_back():
    """The check itself: the inlined schema (the pre-$defs form) repeats the worker role, the
    patches of each component, and the resources, and the detector says so."""
    found = repeated_subtrees(schema.inlined(schema.values_schema()))
    role = json.dumps(
        _bare(schema.inlined(schema.values_schema())["properties"]["model"]["properties"]["decode"]), sort_keys=True
    )
    assert role in found and len(found) > 10
