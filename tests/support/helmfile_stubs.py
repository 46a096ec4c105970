"""A generated project and the helm/helmfile answers the process-boundary tests (pytest-subprocess)
share. Registered as a pytest plugin in tests/conftest.py for its fixture."""

import pytest

from composer import project as p
from tests.support.cases import CASES, copy_case

CASE = next(c for c in CASES if c.name == "disagg-kv-sglang")
HELM_PLUGINS_WITH_DIFF = "NAME\tVERSION\tDESCRIPTION\ndiff\t3.9.11\tPreview helm upgrade changes as a diff\n"


@pytest.fixture
def generated_proj(tmp_path, monkeypatch):
    """CASE copied and generated (helmfile.d/ written), the working directory."""
    proj = copy_case(CASE, tmp_path / "proj")
    p.generate(proj)
    monkeypatch.chdir(proj.root)
    return proj


def state(env="dev"):
    """helmfile's argv prefix for one environment's generated state file."""
    return ["helmfile", "--file", f"helmfile.d/{env}.yaml", "--environment", env]
