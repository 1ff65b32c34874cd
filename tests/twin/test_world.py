"""The twin world: reproducibility, catalog ranges, geography, climate patterns, formulas, I/O, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from fireform.drivers.catalog import catalog
from fireform.drivers.dataset import spherical_cell_area
from fireform.twin.physics import ar1_monthly
from fireform.twin import (
    SYNTH_VARIABLES,
    add_truth,
    day_length,
    hamon_pet,
    land_grid,
    make_world,
    miami_npp,
    saturation_vapour_pressure,
    world_drivers,
    write_world,
)
from fireform.exceptions import FireformError, InvalidValueError

YEARS = (2001, 2003)


@pytest.fixture(scope="module")
def world() -> xr.Dataset:
    return make_world(res=2.0, years=YEARS, seed=0)


def _at(da: xr.DataArray, lat: float, lon: float) -> xr.DataArray:
    return da.sel(lat=lat, lon=lon, method="nearest")


def _annual_pr_mm(ds: xr.Dataset) -> xr.DataArray:
    days = ds["time"].dt.days_in_month
    return (ds["pr"] * days).groupby("time.year").sum(min_count=1).mean("year")


# -- reproducibility ----------------------------------------------------------------------
def test_same_seed_is_bit_identical_and_other_seed_differs():
    a = make_world(res=2.0, years=(2001, 2001), seed=7)
    b = make_world(res=2.0, years=(2001, 2001), seed=7)
    xr.testing.assert_identical(a, b)
    c = make_world(res=2.0, years=(2001, 2001), seed=8)
    assert not np.array_equal(a["pr"].values, c["pr"].values, equal_nan=True)
    assert not np.array_equal(a["popd"].values, c["popd"].values, equal_nan=True)
    assert c.attrs["fireform_seed"] == 8


def test_weather_of_a_year_does_not_depend_on_the_range(world):
    later = make_world(res=2.0, years=(2003, 2003), seed=0)
    for name in ("tas", "pr", "wind", "lightning"):
        np.testing.assert_array_equal(
            later[name].values, world[name].sel(time="2003").values, err_msg=name
        )
    # static fields come from the noise-free climatology, so they do not depend on the years
    np.testing.assert_array_equal(later["popd"].values, world["popd"].values)


def test_ar1_noise_has_the_requested_persistence():
    x = ar1_monthly(3, "enso", 1950, 2049, (), rho=0.9)
    assert x.shape == (1200,)
    lag1 = np.corrcoef(x[:-1], x[1:])[0, 1]
    assert 0.82 < lag1 < 0.95
    assert 0.7 < x.std() < 1.3


# -- structure and catalog ----------------------------------------------------------------
def test_variables_units_dims_and_time_axis(world):
    cat = catalog()
    assert set(world.data_vars) == set(SYNTH_VARIABLES)
    for name, da in world.data_vars.items():
        assert da.dtype == np.float32, name
        assert da.attrs["units"] == cat[name].units, name
        assert da.attrs["long_name"], name
        want = ("lat", "lon") if cat[name].static else ("time", "lat", "lon")
        assert da.dims == want, name
    assert world["tas"].attrs["standard_name"] == "air_temperature"
    assert world["pr"].attrs["standard_name"] == "lwe_precipitation_rate"
    t = pd.DatetimeIndex(world["time"].values)
    expected = pd.date_range(f"{YEARS[0]}-01-01", f"{YEARS[1]}-12-01", freq="MS")
    assert t.equals(expected)
    assert world["lat"].size == 90 and world["lon"].size == 180
    assert world.attrs["fireform_generator"] == "fireform.twin"
    assert world.attrs["fireform_years"] == "2001-2003"


def test_all_values_inside_catalog_ranges_and_nan_only_off_land(world):
    cat = catalog()
    land = world["tas"].isel(time=0).notnull().values
    for name, da in world.data_vars.items():
        v = da.values
        on = v[..., land] if da.ndim == 3 else v[land]
        assert np.isfinite(on).all(), f"{name} has gaps on land"
        assert np.isnan(v[..., ~land]).all(), f"{name} has values over sea"
        assert on.min() >= cat[name].lo and on.max() <= cat[name].hi, (
            f"{name} spans {on.min()}..{on.max()}, catalog {cat[name].lo}..{cat[name].hi}"
        )


def test_land_fraction_is_earth_like_without_antarctica(world):
    lat, lon = world["lat"].values, world["lon"].values
    area = spherical_cell_area(lat, lon)
    land = world["tas"].isel(time=0).notnull().values
    frac = area[land].sum() / area.sum()
    # ~29% of the Earth is land, ~2.7% of it Antarctica (cut here); coarse centre sampling
    # moves this by a point or so.
    assert 0.24 < frac < 0.29, frac
    assert not land[lat < -60].any()
    grid = land_grid(2.0)
    np.testing.assert_array_equal(grid.land, land)
    assert grid.land_full[lat < -70].any()  # Antarctica is still land for sea distances


def test_bad_arguments_raise_specific_errors():
    with pytest.raises(InvalidValueError, match="res=0.7"):
        make_world(res=0.7, years=(2001, 2001))
    with pytest.raises(InvalidValueError, match="years"):
        make_world(res=2.0, years=(2005, 2001))
    with pytest.raises(InvalidValueError, match="seed"):
        make_world(res=2.0, years=(2001, 2001), seed=-1)


# -- climate patterns ---------------------------------------------------------------------
def test_itcz_migrates_with_the_seasons(world):
    pr = world["pr"].where(np.abs(world["lat"]) <= 25)
    w = np.cos(np.deg2rad(world["lat"]))
    zonal = (pr * w).sum("lon") / (pr.notnull() * w).sum("lon")
    season = world["time"].dt.season
    for name, sign in (("JJA", 1), ("DJF", -1)):
        prof = zonal.where(season == name).mean("time")
        lat_max = float(prof.idxmax("lat"))
        assert sign * lat_max > 3.0, f"{name}: tropical rain maximum at {lat_max} deg"


def test_deserts_are_dry_and_rainforests_wet(world):
    pa = _annual_pr_mm(world)
    for name, (la, lo) in {"Sahara": (23, 10), "Arabia": (22, 47), "inner Australia": (-25, 132)}.items():
        p = float(_at(pa, la, lo))
        assert p < 250.0, f"{name}: {p:.0f} mm/yr"
        assert float(_at(world["fuel"].mean("time"), la, lo)) < 200.0, name
    for name, (la, lo) in {"Amazon": (-3, -60), "Congo": (0, 22), "Borneo": (-1, 114)}.items():
        p = float(_at(pa, la, lo))
        assert p > 1400.0, f"{name}: {p:.0f} mm/yr"
        assert float(_at(world["tree_cover"], la, lo)) > 0.5, name


def test_savannas_have_opposite_dry_seasons_and_boreal_summers_dry_out(world):
    season = world["time"].dt.season

    def box_mean(da, lat, lon):
        return da.sel(lat=slice(*lat), lon=slice(*lon)).where(lambda x: x.notnull())

    for name, lat, lon, dry, wet in (
        ("N-African savanna", (6, 12), (-10, 30), "DJF", "JJA"),
        ("S-African savanna", (-18, -8), (15, 35), "JJA", "DJF"),
    ):
        pr = box_mean(world["pr"], lat, lon)
        dd = box_mean(world["dry_days"], lat, lon)
        p_dry = float(pr.where(season == dry).mean())
        p_wet = float(pr.where(season == wet).mean())
        assert p_dry < 0.25 * p_wet, f"{name}: {dry} {p_dry:.2f} vs {wet} {p_wet:.2f} mm/day"
        assert float(dd.where(season == dry).mean()) > 20.0, name
    boreal = dict(lat=(50, 65), lon=(-120, 130))
    sm = box_mean(world["soil_moisture"], **boreal)
    tas = box_mean(world["tas"], **boreal)
    vpd = box_mean(world["vpd"], **boreal)
    assert float(sm.where(season == "JJA").mean()) < float(sm.where(season == "MAM").mean()) - 0.1
    assert float(tas.where(season == "JJA").mean()) > 283.0
    assert float(vpd.where(season == "JJA").mean()) > 2 * float(vpd.where(season == "DJF").mean())


def test_continental_interiors_have_larger_seasonal_range(world):
    clim = world["tas"].groupby("time.month").mean()
    rng = clim.max("month") - clim.min("month")
    interior = float(_at(rng, 62, 130))  # eastern Siberia
    coast = float(_at(rng, 60, 6))  # western Norway
    assert interior > coast + 12.0, (interior, coast)


def test_static_fields_follow_people_and_climate(world):
    popd, crop = world["popd"], world["cropland"]
    land = popd.notnull()
    dense = crop.where(land & (popd > 100)).mean()
    sparse = crop.where(land & (popd < 1)).mean()
    assert float(dense) > 3 * float(sparse)
    pa = _annual_pr_mm(world)
    tc = world["tree_cover"]
    assert float(tc.where(pa > 1800).mean()) > float(tc.where((pa > 300) & (pa < 800)).mean()) + 0.2


# -- formulas (hand-computed) -------------------------------------------------------------
@pytest.mark.parametrize(
    "t, p, expected",
    [
        # T-limit 3000/(1+e^0.125) = 1406.4 > P-limit 3000(1-e^-0.332) = 847.5
        (10.0, 500.0, 847.54),
        # T-limit 3000/(1+e^-1.66) = 2520.7 < P-limit 3000(1-e^-1.992) = 2590.7
        (25.0, 3000.0, 2520.71),
    ],
)
def test_miami_npp_hand_values(t, p, expected):
    assert miami_npp(t, p) == pytest.approx(expected, abs=0.05)


def test_world_npp_is_miami_of_each_years_climate(world):
    cell = dict(lat=-13, lon=27, method="nearest")
    y = world.sel(time="2002")
    t_ann = float(y["tas"].sel(**cell).mean()) - 273.15
    p_ann = float((y["pr"] * y["time"].dt.days_in_month).sel(**cell).sum())
    npp_ann = float(y["npp"].sel(**cell).mean())
    assert npp_ann == pytest.approx(0.47 * miami_npp(t_ann, p_ann), rel=1e-4)
    gpp_ann = float(y["gpp"].sel(**cell).mean())
    assert 1.8 < gpp_ann / npp_ann < 2.6  # carbon-use efficiency 0.4..0.5


def test_tetens_hamon_and_day_length_hand_values():
    assert saturation_vapour_pressure(20.0) == pytest.approx(0.6108 * np.exp(17.27 * 20 / 257.3))
    assert saturation_vapour_pressure(20.0) == pytest.approx(2.3383, abs=1e-3)
    assert day_length(0.0, 80) == pytest.approx(12.0, abs=0.05)
    assert day_length(70.0, 172) == pytest.approx(24.0)
    # Hamon at 20 C and 12 h: 29.8 * 12 * 2.3383 / 293.2 = 2.852 mm/day; nothing when frozen
    assert hamon_pet(20.0, 12.0) == pytest.approx(2.852, abs=2e-3)
    assert hamon_pet(-5.0, 12.0) == 0.0


def test_humidity_and_dry_days_are_consistent(world):
    es = saturation_vapour_pressure(world["tas"].values.astype(float) - 273.15)
    vpd = es * (1 - world["rh"].values / 100.0)
    np.testing.assert_allclose(world["vpd"].values, vpd, rtol=1e-4, atol=1e-4)
    assert np.nanmin(world["tasmax"].values - world["tas"].values) > 0
    pr = world["pr"].values.ravel()
    dd = world["dry_days"].values.ravel()
    ok = np.isfinite(pr)
    days = np.broadcast_to(world["time"].dt.days_in_month.values[:, None, None], world["pr"].shape).ravel()
    assert (dd[ok] <= days[ok] + 1e-4).all()
    rank = pd.Series(pr[ok]).rank().corr(pd.Series(dd[ok]).rank())
    assert rank < -0.9, rank


# -- drivers, netCDF, truth, CLI ----------------------------------------------------------
def test_world_drivers_mask_regions_and_packing(world):
    d = world_drivers(world)
    np.testing.assert_array_equal(d.mask, world["tas"].isel(time=0).notnull().values)
    assert {"global", "nhaf", "shaf", "bona", "boas"} <= set(d.regions.labels)
    assert d.array("tas").shape == (d.n_cells, 36)
    assert d.array("popd").shape == (d.n_cells, 1)
    assert np.isfinite(d.array("fuel")).all()
    assert d.area.sum() == pytest.approx(spherical_cell_area(d.lat, d.lon)[d.mask].sum())
    assert d.target is None


def test_netcdf_round_trip_keeps_values_units_and_time(world, tmp_path):
    path = write_world(tmp_path / "w.nc", world)
    with xr.open_dataset(path) as back:
        back = back.load()
        enc = back["pr"].encoding
    xr.testing.assert_equal(back, world)
    for name in world.data_vars:
        assert back[name].attrs["units"] == world[name].attrs["units"]
        assert back[name].dtype == np.float32
    assert enc["zlib"] and enc["dtype"] == np.float32
    assert back.attrs["Conventions"].startswith("CF-")
    assert back.attrs["fireform_seed"] == 0
    with xr.open_dataset(path, decode_times=False) as raw:
        assert raw["time"].attrs["units"] == "days since 1850-01-01"
        assert raw["time"].attrs["calendar"] == "standard"
        assert raw["lat"].attrs["units"] == "degrees_north"


def _demo_form_json() -> dict:
    return {
        "name": "test_truth",
        "scale": {"lo": 1e-4, "hi": 1.0, "log": True, "default": 0.05},
        "terms": [
            {
                "name": "dry",
                "expression": "sigmoid(k_d*(dry_days - d0))",
                "params": [
                    {"name": "k_d", "lo": 0.1, "hi": 2.0, "default": 0.4},
                    {"name": "d0", "lo": 5.0, "hi": 30.0, "default": 24.0, "units": "day"},
                ],
                "rationale": "current dryness",
                "references": ["test"],
            },
            {
                "name": "gate",
                "expression": "sigmoid(k_g*(gpp_mean_3m - g0))",
                "params": [
                    {"name": "k_g", "lo": 0.001, "hi": 0.05, "default": 0.004},
                    {"name": "g0", "lo": 100.0, "hi": 3000.0, "default": 1200.0},
                ],
                "rationale": "antecedent GPP",
                "references": ["test"],
            },
        ],
    }


def test_truth_is_noisy_form_output_with_floor_and_records(world):
    from fireform.forms.form import Form

    form = Form.from_json(_demo_form_json())
    out = add_truth(world, form, sigma=0.3, floor=1e-4)
    bf = out["burned_fraction"]
    clean = add_truth(world, form, sigma=0.0, floor=0.0)["burned_fraction"]
    assert float(bf.min()) >= 0.0 and float(bf.max()) <= 1.0
    on = clean.values[np.isfinite(clean.values)]
    noisy = bf.values[np.isfinite(bf.values)]
    assert (noisy[on < 1e-4 / 3] == 0).all()  # below the floor even after a 3x noise draw
    big = on > 1e-3
    ratio = noisy[big] / on[big]
    assert abs(np.log(ratio).std() - 0.3) < 0.03  # log-normal noise of the requested sd
    assert abs(ratio.mean() - 1.0) < 0.05  # unit mean
    assert json.loads(out.attrs["fireform_truth_theta"])["gate.g0"] == 1200.0
    assert out.attrs["fireform_truth_form_hash"] == form.hash
    assert Form.from_json(out.attrs["fireform_truth_form"]) == form
    assert out["burned_fraction"].attrs["units"] == "1"
    # a world with a truth gives drivers with a target
    assert world_drivers(out).target == "burned_fraction"
    again = add_truth(world, form, sigma=0.3, floor=1e-4)
    xr.testing.assert_identical(out, again)


def test_truth_rejects_bad_noise_settings(world):
    from fireform.forms.form import Form

    form = Form.from_json(_demo_form_json())
    with pytest.raises(InvalidValueError, match="sigma"):
        add_truth(world, form, sigma=-1.0)
    with pytest.raises(InvalidValueError, match="floor"):
        add_truth(world, form, floor=2.0)


def test_cli_writes_a_world_and_a_truth(tmp_path):
    from fireform.cli import app

    runner = CliRunner()
    out = tmp_path / "w.nc"
    r = runner.invoke(app, ["synth", "--res", "2", "--years", "2001-2001", "--seed", "3", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "wrote" in r.output
    with xr.open_dataset(out) as ds:
        assert ds.attrs["fireform_seed"] == 3 and ds.sizes["time"] == 12
        assert "burned_fraction" not in ds
    form = tmp_path / "form.json"
    form.write_text(json.dumps(_demo_form_json()))
    out2 = tmp_path / "t.nc"
    r = runner.invoke(
        app, ["synth", "--res", "2", "--years", "2001-2001", "--out", str(out2), "--truth", str(form),
              "--noise-sigma", "0.2"],
    )
    assert r.exit_code == 0, r.output
    with xr.open_dataset(out2) as ds:
        assert "burned_fraction" in ds and ds.attrs["fireform_truth_noise_sigma"] == 0.2


def test_cli_rejects_bad_years(tmp_path):
    from fireform.cli import app

    r = CliRunner().invoke(app, ["synth", "--years", "2001/2016", "--out", str(tmp_path / "x.nc")])
    assert r.exit_code == 2  # the one CLI error handler: the message, no traceback
    assert "YYYY-YYYY" in r.output and "Traceback" not in r.output
