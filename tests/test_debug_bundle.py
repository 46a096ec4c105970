"""`compose debug-bundle`: what goes in (kubectl/helm argv at the process boundary, the local
state), that planted secrets never come out, that failures are recorded and not fatal, and that
members are in a stable order."""

from __future__ import annotations

import base64
import json
import tarfile

import pytest
from click.testing import CliRunner

from composer import bundle, doctor, proc
from composer import project as p
from composer.cli import main
from composer.local import ports
from composer.redact import REDACTED, redact_text, redact_yaml
from tests.support.bundles import read_bundle
from tests.support.doctor_stubs import KUBECTL_VERSION, PLATFORM, PLUGINS
from tests.support.doctor_stubs import register_cluster as doctor_cluster
from tests.support.project import make_project

free_port_block = ports.free_block

HF = "hf_PLANTEDhfTokenValue0123456789"
PLAIN = "PLANTED-plain-api-value"
BEARER = "PLANTEDbearerCredential42"
PASSWORDS = ["PLANTED-pass-in-log", "PLANTED-pass-in-values", "PLANTED-docker-pass"]
STRING_DATA = "PLANTED-string-data"
ARGV_KEY = "PLANTED-argv-key"
SECRETS = [HF, PLAIN, BEARER, STRING_DATA, ARGV_KEY, *PASSWORDS]

VALUES = """dynamoNamespace: demo
model:
  name: Qwen/Qwen3-0.6B
  backend:
    type: vllm
  hfTokenSecret: hf-token-secret
  decode:
    env:  # literal credentials are refused by compose; the cluster side below still plants them
      - name: HF_TOKEN
        valueFrom: {secretKeyRef: {name: hf-token-secret, key: HF_TOKEN}}
      - name: MY_API_TOKEN
        valueFrom: {secretKeyRef: {name: api, key: token}}
"""
DEV = "cluster:\n  kubeContext: dev\n  namespace: llm\n"
LOCAL = "target: local\nlocal:\n  httpPort: {port}\nmodel:\n  backend:\n    type: mocker\n"

CTX = ["kubectl", "--context", "dev"]
PODS = {
    "items": [
        {
            "metadata": {"name": "demo-frontend-7d9", "labels": {"nvidia.com/dynamo-component": "frontend"}},
            "status": {"phase": "Running", "containerStatuses": [{"name": "main", "restartCount": 0}]},
        },
        {
            "metadata": {"name": "demo-decode-5f2", "labels": {"nvidia.com/dynamo-component": "decode"}},
            "status": {"phase": "Running", "containerStatuses": [{"name": "main", "restartCount": 2}]},
        },
    ]
}
DECODE_LOG = (
    f"2026-01-01T00:00:00Z INFO request headers: Authorization: Bearer {BEARER}\n"
    f"2026-01-01T00:00:01Z DEBUG env HF_TOKEN={HF} password={PASSWORDS[0]}\n"
    "2026-01-01T00:00:02Z INFO max_tokens: 16 tokenizer=/models/qwen\n"
)
MODEL_VALUES = f"""dynamoNamespace: demo
model:
  decode:
    env:
    - name: HF_TOKEN
      value: {HF}
    - name: MY_API_TOKEN
      value: {PLAIN}
  hfTokenSecret: hf-token-secret
password: {PASSWORDS[1]}
"""
DOCKER = base64.b64encode(json.dumps({"auths": {"nvcr.io": {"password": PASSWORDS[2]}}}).encode()).decode()
PLATFORM_MANIFEST = f"""---
# Source: dynamo-platform/templates/secret.yaml
apiVersion: v1
kind: Secret
metadata:
  name: docker-imagepullsecret
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: {DOCKER}
stringData:
  config: {STRING_DATA}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: plain
data:
  log-level: info
"""
FORBIDDEN = 'Error from server (Forbidden): events is forbidden: User "dev" cannot list resource "events"\n'


def planted(text: str) -> list[str]:
    needles = SECRETS + [base64.b64encode(s.encode()).decode() for s in SECRETS] + [DOCKER]
    return [n for n in needles if n in text]


@pytest.fixture
def kube_proj(tmp_path, monkeypatch):
    root = make_project(tmp_path / "proj", VALUES, {"dev": DEV})
    p.generate(p.Project.at(root / "values.yaml"))
    monkeypatch.chdir(root)
    (tmp_path / "kubeconfig").write_text("current-context: dev\n")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("helm", "helmfile", "kubectl"):
        (bin_dir / name).write_text("#!/bin/sh\nexit 99\n")
        (bin_dir / name).chmod(0o755)
    monkeypatch.setattr(proc, "search_path", lambda: str(bin_dir))
    return root


