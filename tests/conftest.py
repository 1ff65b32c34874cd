import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The FIREFORM_DATA bundle; tests needing it are skipped only when it is absent."""
    root = os.environ.get("FIREFORM_DATA")
    if not root or not Path(root).is_dir():
        pytest.skip("FIREFORM_DATA is not set to the data bundle")
    return Path(root)
