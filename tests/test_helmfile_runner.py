"""The process boundary, faked with pytest-subprocess: which helmfile argv each command runs,
and how helmfile's exit codes and known failures reach the user."""

import json
import signal

import pytest
from click.testing import CliRunner

from composer import helmfile, kube
from composer import project as p
from composer.cli import main
from tests.support.helmfile_stubs import HELM_PLUGINS_WITH_DIFF, state
from tests.support.project import outside_venv


def cli(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


@pytest.mark.unit
def test_argv_builders_are_plain_lists():
    assert helmfile.diff("helmfile.d/dev.yaml", "dev") == [
        "helmfile",
        "--file",
        "helmfile.d/dev.yaml",
        "--environment",
        "dev",
        "diff",
        "--detailed-exitcode",
        "--suppress-secrets",
        "--context",
        "3",
    ]
    assert helmfile.apply("f", "e", have_helm_diff=True)[-2:] == ["apply", "--suppress-secrets"]
    assert helmfile.apply("f", "e", have_helm_diff=False)[-1] == "sync"
    assert helmfile.verb(helmfile.template("f", "dev")) == "template"


@pytest.mark.unit
def test_up_runs_apply_when_helm_diff_is_installed(generated_proj, fp):
    fp.register(["helm", "plugin", "list"], stdout=HELM_PLUGINS_WITH_DIFF)
    fp.register(state() + ["apply", "--suppress-secrets"], stdout="UPDATED RELEASES:\n")
    dep, plan = p.load_deployment(generated_proj, "dev"), p.plans(generated_proj, ["dev"])["dev"]
    ready = {"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "AllReady", "message": ""}]}}
    fp.register(kube.dgd_argv(plan.kube_context, dep.namespace, dep.name), stdout=json.dumps(ready))
    r = cli("up", "--env", "dev")
    assert r.exit_code == 0, r.output
    assert fp.call_count(state() + ["apply", "--suppress-secrets"]) == 1
    assert (generated_proj.output / "dev.yaml").is_file(), "up regenerates first"
    assert plan.kube_context is None  # no context pinned: the port-forward uses the current one
    assert r.output.splitlines()[-3:] == [
        "ready in 0 s: DynamoGraphDeployment sg-disagg reports Ready",
        "endpoint: http://sg-disagg-frontend.llm.svc.cluster.local:8000 (Service sg-disagg-frontend, port 8000, "
        "inside the cluster)",
        "from this machine: kubectl -n llm port-forward svc/sg-disagg-frontend 8000:8000   # then "
        "http://localhost:8000/v1/models",
    ]


@pytest.mark.unit
def test_up_falls_back_to_sync_without_helm_diff(generated_proj, fp):
    fp.register(["helm", "plugin", "list"], stdout="NAME\tVERSION\tDESCRIPTION\n")
    fp.register(state() + ["sync"])
    r = cli("up", "--env", "dev", "--no-wait")
    assert r.exit_code == 0
    assert "helm-diff is not installed: running `helmfile sync`" in r.output


@pytest.mark.unit
@pytest.mark.parametrize("rc, exit_code", [(0, 0), (2, 3), (1, 1), (3, 4)])
def test_diff_exit_codes(generated_proj, fp, rc, exit_code):
    fp.register(["helm", "plugin", "list"], stdout=HELM_PLUGINS_WITH_DIFF)
    fp.register(state() + ["diff", "--detailed-exitcode", "--suppress-secrets", "--context", "3"], returncode=rc)
    assert cli("diff", "--env", "dev").exit_code == exit_code


@pytest.mark.unit
def test_diff_without_helm_diff_says_how_to_install_it(generated_proj, fp):
    fp.register(["helm", "plugin", "list"], stdout="NAME\tVERSION\tDESCRIPTION\n")
    r = cli("diff", "--env", "dev")
    assert r.exit_code == 1
    assert r.output == f"error: compose diff needs the helm-diff plugin: {helmfile.HELM_DIFF_INSTALL}\n"


@pytest.mark.unit
@pytest.mark.parametrize(
    "stderr, fix",
    [
        ('Error: unknown command "diff" for "helm"', "the helm-diff plugin is missing"),
        ('Error: Kubernetes cluster unreachable: Get "http://localhost:8080/version"', "no cluster reachable"),
        ("Error: repo nvidia-dynamo not found", "a chart repository is unreachable"),
    ],
)
def test_known_failures_get_a_fix(generated_proj, fp, stderr, fix):
    fp.register(["helm", "plugin", "list"], stdout=HELM_PLUGINS_WITH_DIFF)
    fp.register(state() + ["apply", "--suppress-secrets"], returncode=1, stderr=stderr + "\n")
    r = cli("up", "--env", "dev")
    assert r.exit_code == 1
    assert f"error: helmfile apply failed (exit 1): {fix}" in r.output


@pytest.mark.unit
def test_helmfile_killed_by_a_signal(generated_proj, fp):
    fp.register(["helm", "plugin", "list"], stdout=HELM_PLUGINS_WITH_DIFF)
    fp.register(state() + ["status"], returncode=-signal.SIGKILL)
    r = cli("status", "--env", "dev")
    assert r.exit_code == 1
    assert "helmfile was killed by signal 9 (SIGKILL)" in r.output


@pytest.mark.unit
def test_status_argv(generated_proj, fp):
    fp.register(state("prod") + ["status"], stdout="NAME  STATUS\n")
    assert cli("status", "--env", "prod").exit_code == 0


@pytest.mark.unit
def test_destroy_needs_confirmation_when_not_a_terminal(generated_proj, fp):
    r = cli("destroy", "--env", "dev")
    assert r.exit_code == 2
    assert r.output.endswith(
        "destroy dynamo-system/dynamo-platform, llm/sg-disagg-model in environment 'dev': "
        "not a terminal, so pass --yes to confirm\n"
    )
    assert fp.call_count(state() + ["destroy"]) == 0


@pytest.mark.unit
def test_destroy_with_yes(generated_proj, fp):
    fp.register(state() + ["destroy"])
    assert cli("destroy", "--env", "dev", "--yes").exit_code == 0
    assert fp.call_count(state() + ["destroy"]) == 1


@pytest.mark.cli
def test_ctrl_c_stops_helmfile_and_exits_130(generated_proj, tmp_path):
    """A real compose process and a stand-in helmfile that hangs: SIGINT reaches compose, which
    stops its child and exits 130, leaving no process behind."""
    import os
    import subprocess
    import time

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pid_file = tmp_path / "helmfile.pid"
    (bin_dir / "helmfile").write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    (bin_dir / "helm").write_text(f"#!/bin/sh\nprintf '{HELM_PLUGINS_WITH_DIFF}'\n")
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    python, env = outside_venv(bin_dir)
    compose = subprocess.Popen(
        [python, "-m", "composer", "up", "--env", "dev"],
        cwd=generated_proj.root,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline, "stand-in helmfile never started"
        time.sleep(0.05)
    child = int(pid_file.read_text())
    compose.send_signal(signal.SIGINT)
    _, err = compose.communicate(timeout=20)
    assert compose.returncode == 130, err
    assert "interrupted: stopped helmfile" in err
    assert "Traceback" not in err
    time.sleep(0.1)
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


@pytest.mark.unit
def test_missing_helmfile_is_one_line_with_the_fix(generated_proj, monkeypatch, tmp_path):
    import composer.proc as proc

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(proc.sys, "executable", str(tmp_path / "nowhere" / "python"))
    r = cli("status", "--env", "dev")
    assert r.exit_code == 127
    assert r.output == (
        "error: helmfile not found: run ./scripts/setup (installs helmfile 0.166.0 into "
        ".venv/bin) or put helmfile on PATH\n"
    )


@pytest.mark.unit
def test_arguments_after_double_dash_go_to_helmfile(generated_proj, fp):
    fp.register(["helm", "plugin", "list"], stdout=HELM_PLUGINS_WITH_DIFF)
    argv = state() + ["apply", "--suppress-secrets", "--args", "--disable-openapi-validation"]
    fp.register(argv)
    r = cli("up", "--env", "dev", "--no-wait", "--", "--args", "--disable-openapi-validation")
    assert r.exit_code == 0, r.output
    assert fp.call_count(argv) == 1
