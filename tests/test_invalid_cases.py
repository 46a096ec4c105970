"""Data-driven bad inputs: each case under tests/cases/invalid/<name>/ holds values.yaml and
environments/, and `stderr`: exactly what `compose generate` must print. Every case must exit 2,
print no traceback, and leave helmfile.d/ as it was. `pytest --update-goldens` rewrites `stderr`."""

import shutil
from pathlib import Path

import pytest

from tests.support.project import REPO, compose

pytestmark = pytest.mark.cli  # each case runs compose as a user does

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


# Every closed mapping of the values file refuses a key it does not know, at its own location,
# also where no case directory above covers it. Each overlay adds `typo: 1` at one level.
LEVELS = {
    "/model": "model: {typo: 1}",
    "/model/decode": "model: {decode: {typo: 1}}",
    "/model/prefill": "model: {disaggregation: true, prefill: {typo: 1}}",
    "/model/deployment": "model: {deployment: {typo: 1}}",
    "/model/modelCache": "model: {modelCache: {pvcName: cache, typo: 1}}",
    "/model/decode/resources": "model: {decode: {resources: {typo: 1}}}",
    "/model/decode/env/0": "model: {decode: {env: [{name: A, value: b, typo: 1}]}}",
    "/model/tolerations/0": "model: {tolerations: [{key: k, operator: Exists, typo: 1}]}",
    "/benchmark": "benchmark: {typo: 1}",
    "/benchmark/config/storage": "benchmark: {config: {storage: {typo: 1}}}",
    "/benchmark/config/sla": "benchmark: {config: {sla: {ttft: 100, typo: 1}}}",
    "/observability": "observability: {typo: 1}",
    "/inferenceGateway": "inferenceGateway: {typo: 1}",
    "/local": "local: {typo: 1}",
    "/patches": "patches: {typo: {}}",
    "/patches/model": "patches: {model: {typo: 1}}",
}


@pytest.mark.parametrize("level", LEVELS, ids=LEVELS)
def test_an_unknown_key_is_refused_at_every_level(level, tmp_path):
    from tests.support.project import make_project

    overlay = f"cluster: {{namespace: llm}}\n{LEVELS[level]}\n"
    root = make_project(tmp_path / "proj", envs={"dev": overlay})
    r = compose("validate", "--env", "dev", cwd=root)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "environments/dev.yaml:2:" in r.stderr and f": {level}/typo: unknown key 'typo'\n" in r.stderr, r.stderr


@pytest.mark.parametrize(
    "field, overlay",
    [
        ("/model/hfTokenSecret", "model: {hfTokenSecret: ../x}"),
        ("/model/modelCache/pvcName", "model: {modelCache: {pvcName: ../../x}}"),
        ("/model/imagePullSecrets/0", "model: {imagePullSecrets: [a/b]}"),
    ],
)
def test_a_name_with_a_path_in_it_is_refused(field, overlay, tmp_path):
    from tests.support.project import make_project

    root = make_project(tmp_path / "proj", envs={"dev": f"cluster: {{namespace: llm}}\n{overlay}\n"})
    r = compose("validate", "--env", "dev", cwd=root)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    (line,) = [x for x in r.stderr.splitlines() if f": {field}: " in x]
    assert ": expected a valid Kubernetes object name, got a string of " in line, r.stderr


@pytest.mark.parametrize("env", ["../../etc/passwd", "bad name", "Dev", "-x"])
def test_an_environment_name_that_is_not_a_file_name_we_made_is_refused(env, project):
    r = compose("validate", "--env", env, cwd=project)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.startswith("error: "), r.stderr
