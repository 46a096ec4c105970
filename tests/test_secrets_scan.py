"""No secret value can reach the generated files or the rendered manifests.

compose only ever handles *names* of Secrets (model.hfTokenSecret, model.imagePullSecrets): the
pods get the token from the cluster at run time (envFrom secretRef). Here a recognisable fake
token sits where a careless tool could pick it up (HF_TOKEN and other variables in the
environment, a kubeconfig with a bearer token, a client key and a password), compose generates,
validates, builds and templates every environment, and every file it wrote and everything it
printed is scanned for those values. The values schema is walked to show that no field takes a
credential, only names of Secrets.

And the other way round: a credential pasted into the values (any string or key, anywhere) is
refused at its line and column by every command that reads them, before anything is written, and
no message shows it (nor any value: messages say a value's kind and length).
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from composer import schema, secrets
from tests.support.project import REPO, make_project
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
    "prod": (
        "cluster:\n  kubeContext: prod\n  namespace: llm\n  production: true\n"
        "model:\n  hfTokenSecret: hf-token.prod\n  imagePullSecrets: [ngc-pull-prod]\n"
    ),
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
    return {
        **os.environ,
        "HF_TOKEN": TOKEN,
        "HUGGING_FACE_HUB_TOKEN": TOKEN,
        "NGC_API_KEY": KUBE_KEY,
        "KUBECONFIG": str(kubeconfig),
    }


def compose(root: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "composer", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


@pytest.mark.helm
def test_no_secret_value_reaches_generated_files_or_output(tmp_path, secret_env):
    root = make_project(tmp_path / "proj", VALUES, ENVS)
    outputs = {}
    for args in (
        ["validate"],
        ["generate"],
        ["generate", "--check"],
        *(cmd for env in ENVS for cmd in (["build", "--env", env], ["template", "--env", env])),
    ):
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


@pytest.mark.helm
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
                assert "value" not in var or not re.search(r"TOKEN|PASSWORD|SECRET|API_KEY", var["name"]), (
                    d["kind"],
                    var,
                )


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
    "/model/frontend/resources/requests",
    "/model/frontend/resources/limits",
    "/model/decode/resources/requests",
    "/model/decode/resources/limits",
    "/model/prefill/resources/requests",
    "/model/prefill/resources/limits",
    "/model/planner/resources/requests",
    "/model/planner/resources/limits",
    "/model/epp/resources/requests",
    "/model/epp/resources/limits",
    "/model/decode/extraConfig/inline",
    "/model/prefill/extraConfig/inline",
    "/model/nodeSelector",
    # pod metadata and scheduling: string maps, read by the scan of every string like the rest
    *(
        f"/model/{role}/{key}"
        for role in ("frontend", "decode", "prefill", "planner", "epp")
        for key in ("nodeSelector", "labels", "annotations")
    ),
    "/model/deployment/labels",  # the DGD's own metadata, string maps like the pods'
    "/model/configMaps",  # ConfigMaps' data, names to strings: the scan reads every string like the rest
    "/model/deployment/annotations",
    # the Planner's PlannerConfig and the picker's EndpointPickerConfig: Dynamo's, open to its keys
    "/model/planner/config",
    "/model/epp/config",
    "/patches/<component>/strategicMergePatches/*",
    "/patches/<component>/strategicMergePatches/*/metadata",
    "/patches/<component>/jsonPatches/*/patch/*/value",
    # a partial DGD component: any of its fields (the credential scan reads it like the rest)
    "/patches/<component>/components",
    *(
        f"/patches/<component>/components/{name}{under}"
        for name in ("frontend", "decode", "prefill", "planner", "epp")
        for under in ("", "/podTemplate", "/podTemplate/spec", "/podTemplate/spec/containers/*")
    ),
    # whole Kubernetes objects: schema._rule_no_literal_credentials looks at every string and key in them,
    # and _rule_extra_objects refuses a Secret's data
    "/model/extraObjects/*",
    "/model/extraObjects/*/metadata/labels",
    "/model/extraObjects/*/metadata/annotations",
}


def ours() -> dict:
    """The values schema inlined, with Kubernetes' own shapes (io.k8s.*, generated by
    scripts/gen-kube-defs) as closed stubs: test_kubernetes_shapes_hold_only_references looks at those."""
    root = copy.deepcopy(schema.values_schema())
    for name in [n for n in root["$defs"] if n.startswith(KUBE)]:
        root["$defs"][name] = {"type": "object", "description": name, "additionalProperties": False}
    return schema.inlined(root)


KUBE = "io.k8s."
# In Kubernetes' shapes, the fields whose names sound like credentials: each names a Secret, a service
# account token's audience and path, or a certificate file the kubelet writes. None holds the value.
KUBE_SECRET_REFERENCES = {
    "secret",  # volume source / projection: {secretName | name, items}
    "secretName",
    "secretRef",  # EnvFromSource: {name}
    "nodePublishSecretRef",  # CSI: {name}
    "serviceAccountToken",  # projection: {audience, expirationSeconds, path}
    "podCertificate",  # projection: the kubelet's key and certificate paths
    "credentialBundlePath",
    "certificateChainPath",
}
# Free-form places in them: label maps, quantities, int-or-string ports; strings the global scan reads.
KUBE_FREE_FORM = {
    "matchLabels",
    "labels",
    "annotations",
    "limits",
    "requests",
    "port",
    "divisor",
    "sizeLimit",
    "volumeAttributes",
    "storage",
}


@pytest.mark.unit
def test_kubernetes_shapes_hold_only_references():
    defs = {k: v for k, v in schema.values_schema()["$defs"].items() if k.startswith(KUBE)}
    sounding, free = set(), set()
    for node in defs.values():
        for path, sub in walk(node):
            leaf = path.rsplit("/", 1)[-1]
            if leaf and CREDENTIAL.search(leaf):
                sounding.add(leaf)
            if path and ("$ref" not in sub and "type" not in sub and "oneOf" not in sub):
                free.add(leaf)
            if sub.get("type") == "object" and sub.get("additionalProperties") not in (False, None):
                free.add(leaf)
    assert sounding == KUBE_SECRET_REFERENCES
    assert free <= KUBE_FREE_FORM


def walk(node: dict, path: str = ""):
    yield path, node
    for key, sub in node.get("properties", {}).items():
        yield from walk(sub, f"{path}/{key}")
    if isinstance(node.get("items"), dict):
        yield from walk(node["items"], f"{path}/*")


# An env var's valueFrom.secretKeyRef names a Secret and one of its keys: no place for the value.
SECRET_KEY_REFS = {
    f"/model{role}/env/*/valueFrom/secretKeyRef"
    for role in ("", "/frontend", "/decode", "/prefill", "/planner", "/epp")
}


@pytest.mark.unit
def test_schema_has_no_field_for_a_credential_only_secret_names():
    nodes = dict(walk(ours()))
    # a number holds no credential (tune.predicted's tokensPerSecond... are throughputs)
    sounding = {
        path
        for path, node in nodes.items()
        if CREDENTIAL.search(path.rsplit("/", 1)[-1]) and node.get("type") not in ("number", "integer")
    }
    assert sounding == set(NAME_REFERENCES) | SECRET_KEY_REFS
    for path in SECRET_KEY_REFS:
        ref = nodes[path]
        assert ref["additionalProperties"] is False and set(ref["properties"]) == {"name", "key", "optional"}, path
        assert ref["properties"]["name"]["pattern"] == schema.DNS1123_SUBDOMAIN
        assert ref["properties"]["optional"]["type"] == "boolean"
    for path, description in NAME_REFERENCES.items():
        node = nodes[path]
        assert node["description"].startswith(description)
        names = node["items"] if node.get("type") == "array" else node
        assert names["type"] == "string" and names["pattern"] == schema.DNS1123_SUBDOMAIN, path
        assert not re.fullmatch(names["pattern"], TOKEN), "a token does not even fit the field"


@pytest.mark.unit
def test_free_form_places_in_the_schema_are_known():
    nodes = walk(ours())
    free = {
        re.sub(r"^/patches/[^/]+/", "/patches/<component>/", path)
        for path, node in nodes
        if "type" not in node or node["type"] == "object" and node.get("additionalProperties") is not False
    }
    assert free == FREE_FORM, "a new free-form field: can a credential be pasted there?"


@pytest.mark.cli
def test_a_token_pasted_into_the_secret_name_is_not_echoed(tmp_path, secret_env):
    root = make_project(tmp_path / "proj", VALUES.replace("hfTokenSecret: hf-token", f"hfTokenSecret: {TOKEN}"), ENVS)
    r = compose(root, secret_env, "validate")
    assert r.returncode == 2
    assert "values.yaml:8:18: /model/hfTokenSecret:" in r.stderr
    assert TOKEN not in r.stderr


@pytest.mark.cli
def test_a_literal_token_in_an_env_var_is_refused(tmp_path, secret_env):
    values = VALUES.replace("  prefill:\n", f"    env: [{{name: HF_TOKEN, value: {TOKEN}}}]\n  prefill:\n")
    root = make_project(tmp_path / "proj", values, ENVS)
    r = compose(root, secret_env, "generate")
    assert r.returncode == 2, "accepted: " + json.dumps(
        [str(f) for f in (root / "helmfile.d").rglob("*.yaml") if TOKEN in f.read_text()]
    )
    assert TOKEN not in r.stderr


# --- a credential pasted anywhere in the values ---------------------------------------------------
# Fakes in the published formats (none is a real credential); each sits somewhere the schema takes
# any string, under a name that says nothing.
GITHUB = "ghp_FAKEgithubTokenDoNotLeak0123456789ab"
AWS = "AKIAFAKEDONOTLEAK012"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWtlIn0.FAKEsignatureDoNotLeak01"
PLAIN = "plain-FAKE-credential-42"  # no format: refused by the name it sits under
ANY = (TOKEN, GITHUB, AWS, JWT, PLAIN)

BASE = """\
dynamoNamespace: qwen
model:
  name: Qwen/Qwen3-0.6B
  backend:
    type: vllm
  hfTokenSecret: hf-token
  decode:
