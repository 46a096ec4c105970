"""composer.manifests runs `helm template` for the releases itself; what it prints must be exactly what
`helmfile template` prints on the same generated files, so that `compose template` and a user's
plain helmfile never disagree. Checked byte for byte with real helm and helmfile, in helmfile's
default and v1 modes, on every golden case and every recipe."""

import os
import shutil
import subprocess

import pytest

from composer import helmfile, manifests, proc
from composer import project as p
from composer import recipes as r
from composer import yaml as composer_yaml
from composer.plan import Release
from tests.support.cases import CASES, copy_case
from tests.support.project import REPO, compose

MODES = {"v0": {}, "v1": {"HELMFILE_V1MODE": "true"}}


def helmfile_template(proj: p.Project, env: str, mode: str) -> str:
    done = subprocess.run(
        helmfile.template(proj.state_file(env), env),
        cwd=proj.root,
        capture_output=True,
        text=True,
        env={**os.environ, **MODES[mode]},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def assert_same_as_helmfile(proj: p.Project, mode: str = "v0") -> None:
    p.generate(proj)
    for env in proj.environments():
        ours = compose("template", "--env", env, cwd=proj.root)
        assert ours.returncode == 0, ours.stderr
        assert ours.stdout == helmfile_template(proj, env, mode), f"environment {env}"


@pytest.mark.helm
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_compose_template_is_what_helmfile_renders(case, mode, tmp_path):
    assert_same_as_helmfile(copy_case(case, tmp_path / "proj"), mode)


@pytest.mark.helm
@pytest.mark.parametrize("name", [x.name for x in r.available()])
def test_recipes_render_as_helmfile_renders_them(name, tmp_path):
    r.scaffold(name, tmp_path / "proj")
    assert_same_as_helmfile(p.Project.at(tmp_path / "proj" / "values.yaml"))


@pytest.mark.helm
def test_one_release_is_what_helmfile_renders_of_it(tmp_path):
    """What the local runtime and export use: one release, without helm's test hooks."""
    proj = copy_case(next(c for c in CASES if c.name == "everything-on"), tmp_path / "proj")
    p.generate(proj)
    (env,) = proj.environments()
    plan = p.plans(proj, [env])[env]
    assert len([x for x in plan.releases if not x.remote]) > 3
    for release in plan.releases:
        if release.remote:
            continue
        argv = helmfile.template_release(proj.state_file(env), env, release.name, skip_tests=True)
        theirs = subprocess.run(argv, cwd=proj.root, capture_output=True, text=True, check=True).stdout
        assert manifests.releases(proj.root, plan, [release.name], skip_tests=True) == {release.name: theirs}
        assert not any(_is_test_hook(d) for d in manifests.docs(proj.root, plan, release.name))
    model = plan.release("model").name
    with_tests = composer_yaml.load_manifests(manifests.releases(proj.root, plan, [model])[model])
    assert any(_is_test_hook(d) for d in with_tests), "the model chart has a helm test to leave out"


def _is_test_hook(doc: dict) -> bool:
    return ((doc["metadata"].get("annotations") or {}).get("helm.sh/hook") or "").startswith("test")


def rel(name: str, *needs: str) -> Release:
    return Release(
        name=name,
        namespace="ns",
        chart=f"charts/{name}",
        version="0.1.0",
        component=name,
        values={},
        needs=tuple(f"ns/{n}" for n in needs),
    )


@pytest.mark.unit
def test_order_puts_a_release_after_what_it_needs_and_keeps_the_listed_order_otherwise():
    releases = [rel("a", "c"), rel("b"), rel("c", "d"), rel("e", "gone"), rel("d")]
    assert [x.name for x in manifests.ordered(releases)] == ["b", "e", "d", "c", "a"]


# -- rendering from a project's own charts ------------------------------------------------------------


@pytest.fixture
def own_charts(tmp_path):
    """The everything-on case with its own copy of charts/ (to edit), generated."""
    proj = copy_case(next(c for c in CASES if c.name == "everything-on"), tmp_path / "proj")
    (proj.root / "charts").unlink()
    shutil.copytree(REPO / "charts", proj.root / "charts")
    p.generate(proj)
    return proj


@pytest.fixture
def helm_runs(monkeypatch):
    """Every `helm template` composer.manifests starts, by release name (the real ones still run)."""
    seen: list[str] = []
    real = proc.run_all

    def spy(argvs, **kw):
        seen.extend(a[2] for a in argvs if a[0] == "helm")
        return real(argvs, **kw)

    monkeypatch.setattr(proc, "run_all", spy)
    return seen


def _plan(proj: p.Project):
    (env,) = proj.environments()
    return p.plans(proj, [env])[env]


@pytest.mark.helm
def test_a_missing_values_file_is_helms_error_to_tell(own_charts, helm_runs):
    plan = _plan(own_charts)
    model = plan.release("model")
    argv = manifests.helm_argv(plan, model)
    (own_charts.root / argv[argv.index("--values") + 1]).unlink()
    with pytest.raises(manifests.RenderFailed, match="no such file"):
        manifests.releases(own_charts.root, plan, [model.name])
    assert helm_runs == [model.name]
