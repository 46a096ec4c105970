"""Upstream facts per Dynamo version, read from the copies in tests/fixtures/dynamo/<version> (each
directory's SOURCES.md names the wheel or commit): the DGD CRD stand-in for 1.5/1.6, the Prometheus
metric names, and the frontend's --router-mode choices. The product reads none of these files."""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path

import pytest

from composer import dynamo
from tests.support.dgd_fields import LATER_FIELDS
from tests.support.project import REPO
from tests.support.validate import FIXTURES, crd_errors, load_docs

pytestmark = pytest.mark.unit

DYNAMO = FIXTURES / "dynamo"
VERSIONS = tuple(r.newest for r in dynamo.RELEASES.values())  # 1.4.0, 1.5.1, 1.6.1
# main of 2026-08-21, the newest DGD CRD with a known commit (see its SOURCES.md): no 1.5/1.6 CRD.
STANDIN_CRDS = DYNAMO / "1.6.1" / "crds"
TEMPLATES = DYNAMO / "1.6.1" / "dgd-templates"


@pytest.mark.parametrize("name", sorted(p.name for p in TEMPLATES.glob("*.yaml")))
def test_1_6_1_templates_validate_against_the_standin_crd(name):
    assert crd_errors(load_docs((TEMPLATES / name).read_text()), STANDIN_CRDS) == []


def _vllm_disagg_with(change) -> dict:
    (dgd,) = load_docs((TEMPLATES / "vllm_disagg.yaml").read_text())
    dgd = copy.deepcopy(dgd)
    change(dgd["spec"])
    return dgd


# The stand-in has the provider overrides (main, 2026-08-20) and refuses what 1.5.0/1.6.0 added after
# its commit, so a graph using one of those cannot be checked here (replace the stand-in when a
# released CRD can be read).
@pytest.mark.parametrize("field", sorted(LATER_FIELDS))
def test_the_standin_crd_has_exactly_the_later_fields_it_is_said_to(field):
    change, message, has_it = LATER_FIELDS[field]
    errors = crd_errors([_vllm_disagg_with(change)], STANDIN_CRDS)
    assert errors == [] if has_it else len(errors) == 1 and message in errors[0]


def _classes(path: Path) -> dict[str, dict[str, str]]:
    """Top-level class -> its string constants, from the source text (not imported)."""
    out = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef):
            out[node.name] = {
                t.id: n.value.value
                for n in node.body
                if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
                for t in n.targets
                if isinstance(t, ast.Name)
            }
    return out


@pytest.mark.parametrize("version", VERSIONS)
def test_metric_names_compose_reads(version):
    names = _classes(DYNAMO / version / "metrics" / "prometheus_names.py")
    assert names["name_prefix"]["FRONTEND"] == "dynamo_frontend"
    assert names["name_prefix"]["COMPONENT"] == "dynamo_component"
    frontend = set(names["frontend_service"].values())
    assert {
        "requests_total",
        "requests_started_total",
        "inflight_requests",
        "active_requests",
        "time_to_first_token_seconds",
        "inter_token_latency_seconds",
    } <= frontend
    # KV cache usage is dynamo_component_gpu_cache_usage_percent; the dynamo_component_kvstats_*
    # names were removed before 1.4.0 and appear in no version here.
    assert names["kvstats"]["GPU_CACHE_USAGE_PERCENT"] == "gpu_cache_usage_percent"
    assert "kvstats_" not in (DYNAMO / version / "metrics" / "prometheus_names.py").read_text()
    assert names["work_handler"]["REQUESTS_TOTAL"] == "requests_total"


def _router_modes(path: Path) -> tuple[list[str], object]:
    """The choices and default of the --router-mode argument, from the source text."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            kw = {k.arg: k.value for k in node.keywords if k.arg}
            flag = kw.get("flag_name")
            if isinstance(flag, ast.Constant) and flag.value == "--router-mode":
                choices = [e.value for e in kw["choices"].elts]
                default = kw["default"]
                return choices, default.value if isinstance(default, ast.Constant) else ast.unparse(default)
    raise AssertionError(f"{path}: no --router-mode")


@pytest.mark.parametrize("version", VERSIONS)
def test_router_mode_choices(version):
    choices, default = _router_modes(DYNAMO / version / "frontend" / "router_args.py")
    assert choices == ["round-robin", "random", "power-of-two", "kv", "direct", "least-loaded", "device-aware-weighted"]
    # 1.5 moved the default to a parameter so workers can default to None; the frontend passes
    # default_router_mode="round-robin" (dynamo/frontend/frontend_args.py).
    assert default == ("round-robin" if version == "1.4.0" else "self.default_router_mode")


@pytest.mark.parametrize("version", VERSIONS)
def test_the_release_table_has_the_router_modes_of_the_source(version):
    choices, _ = _router_modes(DYNAMO / version / "frontend" / "router_args.py")
    assert dynamo.release(version).router_modes == tuple(choices)


# What the dashboard's panels query (a metric name is followed by its label matchers).
DASHBOARD = REPO / "charts" / "metrics" / "dashboards" / "dynamo-model.json"
DASHBOARD_METRICS = {
    "dynamo_component_gpu_cache_usage_percent",
    "dynamo_frontend_active_requests",
    "dynamo_frontend_inter_token_latency_seconds_bucket",
    "dynamo_frontend_requests_total",
    "dynamo_frontend_time_to_first_token_seconds_bucket",
}


def _queried() -> set[str]:
    exprs = [t["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"] for t in panel.get("targets", [])]
    return {m for e in exprs for m in re.findall(r"\b(dynamo_[a-z0-9_]+)\{", e)}


def test_the_dashboard_queries_what_this_test_lists():
    assert _queried() == DASHBOARD_METRICS


@pytest.mark.parametrize("version", VERSIONS)
def test_every_dashboard_metric_is_one_the_version_exports(version):
    names = _classes(DYNAMO / version / "metrics" / "prometheus_names.py")
    exported = {
        f"{prefix}_{name}"
        for prefix in names["name_prefix"].values()
        for cls, constants in names.items()
        if cls != "name_prefix"
        for name in constants.values()
    }
    histogram = re.compile(r"_(bucket|sum|count)$")
    assert {histogram.sub("", m) for m in DASHBOARD_METRICS} <= exported


def test_the_1_6_release_row_passes_vllm_what_upstreams_template_does():
    (dgd,) = load_docs((TEMPLATES / "vllm_disagg.yaml").read_text())
    for component in dgd["spec"]["components"]:
        if component["type"] in ("prefill", "decode"):
            args = component["podTemplate"]["spec"]["containers"][0]["args"]
            given = args[args.index("--kv-transfer-config") + 1] if "--kv-transfer-config" in args else None
            expected = dynamo.release("1.6.1").vllm_kv_transfer[component["type"]]
            assert (json.loads(given) if given else None) == (json.loads(expected) if expected else None)


@pytest.mark.parametrize("name", ["sglang_agg.yaml", "sglang_disagg.yaml"])
def test_the_1_6_release_row_passes_sglang_what_upstreams_template_does(name):
    (dgd,) = load_docs((TEMPLATES / name).read_text())
    workers = [c for c in dgd["spec"]["components"] if c["type"] != "frontend"]
    assert workers
    for component in workers:
        args = component["podTemplate"]["spec"]["containers"][0]["args"]
        assert ("--skip-tokenizer-init" in args) == dynamo.release("1.6.1").sglang_skip_tokenizer_init
