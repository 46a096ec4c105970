"""Mutations of every shipped values file: no crash, no unlocated problem, no accepted value a chart refuses.

The shipped files are values.yaml (with environments/) and every recipe (with the environments
`compose init` writes beside it). Each gets MUTANTS distinct mutants from a random.Random seeded with its
name, so a run is deterministic. Half are structural (on the parsed document, written back as YAML): a
value swapped for another type, a boundary number (0, -1, 2^31, 2^63, 1e308, 4.0, .inf, .nan), a long
string, a string with a space, slash or upper case, null, a deleted key, an unknown key; half are
textual (on the bytes): a random byte replaced, inserted or deleted, a line duplicated (duplicate
keys) or deleted, a YAML tag, a merge key, deep flow nesting, a U+2028.

Each mutant is checked in-process, every environment: composer.load + schema.validate (what
`compose validate` runs) either
* refuses it: every problem has a file, line >= 1 and column >= 1 (what exit 2 prints), or
* accepts it: then plan() builds each local chart's values, and they, coalesced with the chart's own
  values.yaml as helm does, pass that chart's values.schema.json (Draft 7, what helm checks first).
Any other exception is a failure that shows the mutant.

Helm renders of 42,000 mutants do not fit CI: a fixed-seed sample of RENDERED accepted mutants whose
chart values differ from the unmutated file's is rendered by real `helm template` (the chart's schema,
its templates' own checks) and every object checked against the Dynamo CRD and Kubernetes schemas.

Speed (MUTANTS x 21 files in a few minutes on 2 cores): each chart's values.yaml and validator are
read once, each distinct (chart, values) is checked once, mutants are written with libyaml, and the
mutant file is replaced rather than truncated.
"""

from __future__ import annotations

import copy
import json
import random
import traceback
from pathlib import Path

import pytest
import yaml as pyyaml

from composer import load, manifests, recipes, schema
from composer import project as p
from composer.errors import InvalidValues
from composer.model import Deployment
from composer.plan import plan
from tests.support.charts import FastDumper, FastLoader, chart_check
from tests.support.project import REPO, make_project
from tests.support.validate import all_errors, load_docs

# The helm layer although the 42,000 mutants are checked in-process: their check stands in for helm's own
# (the charts' values schemas), a sample is rendered by real helm, and minutes do not belong in `-m unit`.
pytestmark = pytest.mark.helm

MUTANTS = 2000  # per file: 42,000 a run over the 21 shipped files
RENDERED = 30  # accepted mutants rendered by helm
BOUNDARY = [
    0,
    -1,
    1,
    2**31,
    2**63,
    10**20,
    1e308,
    4.0,
    float("inf"),
    float("nan"),
    True,
    "",
    "a" * 300,
    "has space",
    "a/b",
    "UPPER",
    "9start",
    "-x",
    [],
    {},
    None,
    [None],
    {"x": None},
]


def shipped() -> list[tuple[str, str, dict[str, str]]]:
    """(name, values text, {env: overlay text}) of every shipped values file."""
    out = [
        (
            "values.yaml",
            (REPO / "values.yaml").read_text(),
            {p.stem: p.read_text() for p in sorted((REPO / "environments").glob("*.yaml"))},
        )
    ]
    for r in recipes.available():
        out.append((r.name, r.values_file.read_text(), recipes.environments(recipes._model(r.values_file, r.name))))
    return out


def to_yaml(data) -> str:
    """Block-style YAML, as the shipped files are written (libyaml's emitter: the pure ones cost more
    than checking the mutant)."""
    return pyyaml.dump(data, Dumper=FastDumper, default_flow_style=False, sort_keys=False, allow_unicode=True)


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


INSERTS = [
    "!!binary aGVsbG8=",
    "!Ref x",
    "!!python/object/apply:os.system ['true']",
    "!!omap [a: 1]",
    "!!set {a}",
    "<<: *a",
    "&a {x: 1}",
    "[" * 5000 + "]" * 5000,
    "\u2028",
    "\x00",
    "\t",
    "'",
    "{",
    "- x",
]


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
        return "".join(lines[: i + 1] + lines[i:])  # a duplicated line: often a duplicated key
    if action < 0.6:
        i = rng.randrange(len(lines))
        return "".join(lines[:i] + lines[i + 1 :])
    i = rng.randrange(len(lines))
    line = lines[i]
    if ":" in line and not line.lstrip().startswith("#"):
        head = line.split(":", 1)[0]
        line = f"{head}: {rng.choice(INSERTS)}\n"
    else:
        line = rng.choice(INSERTS) + line
    return "".join(lines[:i] + [line] + lines[i + 1 :])


def chart_errors(dep: Deployment, seen: dict[tuple[str, str], tuple[str, ...]]) -> list[str]:
    """What each local chart's values.schema.json says of the values plan() gives it. Many mutants
    give a chart the same values: each distinct (chart, values) is checked once (seen)."""
    errors: list[str] = []
    for release in plan(dep, {}).releases:
        if release.remote:
            continue
        key = (release.chart, json.dumps(release.values, sort_keys=True))
        if key not in seen:
            seen[key] = chart_check(release.chart, key[1])
        errors += seen[key]
    return errors


