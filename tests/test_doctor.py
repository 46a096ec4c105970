"""`compose doctor` at the process boundary: which read-only helm/helmfile/kubectl commands it
runs, what each answer makes of a check, and that every miss comes with its fix."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from composer import doctor as d
from composer import dynamo, proc
from composer.cli import main
from composer.local import ports
from tests.support.doctor_stubs import KUBECTL_VERSION, PLATFORM, PLUGINS, register_cluster
from tests.support.project import make_project

VALUES = """dynamoNamespace: demo
model:
  name: Qwen/Qwen3-0.6B
  backend:
    type: vllm
  hfTokenSecret: hf-token-secret
"""
DEV = "cluster:\n  kubeContext: dev\n  namespace: llm\n"
EXISTING = "cluster:\n  kubeContext: dev\n  namespace: llm\n  createNamespace: false\nplatform:\n  install: false\n"
LOCAL = "target: local\nlocal:\n  httpPort: {port}\nmodel:\n  backend:\n    type: mocker\n  hfTokenSecret: null\n"
CRD_NOT_FOUND = (
    "Error from server (NotFound): customresourcedefinitions.apiextensions.k8s.io "
    '"dynamographdeployments.nvidia.com" not found\n'
)


@pytest.fixture
def tools(tmp_path, monkeypatch):
    """Stand-in helm/helmfile/kubectl on a private search path (pytest-subprocess answers for
    them): the checks never depend on what this machine has installed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()

    def install(*names):
        for name in names:
            (bin_dir / name).write_text("#!/bin/sh\nexit 99\n")
            (bin_dir / name).chmod(0o755)

    install("helm", "helmfile", "kubectl")
    monkeypatch.setattr(proc, "search_path", lambda: str(bin_dir))
    monkeypatch.setenv("COMPOSE_VENVS", str(tmp_path / "no-venvs"))
    return bin_dir


@pytest.fixture
def proj(tmp_path, monkeypatch):
    root = make_project(
        tmp_path / "proj", VALUES, {"dev": DEV, "existing": EXISTING, "local": LOCAL.format(port=free_port_block(3))}
    )
    monkeypatch.chdir(root)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\ncurrent-context: dev\n")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    return root


free_port_block = ports.free_block


def register_tools(fp, *, plugins=PLUGINS):
    fp.keep_last_process(True)  # some tests run doctor twice
    fp.register(d.helm_version_argv(), stdout="v3.15.3+g3bb50bb\n")
    fp.register(d.helmfile_version_argv(), stdout="helmfile version 0.166.0\n")
    fp.register(d.helm_plugins_argv(), stdout=plugins)
    fp.register(d.kubectl_version_argv(), stdout=KUBECTL_VERSION)


def doctor(*args):
    r = CliRunner().invoke(main, ["doctor", *args, "-o", "json"])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    result = json.loads(r.stdout)
    return r.exit_code, {c["name"]: c for c in result["checks"]}, result


@pytest.mark.unit
def test_argv_are_read_only_and_pinned_to_the_environment_context():
    assert d.crd_argv("dev") == [
        "kubectl",
        "--context",
        "dev",
        "get",
        "crd",
        "dynamographdeployments.nvidia.com",
        "-o",
        "json",
        "--request-timeout=10s",
    ]
    assert d.platform_argv("dev", "dynamo-system") == [
        "helm",
        "list",
        "-n",
        "dynamo-system",
        "--all",
        "--filter",
        "^dynamo-platform$",
        "-o",
        "json",
        "--kube-context",
        "dev",
    ]
    assert d.namespace_argv(None, "llm") == [
        "kubectl",
        "get",
        "namespace",
        "llm",
        "-o",
        "name",
        "--request-timeout=10s",
    ]
    secret = d.secret_keys_argv("dev", "llm", "hf")
    assert secret[:7] == ["kubectl", "--context", "dev", "-n", "llm", "get", "secret"]
    assert "range $k, $v := .data" in secret[-2] and "$v}}" not in secret[-2]  # key names, never values


