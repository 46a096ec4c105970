"""No secret value can reach the generated files or the rendered manifests.

compose only ever handles *names* of Secrets (model.hfTokenSecret, model.imagePullSecrets): the
pods get the token from the cluster at run time (envFrom secretRef). Here a recognisable fake
token sits where a careless tool could pick it up (HF_TOKEN and other variables in the
environment, a kubeconfig with a bearer token, a client key and a password), compose generates,
validates, builds and templates every environment, and every file it wrote and everything it
printed is scanned for those values. The values schema is walked to show that no field takes a
credential, only names of Secrets.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from composer import schema
from tests.conftest import make_project
from tests.support.validate import load_docs

TOKEN = "hf_FAKEtokenDoNotLeak0123456789abcdEF"
KUBE_TOKEN = "kube-bearer-FAKE-9f8e7d6c5b4a"
KUBE_PASSWORD = "kube-password-FAKE-1a2b3c"
KUBE_KEY = "LS0tLS1CRUdJTiBGQUtFIEtFWS0tLS0tFAKEKEYDATA"
SECRETS = (TOKEN, KUBE_TOKEN, KUBE_PASSWORD, KUBE_KEY)

VALUES = """\
dynamoNamespace: qwen
model:
  name: Qwen/Qwen3-0.6B
  backend:
    type: vllm
  disaggregation: true
  routingPolicy: kv
  hfTokenSecret: hf-token
  imagePullSecrets: [ngc-pull, mirror-pull]
  decode:
    extraConfig:
      inline: {max-model-len: 4096}
  prefill:
    replicas: 2
benchmark:
  enabled: true
observability:
  enabled: true
