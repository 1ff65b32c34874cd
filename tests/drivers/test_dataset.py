import numpy as np
import pytest

from fireform.drivers import catalog, spherical_cell_area, variable
from fireform.exceptions import MissingVariableError, UnknownNameError
from fireform.testing import tiny_drivers


def test_catalog_has_required_variables():
    need = {"burned_fraction", "gpp", "npp", "agb", "fuel", "tas", "tasmax", "pr", "rh", "vpd",
            "soil_moisture", "dry_days", "lightning", "popd", "cropland", "tree_cover", "wind"}
    assert need <= set(catalog())
    for v in catalog().values():
        assert v.lo < v.hi


def test_unknown_variable_lists_valid_names():
    with pytest.raises(UnknownNameError, match="gpp"):
        variable("gppp")


def test_sphere_area_sums_to_earth_surface():
    lat = np.arange(-89.5, 90, 1.0)
    lon = np.arange(-179.5, 180, 1.0)
    total = spherical_cell_area(lat, lon).sum()
    assert total == pytest.approx(4 * np.pi * 6_371_000.0**2, rel=1e-12)


def test_packed_view_shapes_and_order():
    d = tiny_drivers()
    tas = d.array("tas")
    assert tas.shape == (d.n_cells, d.n_months) and tas.dtype == np.float32
    assert d.array("popd").shape == (d.n_cells, 1)
    iy, ix = d.cell_index
    assert tas[3, 5] == np.float32(d.ds["tas"].values[5, iy[3], ix[3]])
    with pytest.raises(MissingVariableError, match="nope"):
        d.array("nope")


def test_select_years_and_fingerprint():
    d = tiny_drivers(years=(2001, 2004))
    sub = d.select_years((2002, 2003))
    assert list(sub.years) == [2002, 2003] and sub.n_months == 24
    assert d.fingerprint() == tiny_drivers(years=(2001, 2004)).fingerprint()
    assert d.fingerprint() != tiny_drivers(years=(2001, 2004), seed=1).fingerprint()


def test_ilamb_box_edges_follow_ilamb2_argmax_rule():
    from fireform.drivers.regions import ilamb_regions

    # bona is 49.75..79.75 N: a 0.5 degree centre at 49.75 is outside in ILAMB 2.x, 79.75 inside.
    lat = np.array([49.25, 49.75, 50.25, 79.75])
    lon = np.array([-100.25, -60.25, -60.75])
    m = ilamb_regions(lat, lon).mask("bona")
    assert m[:, 2].tolist() == [False, False, True, True]
    assert m[2, :].tolist() == [True, True, True]  # -60.25 is the (inclusive) upper lon edge