@pytest.mark.unit
def test_everything_in_place_exits_0(proj, tools, fp):
    register_tools(fp)
    register_cluster(fp)
    code, checks, result = doctor("--env", "dev")
    assert code == 0, checks
    assert result["ok"] and result["summary"] == {"ok": 10, "failed": 0, "skipped": 0}
    assert checks["helm"]["detail"] == "3.15.3"
    assert checks["kubectl"]["detail"] == "1.31.2"
    assert checks["helm-diff plugin"]["detail"] == "diff 3.9.11"
    assert checks["Dynamo CRDs"]["detail"] == "dynamographdeployments.nvidia.com serves v1alpha1, v1beta1"
    assert checks["platform release"]["detail"] == "dynamo-system/dynamo-platform deployed (chart 1.4.0)"
    assert checks["HF token Secret"]["detail"] == "llm/hf-token-secret has HF_TOKEN"
    text = CliRunner().invoke(main, ["doctor", "--env", "dev"])
    assert text.exit_code == 0 and "10 ok, 0 failed, 0 skipped" in text.output


@pytest.mark.unit
def test_what_compose_up_would_create_is_not_a_failure(proj, tools, fp):
    """platform.install and createNamespace on: a missing platform, CRD and namespace are made by `up`."""
    register_tools(fp)
    fp.register(d.crd_argv("dev"), returncode=1, stderr=CRD_NOT_FOUND)
    fp.register(d.platform_argv("dev", "dynamo-system"), stdout="[]\n")
    fp.register(
        d.namespace_argv("dev", "llm"),
        returncode=1,
        stderr='Error from server (NotFound): namespaces "llm" not found\n',
    )
    fp.register(
        d.secret_keys_argv("dev", "llm", "hf-token-secret"),
        returncode=1,
        stderr='Error from server (NotFound): secrets "hf-token-secret" not found\n',
    )
    code, checks, _ = doctor("--env", "dev")
    assert code == 1  # the Secret compose cannot make
    assert [n for n, c in checks.items() if c["status"] != "ok"] == ["HF token Secret"]
    assert "`compose up` installs it" in checks["platform release"]["detail"]
    assert "helm creates it" in checks["namespace"]["detail"]
    assert checks["HF token Secret"]["fix"] == (
        "kubectl -n llm create secret generic hf-token-secret --from-literal=HF_TOKEN=<your Hugging Face token>"
    )


@pytest.mark.unit
def test_an_existing_platform_must_be_there(proj, tools, fp):
    register_tools(fp, plugins="NAME\tVERSION\tDESCRIPTION\n")
    fp.register(d.crd_argv("dev"), returncode=1, stderr=CRD_NOT_FOUND)
    fp.register(d.platform_argv("dev", "dynamo-system"), stdout=PLATFORM.replace('"deployed"', '"failed"'))
    fp.register(
        d.namespace_argv("dev", "llm"),
        returncode=1,
        stderr='Error from server (NotFound): namespaces "llm" not found\n',
    )
    fp.register(d.secret_keys_argv("dev", "llm", "hf-token-secret"), stdout="token\n")
    code, checks, result = doctor("--env", "existing")
    assert code == 1
    failed = {n: c["fix"] for n, c in checks.items() if c["status"] == "failed"}
    assert set(failed) == {"helm-diff plugin", "Dynamo CRDs", "platform release", "namespace", "HF token Secret"}
    assert failed["helm-diff plugin"].startswith("helm plugin install https://github.com/databus23/helm-diff")
    assert "set platform.install: true" in failed["Dynamo CRDs"]
    assert failed["platform release"].startswith("helm history dynamo-platform -n dynamo-system")
    assert failed["namespace"].startswith("kubectl create namespace llm")
    assert "has no key HF_TOKEN (keys: token)" in checks["HF token Secret"]["detail"]
    assert all(c["fix"] for c in result["checks"] if c["status"] != "ok")


@pytest.mark.unit
def test_old_crd_without_v1beta1_fails():
    done = proc.Completed(
        ("kubectl",), 0, json.dumps({"spec": {"versions": [{"name": "v1alpha1", "served": True}]}}), ""
    )
    check = d.check_crd(done, platform_install=True)
    assert check.status == "failed" and "serves v1alpha1" in check.detail and "upgrade" in check.fix


@pytest.mark.unit
def test_wrong_context_fails_with_the_switch_command(proj, tools, fp, tmp_path, monkeypatch):
    (tmp_path / "kubeconfig").write_text("current-context: kind-local\n")
    register_tools(fp)
    register_cluster(fp)
    code, checks, _ = doctor("--env", "dev")
    assert code == 1
    assert checks["kube context"]["status"] == "failed"
    assert "pins 'dev', the current context is 'kind-local'" in checks["kube context"]["detail"]
    assert checks["kube context"]["fix"] == "kubectl config use-context dev"


