import pytest

from tests.loop.helpers import small_run


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """One small, complete run (spec -> report), shared by the tests that read its journal."""
    return small_run(tmp_path_factory.mktemp("runs"))