def register_cluster(fp):
    fp.register(doctor.helm_version_argv(), stdout="v3.15.3+g3bb50bb\n")
    fp.register(doctor.helmfile_version_argv(), stdout="helmfile version 0.166.0\n")
    fp.register(doctor.helm_plugins_argv(), stdout=PLUGINS)
    fp.register(doctor.kubectl_version_argv(), stdout=KUBECTL_VERSION)
    doctor_cluster(fp)  # compose/doctor.json: everything in place
    dgd = (
        "apiVersion: nvidia.com/v1beta1\nkind: DynamoGraphDeployment\nmetadata: {name: demo}\n"
        "status:\n  state: failed\n  conditions:\n  - type: Ready\n    status: 'False'\n"
    )
    fp.register(CTX + ["-n", "llm", "get", "dgd", "demo", "-o", "yaml"], stdout=dgd)
    fp.register(CTX + ["-n", "llm", "get", "pods", "-o", "wide"], stdout="NAME READY\ndemo-decode-5f2 0/1\n")
    fp.register(
        CTX + ["-n", "llm", "describe", "pods", "-l", "nvidia.com/dynamo-graph-deployment-name=demo"],
        stdout=f"Name: demo-decode-5f2\n  Environment:\n    HF_TOKEN:  {HF}\n    MY_API_TOKEN:  {PLAIN}\n",
    )
    fp.register(CTX + ["-n", "llm", "get", "events", "--sort-by=.lastTimestamp"], returncode=1, stderr=FORBIDDEN)
    fp.register(CTX + ["-n", "dynamo-system", "get", "pods", "-o", "wide"], stdout="NAME READY\noperator 1/1\n")
    for ns in ("dynamo-system", "llm"):
        fp.register(["helm", "list", "-n", ns, "-a", "-o", "yaml", "--kube-context", "dev"], stdout="[]\n")
    fp.register(
        ["helm", "get", "values", "dynamo-platform", "-n", "dynamo-system", "-o", "yaml", "--kube-context", "dev"],
        stdout="dynamo-operator: {}\n",
    )
    fp.register(
        ["helm", "get", "manifest", "dynamo-platform", "-n", "dynamo-system", "--kube-context", "dev"],
        stdout=PLATFORM_MANIFEST,
    )
    fp.register(
        ["helm", "get", "values", "demo-model", "-n", "llm", "-o", "yaml", "--kube-context", "dev"], stdout=MODEL_VALUES
    )
    fp.register(
        ["helm", "get", "manifest", "demo-model", "-n", "llm", "--kube-context", "dev"],
        returncode=1,
        stderr="WARNING: Kubernetes configuration file is group-readable. This is insecure.\n"
        "Error: release: not found\n",
    )
    fp.register(
        CTX + ["-n", "llm", "get", "pods", "-l", "nvidia.com/dynamo-graph-deployment-name=demo", "-o", "json"],
        stdout=json.dumps(PODS),
    )
    logs = ["--all-containers", "--prefix", "--timestamps", "--tail=2000"]
    fp.register(CTX + ["-n", "llm", "logs", "demo-decode-5f2", *logs], stdout=DECODE_LOG)
    fp.register(
        CTX + ["-n", "llm", "logs", "demo-decode-5f2", *logs, "--previous"], stdout=f"panic: token {HF} rejected\n"
    )
    fp.register(CTX + ["-n", "llm", "logs", "demo-frontend-7d9", *logs], stdout="INFO listening on 8000\n")