REFUSED = (
    'E1127 04:19:45.119301   11373 memcache.go:265] "Unhandled Error" err="dial tcp 10.0.0.1:6443: '
    'connect: connection refused"\nThe connection to the server 10.0.0.1:6443 was refused - did you '
    "specify the right host or port?\n"
)
NO_CONTEXT = 'error: context "dev" does not exist\n'


@pytest.mark.unit
@pytest.mark.parametrize(
    "stderr, said, fix",
    [(REFUSED, "The connection to", "not reachable"), (NO_CONTEXT, 'error: context "dev"', "no such context")],
    ids=["refused", "no-such-context"],
)
def test_unreachable_cluster_is_reported_once(proj, tools, fp, stderr, said, fix):
    register_tools(fp)
    fp.register(d.crd_argv("dev"), returncode=1, stderr=stderr)
    code, checks, result = doctor("--env", "dev")
    assert code == 1
    crd = checks["Dynamo CRDs"]
    assert crd["status"] == "failed"
    assert crd["detail"].startswith(f"`kubectl get crd dynamographdeployments.nvidia.com` failed: {said}")
    assert fix in crd["fix"]
    for name in ("platform release", "namespace", "HF token Secret"):
        assert checks[name]["status"] == "skipped" and checks[name]["fix"]
    assert len(fp.calls) == 5  # 4 tool versions + the CRD: nothing after the first unreachable answer


@pytest.mark.unit
def test_without_kubectl_the_cluster_checks_are_skipped_with_the_fix(proj, tools, fp):
    (tools / "kubectl").unlink()
    register_tools(fp)
    fp.register(d.platform_argv("dev", "dynamo-system"), stdout=PLATFORM)
    code, checks, _ = doctor("--env", "dev")
    assert code == 1
    assert checks["kubectl"]["status"] == "failed"
    assert checks["kubectl"]["fix"] == proc.INSTALL_HINTS["kubectl"]
    for name in ("Dynamo CRDs", "namespace", "HF token Secret"):
        assert checks[name]["status"] == "skipped"
        assert checks[name]["detail"] == "kubectl is not installed"
        assert checks[name]["fix"] == proc.INSTALL_HINTS["kubectl"]
    assert checks["platform release"]["status"] == "ok"  # helm still answers


@pytest.mark.unit
def test_tools_only_without_env(tools, fp, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tools / "helmfile").unlink()
    register_tools(fp)
    code, checks, result = doctor()
    assert code == 1 and result["environment"] is None
    assert list(checks) == ["helm", "helmfile", "helm-diff plugin", "kubectl"]
    assert checks["helmfile"]["status"] == "failed" and "scripts/setup" in checks["helmfile"]["fix"]


@pytest.mark.unit
def test_invalid_values_are_one_failed_check(proj, tools, fp):
    (proj / "environments" / "dev.yaml").write_text("cluster:\n  namespace: 7\n")
    register_tools(fp)
    code, checks, _ = doctor("--env", "dev")
    assert code == 1
    assert checks["values"]["status"] == "failed" and "/cluster/namespace" in checks["values"]["detail"]


