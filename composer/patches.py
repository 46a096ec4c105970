"""`patches.model.components`: a partial DynamoGraphDeployment component per name, compiled into
RFC 6902 operations on the rendered DGD's `spec.components/<index>`, so that helmfile (and plain
`helmfile -e ENV ...`) applies them through its ordinary jsonPatches.

Why compile: a strategic merge patch of a custom resource replaces `spec.components` whole (kustomize
knows no merge key for it), and a hand-written JSON patch needs the component's index and, for every
`add`, a parent that exists. compose renders the model chart without patches (helm template, the
release's own values), finds each component's index by name, and writes one op per leaf:

* maps merge key by key (RFC 7386): an absent key is added (with its whole value), a present
  one replaced, a map into a map recursed into, so the rendered siblings survive;
* lists and scalars replace whole, except `podTemplate.spec.containers`, which Kubernetes keys by
  `name`: an entry merges into the rendered container of its name (the chart's is `main`), an
  entry with another name is appended as a new container;
* there is no delete: a values file cannot carry null (Helm's rule: null removes the key from the
  values), so RFC 7386's `null` never reaches here; a jsonPatches `remove` deletes a field.

Ops come in the order of the components in the DGD, then of the sorted keys: the same values give the
same helmfile.d/ whatever their key order. They are applied before the release's own jsonPatches,
against the render they were computed from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from composer import dynamo, manifests, proc, yaml
from composer.errors import RenderFailed, quoted
from composer.load import escape
from composer.plan import Plan, Release

CONTAINERS_AT = ("podTemplate", "spec", "containers")  # the one list merged by a key (name)


def target(name: str) -> dict[str, str]:
    """The jsonPatches target of the model release's DGD (named after dynamoNamespace)."""
    return {"group": dynamo.DGD_GROUP, "version": dynamo.DGD_VERSION, "kind": dynamo.DGD_KIND, "name": name}


def component_ops(dgd: Mapping[str, Any], components: Mapping[str, Any]) -> list[dict[str, Any]]:
    """RFC 6902 ops that merge each partial component into the rendered DGD's component of that name."""
    rendered = dgd["spec"]["components"]
    index = {c["name"]: i for i, c in enumerate(rendered)}
    ops: list[dict[str, Any]] = []
    for name in sorted(components, key=lambda n: index[n]):
        i = index[name]
        ops += _merge(rendered[i], components[name], f"/spec/components/{i}", ())
    return ops


def _merge(rendered: Mapping[str, Any], patch: Mapping[str, Any], at: str, keys: tuple[str, ...]) -> list[dict]:
    ops: list[dict[str, Any]] = []
    for key in sorted(patch):
        value, here, path = patch[key], f"{at}/{escape(key)}", (*keys, key)
        if key not in rendered:
            ops.append({"op": "add", "path": here, "value": value})
        elif path == CONTAINERS_AT and isinstance(value, list) and isinstance(rendered[key], list):
            ops += _merge_containers(rendered[key], value, here)
        elif isinstance(value, dict) and isinstance(rendered[key], dict):
            ops += _merge(rendered[key], value, here, path)
        else:
            ops.append({"op": "replace", "path": here, "value": value})
    return ops


def _merge_containers(rendered: list, patch: list, at: str) -> list[dict[str, Any]]:
    """Kubernetes' strategic merge for containers (merge key: name), as JSON patch ops."""
    ops: list[dict[str, Any]] = []
    for container in patch:
        j = next((j for j, c in enumerate(rendered) if c.get("name") == container["name"]), None)
        if j is None:
            ops.append({"op": "add", "path": f"{at}/-", "value": container})
        else:
            rest = {k: v for k, v in container.items() if k != "name"}
            ops += _merge(rendered[j], rest, f"{at}/{j}", ("containers", "*"))
    return ops


# --- the render they are computed on -------------------------------------------------------------


def compiled(root: Path, plan: Plan) -> Plan:
    """The plan with each release's `components` compiled into jsonPatches (first, before the
    release's own). Renders the model chart only when there is something to compile."""
    releases = []
    for r in plan.releases:
        if "components" in r.patches:
            own = {k: v for k, v in r.patches.items() if k != "components"}
            ops = (
                component_ops(_rendered_dgd(root, plan, r), r.patches["components"]) if r.patches["components"] else []
            )
            entry = [{"target": target(r.values["dynamoNamespace"]), "patch": ops}] if ops else []
            json_patches = entry + list(own.get("jsonPatches", []))
            r = replace(r, patches={**own, **({"jsonPatches": json_patches} if json_patches else {})})
        releases.append(r)
    return replace(plan, releases=tuple(releases))


def _rendered_dgd(root: Path, plan: Plan, r: Release) -> dict[str, Any]:
    """The DGD the model chart renders for the release's values, without any patch."""
    # the values as the generated values file holds them, given on stdin without writing one
    argv = manifests.helm_argv(plan, r, skip_tests=True, values="-")
    done = proc.run(argv, cwd=root, input=json.dumps(dict(r.values), sort_keys=True))
    if done.returncode != 0:
        raise RenderFailed(
            f"helm template {r.name} failed (exit {done.returncode}) while compiling "
            f"patches.{r.component}.components:\n{quoted(done.stderr)}"
        )
    (dgd,) = [d for d in yaml.load_manifests(done.stdout) if d.get("kind") == dynamo.DGD_KIND]
    return dgd
