"""Every component chart with each of its ci/*-values.yaml scenarios: helm lint --strict, and every
object it renders valid (the model chart has its own, tests/charts/test_model_chart.py)."""

import pytest

from tests.support.component_charts import CHARTS_DIR, check_lint_strict, check_renders_valid_objects, scenarios

COMPONENT_CHARTS = sorted(ci.parent.name for ci in CHARTS_DIR.glob("*/ci") if ci.parent.name != "model")
SCENARIOS = [s for chart in COMPONENT_CHARTS for s in scenarios(chart)]
pytestmark = pytest.mark.helm


@pytest.mark.parametrize("chart, values_file", SCENARIOS)
def test_lint_strict(helm, chart, values_file):
    check_lint_strict(helm, chart, values_file)


@pytest.mark.parametrize("chart, values_file", SCENARIOS)
def test_scenario_renders_valid_objects(helm, chart, values_file):
    check_renders_valid_objects(helm, chart, values_file)
