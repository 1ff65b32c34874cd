"""A tiny twin world (known truth) and a 3-term form over it: two true terms and a decoy."""

import pytest

from fireform.drivers.derived import add_derived
from fireform.twin import with_truth
from fireform.forms import Form
from fireform.testing import tiny_drivers

TRUTH_IDS = ("temperature_ignition", "precip_wetting")
FORM_IDS = ("temperature_ignition", "precip_wetting", "cropland_suppression")
TRIALS = 30


@pytest.fixture(scope="session")
def world():
    d = tiny_drivers(years=(2001, 2004))
    truth = Form.from_mechanisms(list(TRUTH_IDS))
    return with_truth(d, truth, truth.default_theta(), sigma=0.1, seed=1)


@pytest.fixture(scope="session")
def form3():
    return Form.from_mechanisms(list(FORM_IDS))


@pytest.fixture(scope="session")
def serial_result(world, form3):
    from fireform.ablation import shapley

    return shapley(form3, world, trials=TRIALS, executor="serial", patience=None)


def same_values(a, b) -> bool:
    va = a.subsets.set_index("subset")["value"]
    vb = b.subsets.set_index("subset")["value"].reindex(va.index)
    return bool((va == vb).all())