@pytest.mark.unit
def test_kubernetes_bundle(kube_proj, fp, tmp_path):
    register_cluster(fp)
    out = tmp_path / "bundle.tar.gz"
    r = CliRunner().invoke(main, ["debug-bundle", "--env", "dev", "--output", str(out)])
    assert r.exit_code == 0, r.output
    assert "2 of " in r.output and "cluster/events.txt: Error from server (Forbidden)" in r.output
    assert "helm/manifest/llm/demo-model.yaml: Error: release: not found" in r.output  # not helm's WARNING
    members = read_bundle(out)
    assert {
        "cluster/dgd.yaml",
        "cluster/pods.txt",
        "cluster/pods-describe.txt",
        "cluster/platform-pods.txt",
        "cluster/dgd-pods.json",
        "logs/decode/demo-decode-5f2.log",
        "logs/decode/demo-decode-5f2.previous.log",
        "logs/frontend/demo-frontend-7d9.log",
        "helm/list-llm.yaml",
        "helm/list-dynamo-system.yaml",
        "helm/values/llm/demo-model.yaml",
        "helm/values/dynamo-system/dynamo-platform.yaml",
        "helm/manifest/dynamo-system/dynamo-platform.yaml",
        "compose/explain.json",
        "compose/doctor.json",
        "compose/helmfile.d/dev.yaml",
        "compose/helmfile.d/values/dev/demo-model.yaml",
        "compose/inputs/values.yaml",
        "compose/inputs/environments/dev.yaml",
        "manifest.json",
    } <= set(members)
    assert "state: failed" in members["cluster/dgd.yaml"]
    assert json.loads(members["compose/explain.json"])["deployment"]["name"] == "demo"
    assert json.loads(members["compose/doctor.json"])["ok"] is True
    # Failures are recorded with their stderr, and the rest of the bundle is there.
    manifest = json.loads(members["manifest.json"])
    assert manifest["failed"] == ["cluster/events.txt", "helm/manifest/llm/demo-model.yaml"]
    events = next(s for s in manifest["steps"] if s["member"] == "cluster/events.txt")
    assert events["exit"] == 1 and events["error"] == FORBIDDEN.strip()
    assert events["argv"] == CTX + ["-n", "llm", "get", "events", "--sort-by=.lastTimestamp"]
    assert FORBIDDEN.strip() in members["cluster/events.txt.error.txt"]
    assert "cluster/events.txt" not in members
    # No planted secret, plain or base64, in any member; the structure around them is kept.
    leaks = {name: planted(text) for name, text in members.items() if planted(text)}
    assert not leaks
    assert f"Authorization: Bearer {REDACTED}" in members["logs/decode/demo-decode-5f2.log"]
    assert "max_tokens: 16 tokenizer=/models/qwen" in members["logs/decode/demo-decode-5f2.log"]
    platform = members["helm/manifest/dynamo-system/dynamo-platform.yaml"]
    assert f".dockerconfigjson: {REDACTED}" in platform and "log-level: info" in platform
    model = members["helm/values/llm/demo-model.yaml"]
    assert "name: MY_API_TOKEN" in model and "hfTokenSecret: hf-token-secret" in model
    assert f"MY_API_TOKEN:  {REDACTED}" in members["cluster/pods-describe.txt"]


@pytest.mark.unit
def test_doctor_failure_inside_the_bundle_is_its_result_not_an_error(kube_proj, fp, tmp_path):
    register_cluster(fp)
    out = tmp_path / "b.tar.gz"
    assert CliRunner().invoke(main, ["debug-bundle", "--env", "dev", "--output", str(out)]).exit_code == 0
    result = json.loads(read_bundle(out)["compose/doctor.json"])
    assert {c["name"]: c["status"] for c in result["checks"]}["Dynamo CRDs"] == "ok"


@pytest.mark.unit
def test_missing_kubectl_is_recorded_not_fatal(kube_proj, fp, tmp_path):
    (tmp_path / "bin" / "kubectl").unlink()
    fp.register(doctor.helm_version_argv(), stdout="v3.15.3\n")
    fp.register(doctor.helmfile_version_argv(), stdout="helmfile version 0.166.0\n")
    fp.register(doctor.helm_plugins_argv(), stdout=PLUGINS)
    fp.register(doctor.platform_argv("dev", "dynamo-system"), stdout=PLATFORM)
    fp.register([fp.any()], occurrences=20)  # helm list/get: answer anything
    out = tmp_path / "b.tar.gz"
    r = CliRunner().invoke(main, ["debug-bundle", "--env", "dev", "--output", str(out)])
    assert r.exit_code == 0, r.output
    members = read_bundle(out)
    manifest = json.loads(members["manifest.json"])
    dgd = next(s for s in manifest["steps"] if s["member"] == "cluster/dgd.yaml")
    assert dgd["exit"] is None and "kubectl not found" in dgd["error"]
    assert "exit: not run" in members["cluster/dgd.yaml.error.txt"]


