"""The three layers of the suite; every test carries exactly one (pyproject.toml registers them).

unit: in-process, no helm/helmfile/kubectl/Dynamo process; helm: runs real helm, helmfile or kubectl
(also against tests/support/fakecluster.py); local: runs real Dynamo and AIPerf processes."""

from __future__ import annotations

LAYERS = ("unit", "helm", "local")


def problems(items) -> list[str]:
    """One line per collected item without exactly one layer mark."""
    out = []
    for item in items:
        found = sorted({m.name for m in item.iter_markers() if m.name in LAYERS})
        if len(found) != 1:
            out.append(f"{item.nodeid}: {'no layer mark' if not found else 'marked ' + ' and '.join(found)}")
    return out
