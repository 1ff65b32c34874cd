import numpy as np
import pandas as pd
import pytest
import xarray as xr

from fireform.drivers import load_drivers
from fireform.drivers.units import conversion
from fireform.exceptions import (
    CorruptFileError,
    DataNotFoundError,
    GridMismatchError,
    InvalidValueError,
    MissingVariableError,
    TimeMismatchError,
    UnitsError,
)

MAP = {"burned_fraction": "burnt", "pr": "pr", "tas": "tas"}


@pytest.mark.parametrize(
    "src,dst,x,y",
    [
        ("kg m-2 s-1", "mm day-1", 1e-4, 8.64),  # 1 kg m-2 = 1 mm of water
        ("%", "1", 37.0, 0.37),
        ("degC", "K", 20.0, 293.15),
        ("1.15740740740741e-11 m-2.s-1", "km-2 day-1", 2.0, 2.0),
        ("Pa", "kPa", 2500.0, 2.5),
        ("kg C m-2", "g m-2", 1.5, 1500.0),
    ],
)
def test_unit_conversions(src, dst, x, y):
    assert conversion(src, dst).apply(x) == pytest.approx(y, rel=1e-9)


def test_loads_aligns_time_encodings_and_converts(small_world):
    paths, raw = small_world
    d = load_drivers(paths, mapping=MAP)
    assert d.n_months == 24 and d.time[0] == pd.Timestamp("2001-01-01")
    assert d.ds["time"].dtype == "datetime64[ns]"
    assert np.allclose(d.ds["burned_fraction"].values, raw["ba"] / 100, rtol=1e-6)
    assert np.allclose(d.ds["pr"].values, raw["pr"] * 86400, rtol=1e-5)
    assert np.allclose(d.ds["tas"].values, raw["tas"] + 273.15, rtol=1e-6)
    assert d.sources["pr"].endswith("pr.nc") and d.n_cells == 20
    assert d.array("pr").shape == (20, 24)


def test_common_period_and_descending_latitude(nc):
    lat = np.linspace(-10, 10, 4)
    a = nc("a.nc", "burnt", np.ones((36, 4, 5)), units="1", start="2000-01")
    # Second file: 2001-01..2002-12 with latitude stored north to south.
    vals = np.arange(24 * 4 * 5, dtype=float).reshape(24, 4, 5)
    b = nc("b.nc", "pr", vals[:, ::-1, :], units="mm day-1", lat=lat[::-1], start="2001-01")
    d = load_drivers([a, b], mapping={"burned_fraction": "burnt", "pr": "pr"})
    assert d.time[0] == pd.Timestamp("2001-01-01") and d.n_months == 24
    assert np.all(np.diff(d.lat) > 0)
    assert np.array_equal(d.ds["pr"].values, vals)


def test_no_common_month_is_time_error(nc):
    a = nc("a.nc", "burnt", np.ones((12, 4, 5)), units="1", start="2000-01")
    b = nc("b.nc", "pr", np.ones((12, 4, 5)), units="mm day-1", start="2005-01")
    with pytest.raises(TimeMismatchError, match="share no month"):
        load_drivers([a, b], mapping={"burned_fraction": "burnt", "pr": "pr"})


def test_missing_variable_lists_what_the_file_has(small_world):
    paths, _ = small_world
    with pytest.raises(MissingVariableError, match=r"'precip'.*pr\.nc: pr"):
        load_drivers(paths, mapping={**MAP, "pr": "precip"})
    with pytest.raises(MissingVariableError, match=r"pr\.nc.*'rain'.*the file has: pr"):
        load_drivers(paths, mapping={**MAP, "pr": (paths[1], "rain")})


def test_missing_units(nc, small_world):
    paths, _ = small_world
    bad = nc("nounits.nc", "pr", np.ones((24, 4, 5)), units=None)
    with pytest.raises(UnitsError, match=r"nounits\.nc.*'pr'.*missing"):
        load_drivers([paths[0], bad], mapping={"burned_fraction": "burnt", "pr": "pr"})


def test_wrong_units(nc, small_world):
    paths, _ = small_world
    bad = nc("kelvin_pr.nc", "pr", np.ones((24, 4, 5)), units="K")
    with pytest.raises(UnitsError, match=r"kelvin_pr\.nc.*'pr'.*'K'.*'mm day-1'"):
        load_drivers([paths[0], bad], mapping={"burned_fraction": "burnt", "pr": "pr"})


def test_mismatched_grids(nc, small_world):
    paths, _ = small_world
    other = nc("shifted.nc", "pr", np.ones((24, 4, 5)), units="mm day-1", lon=np.linspace(20.5, 40.5, 5))
    with pytest.raises(GridMismatchError, match=r"'lon'.*shifted\.nc.*index 0: 20 vs 20\.5"):
        load_drivers([paths[0], other], mapping={"burned_fraction": "burnt", "pr": "pr"})
    coarse = nc("coarse.nc", "pr", np.ones((24, 3, 5)), units="mm day-1")
    with pytest.raises(GridMismatchError, match=r"'lat'.*4 vs 3 values"):
        load_drivers([paths[0], coarse], mapping={"burned_fraction": "burnt", "pr": "pr"})


