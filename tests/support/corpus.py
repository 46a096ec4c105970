"""Values inputs we ship or keep as cases, merged per environment: a corpus to judge schemas by."""

from __future__ import annotations

from pathlib import Path

from composer import load

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "tests" / "cases"


def merged_inputs() -> list[tuple[str, object]]:
    """(name, merged values) of every shipped project and case, per environment, loadable or not."""
    roots = (
        [REPO]
        + sorted(p for p in (CASES / "valid").iterdir() if p.is_dir())
        + sorted(p for p in (CASES / "invalid").iterdir() if p.is_dir())
    )
    out = []
    for root in roots:
        for env in sorted((root / "environments").glob("*.yaml")):
            try:
                data = load.overlay(load.load(root / "values.yaml"), load.load(env)).data
            except Exception:  # noqa: BLE001, S112 - unparsable on purpose
                continue
            out.append((f"{root.name}/{env.stem}", data))
    for recipe in sorted((REPO / "recipes").glob("*/*/*/values.yaml")):
        out.append((str(recipe.parent.relative_to(REPO)), load.load(recipe).data))
    return out
