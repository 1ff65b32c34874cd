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


def test_a_run_split_over_files_in_time_is_joined(world, tmp_path):
    paths = []
    for name, (cmor, units, factor) in CMOR.items():
        da = (world[name] * factor).astype("float32")
        da.attrs = {"units": units}
        if "time" not in da.dims:  # static fields come in one file
            da.to_dataset(name=cmor).to_netcdf(tmp_path / f"{cmor}_fx.nc")
            paths.append(tmp_path / f"{cmor}_fx.nc")
            continue
        for year in (2001, 2002):  # CMIP writes one file per period: ..._200101-200112.nc, ..._200201-200212.nc
            chunk = da.sel(time=str(year)).to_dataset(name=cmor)
            p = tmp_path / f"{cmor}_Lmon_MODEL_hist_r1i1p1f1_gn_{year}01-{year}12.nc"
            chunk.to_netcdf(p)
            paths.append(p)
    d = load_drivers(paths[::-1])  # any order
    assert d.n_months == 24 and str(d.ds.time.values[0])[:7] == "2001-01" and str(d.ds.time.values[-1])[:7] == "2002-12"
    assert " + " in d.sources["tas"] and "200101-200112" in d.sources["tas"].split(" + ")[0]
    ref = load_drivers(world, target="burned_fraction")
    np.testing.assert_allclose(d.ds.tas.values, ref.ds.tas.values, rtol=1e-6, equal_nan=True)


def test_overlapping_time_chunks_are_refused_naming_both_files(world, tmp_path):
    from fireform.exceptions import TimeMismatchError

    paths = []
    for name, (cmor, units, factor) in CMOR.items():
        da = (world[name] * factor).astype("float32")
        da.attrs = {"units": units}
        p = tmp_path / f"{cmor}_a.nc"
        da.to_dataset(name=cmor).to_netcdf(p)
        paths.append(p)
    extra = world["tas"].sel(time="2002").to_dataset(name="tas")
    extra.tas.attrs = {"units": "K"}
    extra.to_netcdf(tmp_path / "tas_b.nc")
    with pytest.raises(TimeMismatchError, match=r"tas_a\.nc and .*tas_b\.nc both hold 2002-01 \(12 shared months\)"):
        load_drivers([*paths, tmp_path / "tas_b.nc"])


def test_check_sees_time_chunks_as_one_variable(world, tmp_path):
    from fireform.drivers import check_paths

    paths = []
    for name, (cmor, units, factor) in CMOR.items():
        da = (world[name] * factor).astype("float32")
        da.attrs = {"units": units}
        chunks = [da] if "time" not in da.dims else [da.sel(time="2001"), da.sel(time="2002")]
        for k, c in enumerate(chunks):
            p = tmp_path / f"{cmor}_Lmon_MODEL_hist_r1i1p1f1_gn_part{k}.nc"
            c.to_dataset(name=cmor).to_netcdf(p)
            paths.append(p)
    f = check_paths(paths).findings
    joined = f[(f.check == "identify") & f.message.str.contains("split in time over 2 files")]
    assert {"tas", "burned_fraction", "gpp"} <= set(joined.variable)
    assert not f.message.str.contains("files cover different periods").any()
    assert not f.message.str.contains("variables identify as").any()
    assert not f[f.check == "assemble"].shape[0], f[f.check == "assemble"].message.tolist()
