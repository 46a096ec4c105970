"""The pre-commit hooks we publish run what they say, with the meaning they say."""

import shlex

import pytest
from ruamel.yaml import YAML

from composer import project as p
from tests.support.cases import CASES, copy_case
from tests.support.project import REPO, compose

HOOKS = {h["id"]: h for h in YAML(typ="safe").load((REPO / ".pre-commit-hooks.yaml").read_text())}


@pytest.mark.unit
def test_hooks_are_well_formed():
    assert set(HOOKS) == {"compose-validate", "compose-generate-check"}
    for hook in HOOKS.values():
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        assert shlex.split(hook["entry"])[0] == "compose"


@pytest.mark.cli
@pytest.mark.parametrize(
    "hook_id, breaks_it",
    [
        ("compose-validate", lambda proj: proj.values_file.write_text("dynamoNamespace: Bad_Name\n")),
        (
            "compose-generate-check",
            lambda proj: proj.values_file.write_text(
                proj.values_file.read_text().replace("replicas: 2", "replicas: 3")
            ),
        ),
    ],
)
def test_hook_passes_on_a_clean_tree_and_fails_when_broken(tmp_path, hook_id, breaks_it):
    proj = copy_case(CASES[0], tmp_path / "proj")
    p.generate(proj)
    args = shlex.split(HOOKS[hook_id]["entry"])[1:]
    assert compose(*args, cwd=proj.root).returncode == 0
    breaks_it(proj)
    assert compose(*args, cwd=proj.root).returncode in (1, 2)
