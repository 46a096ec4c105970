"""Safety rails: a pinned kube context must be current; production and destroy need a yes."""

import pytest
from click.testing import CliRunner

from composer import guard
from composer.cli import main
from tests.support.helmfile_stubs import HELM_PLUGINS_WITH_DIFF, state

pytestmark = pytest.mark.unit


@pytest.fixture
def bench_in_prod(generated_proj):
    prod = generated_proj.root / "environments" / "prod.yaml"
    prod.write_text(prod.read_text() + "benchmark:\n  enabled: true\n")


def kubeconfig(path, current):
    path.write_text(f"apiVersion: v1\nkind: Config\ncurrent-context: {current}\ncontexts: []\n")
    path.chmod(0o600)
    return path


def test_current_context_first_file_that_sets_it_wins(tmp_path):
    a = tmp_path / "a"
    a.write_text("apiVersion: v1\nkind: Config\n")
    b = kubeconfig(tmp_path / "b", "kind-dev")
    c = kubeconfig(tmp_path / "c", "other")
    assert guard.current_context([a, b, c]) == "kind-dev"
    assert guard.current_context([tmp_path / "missing"]) is None
    assert guard.kubeconfig_paths({"KUBECONFIG": f"{a}:{b}"}) == [a, b]


@pytest.fixture
def prod_cluster(tmp_path, monkeypatch):
    def use(current):
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "kubeconfig", current)))

    return use


def test_up_refuses_the_wrong_context_and_names_both(generated_proj, fp, prod_cluster):
    prod_cluster("kind-dev")
    r = CliRunner().invoke(main, ["up", "--env", "prod", "--yes"])
    assert r.exit_code == 1
    assert "environment 'prod' is pinned to kube context 'prod-east', but the current context is 'kind-dev'" in r.output
    assert not fp.calls


@pytest.mark.parametrize("command", [["diff"], ["destroy", "--yes"], ["up", "--yes"], ["bench", "--yes"]])
def test_every_cluster_command_is_guarded(generated_proj, fp, prod_cluster, bench_in_prod, command):
    prod_cluster("kind-dev")
    r = CliRunner().invoke(main, [*command, "--env", "prod"])
    assert r.exit_code == 1 and "pinned to kube context 'prod-east'" in r.output
    assert not fp.calls


def test_explicit_override_goes_ahead(generated_proj, fp, prod_cluster):
    prod_cluster("kind-dev")
    fp.register(["helm", "plugin", "list"], stdout=HELM_PLUGINS_WITH_DIFF)
    fp.register(state("prod") + ["apply", "--suppress-secrets"])
    r = CliRunner().invoke(main, ["up", "--env", "prod", "--yes", "--allow-context-mismatch", "--no-wait"])
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("command", ["up", "bench"])
def test_production_needs_yes_when_not_interactive(generated_proj, fp, prod_cluster, bench_in_prod, command):
    prod_cluster("prod-east")
    r = CliRunner().invoke(main, [command, "--env", "prod"])
    assert r.exit_code == 2
    assert "in production environment 'prod': not a terminal, so pass --yes to confirm" in r.output
    assert not fp.calls


def test_production_bench_goes_ahead_with_yes(generated_proj, fp, prod_cluster, bench_in_prod):
    prod_cluster("prod-east")
    fp.register(["kubectl", fp.any()])
    fp.register(state("prod") + ["--selector", "component=benchmark", "sync"])
    r = CliRunner().invoke(main, ["bench", "--env", "prod", "--yes"])
    assert r.exit_code == 0, r.output
    assert "benchmark Job started" in r.output


def test_production_interactive_no_aborts(generated_proj, fp, prod_cluster, monkeypatch):
    prod_cluster("prod-east")
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    monkeypatch.setattr(guard, "confirm_needed", lambda *a, **k: "Deploy to production?")
    r = CliRunner().invoke(main, ["up", "--env", "prod"], input="n\n")
    assert r.exit_code == 1 and "Aborted" in r.output
    assert not fp.calls


def test_dev_up_needs_no_confirmation(generated_proj, fp):
    fp.register(["helm", "plugin", "list"], stdout=HELM_PLUGINS_WITH_DIFF)
    fp.register(state("dev") + ["apply", "--suppress-secrets"])
    assert CliRunner().invoke(main, ["up", "--env", "dev", "--no-wait"]).exit_code == 0
