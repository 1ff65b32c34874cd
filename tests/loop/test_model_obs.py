"""``[data]`` with model output and observations apart: spec validation, globs relative to the
spec file, the observations remapped onto the model grid with burned area conserved, and a
mapping that adds to the identified variables."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from fireform.drivers import spherical_cell_area
from fireform.exceptions import DataNotFoundError, SpecError
from fireform.loop import demo_spec, expand_paths, identified_mapping, load_spec, parse_spec
from fireform.loop.data import load_run_drivers, regrid_target
from fireform.testing.cmor import write_cmor_bundle

SPLIT = {"train_years": [2001, 2002], "holdout_years": [2003, 2003]}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return write_cmor_bundle(tmp_path_factory.mktemp("cmor"), res=5.0, years=(2001, 2003))


@pytest.mark.parametrize("data, msg", [
    ({"source": "files", "model": ["m/*.nc"]}, "data.model without data.obs"),
    ({"source": "files", "obs": ["o.nc"]}, "data.obs without data.model"),
    ({"source": "files", "paths": ["a.nc"], "model": ["m/*.nc"], "obs": ["o.nc"]}, "not both"),
    ({"source": "twin", "model": ["m/*.nc"], "obs": ["o.nc"]}, "need data.source = 'files'"),
])
def test_data_section_refuses_half_or_mixed_specs(data, msg):
    with pytest.raises(SpecError, match=msg):
        parse_spec({"name": "x", "data": data, "split": SPLIT})


def test_relative_globs_resolve_against_the_spec_folder(tmp_path, bundle):
    d = tmp_path / "specs"
    d.mkdir()
    f = d / "s.toml"
    f.write_text(f'name = "s"\n[data]\nsource = "files"\nmodel = ["../m/*.nc"]\nobs = ["{bundle.obs_file}"]\n'
                 '[split]\ntrain_years = [2001, 2002]\nholdout_years = [2003, 2003]\n')
    spec = load_spec(f)
    assert spec.data.model == [str(d.resolve() / "../m/*.nc")]
    assert spec.data.obs == [str(bundle.obs_file)]  # absolute entries are kept as written
    # the run folder's copy (canonical, absolute) reads the same files
    assert parse_spec(spec.to_toml()).data.model == spec.data.model


def test_an_empty_glob_names_the_pattern_and_the_folder(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"'.*nothing_\*\.nc' matches no file in folder '.*"
                                                 + tmp_path.name):
        expand_paths([str(tmp_path / "nothing_*.nc")], what="data.model")
    with pytest.raises(DataNotFoundError, match="holds no netCDF"):
        expand_paths([str(tmp_path)], what="data.model")


def test_globs_and_folders_expand_sorted(bundle):
    a = expand_paths([str(bundle.model_dir / "*.nc")])
    b = expand_paths([str(bundle.model_dir)])
    assert a == b == sorted(a) and len(a) == len(bundle.model_files)


def _fine_field(seed: int = 0) -> xr.DataArray:
    """A 2-degree field on lon -180..180, ocean NaN, missing months here and there."""
    rng = np.random.default_rng(seed)
    lat = np.arange(-89.0, 90.0, 2.0)
    lon = np.arange(-179.0, 180.0, 2.0)
    v = rng.gamma(0.5, 0.02, size=(5, lat.size, lon.size))
    v[:, :, 40:70] = np.nan  # an ocean band crossing cell boundaries of the coarse grid
    v[2, 10:20, 100:120] = np.nan  # a gap in one month
    return xr.DataArray(v, dims=("time", "lat", "lon"),
                        coords={"time": np.arange(5), "lat": lat, "lon": lon})


@pytest.mark.parametrize("dlat, dlon, lon0", [(5.0, 5.0, 2.5), (3.0, 7.5, 0.0), (2.0, 2.0, 1.0)])
def test_remapped_observations_conserve_burned_area(dlat, dlon, lon0):
    """Global total (fraction x cell area) per month to 1e-6 relative, from a grid on lon
    -180..180 onto grids on 0..360, coarser, finer or the same resolution but shifted."""
    src = _fine_field()
    lat = np.arange(-90 + dlat / 2, 90, dlat)
    lon = lon0 + dlon / 2 + dlon * np.arange(round(360 / dlon))  # a whole circle, from lon0 (up to 360 + lon0)
    out = regrid_target(src, lat, lon)
    a_src = spherical_cell_area(src.lat.values, src.lon.values)
    a_dst = spherical_cell_area(lat, lon)
    for m in range(src.sizes["time"]):
        before = np.nansum(src.values[m] * a_src)
        after = np.nansum(out.values[m].astype(np.float64) * a_dst)
        assert after == pytest.approx(before, rel=1e-6)
    # cells no observation covers stay missing (not zero-filled ocean)
    assert np.isnan(out.values).any() and np.isfinite(out.values).any()


def test_same_grid_other_longitude_convention_is_not_remapped():
    src = _fine_field()
    lon360 = np.sort(np.mod(src.lon.values, 360.0))
    roll = src.assign_coords(lon=np.mod(src.lon.values, 360.0)).sortby("lon")
    out = regrid_target(roll, src.lat.values, lon360)
    np.testing.assert_array_equal(out.values, roll.values)


def test_a_partial_mapping_adds_to_what_was_identified(bundle):
    files = [str(p) for p in bundle.model_files]
    auto = identified_mapping(files)
    assert {"tas", "rh", "cveg", "clitter", "mrso", "mrsofc", "cropland", "burned_fraction"} <= set(auto)
    # map one variable under another catalog name: it moves, every other identification stays
    part = identified_mapping(files, {"tree_cover": "cropFrac"})
    assert part["tree_cover"] == [(str(bundle.model_dir / "cropFrac_TWIN-ESM.nc"), "cropFrac")]
    assert "cropland" not in part
    assert {k: v for k, v in part.items() if k not in ("tree_cover", "cropland")} == \
        {k: v for k, v in auto.items() if k not in ("tree_cover", "cropland")}


def test_specs_without_model_and_obs_keep_their_hash():
    """The new fields are left out of the canonical spec while unused: a run started before them
    resumes (its frozen hash is the hash of the same spec read now)."""
    d = demo_spec().canonical()["data"]
    assert not {"model", "obs", "obs_var"} & set(d)
    s = parse_spec({"name": "x", "data": {"source": "files", "model": ["/m/*.nc"], "obs": ["/o.nc"]}, "split": SPLIT})
    assert s.canonical()["data"]["model"] == ["/m/*.nc"]
    assert parse_spec(s.to_toml()).hash == s.hash


def test_a_model_variable_split_over_files_in_time_loads_whole(tmp_path):
    """CMIP period chunks (tas_..._200101-200112.nc, tas_..._200201-200312.nc) through data.model,
    identified or mapped: every chunk is read (the loader joins them in time)."""
    b = write_cmor_bundle(tmp_path, res=5.0, years=(2001, 2003))
    whole = b.model_dir / "tas_TWIN-ESM.nc"
    with xr.open_dataset(whole, decode_times=False) as ds:
        ds.load()
    for name, sl in (("tas_TWIN-ESM_200101-200112.nc", slice(0, 12)), ("tas_TWIN-ESM_200201-200312.nc", slice(12, None))):
        ds.isel(time=sl).to_netcdf(b.model_dir / name)
    whole.unlink()
    files = expand_paths([str(b.model_dir)])
    assert len(identified_mapping(files)["tas"]) == 2
    assert len(identified_mapping(files, {"tasmax": "tas"})["tasmax"]) == 2  # a mapped name takes every chunk
    spec = parse_spec({"name": "c", "data": {"source": "files", "model": [str(b.model_dir / "*.nc")],
                                             "obs": [str(b.obs_file)]}, "split": SPLIT})
    drivers, _ = load_run_drivers(spec)
    w = b.world.assign_coords(lon=np.mod(b.world.lon.values, 360.0)).sortby("lon")
    assert drivers.n_months == 36
    ok = np.isfinite(w.tas.values)
    np.testing.assert_allclose(drivers.ds.tas.values[ok], w.tas.values[ok], rtol=1e-6)


def test_model_drivers_are_area_weighted_means_on_a_coarser_grid():
    from fireform.loop.data import MODEL_FIRE, remap_model

    src = _fine_field(1)  # 2 degree, NaN ocean band and a gap
    ds = xr.Dataset({"tas": src + 280.0, MODEL_FIRE: src})
    lat, lon = np.arange(-88.0, 90.0, 4.0), np.arange(-178.0, 180.0, 4.0)  # 2 x 2 blocks of the 2 degree grid
    out = remap_model(ds, lat, lon)
    a = spherical_cell_area(src.lat.values, src.lon.values)
    v = ds.tas.values[0]
    # by hand: the first 4 degree cell is the area-weighted mean of its four 2 degree cells
    block = v[0:2, 0:2]
    w = a[0:2, 0:2]
    assert float(out.tas.values[0, 0, 0]) == pytest.approx((block * w).sum() / w.sum(), rel=1e-6)
    # a cell partly over the ocean band averages the cells with data only
    j = 40 // 2  # the band starts at fine column 40: coarse column 20 is all ocean
    assert np.isnan(out.tas.values[0, 0, j])
    # the model's own burned fraction keeps its burned area
    for m in range(src.sizes["time"]):
        before = np.nansum(src.values[m] * a)
        after = np.nansum(out[MODEL_FIRE].values[m].astype(np.float64) * spherical_cell_area(lat, lon))
        assert after == pytest.approx(before, rel=1e-6)


@pytest.mark.parametrize("grid, expect", [("coarser", 10.0), ("model", 5.0), ("obs", 10.0)])
def test_model_and_observations_meet_on_the_grid_the_spec_names(tmp_path, grid, expect):
    """Observations coarser than the model (10 vs 5 degree): by default the model drivers go onto
    the observations' grid (nothing is invented below 10 degree); ``grid = "model"`` keeps the
    model's grid and spreads the observations conservatively."""
    from fireform.loop.data import remap_model

    b = write_cmor_bundle(tmp_path / "b", res=5.0, years=(2001, 2003), obs_refine=1)
    with xr.open_dataset(b.obs_file) as o:
        var = next(v for v in o.data_vars if o[v].ndim == 3)
        fine = o[var].load()
    lat, lon = np.arange(-85.0, 90.0, 10.0), np.arange(-175.0, 180.0, 10.0)
    coarse = remap_model(xr.Dataset({"model_burned_fraction": fine.sortby("lat").sortby("lon")}), lat, lon)
    cda = coarse["model_burned_fraction"].rename(var)
    cda.attrs = dict(fine.attrs)
    cfile = tmp_path / "obs_10deg.nc"
    xr.Dataset({var: cda}, coords={"time": fine.time}).to_netcdf(cfile)
    spec = parse_spec({"name": "g", "data": {"source": "files", "model": [str(p) for p in b.model_files],
                                              "obs": [str(cfile)], "grid": grid}, "split": SPLIT})
    d, _ = load_run_drivers(spec)
    assert float(np.median(np.diff(d.lat))) == pytest.approx(expect)
    obs_total = np.nansum(cda.values[0].astype(np.float64) * spherical_cell_area(lat, lon))
    t = d.ds.burned_fraction.values[0].astype(np.float64) * spherical_cell_area(d.lat, d.lon)
    scale = 100.0 if "%" in str(fine.attrs.get("units", "")) else 1.0
    assert np.nansum(t) * scale == pytest.approx(obs_total, rel=1e-5)  # burned area conserved either way
    assert d.n_cells > 0 and {"tas", "vpd", "gpp"} <= set(d.variables)
    assert f"met on the {'observations' if expect == 10.0 else 'model'}'s grid" in d.ds.attrs["grid_note"]