def test_all_nan_variable(nc, small_world):
    paths, _ = small_world
    bad = nc("nan.nc", "pr", np.full((24, 4, 5), np.nan), units="mm day-1")
    with pytest.raises(InvalidValueError, match=r"nan\.nc.*'pr'.*every value is NaN.*480"):
        load_drivers([paths[0], bad], mapping={"burned_fraction": "burnt", "pr": "pr"})


def test_corrupted_and_missing_files(tmp_path, small_world):
    paths, _ = small_world
    bad = tmp_path / "corrupt.nc"
    bad.write_bytes(b"CDF\x01" + b"\x00garbage" * 50)
    with pytest.raises(CorruptFileError, match=r"corrupt\.nc"):
        load_drivers([paths[0], str(bad)], mapping={"burned_fraction": "burnt", "pr": "pr"})
    with pytest.raises(DataNotFoundError, match=r"nothere\.nc"):
        load_drivers([paths[0], str(tmp_path / "nothere.nc")])


def test_negative_precipitation_names_value_and_place(nc, small_world):
    paths, _ = small_world
    vals = np.ones((24, 4, 5))
    vals[5, 2, 3] = -2.5
    bad = nc("negpr.nc", "pr", vals, units="mm day-1")
    with pytest.raises(InvalidValueError, match=r"negpr\.nc.*'pr'.*-2\.5 mm day-1 at time=2001-06, lat=3\.33.*lon=35"):
        load_drivers([paths[0], bad], mapping={"burned_fraction": "burnt", "pr": "pr"})


def test_dataset_input_untouched_and_mask(small_world):
    paths, raw = small_world
    ds = xr.open_dataset(paths[1])  # mid-month datetime64 times
    ds_ba = xr.open_dataset(paths[0])
    before = ds["pr"].values.copy()
    ba = ds_ba["burnt"].values.copy()
    ba[:, 0, 0] = np.nan  # target never valid in one cell
    ds_ba = ds_ba.assign(burnt=(ds_ba["burnt"].dims, ba, ds_ba["burnt"].attrs))
    d = load_drivers([ds_ba, ds], mapping={"burned_fraction": "burnt", "pr": "pr"}, regions="global")
    assert np.array_equal(ds["pr"].values, before) and ds["pr"].attrs["units"] == "kg m-2 s-1"
    assert d.n_cells == 19 and not d.mask[0, 0]
    assert d.regions.labels == ["global"]
    m = np.ones((4, 5), bool)
    m[3] = False
    assert load_drivers([ds_ba, ds], mapping={"burned_fraction": "burnt", "pr": "pr"}, mask=m).n_cells == 14


def test_gfed_regions_option(data_dir, nc):
    lat = np.arange(-20.25, -10, 0.5)
    lon = np.arange(20.25, 30, 0.5)
    a = nc("g.nc", "burned_fraction", np.full((12, lat.size, lon.size), 0.01), units="1", lat=lat, lon=lon)
    d = load_drivers(a, regions="gfed", data_dir=data_dir)
    assert d.regions.name == "gfed" and d.region_masks["SHAF"].sum() > 0.8 * d.n_cells


def test_pantanal_loader_matches_sanity_figures(data_dir):
    from fireform.drivers.bundles import load_pantanal

    d = load_pantanal(data_dir=data_dir)
    assert d.n_cells == 52 and d.n_months == 36
    bf = np.nan_to_num(d.array("burned_fraction"))
    mha = (bf * d.area[:, None]).reshape(d.n_cells, 3, 12).sum(axis=(0, 2)) / 1e10
    assert mha == pytest.approx([1.37, 0.63, 0.94], abs=0.01)  # README sanity figures
    assert 1.4 < d.array("vpd").min() and d.array("vpd").max() < 4.2  # Pa -> kPa
    assert d.array("dry_days").max() == pytest.approx(31.0) and d.array("dry_days").min() >= 1.0
    assert d.array("tree_cover").max() < 1 and np.isfinite(d.array("agb")).all()
    assert d.array("pr").max() == pytest.approx(14.665, abs=0.01)


@pytest.mark.parametrize(
    "units,match",
    [
        (None, r"a\.nc, variable 'v': units are missing"),
        ("", r"units are missing"),
        ("flibbets", r"cannot parse units 'flibbets'"),
        ("K", r"units 'K' .* cannot be converted to the expected 'mm day-1'"),
    ],
)
def test_units_errors_name_file_variable_units_and_expected(units, match):
    with pytest.raises(UnitsError, match=match):
        conversion(units, "mm day-1", file="a.nc", var="v")


def test_water_identity_only_for_water_amounts():
    c = conversion("kg m-2", "mm")
    assert c.scale == pytest.approx(1.0) and "1 kg m-2 = 1 mm" in c.note
    assert conversion("mm day-1", "mm day-1").note == ""
    with pytest.raises(UnitsError):
        conversion("kg m-3", "mm")  # a density is not a water depth


def test_reversed_time_axis_is_read_in_time_order(tmp_path):
    from fireform.twin import make_world, write_world

    w = make_world(res=5.0, years=(2001, 2002))
    fwd = load_drivers(write_world(tmp_path / "fwd.nc", w), target=None)
    rev = load_drivers(write_world(tmp_path / "rev.nc", w.isel(time=slice(None, None, -1))), target=None)
    assert list(rev.time) == list(fwd.time)
    np.testing.assert_array_equal(rev.array("tas"), fwd.array("tas"))
