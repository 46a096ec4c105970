"""What Dynamo 1.6.1 ships (tests/fixtures/dynamo/1.6.1, copied from its wheel) against the 1.4.0
CRD our validation uses: the DynamoGraphDeployment templates are v1beta1 graphs the 1.4.0 schema
accepts as they are, and the schema still refuses the fields added after 1.4.0."""

from __future__ import annotations

import ast
import copy

import pytest

from tests.support.dgd_fields import LATER_FIELDS
from tests.support.validate import FIXTURES, crd_dir, crd_errors, load_docs

CRDS_1_4_0 = crd_dir("1.4.0")

pytestmark = pytest.mark.unit

TEMPLATES = FIXTURES / "dynamo" / "1.6.1" / "dgd-templates"
DGDR_TYPES = FIXTURES / "dynamo" / "1.6.1" / "dgdr" / "dgdr_v1beta1_types.py"

# template -> the 1.4.0 CRD's errors for it, i.e. the fields it uses that 1.4.0 lacks. None of the
# 1.6.1 templates uses one (roles, providerOverride, lpx, experimental.flagsInjection, type lpx).
LACKS_IN_1_4_0: dict[str, list[str]] = {
    "mocker_disagg.yaml": [],
    "sglang_agg.yaml": [],
    "sglang_disagg.yaml": [],
    "trtllm_agg.yaml": [],
    "trtllm_disagg.yaml": [],
    "vllm_agg.yaml": [],
    "vllm_disagg.yaml": [],
}
ROLES = {"agg": {"frontend", "worker"}, "disagg": {"frontend", "prefill", "decode"}}


def test_every_template_is_listed():
    assert sorted(p.name for p in TEMPLATES.glob("*.yaml")) == sorted(LACKS_IN_1_4_0)


@pytest.mark.parametrize("name", sorted(LACKS_IN_1_4_0))
def test_template_is_a_v1beta1_dgd_the_1_4_0_crd_accepts(name):
    docs = load_docs((TEMPLATES / name).read_text())
    (dgd,) = docs
    assert (dgd["apiVersion"], dgd["kind"]) == ("nvidia.com/v1beta1", "DynamoGraphDeployment")
    mode = name.removesuffix(".yaml").rpartition("_")[2]
    assert {c["type"] for c in dgd["spec"]["components"]} == ROLES[mode]
    assert crd_errors(docs, CRDS_1_4_0) == LACKS_IN_1_4_0[name]


# Fields added in Dynamo 1.5.0/1.6.0, each set on a 1.6.1 template: the 1.4.0 CRD must refuse each,
# or the empty lists above would prove nothing.


@pytest.mark.parametrize("field", sorted(LATER_FIELDS))
def test_the_1_4_0_crd_refuses_a_field_added_after_it(field):
    change, message, _ = LATER_FIELDS[field]
    (dgd,) = load_docs((TEMPLATES / "vllm_disagg.yaml").read_text())
    dgd = copy.deepcopy(dgd)
    change(dgd["spec"])
    (error,) = crd_errors([dgd], CRDS_1_4_0)
    assert error.startswith(f"DynamoGraphDeployment/vllm-disagg: {message}")


def test_dgdr_1_6_1_spec_keys():
    """The v1beta1 DynamoGraphDeploymentRequest spec of 1.6.1, read from its generated models (not imported:
    they need the dynamo package)."""
    tree = ast.parse(DGDR_TYPES.read_text())
    (spec,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "DynamoGraphDeploymentRequestSpec"]
    keys = [n.target.id for n in spec.body if isinstance(n, ast.AnnAssign)]
    assert keys == [
        "model",
        "backend",
        "image",
        "runtimeVersionOverride",
        "modelCache",
        "hardware",
        "workload",
        "sla",
        "overrides",
        "features",
        "searchStrategy",
        "autoApply",
    ]
    (overrides,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "OverridesSpec"]
    assert "trustRemoteCode" in [n.target.id for n in overrides.body if isinstance(n, ast.AnnAssign)]
