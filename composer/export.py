"""Plain Kubernetes manifests per release, for Argo CD, Flux or `kubectl apply -k`.

What helmfile renders for each of our releases, one object per file with a name derived from
the object (so diffs stay readable), and a kustomization.yaml listing them all. Releases of
remote charts that cannot be fetched are reported, never silently left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from composer import helmfiles, manifests, yaml
from composer.errors import ComposeError, UsageError
from composer.plan import Plan


def export(root, state_file: str, plan: Plan, inputs: list[str], command: str) -> tuple[dict[str, str], list[str]]:
    """(files relative to the export dir, releases that could not be exported and why)."""
    head = helmfiles.header(inputs, command)
    files: dict[str, str] = {}
    skipped = []
    for r in plan.releases:
        if r.remote:
            skipped.append(
                f"{r.id} ({r.chart} {r.version}): a remote chart, not fetched offline; render it where "
                f"the repository is reachable: helmfile -f {state_file} -e {plan.env} "
                f"-l name={r.name} template"
            )
    for name, text in manifests.releases(root, plan, skip_tests=True).items():
        for doc in yaml.load_manifests(text):
            path = f"{name}/{doc['kind'].lower()}-{doc['metadata']['name']}.yaml"
            if path in files:
                raise ComposeError(f"two objects export to {path}: {doc['kind']} {doc['metadata']['name']}")
            files[path] = head + yaml.dump(doc)
    if plan.create_namespace:  # helmfile creates them (createNamespace); `kubectl apply -k` needs the objects
        for ns in sorted({r.namespace for r in plan.releases if not r.remote}):
            files[f"namespace-{ns}.yaml"] = head + yaml.dump(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
            )
    kustomization: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": sorted(files),
    }
    note = "".join(f"# not exported: {s}\n" for s in skipped)
    files["kustomization.yaml"] = head + note + yaml.dump(kustomization)
    return files, skipped


def check_target(target: Path, root: Path) -> None:
    """An export replaces its directory as a whole: only ever a new or empty one, or an earlier
    export (its kustomization.yaml carries our header), and never one holding the project."""
    target, root = target.resolve(), root.resolve()
    if target == root or target in root.parents:
        raise UsageError(
            f"--output-dir {target} holds the project itself; choose a directory of its own, such as {root / 'export'}"
        )
    if not target.exists() or target.is_dir() and not any(target.iterdir()):
        return
    kustomization = target / "kustomization.yaml"
    if not (kustomization.is_file() and kustomization.read_text().startswith(helmfiles.GENERATED)):
        raise UsageError(
            f"{target} is not empty and not an earlier `compose export`; an export replaces its "
            f"directory as a whole, so choose a new or empty one"
        )
