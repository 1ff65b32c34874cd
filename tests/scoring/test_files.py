"""``score_files`` and ``fireform score`` with model and reference on different grids and in
different conventions (files written by the tests)."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fireform.cli import app
from fireform.exceptions import ScoringError, UnknownNameError
from fireform.scoring.conservative import total
from fireform.scoring.files import read_field, score_files
from tests.scoring.grid_pairs import TIME, Axis, Spec, field, write, write_pair
from tests.scoring.reference_tools import write_grid_netcdf

REF = Spec(Axis(-10, 10, 1.0), Axis(-20, 20, 1.0))
MOD = Spec(Axis(-10, 10, 2.0), Axis(-20, 20, 2.0))


def _vector(res, region="global") -> np.ndarray:
    return res.card.vectors(region=region).iloc[0].to_numpy(dtype=float)


def _layouts(spec: Spec):
    return {
        "plain": spec,
        "north_first": Spec(spec.lat, spec.lon, north_first=True),
        "lon360": Spec(spec.lat, spec.lon, lon360=True),
        "both": Spec(spec.lat, spec.lon, lon360=True, north_first=True),
        "both_with_bounds": Spec(spec.lat, spec.lon, lon360=True, north_first=True, bounds=True),
    }


@pytest.mark.parametrize("regrid", ["nearest", "conservative"])
def test_lon_and_lat_conventions_give_identical_scores(tmp_path, regrid):
    """0..360 vs -180..180 and north-to-south vs south-to-north, model and reference alike."""
    rng = np.random.default_rng(4)
    r, m = field(REF, rng, model=False), field(MOD, rng, model=True)
    base = None
    refs, mods = _layouts(REF), _layouts(MOD)
    combos = [(k, "plain") for k in refs] + [("plain", k) for k in mods if k != "plain"]
    for name, mname in combos + [("both", "both_with_bounds"), ("both_with_bounds", "both")]:
        spec, mspec = refs[name], mods[mname]
        fo, fm = tmp_path / f"r_{name}.nc", tmp_path / f"m_{mname}.nc"
        write(fo, spec, r)
        write(fm, mspec, m)
        res = score_files(str(fo), "burntArea", str(fm), "burntArea", regions="ilamb", regrid=regrid)
        got = np.concatenate([_vector(res, reg) for reg in ("global", "nhaf", "shaf")])
        if base is None:
            base = got
        np.testing.assert_array_equal(got, base, err_msg=f"{name} / {mname}")
    assert np.isfinite(base).any()


def test_read_field_puts_data_in_grid_order(tmp_path):
    rng = np.random.default_rng(0)
    r = field(REF, rng, model=False)
    write(tmp_path / "a.nc", Spec(REF.lat, REF.lon, lon360=True, north_first=True, bounds=True), r)
    f = read_field(str(tmp_path / "a.nc"), "burntArea")
    np.testing.assert_array_equal(f.grid.lat, REF.lat.centres)
    np.testing.assert_array_equal(f.grid.lon, REF.lon.centres)
    np.testing.assert_array_equal(f.data, r)


def test_read_field_takes_bounds_from_the_file(tmp_path):
    """Uneven cells: the file's lat_bnds/lon_bnds, not mid-points between centres (with or
    without the coordinates' ``bounds`` attribute)."""
    lat, lon = np.array([-5.0, 1.0, 4.0]), np.array([10.0, 12.0])
    lb = np.array([[-10.0, 0.0], [0.0, 3.0], [3.0, 5.0]])
    ob = np.array([[9.0, 11.0], [11.0, 15.0]])
    write_grid_netcdf(tmp_path / "b.nc", lat, lon, TIME[:2], np.zeros((2, 3, 2)), lat_bnds=lb, lon_bnds=ob)
    g = read_field(str(tmp_path / "b.nc"), "burntArea").grid
    np.testing.assert_array_equal(g.lat_bnds, lb)
    np.testing.assert_array_equal(g.lon_bnds, ob)
    import xarray as xr

    ds = xr.open_dataset(tmp_path / "b.nc").load()
    del ds["lat"].attrs["bounds"], ds["lon"].attrs["bounds"]
    ds.to_netcdf(tmp_path / "c.nc")
    np.testing.assert_array_equal(read_field(str(tmp_path / "c.nc"), "burntArea").grid.lat_bnds, lb)
    write_grid_netcdf(tmp_path / "d.nc", lat, lon, TIME[:2], np.zeros((2, 3, 2)))
    np.testing.assert_array_equal(read_field(str(tmp_path / "d.nc"), "burntArea").grid.lat_bnds,
                                  [[-8, -2], [-2, 2.5], [2.5, 5.5]])


