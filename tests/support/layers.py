"""The layers of the suite; every test carries exactly one (pyproject.toml registers them).

unit: in-process; starts no process at all (conftest.py fails a unit test that starts one);
sweep: in-process like unit, over hundreds of generated inputs (every chart constraint, generated
broken projects), so it takes a minute where unit takes seconds;
cli: starts processes (compose as a user runs it, git, stand-in scripts), but no helm, helmfile,
kubectl or Dynamo; helm: runs real helm, helmfile or kubectl (also against
tests/support/fakecluster.py); local: runs real Dynamo and AIPerf processes."""

from __future__ import annotations

LAYERS = ("unit", "sweep", "cli", "helm", "local")
IN_PROCESS = ("unit", "sweep")


def layer_marks(item) -> list[str]:
    return sorted({m.name for m in item.iter_markers() if m.name in LAYERS})


def layer(item) -> str | None:
    found = layer_marks(item)
    return found[0] if len(found) == 1 else None


def problems(items) -> list[str]:
    """One line per collected item without exactly one layer mark."""
    out = []
    for item in items:
        found = layer_marks(item)
        if len(found) != 1:
            out.append(f"{item.nodeid}: {'no layer mark' if not found else 'marked ' + ' and '.join(found)}")
    return out