"""
PLACES = {
    "env-innocuous-name": (f"    env:\n      - name: MODEL_SETTING\n        value: {TOKEN}\n", TOKEN),
    "extra-args": f"    extraArgs: [--enforce-eager, {GITHUB}]\n",
    "extra-args-after-flag": f"    extraArgs: [--api-key, {PLAIN}]\n",
    "extra-args-flag-equals": (f"    extraArgs: [--hf-token={PLAIN}]\n", "--hf-token="),
    "inline-deep": f"    extraConfig:\n      inline:\n        speculative-config:\n          draft: {{auth: [x, {JWT}]}}\n",
    "inline-key": f"    extraConfig:\n      inline:\n        {AWS}: 1\n",
    "inline-credential-name": f"    extraConfig:\n      inline:\n        api-key: {PLAIN}\n",
    "env-credential-name": f"    env: [{{name: HF_TOKEN, value: {PLAIN}}}]\n",
    "annotation": (
        "    replicas: 1\npatches:\n  model:\n    strategicMergePatches:\n"
        "      - apiVersion: nvidia.com/v1beta1\n        kind: DynamoGraphDeployment\n"
        f"        metadata: {{name: qwen, annotations: {{example.com/note: 'see {AWS}'}}}}\n",
        "'see",
    ),
    "extra-object-data": (
        "    replicas: 1\n  extraObjects:\n    - apiVersion: v1\n      kind: ConfigMap\n"
        f"      metadata: {{name: notes}}\n      data: {{note: {GITHUB}}}\n",
        GITHUB,
    ),
    "extra-object-credential-name": (
        "    replicas: 1\n  extraObjects:\n    - apiVersion: v1\n      kind: ConfigMap\n"
        f"      metadata: {{name: notes, annotations: {{example.com/api-key: {PLAIN}}}}}\n",
        PLAIN,
    ),
    "config-map-data": (f"    replicas: 1\n  configMaps:\n    notes:\n      note: {GITHUB}\n", GITHUB),
    "config-map-credential-name": (f"    replicas: 1\n  configMaps:\n    notes:\n      api-key: {PLAIN}\n", PLAIN),
    "url-password": (f"    env: [{{name: PROXY, value: 'http://user:{PLAIN}@proxy:3128'}}]\n", "'http"),
}


def _place(name: str) -> tuple[str, str, str]:
    """(values text, the credential, where its value starts as file:line:column: at the credential,
    or at the marker given beside the text)."""
    text, start = PLACES[name] if isinstance(PLACES[name], tuple) else (PLACES[name], None)
    values = BASE + text
    cred = next(c for c in ANY if c in values)
    at = values.index(cred) if start is None else values.index(start, len(BASE))
    line = values.count("\n", 0, at) + 1
    return values, cred, f"values.yaml:{line}:{at - values.rfind(chr(10), 0, at)}:"


@pytest.mark.cli
@pytest.mark.parametrize("place", PLACES)
def test_a_credential_anywhere_is_refused_located_and_never_shown(place, tmp_path, secret_env):
    values, cred, where = _place(place)
    root = make_project(tmp_path / "proj", values, {"dev": "cluster: {namespace: llm}\n"})
    for args in (
        ["validate"],
        ["generate"],
        ["template", "--env", "dev"],
        ["export", "--env", "dev"],
        ["build", "--env", "dev"],
    ):
        r = compose(root, secret_env, *args)
        assert r.returncode == 2, f"{args} accepted it: {r.stdout[-300:]}"
        assert "Traceback" not in r.stderr
        assert cred not in r.stdout + r.stderr, f"`compose {' '.join(args)}` showed it"
        assert any(line.startswith(where) for line in r.stderr.splitlines()), (where, r.stderr)
        assert "hint: keep it in a Kubernetes Secret" in r.stderr
        assert not [d for d in ("helmfile.d", ".compose", "export") if (root / d).exists()], (
            f"`compose {' '.join(args)}` wrote output"
        )
        assert not [
            f
            for f in root.rglob("*")
            if f.is_file()
            and f.name != "values.yaml"
            and "charts" not in f.relative_to(root).parts
            and cred in f.read_text(errors="replace")
        ]


# Each of these refuses the value for another reason; the message must not show it either.
ECHOES = {
    "type": (f"  decode: {{replicas: {TOKEN}}}\n", "/model/decode/replicas"),
    "enum": (f"  routingPolicy: {TOKEN}\n", "/model/routingPolicy"),
    "pattern": (f"  sharedMemorySize: {TOKEN}\n", "/model/sharedMemorySize"),
    "secret-name": (f"  hfTokenSecret: {GITHUB}\n", "/model/hfTokenSecret"),
    "unknown-key": (f"  {TOKEN}: 1\n", "/model/<credential>"),
    "duplicate-key": (f"  name: {TOKEN}\n", "/model/name"),
}


@pytest.mark.cli
@pytest.mark.parametrize("case", ECHOES)
def test_an_error_never_shows_the_value(case, tmp_path, secret_env):
    text, ptr = ECHOES[case]
    values = "dynamoNamespace: qwen\nmodel:\n  name: Qwen/Qwen3-0.6B\n  backend: {type: vllm}\n" + text
    root = make_project(tmp_path / "proj", values, {"dev": "cluster: {namespace: llm}\n"})
    r = compose(root, secret_env, "validate")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "values.yaml:5:" in r.stderr and f": {ptr}: " in r.stderr, r.stderr
    assert leaks(r.stderr) == [] and GITHUB not in r.stderr, r.stderr


@pytest.mark.cli
def test_ordinary_values_near_a_credential_are_accepted(tmp_path, secret_env):
    """Names with `token` in them, references to Secrets, tokenizer settings, images and paths."""
    values = (
        BASE
        + """\
    env:
      - {name: TOKENIZERS_PARALLELISM, value: "false"}
      - {name: HF_TOKEN, valueFrom: {secretKeyRef: {name: hf-token, key: HF_TOKEN}}}
      - {name: DYN_MAX_TOKENS, value: "8192"}
      - {name: HF_HUB_ENABLE_HF_TRANSFER, value: hf_transfer}
    extraArgs: [--hf-token, $(HF_TOKEN), --max-num-batched-tokens, "8192", --skip-special-tokens,
                --served-model-name, Qwen/Qwen3-0.6B, --api-key=$(HF_TOKEN)]
    extraConfig:
      inline:
        eos_token: "<|im_end|>"
        pad_token: "[PAD]"
        kv_bytes_per_token: 4096
        tokenizer: /opt/models/qwen/tokenizer.json
        download-dir: s3://bucket/models/qwen
        chat-template: "Basic instructions: answer briefly. Bearer of good news."
