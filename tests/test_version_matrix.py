"""Every supported Dynamo release line x every recipe and test case x each of its environments.

The project is validated with `platform.version` set to the line's newest release in each
environment, planned, and its model release rendered by real helm; the DynamoGraphDeployment must
validate against that version's CRD (tests/fixtures/dynamo/<version>/crds) and say its version.
A new release line in composer/dynamo.py RELEASES is covered here as soon as its fixtures exist.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from composer import dynamo, proc
from composer import project as p
from composer import recipes as r
from tests.support.cases import CASES, copy_case
from tests.support.component_charts import Helm, helm_binary
from tests.support.project import REPO
from tests.support.validate import crd_dir, crd_errors, load_docs

pytestmark = pytest.mark.helm

VERSIONS = [line.newest for line in dynamo.RELEASES.values()]
PROJECTS = [f"recipe:{x.name}" for x in r.available()] + [f"case:{c.name}" for c in CASES]


def project_copy(source: str, dest: Path) -> p.Project:
    kind, _, name = source.partition(":")
    if kind == "recipe":
        r.scaffold(name, dest)
    else:
        return copy_case(REPO / "tests" / "cases" / "valid" / name, dest)
    return p.Project.at(dest / "values.yaml")


def pin(proj: p.Project, version: str) -> None:
    """Set platform.version in every environment overlay (an overlay wins over values.yaml)."""
    for env in proj.environments():
        path = proj.env_file(env)
        overlay = yaml.safe_load(path.read_text()) or {}
        overlay.setdefault("platform", {})["version"] = version
        path.write_text(yaml.safe_dump(overlay, sort_keys=False))


def test_every_release_line_has_its_crd_fixtures():
    for version in VERSIONS:
        assert sorted(x.name for x in crd_dir(version).glob("*.yaml")), f"no CRD fixtures for {version}"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("source", PROJECTS)
def test_renders_for_every_version_and_validates_against_its_crd(source, version, tmp_path):
    proj = project_copy(source, tmp_path / "proj")
    pin(proj, version)
    plans = p.plans(proj)  # validates every environment, as `compose validate` does
    argvs, envs = [], []
    for env, plan in plans.items():
        model = plan.release("model")
        if model is None:  # deployment.create: false
            continue
        assert model.values["dynamoVersion"] == version
        values = tmp_path / f"{env}.json"
        values.write_text(json.dumps(model.values))
        argvs.append([helm_binary(), "template", model.name, str(proj.root / model.chart), "-f", str(values)])
        envs.append(env)
    assert envs or source == "case:existing-platform", "nothing rendered"
    for env, done in zip(envs, proc.run_all(argvs, cwd=proj.root)):
        assert done.returncode == 0, f"{env}: {done.stderr}"
        docs = load_docs(done.stdout)
        (dgd,) = [d for d in docs if d["kind"] == dynamo.DGD_KIND]
        assert dgd["metadata"]["labels"]["app.kubernetes.io/version"] == version
        assert crd_errors(docs, crd_dir(version)) == [], env


def test_every_release_line_names_its_crd_fixtures():
    from tests.support.validate import CRD_FIXTURES

    assert set(CRD_FIXTURES) == set(dynamo.RELEASES)


def worker_args(dgd: dict) -> dict[str, list[str]]:
    return {
        c["name"]: c["podTemplate"]["spec"]["containers"][0]["args"]
        for c in dgd["spec"]["components"]
        if c["type"] != "frontend"
    }


def flag_value(args: list[str], flag: str) -> str | None:
    return args[args.index(flag) + 1] if flag in args else None


@pytest.mark.parametrize("version", VERSIONS)
def test_the_chart_passes_each_versions_flags(version, tmp_path):
    """The model chart decides by dynamoVersion what composer/dynamo.py's Release row says."""
    helm = Helm(helm_binary(), tmp_path / "home", tmp_path)
    release = dynamo.release(version)
    for backend in ("vllm", "trtllm", "sglang"):
        values = {
            "dynamoNamespace": "demo",
            "dynamoVersion": version,
            "model": {
                "name": "m",
                "backend": {"type": backend, "image": f"r/x:{version}"},
                "decode": {"gpus": 1},
                "prefill": {"gpus": 1},
                "disaggregation": True,
                "routingPolicy": "kv",
            },
        }
        (dgd,) = [d for d in helm.render("model", values) if d["kind"] == dynamo.DGD_KIND]
        args = worker_args(dgd)
        if backend == "vllm":
            for role in ("prefill", "decode"):
                assert flag_value(args[role], "--kv-transfer-config") == release.vllm_kv_transfer[role], role
        elif backend == "sglang":
            for role in ("prefill", "decode"):
                assert ("--skip-tokenizer-init" in args[role]) == release.sglang_skip_tokenizer_init, role
        else:
            published = {role: tuple(a for a in args[role] if a.startswith("--publish-")) for role in args}
            # disaggregated, the prefill workers publish KV events (upstream's templates)
            assert published == {"prefill": release.trtllm_kv_flags, "decode": ()}


@pytest.mark.parametrize("version", VERSIONS)
def test_every_dynamo_object_says_the_version_it_was_rendered_for(version, tmp_path):
    """Model, benchmark, metrics and gateway objects alike (model-express has its own version)."""
    from tests.support.project import compose

    proj = project_copy("case:everything-on", tmp_path / "proj")
    pin(proj, version)
    out = compose("template", "--env", "staging", cwd=proj.root)
    assert out.returncode == 0, out.stderr
    labelled = {}
    for doc in load_docs(out.stdout):
        labels = doc["metadata"].get("labels") or {}
        if "helm.sh/chart" in labels and not labels["helm.sh/chart"].startswith("model-express-"):
            labelled[f"{doc['kind']}/{doc['metadata']['name']}"] = labels.get("app.kubernetes.io/version")
    charts = {name.split("/")[0] for name in labelled}
    assert {"DynamoGraphDeployment", "Job", "PodMonitor", "HTTPRoute"} <= charts, labelled
    assert set(labelled.values()) == {version}, labelled
    images = [
        c["image"]
        for d in load_docs(out.stdout)
        if d["kind"] == "Job"
        for c in d["spec"]["template"]["spec"]["containers"]
    ]
    assert images == [f"{dynamo.IMAGE_REGISTRY}/dynamo-frontend:{version}"]
