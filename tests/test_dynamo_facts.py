"""The Dynamo facts in composer/dynamo.py are the ones the rest of the product uses."""

import json

import pytest

from composer import dynamo
from tests.support.project import REPO
from tests.support.validate import crd_validators

pytestmark = pytest.mark.unit


def test_the_values_schema_defaults_to_the_default_version():
    schema = json.loads((REPO / "composer/schema/values.schema.json").read_text())
    assert schema["properties"]["platform"]["properties"]["version"]["default"] == dynamo.DEFAULT_VERSION


def test_the_values_schema_defaults_to_upstreams_image_registry():
    schema = json.loads((REPO / "composer/schema/values.schema.json").read_text())
    assert schema["properties"]["cluster"]["properties"]["imageRegistry"]["default"] == dynamo.IMAGE_REGISTRY


def test_the_model_chart_renders_the_api_the_crd_serves():
    assert dynamo.DGD_KIND in (REPO / "charts/model/templates/dynamographdeployment.yaml").read_text()
    assert f"apiVersion: {dynamo.DGD_API}" in (REPO / "charts/model/templates/dynamographdeployment.yaml").read_text()
    assert (dynamo.DGD_API, dynamo.DGD_KIND) in crd_validators()


def test_the_default_is_the_newest_release_line():
    assert dynamo.DEFAULT_VERSION == "1.6.1"
    assert dynamo.SUPPORTED == ("1.4.x", "1.5.x", "1.6.x")
    assert dynamo.release("1.5.0") is dynamo.RELEASES["1.5"]
    with pytest.raises(KeyError):
        dynamo.release("1.3.1")


def test_every_chart_and_the_values_schema_default_to_the_default_version():
    for chart in ("model", "benchmark", "metrics", "inference-gateway"):
        assert f'appVersion: "{dynamo.DEFAULT_VERSION}"' in (REPO / "charts" / chart / "Chart.yaml").read_text()
    assert f'dynamoVersion: "{dynamo.DEFAULT_VERSION}"' in (REPO / "charts/model/values.yaml").read_text()


def test_every_routing_policy_but_none_is_a_router_mode_of_some_release():
    schema = json.loads((REPO / "composer/schema/values.schema.json").read_text())
    policies = schema["properties"]["model"]["properties"]["routingPolicy"]["enum"]
    modes = {m for r in dynamo.RELEASES.values() for m in r.router_modes}
    assert set(policies) - {"none"} <= modes


def test_a_router_mode_a_release_lacks_is_refused_at_its_place(tmp_path, monkeypatch):
    from dataclasses import replace

    from composer import errors, project

    older = replace(dynamo.RELEASES["1.4"], router_modes=("round-robin", "random", "kv"))
    monkeypatch.setitem(dynamo.RELEASES, "1.4", older)
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "dev.yaml").write_text("cluster: {namespace: dev}\nplatform: {version: 1.4.0}\n")
    (tmp_path / "values.yaml").write_text(
        "dynamoNamespace: demo\nmodel:\n  name: m\n  backend: {type: vllm}\n  routingPolicy: least-loaded\n"
    )
    with pytest.raises(errors.InvalidValues) as e:
        project.plans(project.Project.at(tmp_path / "values.yaml"), ["dev"])
    (problem,) = e.value.problems
    assert str(problem).startswith(
        "values.yaml:5:18: /model/routingPolicy: Dynamo 1.4.0's frontend has no least-loaded"
    )
    assert "pin a version that has it (1.5.x, 1.6.x)" in str(problem)
