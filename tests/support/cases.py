"""The golden test cases (tests/cases/valid/<name>/: values.yaml, environments/, expected/) as projects,
and their model release rendered by real helm."""

import json
import shutil
from pathlib import Path

from composer import dynamo, proc
from composer import project as p
from composer.model import Deployment
from tests.support.component_charts import helm_binary
from tests.support.project import REPO
from tests.support.validate import load_docs

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


def render_model(proj: p.Project, env: str = "dev") -> tuple[Deployment, list[dict]]:
    """The deployment of env and what `helm template` renders of its model release."""
    model = p.plans(proj)[env].release("model")
    values = proj.root / "model-values.json"
    values.write_text(json.dumps(model.values))
    (done,) = proc.run_all([[helm_binary(), "template", model.name, str(proj.root / model.chart), "-f", str(values)]])
    assert done.returncode == 0, done.stderr
    return p.load_deployment(proj, env), load_docs(done.stdout)


def dgd_components(docs: list[dict]) -> dict[str, dict]:
    """The rendered DynamoGraphDeployment's components, by name."""
    (dgd,) = [d for d in docs if d["kind"] == dynamo.DGD_KIND]
    return {c["name"]: c for c in dgd["spec"]["components"]}