"""
    )
    root = make_project(tmp_path / "proj", values, {"dev": "cluster: {namespace: llm}\n"})
    r = compose(root, secret_env, "validate")
    assert r.returncode == 0, r.stderr


SHIPPED = [
    REPO / "values.yaml",
    *sorted(REPO.glob("recipes/*/values.yaml")),
    *sorted(REPO.glob("tests/cases/valid/*/values.yaml")),
]


@pytest.mark.unit
@pytest.mark.parametrize("values_file", SHIPPED, ids=[str(p.relative_to(REPO)) for p in SHIPPED])
def test_no_shipped_values_file_looks_like_it_holds_a_credential(values_file):
    files = [values_file, *sorted((values_file.parent / "environments").glob("*.yaml"))]
    assert [f for f in files if list(secrets.find(YAML(typ="safe").load(f.read_text())))] == []


CREDENTIALS = [
    TOKEN,
    GITHUB,
    AWS,
    JWT,
    "github_pat_11FAKE0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH",
    "ASIAFAKEDONOTLEAK999",
    "sk-proj-FAKE0123456789abcdefghijklmnopqrstuv",
    "sk-ant-api03-FAKE0123456789abcdefghijkl",
    "xoxb-123456789012-FAKEslackToken",
    "nvapi-FAKE0123456789abcdefghijklmn",
    "glpat-FAKE0123456789abcdefgh",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIFAKE\n-----END RSA PRIVATE KEY-----",
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "Authorization: Bearer FAKEbearer0123456789",
    "Basic dXNlcjpGQUtFcGFzcw==",
    "postgres://app:FAKEpass@db:5432/x",
    "redis://:FAKEpass@cache:6379",
    "AIzaFAKE0123456789abcdefghijklmnopqrstu",
    "https://hooks.slack.com/services/T000/B000/FAKE0123456789abcd",
    "sk_live_FAKE0123456789abcdef",
    "rk_test_FAKE0123456789abcdef",
    "xoxp-FAKE0123456789",
    "eyJhbGciOiFAKE.eyJzdWIiOiFAKE.FAKEsignature0",
]


@pytest.mark.unit
def test_every_credential_format_has_an_example():
    """So that each format is checked below, through secrets.matches' one-search pre-filter too."""
    assert {secrets.token_kind(t) for t in CREDENTIALS} == {f.kind for f in secrets.FORMATS}


