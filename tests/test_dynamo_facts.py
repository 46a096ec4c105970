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
