"""Offline rendering of our releases: the `helm template` that `helmfile template` runs, run by us.

helmfile renders one release after another, after its own start-up and a `helm version`. compose
holds the plan helmfile.d/ was written from, so it starts the same `helm template` for every
release at once, on the generated values files, and joins the output as helmfile does:
tests/test_manifests.py proves it byte-identical to `helmfile template` on the generated files. A
release with patches needs helmfile's kustomize step, so helmfile renders that one. Nothing is
kept: a render writes nothing, so read-only commands leave the project as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from composer import helmfile, helmfiles, proc, yaml
from composer.errors import ComposeError, RenderFailed, quoted
from composer.plan import Plan, Release


def ordered(releases: Sequence[Release]) -> list[Release]:
    """helmfile's order: a release after everything it needs among `releases`, otherwise as listed."""
    ids = {r.id: r for r in releases}
    depth: dict[str, int] = {}

    def level(r: Release) -> int:
        if r.id not in depth:
            depth[r.id] = 1 + max((level(ids[n]) for n in r.needs if n in ids), default=-1)
        return depth[r.id]

    return sorted(releases, key=level)  # sorted() is stable: listed order within a level


def helm_argv(plan: Plan, r: Release, *, skip_tests: bool = False, values: str | None = None) -> list[str]:
    """What helmfile runs for r, with paths relative to the project root; values: another values file
    than the generated one ("-": stdin)."""
    return [
        "helm",
        "template",
        r.name,
        r.chart,
        "--namespace",
        r.namespace,
        "--values",
        values or f"{helmfiles.OUTPUT_DIR}/{helmfiles.values_file(plan.env, r.name)}",
        *(["--skip-tests"] if skip_tests else []),
        "--kube-version",
        helmfile.KUBE_VERSION,
    ]


def releases(root: Path, plan: Plan, names: Sequence[str] | None = None, *, skip_tests: bool = False) -> dict[str, str]:
    """Each local release's manifests (those named, default all), in helmfile's order, by name."""
    chosen = ordered([r for r in plan.releases if not r.remote and (names is None or r.name in names)])
    argvs = {
        r.name: helmfile.template_release(helmfiles.state_file(plan.env), plan.env, r.name, skip_tests=skip_tests)
        if r.patches
        else helm_argv(plan, r, skip_tests=skip_tests)
        for r in chosen
    }
    rendered = {}
    for r, done in zip(chosen, proc.run_all([argvs[r.name] for r in chosen], cwd=root)):
        if done.returncode != 0:
            raise _failure(r, done)
        rendered[r.name] = done.stdout
    # helmfile adds a line after each release; by helmfile, one release's output has it already
    return {r.name: rendered[r.name] if r.patches else rendered[r.name] + "\n" for r in chosen}


def template(root: Path, plan: Plan) -> str:
    """`helmfile template` of every local release, as one stream."""
    return "".join(releases(root, plan).values())


def docs(root: Path, plan: Plan, name: str) -> list[dict[str, Any]]:
    """One release's objects, without its helm test hooks."""
    return yaml.load_manifests(releases(root, plan, [name], skip_tests=True)[name])


def _failure(r: Release, done: proc.Completed) -> ComposeError:
    detail = quoted(done.stderr)
    if r.patches:  # rendered by helmfile, whose stderr carries kustomize's reason
        return RenderFailed(f"{helmfile.failure(done)}\n{detail}")
    return RenderFailed(f"helm template {r.name} failed (exit {done.returncode}):\n{detail}")
