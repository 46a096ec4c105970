"""The design proposal's own example values file, verbatim (tests/fixtures/design-proposal/), with
the repository's environments/ beside it: it validates, generates, renders objects Kubernetes and
the Dynamo CRDs accept, and runs and benchmarks locally, unchanged."""

import hashlib
import json
import re
from pathlib import Path

import pytest

from composer import proc
from tests.support.local import NEEDS_LOCAL_RUNTIME, free_port_block
from tests.support.project import compose, make_project
from tests.support.validate import all_errors, load_docs

FIXTURE = Path(__file__).parent / "fixtures" / "design-proposal"


def example(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj", (FIXTURE / "values.yaml").read_text())


@pytest.mark.unit
def test_the_fixture_is_the_sha256_its_sources_name():
    (digest,) = re.findall(r"^sha256 ([0-9a-f]{64})  values\.yaml$", (FIXTURE / "SOURCES").read_text(), re.M)
    assert hashlib.sha256((FIXTURE / "values.yaml").read_bytes()).hexdigest() == digest
    # what made it fail: `config:` holding only a comment
    assert "    config:\n        # benchmark configs\n\n" in (FIXTURE / "values.yaml").read_text()


@pytest.mark.helm
def test_validate_generate_and_template(tmp_path):
    proj = example(tmp_path)
    r = compose("validate", cwd=proj)
    assert r.returncode == 0, r.stderr
    assert compose("generate", cwd=proj).returncode == 0
    r = compose("template", "--env", "dev", cwd=proj)
    assert r.returncode == 0, r.stderr
    docs = load_docs(r.stdout)
    assert all_errors(docs) == []
    (dgd,) = [d for d in docs if d["kind"] == "DynamoGraphDeployment"]
    assert dgd["metadata"]["name"] == "qwen-test"
    components = {c["name"]: c for c in dgd["spec"]["components"]}
    for role, config_map in (("decode", "my-model-prefill-config"), ("prefill", "my-model-decode-config")):
        spec = components[role]["podTemplate"]["spec"]
        assert spec["volumes"][0]["configMap"]["name"] == config_map  # as the example says
        assert {"name": "DYNAMO_EXTRA_CONFIG", "value": "/opt/dynamo/model/config.yaml"} in spec["containers"][0]["env"]
    # `config:` with no value is the default benchmark config (concurrency 1 and 4), not an error
    (runs,) = [
        json.loads(d["data"]["runs.json"]) for d in docs if d["kind"] == "ConfigMap" and "runs.json" in d["data"]
    ]
    assert [r["args"][r["args"].index("--concurrency") + 1] for r in runs] == ["1", "4"]


@pytest.mark.local
@NEEDS_LOCAL_RUNTIME
def test_up_bench_down_locally(tmp_path):
    proj = example(tmp_path)
    local = proj / "environments" / "local.yaml"
    local.write_text(local.read_text() + f"local:\n  httpPort: {free_port_block(3)}\n")  # beside other runs
    pids = []
    try:
        up = compose("up", "--env", "local", cwd=proj)
        assert up.returncode == 0, up.stderr
        # the repo's local environment is the twin of an H200, and AIConfigurator has no Qwen/Qwen-0.6b:
        # the example still runs, on the mocker's own timings, and says so
        assert "no local twin of h200_sxm" in up.stderr + up.stdout and "Qwen/Qwen-0.6b" in up.stderr + up.stdout
        st = json.loads(compose("status", "--env", "local", "-o", "json", cwd=proj).stdout)
        pids = [p["pid"] for p in st["processes"]]
        assert st["frontend"]["serving"]
        assert sorted(p["component"] for p in st["processes"]) == ["decode", "frontend", "prefill"]
        b = compose("bench", "--env", "local", "-o", "json", cwd=proj, env={"BROWSER_PATH": str(tmp_path / "none")})
        assert b.returncode == 0, b.stderr
        result = json.loads(b.stdout)
        assert "no local twin (" in result["report"]["timing_note"]
        # the repo's local sweep: concurrencies 1, 4, 8, ten requests per level of concurrency
        assert [(r["concurrency"], r["summary"]["requests"], r["summary"]["errors"]) for r in result["runs"]] == [
            (1, 10, 0),
            (4, 40, 0),
            (8, 80, 0),
        ]
    finally:
        down = compose("down", "--env", "local", cwd=proj)
    assert down.returncode == 0, down.stderr
    assert pids and not [p for p in pids if proc.alive(p) or proc.group_members(p)]
