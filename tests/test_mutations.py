"""Mutations of every shipped values file: no crash, no unlocated problem, no accepted value a chart refuses.

The shipped files are values.yaml (with environments/) and every recipe (with the environments
`compose init` writes beside it). Each gets MUTANTS mutants from a random.Random seeded with its name,
so a run is deterministic. Half are structural (on the parsed document, written back as YAML): a
value swapped for another type, a boundary number (0, -1, 2^31, 2^63, 1e308, 4.0, .inf, .nan), a long
string, a string with a space, slash or upper case, null, a deleted key, an unknown key; half are
textual (on the bytes): a random byte replaced, inserted or deleted, a line duplicated (duplicate
keys) or deleted, a YAML tag, a merge key, deep flow nesting, a U+2028.

Each mutant is checked in-process, every environment: composer.load + schema.validate (what
`compose validate` runs) either
* refuses it: every problem has a file, line >= 1 and column >= 1 (what exit 2 prints), or
* accepts it: then plan() builds each local chart's values, and they, coalesced with the chart's own
  values.yaml as helm does, pass that chart's values.schema.json (Draft 7, what helm checks first).
Any other exception is a failure that shows the mutant. Full helm renders of thousands of mutants
do not fit CI; the renders are covered by tests/test_properties.py.
"""
from __future__ import annotations

import copy
import io
import json
import random
import traceback
from pathlib import Path

import jsonschema
import pytest
import yaml as pyyaml
from ruamel.yaml import YAML

from composer import load, recipes, schema
from composer.errors import InvalidValues
from composer.model import Deployment
from composer.plan import plan
from tests.conftest import REPO

MUTANTS = 100  # per file: 2,100 a run over the 21 shipped files (~100 s here); 2,000 per file takes ~30 min
BOUNDARY = [0, -1, 1, 2**31, 2**63, 10**20, 1e308, 4.0, float("inf"), float("nan"), True, "", "a" * 300,
            "has space", "a/b", "UPPER", "9start", "-x", [], {}, None, [None], {"x": None}]


def shipped() -> list[tuple[str, str, dict[str, str]]]:
    """(name, values text, {env: overlay text}) of every shipped values file."""
    out = [("values.yaml", (REPO / "values.yaml").read_text(),
            {p.stem: p.read_text() for p in sorted((REPO / "environments").glob("*.yaml"))})]
    for r in recipes.available():
        out.append((r.name, r.values_file.read_text(), recipes.environments(recipes._model(r.values_file, r.name))))
    return out


def to_yaml(data) -> str:
    y = YAML(typ="safe", pure=True)
    y.default_flow_style = False
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


