import pytest

from tests.support.component_charts import Helm, helm_binary


@pytest.fixture(scope="session")
def helm(tmp_path_factory) -> Helm:
    """Real helm, offline, with its own home; one for the session (the component chart tests)."""
    return Helm(helm_binary(), tmp_path_factory.mktemp("helm-home"), tmp_path_factory.mktemp("helm-work"))
