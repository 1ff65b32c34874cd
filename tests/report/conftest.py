import pytest


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    from tests.loop.helpers import small_run

    return small_run(tmp_path_factory.mktemp("runs"))
