"""What compose writes for helm is what helm reads: composer.yaml.dump's strings through real helm, and
line and paragraph separators in an inline engine config through `compose template` and
`compose export` to the ConfigMap the engine reads."""

import base64
import subprocess

import pytest
import yaml

from composer import yaml as composer_yaml
from tests.support.project import REPO, compose, make_project
from tests.support.validate import all_errors, load_docs
from tests.support.yamlcases import TRICKY

pytestmark = pytest.mark.helm

# YAML 1.1 (helm's go-yaml) breaks lines at U+0085, U+2028 and U+2029 too; YAML 1.2 does not.
BREAKS = [
    "a\u2028b",
    "a\u2029b",
    "a\x85b",
    "a\u2028 b",
    " \u2028",
    "\u2028",
    "x\u2029\u2029y",
    "a\nb\u2028c",
    "a\x85\nb",
    "tab\there",
    "cr\rlf",
    "é\u2028ü",
    "😀",
]


def test_every_string_write_dump_writes_is_the_string_helm_reads(tmp_path):
    chart = tmp_path / "probe"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: probe\nversion: 0.1.0\n")
    # base64 carries helm's string out unchanged by any YAML on the way back
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: probe}\ndata:\n"
        "{{- range $i, $s := .Values.strings }}\n  s{{ $i }}: {{ $s | b64enc | quote }}\n{{- end }}\n"
    )
    strings = BREAKS + TRICKY
    (tmp_path / "values.yaml").write_text(composer_yaml.dump({"strings": strings}))
    r = subprocess.run(
        ["helm", "template", "p", str(chart), "-f", str(tmp_path / "values.yaml")], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    (cm,) = load_docs(r.stdout)
    read = [base64.b64decode(cm["data"][f"s{i}"]).decode() for i in range(len(strings))]
    assert [(s, got) for s, got in zip(strings, read) if s != got] == []


NOTE = "a\u2028b\u2029c"  # no space before a break: go-yaml then writes them raw, in single quotes


def config_notes(docs):
    return {
        d["metadata"]["name"]: yaml.safe_load(d["data"]["config.yaml"]).get("note")
        for d in docs
        if d["kind"] == "ConfigMap" and "config.yaml" in d.get("data", {})
    }


def test_a_line_separator_in_an_inline_config_arrives_intact(tmp_path):
    values = (
        (REPO / "values.yaml")
        .read_text()
        .replace("        enforce-eager: true\n", '        enforce-eager: true\n        note: "a\\Lb\\Pc"\n')
    )
    assert '"a\\Lb' in values
    proj = make_project(tmp_path / "proj", values)
    r = compose("template", "--env", "dev", cwd=proj)
    assert r.returncode == 0, r.stderr
    docs = load_docs(r.stdout)
    assert all_errors(docs) == []
    assert config_notes(docs) == {"qwen-demo-decode-config": None, "qwen-demo-prefill-config": NOTE}
    # compose reads helm's output as helm wrote it
    assert composer_yaml.load_manifests(r.stdout) == docs

    r = compose("export", "--env", "dev", cwd=proj)
    assert r.returncode == 0, r.stderr
    exported = [
        d
        for p in sorted((proj / "export" / "dev").rglob("configmap-*.yaml"))
        for d in composer_yaml.load_manifests(p.read_text())
    ]
    assert config_notes(exported) == {"qwen-demo-decode-config": None, "qwen-demo-prefill-config": NOTE}
    assert [
        d for p in sorted((proj / "export" / "dev").rglob("configmap-*.yaml")) for d in load_docs(p.read_text())
    ] == exported
