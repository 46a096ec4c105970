"""Real helmfile and helm on generated output, offline: build and template, in helmfile's
default mode and in v1 mode (HELMFILE_V1MODE=true), as compose runs them and as a user would
without compose."""

import subprocess

import pytest

from composer import dynamo
from composer import project as p
from tests.support.cases import CASES, copy_case
from tests.support.project import compose
from tests.support.validate import all_errors, load_docs

MODES = {"v0": {}, "v1": {"HELMFILE_V1MODE": "true"}}


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def generated(request, tmp_path):
    proj = copy_case(request.param, tmp_path / "proj")
    p.generate(proj)
    return proj


@pytest.mark.helm
@pytest.mark.parametrize("mode", MODES)
def test_compose_template_renders_valid_manifests(generated, mode):
    for env in generated.environments():
        r = compose("template", "--env", env, cwd=generated.root, env=MODES[mode])
        assert r.returncode == 0, r.stderr
        docs = load_docs(r.stdout)
        dgds = [d for d in docs if d["kind"] == "DynamoGraphDeployment"]
        assert len(dgds) == 1
        plan = p.plans(generated, [env])[env]
        assert dgds[0]["metadata"]["namespace"] == plan.release("model").namespace
        assert all_errors(docs) == []
        if plan.release("platform"):
            assert (
                "skipped remote release dynamo-system/dynamo-platform "
                f"(nvidia-dynamo/dynamo-platform {plan.release('platform').version})" in r.stderr
            )


@pytest.mark.helm
@pytest.mark.parametrize("mode", MODES)
def test_plain_helmfile_works_without_compose(generated, mode):
    """Nobody is locked in: helmfile -f helmfile.d -e <env> on the committed files."""
    env = dict(__import__("os").environ, **MODES[mode])
    for name in generated.environments():
        listed = subprocess.run(
            ["helmfile", "-f", "helmfile.d", "-e", name, "list", "--output", "json"],
            cwd=generated.root,
            capture_output=True,
            text=True,
            env=env,
        )
        assert listed.returncode == 0, listed.stderr
        plan = p.plans(generated, [name])[name]
        import json

        assert sorted(r["name"] for r in json.loads(listed.stdout)) == sorted(r.name for r in plan.releases)
        rendered = subprocess.run(
            ["helmfile", "-f", "helmfile.d", "-e", name, "-l", "source=local", "template", "--skip-deps"],
            cwd=generated.root,
            capture_output=True,
            text=True,
            env=env,
        )
        assert rendered.returncode == 0, rendered.stderr
        assert any(d["kind"] == "DynamoGraphDeployment" for d in load_docs(rendered.stdout))


@pytest.mark.helm
def test_build_shows_merged_state_with_needs(tmp_path):
    proj = copy_case(next(c for c in CASES if c.name == "disagg-kv-sglang"), tmp_path / "proj")
    r = compose("build", "--env", "prod", cwd=proj.root)
    assert r.returncode == 0, r.stderr
    state = [d for d in load_docs(r.stdout) if "releases" in d][0]
    by_name = {rel["name"]: rel for rel in state["releases"]}
    # helmfile qualifies needs with the kube context when one is pinned
    assert by_name["sg-disagg-model"]["needs"] == ["prod-east/dynamo-system/dynamo-platform"]
    assert by_name["dynamo-platform"]["version"] == dynamo.DEFAULT_VERSION
    assert state["environments"]["prod"]["kubeContext"] == "prod-east"


@pytest.mark.cli
def test_unknown_environment_is_a_usage_error(tmp_path):
    proj = copy_case(CASES[0], tmp_path / "proj")
    r = compose("template", "--env", "staging", cwd=proj.root)
    assert r.returncode == 2
    assert r.stderr == (
        "error: no environment 'staging': environments/staging.yaml does not exist (environments: dev)\n"
    )


@pytest.mark.cli
def test_template_with_only_remote_releases_renders_nothing_and_says_why(tmp_path):
    from tests.support.project import make_project

    values = "dynamoNamespace: x\nmodel:\n  name: a/b\n  backend: {type: vllm}\n  deployment: {create: false}\n"
    proj = make_project(tmp_path / "p", values, {"dev": "cluster: {namespace: n}\n"})
    r = compose("template", "--env", "dev", cwd=proj)
    assert r.returncode == 0, r.stderr
    assert load_docs(r.stdout) == []
    assert "skipped remote release dynamo-system/dynamo-platform" in r.stderr
