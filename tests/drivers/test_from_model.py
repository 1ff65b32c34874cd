"""Drivers derived from what models write (drivers/from_model.py), against hand-computed values."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from fireform.drivers import load_drivers
from fireform.drivers.from_model import AssumptionWarning, derivations
from fireform.twin import make_world

LAT = np.array([-10.0, 10.0])
LON = np.array([20.0, 30.0, 40.0])
TIME = pd.date_range("2001-01-01", periods=3, freq="MS")


def _dyn(name, values, units, **attrs):
    v = np.broadcast_to(np.asarray(values, dtype=float)[:, None, None], (3, 2, 3)).copy()
    return xr.DataArray(v, dims=("time", "lat", "lon"), coords={"time": TIME, "lat": LAT, "lon": LON},
                        name=name, attrs={"units": units, **attrs})


def _static(name, value, units):
    return xr.DataArray(np.full((2, 3), float(value)), dims=("lat", "lon"), coords={"lat": LAT, "lon": LON},
                        name=name, attrs={"units": units})


def _load(*das):
    ds = xr.merge([*das, _dyn("burntFractionAll", [1.0, 2.0, 0.5], "%")])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        d = load_drivers(ds, regions="global")
    return d, [x for x in w if issubclass(x.category, AssumptionWarning)]


def test_vpd_from_tas_and_hurs_matches_the_fao56_table():
    # FAO-56 Table 2.3: e_s = 2.339 kPa at 20 degC, 3.168 at 25, 4.243 at 30
    d, warned = _load(_dyn("tas", [293.15, 298.15, 303.15], "K"), _dyn("hurs", [50.0, 40.0, 100.0], "%"))
    vpd = d.ds.vpd.values[:, 0, 0]
    np.testing.assert_allclose(vpd, [2.339 * 0.5, 3.168 * 0.6, 0.0], atol=1.5e-3)
    assert d.ds.vpd.attrs["derived_from"] == "tas rh" and "0.6108" in d.ds.vpd.attrs["formula"]
    assert not warned  # a stated formula, no assumption
    assert "derived from" in d.sources["vpd"]


def test_vpd_from_specific_humidity_and_pressure():
    # q = 0.01 kg/kg at 100 kPa: e = 1 / (0.622 + 0.00378) = 1.5981 kPa; at 25 degC VPD = 3.168 - 1.598
    d, _ = _load(_dyn("tas", [298.15] * 3, "K"), _dyn("huss", [0.01] * 3, "1"), _dyn("ps", [100000.0] * 3, "Pa"))
    np.testing.assert_allclose(d.ds.vpd.values[0, 0, 0], 3.168 - 1.5981, atol=1.5e-3)
    assert "huss" not in d.ds and "ps" not in d.ds  # model outputs used up, not drivers
    assert d.ds.vpd.attrs["derived_from"] == "tas huss ps"


def test_hurs_wins_over_huss_and_a_given_vpd_is_never_replaced():
    d, _ = _load(_dyn("tas", [298.15] * 3, "K"), _dyn("hurs", [40.0] * 3, "%"),
                 _dyn("huss", [0.01] * 3, "1"), _dyn("ps", [100000.0] * 3, "Pa"))
    assert d.ds.vpd.attrs["derived_from"] == "tas rh"
    d, _ = _load(_dyn("tas", [298.15] * 3, "K"), _dyn("hurs", [40.0] * 3, "%"), _dyn("vpd", [0.7] * 3, "kPa"))
    np.testing.assert_allclose(d.ds.vpd.values, 0.7, rtol=1e-6)
    assert "formula" not in d.ds.vpd.attrs and derivations(d).empty


def test_soil_wetness_from_mrso_over_field_capacity_clipped_at_one():
    d, warned = _load(_dyn("mrso", [300.0, 500.0, 0.0], "kg m-2"), _static("mrsofc", 400.0, "kg m-2"))
    np.testing.assert_allclose(d.ds.soil_moisture.values[:, 1, 2], [0.75, 1.0, 0.0], rtol=1e-6)
    assert d.ds.soil_moisture.dims == ("time", "lat", "lon")
    assert "mrso" not in d.ds and "mrsofc" not in d.ds
    assert len(warned) == 1 and "field capacity" in str(warned[0].message)


def test_soil_wetness_without_field_capacity_uses_each_cells_own_range_and_says_so():
    d, warned = _load(_dyn("mrso", [100.0, 200.0, 300.0], "kg m-2"))
    np.testing.assert_allclose(d.ds.soil_moisture.values[:, 0, 0], [0.0, 0.5, 1.0], rtol=1e-6)
    assert len(warned) == 1 and "own range" in str(warned[0].message)
    table = derivations(d)
    assert list(table.variable) == ["soil_moisture"] and "own range" in table.assumption.iloc[0]


def test_surface_layer_only_when_mrso_is_absent():
    d, warned = _load(_dyn("mrsos", [10.0, 30.0, 20.0], "kg m-2"))
    np.testing.assert_allclose(d.ds.soil_moisture.values[:, 0, 0], [0.0, 1.0, 0.5], rtol=1e-6)
    assert "10 cm" in str(warned[0].message)


def test_agb_from_cveg_and_fuel_from_clitter():
    d, warned = _load(_dyn("cVeg", [8.0, 8.0, 8.0], "kg m-2",
                           standard_name="vegetation_carbon_content"), _dyn("cLitter", [0.4, 0.5, 0.6], "kg m-2"))
    np.testing.assert_allclose(d.ds.agb.values[:, 0, 0], 6.0, rtol=1e-6)  # 0.75 x 8 kg m-2
    np.testing.assert_allclose(d.ds.fuel.values[:, 0, 0], [400.0, 500.0, 600.0], rtol=1e-6)  # g m-2
    msgs = " | ".join(str(w.message) for w in warned)
    assert "root:shoot" in msgs and "fine fuel" in msgs
    assert set(derivations(d).variable) == {"agb", "fuel"}


@pytest.mark.parametrize("units,per_month", [("flashes km-2 day-1", 30.4375), ("strokes/km2/day", 30.4375),
                                             ("fl km-2 yr-1", 1.0 / 12.0), ("km-2 month-1", 1.0)])
def test_lightning_in_its_common_units(units, per_month):
    d, _ = _load(_dyn("lightning", [0.1, 0.2, 0.3], units))
    np.testing.assert_allclose(d.ds.lightning.values[:, 0, 0], np.array([0.1, 0.2, 0.3]) * per_month, rtol=1e-6)


def test_population_density_in_inhabitants():
    d, _ = _load(_static("popd", 25.0, "inhabitants km-2"))
    np.testing.assert_allclose(d.ds.popd.values, 25.0)


def test_derived_vpd_reproduces_the_twin_worlds_own():
    w = make_world(res=5.0, years=(2001, 2001), seed=1)
    src = xr.Dataset({"tas": w.tas, "hurs": w.rh})
    src.tas.attrs["units"], src.hurs.attrs["units"] = "K", "%"
    d = load_drivers(src, target=None, regions="global")
    ok = np.isfinite(w.vpd.values)
    np.testing.assert_allclose(d.ds.vpd.values[ok], w.vpd.values[ok], rtol=2e-5, atol=1e-6)


def test_check_names_each_derivation_and_its_assumption(tmp_path):
    from fireform.drivers import check_paths

    paths = []
    for da in (_dyn("tas", [293.15, 298.15, 303.15], "K"), _dyn("hurs", [50.0, 40.0, 60.0], "%"),
               _dyn("mrso", [100.0, 200.0, 300.0], "kg m-2"), _dyn("burntFractionAll", [1.0, 2.0, 0.5], "%")):
        p = tmp_path / f"{da.name}_Lmon_M_hist_r1i1p1f1_gn_200101-200103.nc"
        da.to_dataset().to_netcdf(p)
        paths.append(p)
    rows = check_paths(paths, regions="global").findings
    derive = rows[rows.check == "derive"].set_index("variable")
    assert set(derive.index) == {"vpd", "soil_moisture"}
    assert derive.loc["vpd", "severity"] == "info" and "tas + rh" in derive.loc["vpd", "message"]
    assert derive.loc["soil_moisture", "severity"] == "warning" and "own range" in derive.loc["soil_moisture", "message"]


def test_annual_inputs_beside_monthly_ones_hold_each_year_over_its_months():
    # LUH2 / ISIMIP write land use and population once a year (here stamped in July)
    time = pd.date_range("2001-01-01", periods=24, freq="MS")
    tas = xr.DataArray(np.full((24, 2, 3), 300.0), dims=("time", "lat", "lon"),
                       coords={"time": time, "lat": LAT, "lon": LON}, attrs={"units": "K"})
    ba = (tas * 0 + 1.0).assign_attrs(units="%")
    years = pd.to_datetime(["2001-07-01", "2002-07-01"])
    pop = xr.DataArray(np.array([10.0, 20.0])[:, None, None] * np.ones((2, 2, 3)), dims=("time", "lat", "lon"),
                       coords={"time": years, "lat": LAT, "lon": LON}, attrs={"units": "inhabitants km-2"})
    d = load_drivers([xr.Dataset({"tas": tas, "burntFractionAll": ba}), pop.to_dataset(name="popd")], regions="global")
    assert d.n_months == 24
    np.testing.assert_array_equal(d.ds.popd.values[:, 0, 0], [10.0] * 12 + [20.0] * 12)
    assert "annual" in d.ds.popd.attrs["time_step"]
    assert "time_step" not in d.ds.tas.attrs


def test_burned_area_per_cell_in_km2_is_a_fraction_of_the_cell(tmp_path):
    # GFED5 writes monthly burned area per cell in km2; a latitude north to south on purpose
    from fireform.drivers import check_paths, spherical_cell_area

    frac = np.array([0.01, 0.02, 0.005])
    area_km2 = spherical_cell_area(LAT, LON) / 1e6
    ba = _dyn("Total", frac, "km2") * xr.DataArray(area_km2, dims=("lat", "lon"), coords={"lat": LAT, "lon": LON})
    ba.attrs = {"units": "km2"}
    ba = ba.isel(lat=slice(None, None, -1))
    p = tmp_path / "BA_GFED5.nc"
    xr.Dataset({"burntArea": ba}).to_netcdf(p)
    tas = tmp_path / "tas.nc"
    _dyn("tas", [300.0, 301.0, 302.0], "K").to_dataset().to_netcdf(tas)
    d = load_drivers([tas, p], regions="global")
    np.testing.assert_allclose(d.ds.burned_fraction.values[:, 1, 2], frac, rtol=1e-6)
    assert "divided by the cell area" in d.ds.burned_fraction.attrs["source_units"]
    f = check_paths([tas, p], regions="global").findings
    bad = f[(f.severity == "error") & (f.variable == "burned_fraction")]
    assert bad.empty, bad.message.tolist()
    assert f.message.str.contains("divided by the spherical cell area").any()
