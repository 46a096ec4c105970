"""composer.quickcheck says "certainly valid" only where jsonschema finds no error, and says it for
every valid input we ship (else `compose generate` imports jsonschema for nothing)."""
from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from composer import load, quickcheck, schema

pytestmark = pytest.mark.unit

CASES = Path(__file__).parent / "cases"
REPO = Path(__file__).resolve().parents[1]


def merged_inputs() -> list[tuple[str, object]]:
    """(name, merged values) of every shipped project and case, per environment, loadable or not."""
    roots = [REPO] + sorted(p for p in (CASES / "valid").iterdir() if p.is_dir()) + sorted(
        p for p in (CASES / "invalid").iterdir() if p.is_dir())
    out = []
    for root in roots:
        for env in sorted((root / "environments").glob("*.yaml")):
            try:
                data = load.overlay(load.load(root / "values.yaml"), load.load(env)).data
            except Exception:  # noqa: BLE001 - unparsable on purpose
                continue
            out.append((f"{root.name}/{env.stem}", data))
    for recipe in sorted((REPO / "recipes").glob("*/*/*/values.yaml")):
        out.append((str(recipe.parent.relative_to(REPO)), load.load(recipe).data))
    return out


INPUTS = merged_inputs()


def jsonschema_errors(data) -> list:
    return list(jsonschema.Draft202012Validator(schema.values_schema()).iter_errors(data))


@pytest.mark.parametrize("name,data", INPUTS, ids=[n for n, _ in INPUTS])
def test_agrees_with_jsonschema_on_every_shipped_input(name, data):
    errors = jsonschema_errors(data)
    certain = quickcheck.certainly_valid(schema.values_schema(), data)
    if errors:
        assert not certain, errors
    else:
        assert certain, f"{name} is valid, but the fast path is not taken (a schema keyword quickcheck lacks?)"


# Values to drop anywhere: right and wrong types, near-misses of patterns, enums and limits.
ODD = st.sampled_from([None, True, False, 0, 1, -1, 1.0, 1.5, 65535, 70000, "", "x", "vllm", "VLLM", "kv", "1.4.0",
                       "/opt/a", "../a", "a b", "-a", "A", "a" * 70, [], [1], [1, 1], [1, True], ["a", "a"], ["a", "b"],
                       [{}], {}, {"name": "x"}, {"bogus": 1}])


def _paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _paths(v, prefix + (i,))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_certainly_valid_implies_jsonschema_valid(data):
    _, base = data.draw(st.sampled_from(INPUTS))
    value = copy.deepcopy(base)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(list(_paths(value))))
        if not path:
            continue
        parent = value
        for p in path[:-1]:
            parent = parent[p]
        action = data.draw(st.sampled_from(["set", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent[path[-1]], dict):
            key = data.draw(st.sampled_from(["bogus", "name", "replicas", "type", "enabled"]))
            parent[path[-1]][key] = copy.deepcopy(data.draw(ODD))
        else:
            parent[path[-1]] = copy.deepcopy(data.draw(ODD))
    if quickcheck.certainly_valid(schema.values_schema(), value):
        assert jsonschema_errors(value) == []


def test_unknown_keywords_are_unsure():
    assert not quickcheck.certainly_valid({"type": "string", "format": "email"}, "a")
    assert not quickcheck.certainly_valid({"$ref": "#/x"}, "a")
    assert not quickcheck.certainly_valid({"type": "integer"}, 1.0)  # jsonschema accepts it; we are unsure
    assert not quickcheck.certainly_valid({"uniqueItems": True}, [1, True])  # distinct for jsonschema; unsure
    assert quickcheck.certainly_valid({"type": "integer", "minimum": 1}, 1)