@pytest.mark.helm
def test_local_bundle(tmp_path, monkeypatch):
    """Real helmfile renders the DGD; the state dir is planted with a log and argv holding secrets."""
    port = free_port_block(2)
    root = make_project(tmp_path / "proj", VALUES, {"local": LOCAL.format(port=port)})
    p.generate(p.Project.at(root / "values.yaml"))  # as `compose up` leaves it
    monkeypatch.chdir(root)
    state_dir = root / ".compose" / "local" / "local"
    (state_dir / "logs").mkdir(parents=True)
    (state_dir / "logs" / "decode-0.log").write_text(DECODE_LOG)
    (state_dir / "logs" / "frontend-0.log").write_text("INFO ready\n")
    dead = proc.spawn(["true"], log=tmp_path / "true.log")
    dead.wait()
    state = {
        "version": 1,
        "model": "Qwen/Qwen3-0.6B",
        "url": f"http://127.0.0.1:{port}",
        "ready_seconds": 1.0,
        "processes": [
            {
                "name": "decode-0",
                "component": "decode",
                "role": "worker",
                "pid": dead.pid,
                "start_ticks": 1,
                "argv": ["python3", "-m", "dynamo.mocker", "--api-key", ARGV_KEY],
                "ports": [port + 1],
                "log": str(state_dir / "logs" / "decode-0.log"),
            }
        ],
    }
    (state_dir / "state.json").write_text(json.dumps(state))
    out = tmp_path / "local.tar.gz"
    r = CliRunner().invoke(main, ["debug-bundle", "--env", "local", "--output", str(out)])
    assert r.exit_code == 0, r.output
    members = read_bundle(out)
    assert {
        "local/state.json",
        "local/status.json",
        "local/logs/decode-0.log",
        "local/logs/frontend-0.log",
        "local/rendered.yaml",
        "compose/explain.json",
        "compose/doctor.json",
        "compose/helmfile.d/local.yaml",
        "manifest.json",
    } <= set(members)
    assert "kind: DynamoGraphDeployment" in members["local/rendered.yaml"]
    assert json.loads(members["local/state.json"])["processes"][0]["argv"][-1] == REDACTED
    assert json.loads(members["local/status.json"])["processes"][0]["alive"] is False
    assert json.loads(members["manifest.json"])["failed"] == []
    assert "is up to date" in members["compose/generate-check.diff"]
    assert not {name: planted(text) for name, text in members.items() if planted(text)}


@pytest.mark.helm
def test_local_render_failure_is_recorded(tmp_path, monkeypatch):
    root = make_project(tmp_path / "proj", VALUES, {"local": LOCAL.format(port=free_port_block(2))})
    monkeypatch.chdir(root)
    monkeypatch.setattr("composer.local.target.rendered", _fail)
    out = tmp_path / "b.tar.gz"
    r = CliRunner().invoke(main, ["debug-bundle", "--env", "local", "--output", str(out)])
    assert r.exit_code == 0, r.output
    members = read_bundle(out)
    assert "rendering the model chart failed (exit 1):\nError: boom" in members["local/rendered.yaml.error.txt"]
    assert "local/state.txt" in members  # nothing runs


def _fail(*_a, **_k):
    from composer.errors import ComposeError

    raise ComposeError("rendering the model chart failed (exit 1):\nError: boom")


@pytest.mark.unit
def test_members_are_sorted_and_default_name(tmp_path):
    b = bundle.Bundle()
    for name in ("z.txt", "a/b.txt", "m.json"):
        b.add(name, "{}" if name.endswith(".json") else "x")
    result = bundle.write(b, tmp_path / "x.tar.gz", env="dev")
    with tarfile.open(result["path"]) as tar:
        assert tar.getnames() == ["x/a/b.txt", "x/m.json", "x/manifest.json", "x/z.txt"]
    assert bundle.default_output("dev").name.startswith("compose-debug-dev-")


@pytest.mark.unit
@pytest.mark.parametrize(
    "text, kept",
    [
        ("max_tokens: 16\ntokenizer: /m\nkv_bytes_per_token: None\n", True),
        ("hfTokenSecret: hf-token-secret\nsecretName: x\n", True),
        ("token: abc123\n", False),
        ('{"api_key": "abc123"}', False),
        ("curl https://user:abc123@example.com/x", False),
        ("--hf-token abc123 --model m", False),
        ("Authorization: Basic abc123==", False),
        (
            "-      - name: MY_API_TOKEN\n-        value: abc123\n"
            "+      - name: MY_API_TOKEN\n+        value: abc1234\n",
            False,
        ),
    ],
)
def test_text_rules(text, kept):
    assert (redact_text(text) == text) is kept
    if not kept:
        assert "abc123" not in redact_text(text) and REDACTED in redact_text(text)


@pytest.mark.unit
def test_unparsable_yaml_with_a_secret_is_dropped():
    text = "kind: Secret\ndata:\n  x: [unclosed\n"
    assert redact_yaml(text).startswith(REDACTED)


@pytest.mark.unit
@pytest.mark.parametrize(
    "credential",
    [
        "AKIAFAKEDONOTLEAK012",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWtlIn0.FAKEsignatureDoNotLeak01",
        "ghp_FAKEgithubTokenDoNotLeak0123456789ab",
        "nvapi-FAKE0123456789abcdefghijklmn",
        "-----BEGIN PRIVATE KEY-----\nMIIFAKE\n-----END PRIVATE KEY-----",
    ],
)
def test_every_credential_format_validation_knows_is_redacted(credential):
    """The bundle redacts what `compose validate` refuses: one detector (composer.secrets)."""
    from composer import secrets

    log = f"2026-01-01T00:00:00Z INFO loaded {credential} from the environment\n"
    assert secrets.token_kind(credential)
    assert credential not in redact_text(log) and REDACTED in redact_text(log)
    assert credential not in redact_yaml(f"data:\n  note: {json.dumps(credential)}\n")
