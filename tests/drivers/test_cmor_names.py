"""A modeller's CMOR files (one variable per file, CMOR names, SI units, percent fractions, lon
0..360, latitude north to south) load with no mapping, to the same drivers as fireform's own."""

from __future__ import annotations

import numpy as np
import pytest

from fireform.drivers import catalog, load_drivers
from fireform.drivers.from_model import ABOVE_GROUND_FRACTION
from fireform.twin import DEMO_TRUTH, add_truth, make_world
from fireform.forms import Form

SECONDS_PER_DAY = 86400.0
SECONDS_PER_YEAR = 365.25 * 86400.0

# catalog name -> (CMOR name, units written, factor from canonical units to those units)
CMOR = {
    "tas": ("tas", "K", 1.0),
    "pr": ("pr", "kg m-2 s-1", 1.0 / SECONDS_PER_DAY),  # mm/day -> kg m-2 s-1
    "rh": ("hurs", "%", 1.0),
    "gpp": ("gpp", "kg m-2 s-1", 1e-3 / SECONDS_PER_YEAR),  # g m-2 yr-1 -> kg m-2 s-1
    "agb": ("cVeg", "kg m-2", 1.0 / ABOVE_GROUND_FRACTION),  # whole-plant carbon: agb is 0.75 of it
    "fuel": ("cLitter", "kg m-2", 1e-3),  # g m-2 -> kg m-2
    "wind": ("sfcWind", "m s-1", 1.0),
    "cropland": ("cropFrac", "%", 100.0),
    "tree_cover": ("treeFrac", "%", 100.0),
    "burned_fraction": ("burntFractionAll", "%", 100.0),
}


@pytest.fixture(scope="module")
def world():
    return add_truth(make_world(res=5.0, years=(2001, 2002), seed=3), Form.from_json(DEMO_TRUTH), sigma=0.1)


def test_cmor_bundle_loads_without_a_mapping(world, tmp_path):
    paths = []
    for name, (cmor, units, factor) in CMOR.items():
        da = (world[name] * factor).astype("float32")
        da.attrs = {"units": units}
        ds = da.to_dataset(name=cmor)
        ds = ds.assign_coords(lon=(ds.lon % 360.0)).sortby("lon").sortby("lat", ascending=False)
        p = tmp_path / f"{cmor}_Lmon_MODEL_hist_r1i1p1f1_gn_200101-200212.nc"
        ds.to_netcdf(p, encoding={cmor: {"_FillValue": np.float32(1e20)}})
        paths.append(p)
    d = load_drivers(paths)
    assert set(CMOR) <= set(d.variables)
    assert d.target == "burned_fraction" and d.n_cells > 100
    assert np.all(np.diff(d.lat) > 0) and np.all(np.diff(d.lon) > 0)
    ref = load_drivers(world, target="burned_fraction")
    for name in CMOR:
        # same values on the same cells, whatever the file's names, units and axis order
        a = ref.ds[name].sortby("lon").values
        b = d.ds[name].assign_coords(lon=((d.ds.lon + 180.0) % 360.0) - 180.0).sortby("lon").values
        np.testing.assert_allclose(b, a, rtol=2e-6, atol=1e-6 * max(1.0, abs(catalog()[name].hi)),
                                   equal_nan=True, err_msg=name)
