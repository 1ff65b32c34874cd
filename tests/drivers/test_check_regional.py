"""The rules for the seed's class of bug, each on a 5 degree twin world (2001-2003, demo truth)
with the bug planted in its Drivers: region and block rules weighted by burned area, seasonality,
static fields constant over land, the target's magnitude, cells dropped at assembly; and the gate
(refusal, override recorded) on Drivers and on the fields a scoring compares."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from fireform.drivers import catalog, gate, load_drivers
from fireform.drivers.check import check_drivers
from fireform.exceptions import InputCheckError
from fireform.scoring import score
from fireform.testing import tiny_drivers
from fireform.twin import add_truth, demo_truth, make_world, world_drivers


@pytest.fixture(scope="module")
def ds():
    return add_truth(make_world(res=5, years=(2001, 2003)), demo_truth())


@pytest.fixture(scope="module")
def twin(ds):
    return world_drivers(ds)


def _plant(d, name, values):
    return d.with_variables(**{name: d.ds[name].copy(data=np.asarray(values, dtype=d.ds[name].dtype))})


def _errors(d, check=None, variable=None):
    e = check_drivers(d).errors
    if check is not None:
        e = e[e["check"] == check]
    if variable is not None:
        e = e[e["variable"] == variable]
    return e


def test_clean_twin_has_no_finding_and_passes_the_gate(twin):
    r = check_drivers(twin)
    assert r.findings.empty, r.findings.to_string()
    assert gate(twin).ok


DYNAMIC = ["tas", "tasmax", "pr", "rh", "vpd", "soil_moisture", "dry_days", "lightning", "wind", "gpp",
           "npp", "agb", "fuel"]


@pytest.mark.parametrize("name", DYNAMIC)
def test_any_dynamic_driver_zeroed_over_southern_africa_is_an_error_naming_it(twin, name):
    v = twin.ds[name].values.copy()
    v[:, twin.regions.mask("shaf")] = 0.0
    e = _errors(_plant(twin, name, v), "zero_where_burning", name)
    assert "shaf" in set(e["region"]), e.to_string()
    assert "of the burned area" in e["message"].iloc[0]


def test_zero_block_across_two_boxes_is_a_constant_block_error(twin):
    v = twin.ds["lightning"].values.copy()
    lat, lon = twin.lat, twin.lon
    m = ((lat > -12) & (lat < 12))[:, None] & ((lon > 10) & (lon < 35))[None, :]
    v[:, m] = 0.0
    e = _errors(_plant(twin, "lightning", v), "constant_block", "lightning")
    assert len(e) == 1, e.to_string()
    msg = e["message"].iloc[0]
    assert "nhaf" in msg and "shaf" in msg and "of the burned area" in msg
    assert _errors(_plant(twin, "lightning", v), "zero_where_burning", "lightning").empty  # <50% of each box


def test_a_small_flat_block_is_not_an_error(twin):
    v = twin.ds["lightning"].values.copy()
    iy, ix = np.nonzero(twin.mask)
    v[:, iy[:2], ix[:2]] = 0.0  # two cells: well under 2% of the burned area
    assert _errors(_plant(twin, "lightning", v)).empty


def test_static_field_constant_over_land(twin):
    v = twin.ds["tree_cover"].values.copy()
    v[np.isfinite(v)] = 0.3
    e = _errors(_plant(twin, "tree_cover", v))
    assert list(e["check"]) == ["static_constant"], e.to_string()
    assert "0.3" in e["message"].iloc[0]


def test_seasonal_driver_without_seasonal_cycle(twin):
    da = twin.ds["tas"]
    annual = da.groupby("time.year").mean("time").sel(year=da["time.year"]).values
    e = _errors(_plant(twin, "tas", annual), "no_seasonality", "tas")
    assert len(e) == 1 and "seasonal" in e["message"].iloc[0]
    assert catalog()["tas"].seasonal and not catalog()["agb"].seasonal
    da = twin.ds["agb"]  # biomass repeated over the months is common real data
    annual = da.groupby("time.year").mean("time").sel(year=da["time.year"]).values
    assert _errors(_plant(twin, "agb", annual)).empty


@pytest.mark.parametrize("factor, word", [(100.0, "percent labelled as a fraction"),
                                          (0.01, "divided by 100 twice")])
def test_target_magnitude_near_global(twin, factor, word):
    e = _errors(_plant(twin, "burned_fraction", twin.ds["burned_fraction"].values * factor), "target_magnitude")
    assert len(e) == 1 and word in e["message"].iloc[0] and "Mha/yr" in e["message"].iloc[0]


def test_target_magnitude_outside_the_observed_range_is_a_warning(twin):
    r = check_drivers(_plant(twin, "burned_fraction", twin.ds["burned_fraction"].values * 2.0))
    w = r.findings[r.findings["check"] == "target_magnitude"]
    assert list(w["severity"]) == ["warning"]


def test_target_magnitude_regional_grid():
    d = tiny_drivers()  # 20% of the land: regional, only the upper bound applies
    e = _errors(_plant(d, "burned_fraction", d.ds["burned_fraction"].values * 100.0), "target_magnitude")
    assert len(e) == 1 and "regional grid" in e["message"].iloc[0]
    assert _errors(_plant(d, "burned_fraction", d.ds["burned_fraction"].values * 0.01), "target_magnitude").empty


@pytest.mark.parametrize("n, severity", [(30, "error"), (2, "warning")])
def test_cells_dropped_at_assembly_are_reported_with_regions(ds, n, severity):
    v = ds["vpd"].values.copy()
    iy, ix = np.nonzero(np.isfinite(ds["burned_fraction"].values).any(axis=0))
    k = np.random.default_rng(1).choice(iy.size, n, replace=False)
    v[:, iy[k], ix[k]] = np.inf
    d = load_drivers(ds.assign(vpd=ds["vpd"].copy(data=v)))  # the loader drops those cells
    f = check_drivers(d).findings
    f = f[f["check"] == "dropped_cells"]
    assert list(f["severity"]) == [severity] and list(f["variable"]) == ["vpd"]
    assert f"at {n} cells" in f["message"].iloc[0] and "inf" in f["message"].iloc[0]


def test_gate_refuses_and_records_an_override(twin):
    v = twin.ds["vpd"].values.copy()
    v[:, twin.regions.mask("shaf")] = 0.0
    bad = _plant(twin, "vpd", v)
    with pytest.raises(InputCheckError, match=r"\[zero_where_burning\] vpd shaf"):
        gate(bad)
    seen = []
    r = gate(bad, override=True, on_report=seen.append)
    assert r.overridden and "override" in set(r.findings["check"]) and seen == [r]
    assert gate(bad).overridden  # an override given for this Drivers object holds for it


def _field(d, values=None):
    v = d.ds["burned_fraction"] if values is None else d.ds["burned_fraction"].copy(data=values)
    return xr.DataArray(v.values, dims=("time", "lat", "lon"), attrs={"units": "1"}, name="burned_fraction",
                        coords={"time": d.ds["time"], "lat": d.ds["lat"], "lon": d.ds["lon"]})


def test_score_refuses_a_percent_reference_and_a_fill_in_the_model(twin):
    obs = _field(twin)
    with pytest.raises(InputCheckError, match=r"\[range\] burned_fraction"):
        score(_field(twin, obs.values * 100.0), obs)
    bad = obs.values.copy()
    bad[0, twin.mask] = 9.97e36
    with pytest.raises(InputCheckError, match=r"\[fill_value\] burned_fraction"):
        score(obs, _field(twin, bad))
    with pytest.warns(UserWarning, match="overridden"):
        score(obs, _field(twin, bad), override_checks=True)
    with pytest.warns(UserWarning, match="skipped"):
        score(obs, obs, check=False)


@pytest.mark.parametrize("factor, severity", [(1e-4, "warning"), (1e-6, "error")])
def test_regional_desert_medians_are_lenient_but_unit_slips_are_not(factor, severity):
    d = tiny_drivers()  # regional: a desert domain may have a gpp median below 1 g m-2 yr-1
    r = check_drivers(_plant(d, "gpp", d.ds["gpp"].values * factor))
    f = r.findings[(r.findings["check"] == "magnitude") & (r.findings["variable"] == "gpp")]
    assert list(f["severity"]) == [severity], r.findings.to_string()
