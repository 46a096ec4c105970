"""composer.quickcheck says "certainly valid" only where jsonschema finds no error, and says it for
every valid input we ship (else `compose generate` imports jsonschema for nothing)."""

from __future__ import annotations

import copy

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from composer import quickcheck, schema
from tests.support.corpus import merged_inputs

pytestmark = pytest.mark.unit

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
ODD = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        1,
        -1,
        1.0,
        1.5,
        65535,
        70000,
        "",
        "x",
        "vllm",
        "VLLM",
        "kv",
        "1.4.0",
        "/opt/a",
        "../a",
        "a b",
        "-a",
        "A",
        "a" * 70,
        [],
        [1],
        [1, 1],
        [1, True],
        ["a", "a"],
        ["a", "b"],
        [{}],
        {},
        {"name": "x"},
        {"bogus": 1},
    ]
)


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
    assert not quickcheck.certainly_valid({"type": "string", "const": "a"}, "a")
    assert not quickcheck.certainly_valid({"$ref": "#/x"}, "a")
    assert not quickcheck.certainly_valid({"type": "integer"}, 1.0)  # jsonschema accepts it; we are unsure
    assert not quickcheck.certainly_valid({"uniqueItems": True}, [1, True])  # distinct for jsonschema; unsure
    assert quickcheck.certainly_valid({"type": "integer", "minimum": 1}, 1)


def test_a_ref_into_the_schemas_own_defs_is_checked_like_jsonschema_and_any_other_is_unsure():
    root = {
        "type": "object",
        "properties": {"role": {"$ref": "#/$defs/role", "description": "beside the $ref"}},
        "$defs": {
            "role": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"gpus": {"type": "integer", "maximum": 16}},
            }
        },
    }
    for data, valid in [
        ({"role": {"gpus": 2}}, True),
        ({"role": {"gpus": 17}}, False),
        ({"role": {"x": 1}}, False),
        ({"role": 5}, False),
        ({}, True),
    ]:
        assert quickcheck.certainly_valid(root, data) is valid, data
        assert (list(jsonschema.Draft202012Validator(root).iter_errors(data)) == []) is valid, data
    assert not quickcheck.certainly_valid({"$ref": "#/$defs/gone", "$defs": {}}, 1)
    assert not quickcheck.certainly_valid({"$ref": "other.json#/$defs/role", "$defs": {"role": {}}}, 1)
    assert not quickcheck.certainly_valid({"$ref": "#/$defs/a/b", "$defs": {"a": {"b": {}}}}, 1)
    # a nested $id moves the base the $ref is resolved against
    assert not quickcheck.certainly_valid(
        {"properties": {"x": {"$id": "https://e.example/x", "$ref": "#/$defs/a"}}, "$defs": {"a": {}}}, {"x": 1}
    )