def check(tmp: Path, text: str, envs: dict[str, str], seen: dict) -> str | None:
    """None if the mutant is handled as it must be, else what went wrong."""
    # a new file each time: truncating one in place makes ext4 flush it on close (milliseconds)
    (tmp / "values.yaml").unlink(missing_ok=True)
    (tmp / "values.yaml").write_bytes(text.encode("utf-8", errors="surrogateescape"))
    try:
        base = load.load(tmp / "values.yaml", display="values.yaml")
        for env in envs:
            top = load.load(tmp / "environments" / f"{env}.yaml", display=f"environments/{env}.yaml")
            try:
                dep = Deployment(env=env, values=schema.validate(load.overlay(base, top)))
            except InvalidValues as e:
                unlocated = [str(p) for p in e.problems if not p.file or p.line < 1 or p.column < 1]
                if unlocated:
                    return "unlocated: " + "; ".join(unlocated)
                continue
            errors = chart_errors(dep, seen)
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
    doc = pyyaml.load(text, Loader=FastLoader)
    failures = []
    seen: dict = {}
    checked: set[str] = set()
    for i in range(10 * MUTANTS):
        if len(checked) == MUTANTS:
            break
        mutant = structural(doc, rng) if i % 2 else textual(text, rng)
        if mutant in checked:  # a third of the draws repeat one (the same line deleted...): draw another
            continue
        checked.add(mutant)
        failure = check(tmp_path, mutant, envs, seen)
        if failure:
            failures.append(f"mutant {i}:\n{mutant[:2000]}\n--> {failure}")
    assert len(checked) == MUTANTS, f"only {len(checked)} distinct mutants"
    assert not failures, f"{len(failures)} of {MUTANTS} mutants mishandled; the first:\n{failures[0][-3000:]}"


def chart_values(tmp: Path, text: str, envs: dict[str, str]) -> dict[str, str]:
    """{env: the local charts' values (JSON)} for each environment compose validate accepts the text in."""
    (tmp / "values.yaml").unlink(missing_ok=True)
    (tmp / "values.yaml").write_bytes(text.encode("utf-8", errors="surrogateescape"))
    out = {}
    try:
        base = load.load(tmp / "values.yaml", display="values.yaml")
    except InvalidValues:
        return out
    for env in envs:
        top = load.load(tmp / "environments" / f"{env}.yaml", display=f"environments/{env}.yaml")
        try:
            dep = Deployment(env=env, values=schema.validate(load.overlay(base, top)))
        except InvalidValues:
            continue
        out[env] = json.dumps([r.values for r in plan(dep, {}).releases if not r.remote], sort_keys=True)
    return out


def accepted_sample(tmp: Path) -> list[tuple[str, str, dict[str, str], str]]:
    """(file, mutant, environments, env): up to two mutants per shipped file that compose validate
    accepts in env with chart values unlike the unmutated file's; RENDERED of them, fixed seeds."""
    picked = []
    (tmp / "environments").mkdir(parents=True)
    for name, text, envs in shipped():
        for env, overlay in envs.items():
            (tmp / "environments" / f"{env}.yaml").write_text(overlay)
        original = chart_values(tmp, text, envs)
        rng = random.Random(f"render:{name}")
        doc = pyyaml.load(text, Loader=FastLoader)
        found = 0
        for i in range(400):
            mutant = structural(doc, rng) if i % 2 else textual(text, rng)
            changed = [env for env, v in chart_values(tmp, mutant, envs).items() if v != original.get(env)]
            if changed:
                picked.append((name, mutant, envs, rng.choice(changed)))
                found += 1
                if found == 2:
                    break
        for env in envs:
            (tmp / "environments" / f"{env}.yaml").unlink()
    return random.Random("render").sample(picked, min(RENDERED, len(picked)))


def test_a_sample_of_accepted_mutants_renders_with_helm(tmp_path):
    """What compose validate accepted, the charts take: real `helm template` of every local release
    (its values.schema.json, its templates' checks), and Kubernetes' and the Dynamo CRD's schemas."""
    sample = accepted_sample(tmp_path / "scratch")
    assert len(sample) >= 20, "too few accepted mutants to sample: did the mutations change?"
    failures = []
    for i, (name, mutant, envs, env) in enumerate(sample):
        root = make_project(tmp_path / f"m{i}", mutant, {env: envs[env]})  # the others may refuse it
        proj = p.Project.at(root / "values.yaml")
        try:
            p.generate(proj)
            env_plan = p.plans(proj, [env])[env]
            docs = [d for text in manifests.releases(proj.root, env_plan).values() for d in load_docs(text)]
        except Exception as e:  # noqa: BLE001 - a helm failure is what this test looks for
            failures.append(f"{name} --env {env}: {e}\n{mutant[:1500]}")
            continue
        errors = all_errors(docs)
        if errors:
            failures.append(f"{name} --env {env}: {errors[:5]}\n{mutant[:1500]}")
    assert not failures, f"{len(failures)} of {len(sample)} rendered mutants failed; the first:\n{failures[0]}"
