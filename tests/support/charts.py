"""Our charts' own values and schemas, as helm merges and checks them, read once."""

from __future__ import annotations

import functools
import json

import jsonschema
import yaml as pyyaml

from tests.support.project import REPO

FastLoader = getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)  # libyaml when PyYAML has it: same data
FastDumper = getattr(pyyaml, "CSafeDumper", pyyaml.SafeDumper)


@functools.cache
def chart(path: str) -> tuple[dict, jsonschema.Draft7Validator]:
    """A chart's own values.yaml and its schema's validator, read and built once."""
    directory = REPO / path
    defaults = pyyaml.load((directory / "values.yaml").read_text(), Loader=FastLoader) or {}
    return defaults, jsonschema.Draft7Validator(json.loads((directory / "values.schema.json").read_text()))


def chart_check(path: str, values_json: str) -> tuple[str, ...]:
    defaults, validator = chart(path)
    merged = coalesce(defaults, json.loads(values_json))
    return tuple(f"{path}: /{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(merged))


def coalesce(defaults, values):
    """helm's merge of a chart's values.yaml with the given values: maps merge, the rest is replaced."""
    if not (isinstance(defaults, dict) and isinstance(values, dict)):
        return values
    out = dict(defaults)
    for k, v in values.items():
        out[k] = coalesce(defaults.get(k), v)
    return out
