"""Data-driven bad inputs: each case under tests/cases/invalid/<name>/ holds values.yaml and
environments/, and `stderr`: exactly what `compose generate` must print. Every case must exit 2,
print no traceback, and leave helmfile.d/ as it was. `pytest --update-goldens` rewrites `stderr`."""
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, compose

CASES = sorted(p for p in (Path(__file__).parent / "cases" / "invalid").iterdir() if p.is_dir())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_invalid_case(case, tmp_path, request):
    proj = tmp_path / "proj"
    shutil.copytree(case, proj, ignore=shutil.ignore_patterns("stderr"))
    (proj / "charts").symlink_to(REPO / "charts")
    sentinel = proj / "helmfile.d" / "dev.yaml"
    sentinel.parent.mkdir()
    sentinel.write_text("# left alone\n")

    r = compose("generate", cwd=proj)

    expected = case / "stderr"
    if request.config.getoption("--update-goldens"):
        expected.write_text(r.stderr)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stdout == ""
    assert expected.exists(), f"missing golden {expected}: run pytest --update-goldens and review it"
    assert r.stderr == expected.read_text()
    assert sorted(p.name for p in (proj / "helmfile.d").rglob("*")) == ["dev.yaml"]
    assert sentinel.read_text() == "# left alone\n"
    assert not list(proj.glob(".helmfile.d.*")), "no temp dirs left behind"
