"""Shared worlds for the fitting tests: tiny drivers whose target is a known form."""

import numpy as np
import pytest

from fireform.fitting import FitContext
from fireform.twin import with_truth
from fireform.forms import Form
from fireform.testing import tiny_drivers

# Two well-identified terms: a temperature logistic and a precipitation wetting factor
# (scale + 3 parameters), the truth at the mechanisms' defaults / mid-bounds.
TRUTH_IDS = ("temperature_ignition", "precip_wetting")


@pytest.fixture(scope="session")
def truth_form() -> Form:
    return Form.from_mechanisms(list(TRUTH_IDS))


@pytest.fixture(scope="session")
def theta_true(truth_form) -> np.ndarray:
    return truth_form.default_theta()


@pytest.fixture(scope="session")
def base_drivers():
    return tiny_drivers(years=(2001, 2006))


@pytest.fixture(scope="session")
def twin(base_drivers, truth_form, theta_true):
    """Noise-free truth world, 2001-2006."""
    return with_truth(base_drivers, truth_form, theta_true)


@pytest.fixture(scope="session")
def twin_ctx(twin):
    return FitContext(twin)
