"""Every component chart follows the style: Chart.yaml v2, a closed and described Draft-7 values schema
the values.yaml points at, helpers named after the chart, NOTES.txt and ci/ scenarios."""

import pytest

from tests.support.component_charts import CHARTS, check_style

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("chart", CHARTS)
def test_charts_follow_the_style(chart):
    check_style(chart)