def test_same_grid_is_scored_without_regridding(tmp_path):
    fo, _ = write_pair(tmp_path, "0.5_vs_1")
    res = score_files(fo, "burntArea", fo, "burntArea", regions="global")
    assert res.regridding.method == "same grid"
    assert res.card.vectors().iloc[0]["bias"] == pytest.approx(1.0, abs=1e-12)


def test_conservative_conserves_the_model_burned_area_on_the_reference_grid(tmp_path, monkeypatch):
    fo, fm = write_pair(tmp_path, "1_vs_2.5")
    seen = {}
    core = importlib.import_module("fireform.scoring.score")  # the package's ``score`` is the function
    real = core.remap_conservative

    def spy(x, src, dst):
        out = real(x, src, dst)
        seen["before"], seen["after"] = total(x, src), total(out.values, dst, out.coverage)
        return out

    monkeypatch.setattr(core, "remap_conservative", spy)
    res = score_files(fo, "burntArea", fm, "burntArea", regrid="conservative")
    assert res.regridding.method == "conservative"
    assert res.regridding.target.same_as(res.regridding.reference)
    np.testing.assert_allclose(seen["after"], seen["before"], rtol=1e-6)
    near = score_files(fo, "burntArea", fm, "burntArea")
    assert np.isfinite(_vector(res)).sum() == np.isfinite(_vector(near)).sum()


def test_region_without_a_cell_scores_nan_with_a_reason_and_the_rest_carries_on(tmp_path):
    lat, lon = np.arange(-80.0, 81.0, 20.0), np.arange(-170.0, 171.0, 20.0)
    x = np.random.default_rng(0).random((TIME.size, lat.size, lon.size)) * 0.01
    write_grid_netcdf(tmp_path / "o.nc", lat, lon, TIME, x)
    write_grid_netcdf(tmp_path / "m.nc", lat, lon, TIME, 1.1 * x)
    res = score_files(str(tmp_path / "o.nc"), "burntArea", str(tmp_path / "m.nc"), "burntArea")
    f = res.card.frame
    nhsa = f[(f.region == "nhsa") & (f.convention == "component")]
    assert nhsa.value.isna().all() and (nhsa.reason.str.contains("no cell of the scoring grid")).all()
    assert np.isfinite(res.card.vectors(region="global").iloc[0]["bias"])
    r = CliRunner().invoke(app, ["score", "--obs", str(tmp_path / "o.nc"), "--obs-var", "burntArea",
                                 "--model", str(tmp_path / "m.nc"), "--model-var", "burntArea"])
    assert r.exit_code == 0, r.output
    assert "NaN in nhsa: no cell of the scoring grid 9x18 lies in this region" in r.output


