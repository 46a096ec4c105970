#!/usr/bin/env python3
"""How much of upstream's DynamoGraphDeployments `compose import` expresses in the values file.

    .venv/bin/python benchmarks/import_coverage.py DIR [DIR ...]

Reads every *.yaml / *.yml under each DIR (e.g. `examples/` and `recipes/` of an ai-dynamo/dynamo
checkout at a commit you name; nothing is downloaded) that holds a DynamoGraphDeployment, imports it,
and prints how many come in clean (nothing in patches or extraObjects), carried (the rest in patches or
extraObjects), lossy (something carried nowhere) or refused (with the reason), how many had fields
written null (dropped, as Kubernetes drops them), and the JSON pointers carried most often: what the
values file should learn next.
"""

from __future__ import annotations

import collections
import re
import sys
from pathlib import Path

from composer import dgd_import
from composer.errors import InvalidValues

DGD = re.compile(r"^kind: DynamoGraphDeployment\s*$", re.M)


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


def main(dirs: list[str]) -> int:
    files = sorted(
        p for d in dirs for p in Path(d).rglob("*") if p.suffix in (".yaml", ".yml") and DGD.search(p.read_text())
    )
    kinds: collections.Counter[str] = collections.Counter()
    reasons: collections.Counter[str] = collections.Counter()
    carried: collections.Counter[str] = collections.Counter()
    nulls = 0
    for path in files:
        kind, reason, pointers, empty = outcome(path)
        kinds[kind] += 1
        nulls += empty
        if reason:
            reasons[reason] += 1
        carried.update(set(pointers))
    print(f"{len(files)} files with a DynamoGraphDeployment: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    print(f"imported with fields written null (dropped, as Kubernetes drops them): {nulls}")
    print("\nrefused, by reason:")
    for reason, n in reasons.most_common(10):
        print(f"  {n:4}  {reason}")
    print("\ncarried, by pointer (files):")
    for pointer, n in carried.most_common(15):
        print(f"  {n:4}  {pointer}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) if sys.argv[1:] else print(__doc__) or 2)