"""
ENVS = {
    "dev": "cluster:\n  kubeContext: dev\n  namespace: llm-dev\n",
    # prod uses its own Secrets (a dotted name is a valid Secret name): the overlay replaces the name and the list
    "prod": ("cluster:\n  kubeContext: prod\n  namespace: llm\n  production: true\n"
             "model:\n  hfTokenSecret: hf-token.prod\n  imagePullSecrets: [ngc-pull-prod]\n"),
}
EXPECTED_NAMES = {"dev": ("hf-token", ["ngc-pull", "mirror-pull"]), "prod": ("hf-token.prod", ["ngc-pull-prod"])}

KUBECONFIG = f"""\
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {{server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}
users:
- name: token-user
  user: {{token: {KUBE_TOKEN}}}
- name: basic-user
  user: {{username: admin, password: {KUBE_PASSWORD}, client-key-data: {KUBE_KEY}}}
contexts:
- name: dev
  context: {{cluster: c, user: token-user}}
- name: prod
  context: {{cluster: c, user: basic-user}}
current-context: dev
"""


@pytest.fixture
def secret_env(tmp_path) -> dict[str, str]:
    kubeconfig = tmp_path / "kube" / "config"
    kubeconfig.parent.mkdir()
    kubeconfig.write_text(KUBECONFIG)
    kubeconfig.chmod(0o600)
    return {**os.environ, "HF_TOKEN": TOKEN, "HUGGING_FACE_HUB_TOKEN": TOKEN, "NGC_API_KEY": KUBE_KEY,
            "KUBECONFIG": str(kubeconfig)}


def compose(root: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "composer", *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_no_secret_value_reaches_generated_files_or_output(tmp_path, secret_env):
    root = make_project(tmp_path / "proj", VALUES, ENVS)
    outputs = {}
    for args in (["validate"], ["generate"], ["generate", "--check"],
                 *(cmd for env in ENVS for cmd in (["build", "--env", env], ["template", "--env", env]))):
        r = compose(root, secret_env, *args)
        assert r.returncode == 0, f"{args}: {r.stderr}"
        outputs[" ".join(args)] = r.stdout + r.stderr

    written = [f for f in (root / "helmfile.d").rglob("*") if f.is_file()]
    assert len(written) >= 2 * len(ENVS)
    for f in written:
        assert leaks(f.read_text(errors="replace")) == [], f"{f} holds a secret value"
    for command, text in outputs.items():
        assert leaks(text) == [], f"`compose {command}` printed a secret value"
    # nothing else appeared in the project either (no cache, no state file with the environment)
    for f in root.rglob("*"):
        if f.is_file() and "charts" not in f.relative_to(root).parts:
            assert leaks(f.read_text(errors="replace")) == [], f


@pytest.mark.parametrize("env", ENVS)
def test_pods_reference_the_secrets_by_name(tmp_path, secret_env, env):
    root = make_project(tmp_path / "proj", VALUES, ENVS)
    r = compose(root, secret_env, "template", "--env", env)
    assert r.returncode == 0, r.stderr
    docs = load_docs(r.stdout)
    assert not [d for d in docs if d["kind"] == "Secret"], "compose never makes Secrets"
    hf_secret, pull_secrets = EXPECTED_NAMES[env]
    [dgd] = [d for d in docs if d["kind"] == "DynamoGraphDeployment"]
    components = dgd["spec"]["components"]
    assert {c["name"] for c in components} == {"frontend", "decode", "prefill"}
    for c in components:
        spec = c["podTemplate"]["spec"]
        assert [s["name"] for s in spec["imagePullSecrets"]] == pull_secrets, c["name"]
        for container in spec["containers"]:
            assert container["envFrom"] == [{"secretRef": {"name": hf_secret}}], c["name"]
            # and no env var carries a literal token
            for var in container.get("env", []):
                assert not re.search(r"TOKEN|PASSWORD|SECRET|API_KEY", var["name"]) or "value" not in var, var
    # other kinds that run pods (the benchmark Job, ModelExpress) get the token only by reference too
    for d in docs:
        for container in _containers(d):
            for var in container.get("env", []):
                assert "value" not in var or not re.search(r"TOKEN|PASSWORD|SECRET|API_KEY", var["name"]), (d["kind"], var)


def _containers(doc: dict) -> list[dict]:
    spec = doc.get("spec") or {}
    template = (spec.get("jobTemplate", {}).get("spec", {}) if doc.get("kind") == "CronJob" else spec).get("template")
    pod = (template or {}).get("spec") or (spec if doc.get("kind") == "Pod" else {})
    return list(pod.get("containers", [])) + list(pod.get("initContainers", []))


# --- the schema ---------------------------------------------------------------------------------

CREDENTIAL = re.compile(r"token|passw|secret|credential|api_?key|auth|bearer|private|cert", re.I)
# Fields whose name sounds like a credential, and the reason each is not one: names of Secrets.
NAME_REFERENCES = {
    "/model/hfTokenSecret": "Name of an existing Secret",
    "/model/imagePullSecrets": "Names of existing image pull Secrets",
}
# Where the schema takes free-form content (any keys, any objects, or any value). A credential could
# be pasted there; each is a Kubernetes or engine structure, listed so that a new one is noticed and
# reviewed. Patches (per component) can change any rendered field, by design.
FREE_FORM = {
    "/model/frontend/resources/requests", "/model/frontend/resources/limits",
    "/model/decode/resources/requests", "/model/decode/resources/limits",
    "/model/prefill/resources/requests", "/model/prefill/resources/limits",
    "/model/decode/env/*/valueFrom", "/model/prefill/env/*/valueFrom",
    "/model/decode/extraConfig/inline", "/model/prefill/extraConfig/inline",
    "/model/nodeSelector",
    "/patches/<component>/strategicMergePatches/*", "/patches/<component>/strategicMergePatches/*/metadata",
    "/patches/<component>/jsonPatches/*/patch/*/value",
}


def walk(node: dict, path: str = ""):
    yield path, node
    for key, sub in node.get("properties", {}).items():
        yield from walk(sub, f"{path}/{key}")
    if isinstance(node.get("items"), dict):
        yield from walk(node["items"], f"{path}/*")


def test_schema_has_no_field_for_a_credential_only_secret_names():
    nodes = dict(walk(schema.values_schema()))
    sounding = {path for path in nodes if CREDENTIAL.search(path.rsplit("/", 1)[-1])}
    assert sounding == set(NAME_REFERENCES)
    for path, description in NAME_REFERENCES.items():
        node = nodes[path]
        assert node["description"].startswith(description)
        names = node["items"] if node.get("type") == "array" else node
        assert names["type"] == "string" and names["pattern"] == schema.DNS1123_SUBDOMAIN, path
        assert not re.fullmatch(names["pattern"], TOKEN), "a token does not even fit the field"


def test_free_form_places_in_the_schema_are_known():
    free = {re.sub(r"^/patches/[^/]+/", "/patches/<component>/", path) for path, node in walk(schema.values_schema())
            if "type" not in node or node["type"] == "object" and node.get("additionalProperties") is not False}
    assert free == FREE_FORM, "a new free-form field: can a credential be pasted there?"


def test_a_token_pasted_into_the_secret_name_is_not_echoed(tmp_path, secret_env):
    root = make_project(tmp_path / "proj", VALUES.replace("hfTokenSecret: hf-token", f"hfTokenSecret: {TOKEN}"), ENVS)
    r = compose(root, secret_env, "validate")
    assert r.returncode == 2
    assert "values.yaml:8:18: /model/hfTokenSecret:" in r.stderr
    assert TOKEN not in r.stderr


def test_a_literal_token_in_an_env_var_is_refused(tmp_path, secret_env):
    values = VALUES.replace("  prefill:\n", f"    env: [{{name: HF_TOKEN, value: {TOKEN}}}]\n  prefill:\n")
    root = make_project(tmp_path / "proj", values, ENVS)
    r = compose(root, secret_env, "generate")
    assert r.returncode == 2, "accepted: " + json.dumps([str(f) for f in (root / "helmfile.d").rglob("*.yaml")
                                                         if TOKEN in f.read_text()])
    assert TOKEN not in r.stderr