@pytest.mark.unit
@pytest.mark.parametrize("text", CREDENTIALS)
def test_each_credential_format_is_recognised(text):
    assert secrets.token_kind(text)
    assert secrets.mask(text, "<x>") != text and "FAKE" not in secrets.mask(text, "<x>").replace("<x>", "")


@pytest.mark.unit
@pytest.mark.parametrize(
    "text",
    [
        "Qwen/Qwen3-0.6B",
        "nvcr.io/nvidia/ai-dynamo/vllm-runtime:0.4.1",
        "ghcr.io/org/img@sha256:" + "a" * 64,
        "--max-num-batched-tokens",
        "/opt/models/hf_cache/tokenizer.json",
        "hf_transfer",
        "hf-token",
        "16Gi",
        "https://huggingface.co/Qwen/Qwen3-0.6B",
        "http://127.0.0.1:8000/v1",
        "sk-learn",
        "Bearer of good news",
        "Basic configuration",
        "s3://bucket/path:with@sign",
        "12345678901234567890",
        "AKIA-docs-example",
        "eyJhbGciOi",
        "ssh-rsa AAAAB3NzaC1yc2E",
        "$(HF_TOKEN)",
        "task-" + "x" * 40,
    ],
)
def test_ordinary_strings_are_not_credentials(text):
    assert secrets.token_kind(text) is None


@pytest.mark.cli
def test_a_credential_in_an_overlay_is_located_in_the_overlay(tmp_path, secret_env):
    overlay = f"cluster: {{namespace: llm}}\nmodel:\n  decode:\n    extraArgs: [--enforce-eager, {GITHUB}]\n"
    root = make_project(tmp_path / "proj", BASE + "    replicas: 1\n", {"dev": overlay})
    r = compose(root, secret_env, "validate", "--env", "dev")
    assert r.returncode == 2 and GITHUB not in r.stderr
    assert r.stderr.startswith(
        "environments/dev.yaml:4:34: /model/decode/extraArgs/1: this looks like a GitHub token;"
    ), r.stderr
