"""The golden test cases (tests/cases/valid/<name>/: values.yaml, environments/, expected/) as projects."""

import shutil
from pathlib import Path

from composer import project as p
from tests.support.project import REPO

CASES = sorted(d for d in (REPO / "tests" / "cases" / "valid").iterdir() if d.is_dir())


def copy_case(case: Path, dest: Path) -> p.Project:
    """The case's inputs in dest (not its expected/), with the repository's charts."""
    shutil.copytree(case, dest, ignore=shutil.ignore_patterns("expected"))
    (dest / "charts").symlink_to(REPO / "charts")
    return p.Project.at(dest / "values.yaml")


def small_recipes() -> list[str]:
    """The recipes the local runtime runs in CI: the smallest model's."""
    from composer import recipes

    return [x.name for x in recipes.available() if x.name.startswith("qwen3-0.6b/")]