@pytest.mark.unit
def test_local_environment(proj, tools, fp, tmp_path, monkeypatch):
    register_tools(fp)
    code, checks, result = doctor("--env", "local")
    assert result["target"] == "local"
    assert list(checks) == ["helm", "helmfile", "values", "ai-dynamo venv", "aiperf venv", "local ports", "disk space"]
    assert checks["ai-dynamo venv"]["status"] == "failed"  # COMPOSE_VENVS points at nothing
    # the project pins no platform.version: compose's default, named in the command to run
    assert checks["ai-dynamo venv"]["fix"].startswith(f"run scripts/install-local-runtime {dynamo.DEFAULT_VERSION} ")
    assert checks["local ports"]["status"] == "ok" and checks["disk space"]["status"] == "ok"
    assert code == 1
    # the venvs in place and a port taken
    for tool, program in ((f"ai-dynamo-{dynamo.DEFAULT_VERSION}", "python"), ("aiperf-0.13.0", "aiperf")):
        path = tmp_path / "no-venvs" / tool / "bin" / program
        path.parent.mkdir(parents=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    port = int(checks["local ports"]["detail"].split("-")[0]) + 1  # the worker's system port
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        code, checks, _ = doctor("--env", "local")
    assert checks["ai-dynamo venv"]["status"] == "ok"
    assert checks["local ports"]["status"] == "failed"
    assert f"port {port} is in use" in checks["local ports"]["detail"]
    assert "local.httpPort" in checks["local ports"]["fix"]
    assert code == 1


@pytest.mark.unit
def test_ports_and_disk_checks():
    assert d.check_ports([32766, 32767, 32768], {}).status == "failed"
    assert d.check_ports([18000, 18001], {18001: "port 18001 is in use by pid 7 (x)"}, ours=[18001]).status == "ok"
    low = d.check_disk([Path("/")], lambda _p: 10 << 20)
    assert low.status == "failed" and "0.0 GiB free at /" in low.detail and low.fix
    assert d.check_disk([Path("/nonexistent/deeper")], lambda _p: 5 << 30).status == "ok"


@pytest.mark.unit
@pytest.mark.parametrize(
    "name, output, found",
    [
        ("helm", "v3.12.3+g3a31588\n", "3.12.3"),
        ("helmfile", "helmfile version 0.150.0\n", "0.150.0"),
        ("kubectl", json.dumps({"clientVersion": {"gitVersion": "v1.29.4"}}), "1.29.4"),
    ],
)
def test_a_tool_older_than_the_minimum_fails_with_where_it_is_and_the_fix(tools, name, output, found):
    check = {"helm": d.check_helm, "helmfile": d.check_helmfile, "kubectl": d.check_kubectl}[name](
        proc.Completed((name,), 0, output, "")
    )
    assert check.status == "failed"
    assert check.detail == f"{found} is older than {d.MINIMUM[name]}, the oldest compose works with ({tools / name})"
    assert check.fix.startswith(proc.INSTALL_HINTS[name]) and ".venv/bin" in check.fix


@pytest.mark.unit
@pytest.mark.parametrize(
    "name, output, detail",
    [
        ("helm", "v3.15.0+gabc\n", "3.15.0 (scripts/setup installs 3.15.3)"),
        ("helm", "v3.16.1+gabc\n", "3.16.1 (scripts/setup installs 3.15.3)"),
        ("helmfile", "helmfile version v1.1.0\n", "1.1.0 (scripts/setup installs 0.166.0)"),
        ("kubectl", json.dumps({"clientVersion": {"gitVersion": "v1.30.0-rc.1"}}), "1.30.0-rc.1"),
        ("helm", "something else\n", "something else (scripts/setup installs 3.15.3)"),  # not called old
    ],
)
def test_the_minimum_and_newer_pass(name, output, detail):
    check = {"helm": d.check_helm, "helmfile": d.check_helmfile, "kubectl": d.check_kubectl}[name](
        proc.Completed((name,), 0, output, "")
    )
    assert (check.status, check.detail) == ("ok", detail)


@pytest.mark.unit
def test_an_old_helm_fails_doctor(tools, fp, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fp.register(d.helm_version_argv(), stdout="v3.14.4+g81c902a\n")
    register_tools(fp)  # the rest; pytest-subprocess answers with the first registration that matches
    code, checks, _ = doctor()
    assert code == 1
    assert checks["helm"]["status"] == "failed" and "3.14.4 is older than 3.15.0" in checks["helm"]["detail"]


@pytest.mark.helm
def test_the_pinned_tools_win_over_older_ones_first_on_path(tmp_path):
    """./scripts/setup pins helm, helmfile and kubectl in the venv's bin directory, the interpreter's:
    compose runs those although older ones come first on PATH (the real CLI in a new process)."""
    from tests.support.project import BIN, compose

    if not all((BIN / tool).exists() for tool in ("helm", "helmfile", "kubectl")):
        pytest.skip("./scripts/setup has not installed the pinned tools")
    old = tmp_path / "old-bin"
    old.mkdir()
    called = tmp_path / "old-tools-called"
    for name, out in (
        ("helm", "v3.10.0+gce66412"),
        ("helmfile", "helmfile version 0.150.0"),
        ("kubectl", '{"clientVersion": {"gitVersion": "v1.25.0"}}'),
    ):
        (old / name).write_text(f"#!/bin/sh\necho {name} >> '{called}'\necho '{out}'\n")
        (old / name).chmod(0o755)
    r = compose("doctor", "-o", "json", cwd=tmp_path, env={"PATH": f"{old}{os.pathsep}{os.environ['PATH']}"})
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    assert {n: checks[n]["detail"] for n in ("helm", "helmfile", "kubectl")} == {
        "helm": "3.15.3",
        "helmfile": "0.166.0",
        "kubectl": "1.30.0",
    }
    assert not called.exists(), called.read_text()