def structural(doc, rng: random.Random) -> str:
    doc = copy.deepcopy(doc)
    slots = []

    def walk(node):
        if isinstance(node, dict):
            slots.extend((node, k) for k in node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            slots.extend((node, i) for i in range(len(node)))
            for v in node:
                walk(v)

    walk(doc)
    parent, key = rng.choice(slots)
    action = rng.random()
    if action < 0.15 and isinstance(parent, dict):
        del parent[key]
    elif action < 0.25 and isinstance(parent, dict):
        parent["x" + str(rng.randrange(100))] = rng.choice(BOUNDARY)
    else:
        parent[key] = copy.deepcopy(rng.choice(BOUNDARY))
    return to_yaml(doc)


INSERTS = ["!!binary aGVsbG8=", "!Ref x", "!!python/object/apply:os.system ['true']", "!!omap [a: 1]",
           "!!set {a}", "<<: *a", "&a {x: 1}", "[" * 5000 + "]" * 5000, "\u2028", "\x00", "\t", "'", "{", "- x"]


def textual(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    action = rng.random()
    if action < 0.3:
        raw = bytearray(text.encode())
        i = rng.randrange(len(raw))
        op = rng.random()
        if op < 0.4:
            raw[i] = rng.randrange(256)
        elif op < 0.7:
            raw.insert(i, rng.randrange(256))
        else:
            del raw[i]
        return raw.decode("utf-8", errors="surrogateescape")
    if action < 0.5:
        i = rng.randrange(len(lines))
        return "".join(lines[:i + 1] + lines[i:])  # a duplicated line: often a duplicated key
    if action < 0.6:
        i = rng.randrange(len(lines))
        return "".join(lines[:i] + lines[i + 1:])
    i = rng.randrange(len(lines))
    line = lines[i]
    if ":" in line and not line.lstrip().startswith("#"):
        head = line.split(":", 1)[0]
        line = f"{head}: {rng.choice(INSERTS)}\n"
    else:
        line = rng.choice(INSERTS) + line
    return "".join(lines[:i] + [line] + lines[i + 1:])


def chart_errors(dep: Deployment) -> list[str]:
    errors = []
    for release in plan(dep, {}).releases:
        if release.remote:
            continue
        chart = REPO / release.chart
        defaults = pyyaml.safe_load((chart / "values.yaml").read_text()) or {}
        merged = coalesce(defaults, json.loads(json.dumps(release.values)))
        validator = jsonschema.Draft7Validator(json.loads((chart / "values.schema.json").read_text()))
        errors += [f"{release.chart}: /{'/'.join(map(str, e.absolute_path))}: {e.message}"
                   for e in validator.iter_errors(merged)]
    return errors


def coalesce(defaults, values):
    """helm's merge of a chart's values.yaml with the given values: maps merge, the rest is replaced."""
    if not (isinstance(defaults, dict) and isinstance(values, dict)):
        return values
    out = dict(defaults)
    for k, v in values.items():
        out[k] = coalesce(defaults.get(k), v)
    return out


def check(tmp: Path, text: str, envs: dict[str, str]) -> str | None:
    """None if the mutant is handled as it must be, else what went wrong."""
    (tmp / "values.yaml").write_bytes(text.encode("utf-8", errors="surrogateescape"))
    try:
        base = load.load(tmp / "values.yaml", display="values.yaml")
        for env, overlay in envs.items():
            top = load.load(tmp / "environments" / f"{env}.yaml", display=f"environments/{env}.yaml")
            try:
                dep = Deployment(env=env, values=schema.validate(load.overlay(base, top)))
            except InvalidValues as e:
                unlocated = [str(p) for p in e.problems if not p.file or p.line < 1 or p.column < 1]
                if unlocated:
                    return "unlocated: " + "; ".join(unlocated)
                continue
            errors = chart_errors(dep)
            if errors:
                return f"accepted for {env}, refused by a chart: " + "; ".join(errors)
    except InvalidValues as e:
        unlocated = [str(p) for p in e.problems if not p.file or p.line < 1 or p.column < 1]
        return "unlocated: " + "; ".join(unlocated) if unlocated else None
    except Exception:  # noqa: BLE001 - any other exception is the bug this test looks for
        return "crash:\n" + traceback.format_exc(limit=-3)
    return None


@pytest.mark.parametrize("name, text, envs", shipped(), ids=[s[0] for s in shipped()])
def test_mutants_are_refused_at_a_location_or_render_valid_chart_values(name, text, envs, tmp_path):
    (tmp_path / "environments").mkdir()
    for env, overlay in envs.items():
        (tmp_path / "environments" / f"{env}.yaml").write_text(overlay)
    rng = random.Random(name)
    doc = pyyaml.safe_load(text)
    failures = []
    for i in range(MUTANTS):
        mutant = structural(doc, rng) if i % 2 else textual(text, rng)
        failure = check(tmp_path, mutant, envs)
        if failure:
            failures.append(f"mutant {i}:\n{mutant[:2000]}\n--> {failure}")
    assert not failures, f"{len(failures)} of {MUTANTS} mutants mishandled; the first:\n{failures[0][-3000:]}"
