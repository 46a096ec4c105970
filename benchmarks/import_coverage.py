#!/usr/bin/env python3
"""How much of upstream's DynamoGraphDeployments `compose import` expresses in the values file.

    .venv/bin/python benchmarks/import_coverage.py [--roundtrip] DIR [DIR ...]

Reads every *.yaml / *.yml under each DIR (e.g. `examples/` and `recipes/` of an ai-dynamo/dynamo
checkout at a commit you name; nothing is downloaded) that holds a DynamoGraphDeployment, imports it,
and prints how many come in clean (nothing in patches or extraObjects), carried (the rest in patches or
extraObjects), lossy (something carried nowhere) or refused (with the reason), how many had fields
written null (dropped, as Kubernetes drops them), and the JSON pointers carried most often: what the
values file should learn next. A file that a kustomization beside it lists as a patch is a piece of a
graph, not one: it is counted apart, outside the share. What users deploy of those is what `kubectl
kustomize` builds: every kustomization under the DIRs that is not a Component is built (offline, local
files only) and its graphs are counted too, as `kustomize:DIR`. With `--roundtrip`, each graph that
imports (clean or carried) is also rendered back (`compose validate` in every environment, `compose
template`) and compared with the original field by field, as tests/test_import_roundtrip.py compares its
fixtures (a few seconds a graph).
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

from ruamel.yaml import YAML

from composer import dgd_import
from composer.errors import InvalidValues

DGD = re.compile(r"^kind: DynamoGraphDeployment\s*$", re.M)


def kustomize_patches(directory: Path) -> set[str]:
    """The file names the kustomization of a directory applies as patches."""
    names: set[str] = set()
    for k in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if (directory / k).is_file():
            doc = YAML(typ="safe").load((directory / k).read_text()) or {}
            for entry in [*(doc.get("patches") or []), *(doc.get("patchesJson6902") or [])]:
                if isinstance(entry, dict) and entry.get("path"):
                    names.add(Path(entry["path"]).name)
            names.update(Path(e).name for e in doc.get("patchesStrategicMerge") or [] if isinstance(e, str))
    return names


def outcome(path: Path) -> tuple[str, str, list[str], bool]:
    """(clean | carried | lossy | refused, the refusal, the pointers carried, whether fields were null)."""
    try:
        imported = dgd_import.convert(dgd_import.read_stream(path, str(path)), str(path))
    except InvalidValues as e:
        return "refused", str(e).splitlines()[0].split(": ", 2)[-1], [], False
    pointers = [re.sub(r"/\d+", "/N", u.pointer) or "(other objects)" for u in imported.unexpressed]
    empty = bool(imported.empty)
    if not imported.unexpressed:
        return "clean", "", pointers, empty
    lossy = any(u.into.startswith("nowhere") for u in imported.unexpressed)
    return ("lossy" if lossy else "carried"), "", pointers, empty


def kustomize_builds(dirs: list[str], into: Path) -> list[Path]:
    """What `kubectl kustomize` builds of every kustomization under dirs that is not a Component and
    holds a DynamoGraphDeployment, one file per kustomization."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("kubectl not on PATH: kustomize builds not counted", file=sys.stderr)
        return []
    built = []
    for k in sorted(p for d in dirs for p in Path(d).rglob("kustomization.yaml")):
        if (YAML(typ="safe").load(k.read_text()) or {}).get("kind") == "Component":
            continue
        run = subprocess.run([kubectl, "kustomize", str(k.parent)], capture_output=True, text=True)
        if run.returncode == 0 and DGD.search(run.stdout):
            out = into / f"kustomize:{k.parent}.yaml".replace("/", "_")
            out.write_text(run.stdout)
            built.append(out)
    return built


def main(args: list[str]) -> int:
    check = "--roundtrip" in args
    dirs = [a for a in args if a != "--roundtrip"]
    files = sorted(
        p for d in dirs for p in Path(d).rglob("*") if p.suffix in (".yaml", ".yml") and DGD.search(p.read_text())
    )
    with tempfile.TemporaryDirectory() as tmp:
        return report(files, kustomize_builds(dirs, Path(tmp)), check)


def rendered_back(path: Path) -> list[str]:
    """How the graph compose renders from the imported project differs from the original."""
    repo = str(Path(__file__).resolve().parent.parent)
    if repo not in sys.path:  # the round-trip test's comparison, one definition of "the same graph"
        sys.path.insert(0, repo)
    from tests.test_import_roundtrip import roundtrip

    with tempfile.TemporaryDirectory() as tmp:
        try:
            return roundtrip(path, Path(tmp))
        except AssertionError as e:  # the line of the check that failed, and its message if any
            return [f"{traceback.extract_tb(e.__traceback__)[-1].line}: {str(e)[:200]}"]


def report(files: list[Path], builds: list[Path], check: bool = False) -> int:
    kinds: collections.Counter[str] = collections.Counter()
    reasons: collections.Counter[str] = collections.Counter()
    carried: collections.Counter[str] = collections.Counter()
    nulls = 0
    differ: dict[Path, list[str]] = {}
    patches = [p for p in files if p.name in kustomize_patches(p.parent)]
    for path in [*files, *builds]:
        if path in patches:
            continue
        kind, reason, pointers, empty = outcome(path)
        kinds[kind] += 1
        nulls += empty
        if reason:
            reasons[reason] += 1
        carried.update(set(pointers))
        if check and kind in ("clean", "carried"):
            differ[path] = rendered_back(path)
    graphs = len(files) - len(patches) + len(builds)
    print(f"{len(files)} files with a DynamoGraphDeployment, {len(patches)} of them kustomize patches (not graphs)")
    print(f"{len(builds)} kustomizations build one")
    print(f"{graphs} graphs: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    print(f"clean: {kinds['clean'] / max(graphs, 1):.0%} of the graphs")
    print(f"imported with fields written null (dropped, as Kubernetes drops them): {nulls}")
    if check:
        bad = {p: d for p, d in differ.items() if d}
        print(f"rendered back as the original: {len(differ) - len(bad)} of {len(differ)} imported")
        for p, d in bad.items():
            print(f"  {p}: {'; '.join(d)[:300]}")
    print("\nrefused, by reason:")
    for reason, n in reasons.most_common(10):
        print(f"  {n:4}  {reason}")
    print("\ncarried, by pointer (files):")
    for pointer, n in carried.most_common(15):
        print(f"  {n:4}  {pointer}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) if sys.argv[1:] else print(__doc__) or 2)