@pytest.mark.parametrize("regrid, line", [
    ("nearest", "regrid: nearest neighbour onto the grid composed of both grids' cell boundaries (ILAMB 2.x); "
                "reference 20x30 (1 x 1 deg, lat -10..10, lon 5..35); model 8x12 (2.5 x 2.5 deg, lat -10..10, "
                "lon 5..35); scored on 24x36 (0.5..1 x 0.5..1 deg, lat -10..10, lon 5..35)"),
    ("conservative", "regrid: first-order conservative remapping of the model onto the reference grid; "
                     "reference 20x30 (1 x 1 deg, lat -10..10, lon 5..35); model 8x12 (2.5 x 2.5 deg, "
                     "lat -10..10, lon 5..35); scored on 20x30 (1 x 1 deg, lat -10..10, lon 5..35)"),
])
def test_cli_end_to_end_on_different_grids(tmp_path, regrid, line):
    fo, fm = write_pair(tmp_path, "1_vs_2.5")
    out = tmp_path / "card.csv"
    r = CliRunner().invoke(app, ["score", "--obs", fo, "--obs-var", "burntArea", "--model", fm,
                                 "--model-var", "burntArea", "--regions", "ilamb", "--regrid", regrid,
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert line in r.output.splitlines()
    assert f"wrote {out}" in r.output
    card = pd.read_csv(out)
    assert {"global", "nhaf", "shaf"} <= set(card.region) and len(card) > 100
    assert card[(card.region == "global") & (card.component == "overall")].value.notna().all()


def test_errors_name_file_variable_and_value(tmp_path):
    fo, fm = write_pair(tmp_path, "offset")
    with pytest.raises(UnknownNameError, match="unknown regrid method 'bilinear'; valid: nearest, conservative"):
        score_files(fo, "burntArea", fm, "burntArea", regrid="bilinear")
    with pytest.raises(ScoringError, match="has no variable 'ba'"):
        score_files(fo, "burntArea", fm, "ba")
    import xarray as xr

    ds = xr.Dataset({"burntArea": (("time", "y", "x"), np.zeros((2, 2, 2)), {"units": "1"})},
                    coords={"time": ("time", [15.0, 45.0], {"units": "days since 2001-01-01"}),
                            "lat": (("y", "x"), np.zeros((2, 2))), "lon": (("y", "x"), np.zeros((2, 2)))})
    ds.to_netcdf(tmp_path / "curv.nc")
    with pytest.raises(ScoringError, match=r"curv.nc' 'burntArea': dimension 'y' has no 1-D coordinate"):
        score_files(str(tmp_path / "curv.nc"), "burntArea", fm, "burntArea")


def test_public_score_on_dataarrays_of_different_grids(tmp_path):
    """``fireform.score(obs, model)`` takes DataArrays on any two grids (bounds at mid-points)."""
    import xarray as xr

    import fireform as ff

    fo, fm = write_pair(tmp_path, "conventions")  # the model: 0..360, north-to-south, bounds
    card = ff.score(xr.open_dataset(fo)["burntArea"], xr.open_dataset(fm)["burntArea"], regions="global")
    res = score_files(fo, "burntArea", fm, "burntArea", regions="global")
    got, want = card.vectors().iloc[0], res.card.vectors().iloc[0]
    np.testing.assert_allclose(got.to_numpy(float), want.to_numpy(float), rtol=0, atol=1e-12)


def test_reference_given_as_km2_per_cell_scores_as_its_fraction(tmp_path):
    """GFED5 writes burned area per cell in km2: it is divided by the cell area (ILAMB's CellAreas
    from the reference's own bounds) and scores exactly as the same data given as a fraction."""
    import xarray as xr

    fo, fm = write_pair(tmp_path, "conventions")
    with xr.open_dataset(fo) as ds:
        ds = ds.load()
    f = read_field(fo, "burntArea")
    frac = ds["burntArea"] / (100.0 if "%" in str(ds["burntArea"].attrs.get("units")) else 1.0)
    # the cell areas in the file's own order: read_field holds the data in grid order
    area = xr.DataArray(f.grid.area() / 1e6, dims=("lat", "lon"),
                        coords={"lat": np.sort(ds.lat.values), "lon": np.sort(ds.lon.values)})
    km2 = (frac * area.reindex_like(frac.isel(time=0), method="nearest")).assign_attrs(units="km2")
    fk = tmp_path / "ref_km2.nc"
    ds.assign(burntArea=km2).to_netcdf(fk)
    a = score_files(fo, "burntArea", fm, "burntArea", regions="global")
    b = score_files(str(fk), "burntArea", fm, "burntArea", regions="global")
    np.testing.assert_allclose(_vector(b), _vector(a), rtol=1e-6, atol=1e-9)
