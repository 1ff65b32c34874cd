"""fireform vs ILAMB 2.7.3 and ilamb3 2026.4.20 on the same synthetic gridded data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from fireform.scoring import COMPONENTS, Benchmark
from fireform.scoring.overall import overall
from tests.scoring.reference_tools import ILAMB2_NAMES, ilamb3_dataset, run_ilamb2, run_ilamb3
from tests.scoring.worlds import KINDS, make_world

pytestmark = pytest.mark.conformance
TOL = 1e-4


def _bench(w, *, mass, basis="cycle"):
    obs, mod = w.packed()
    b = Benchmark.prepare(obs, area=w.area(), time=w.time, regions=w.region_masks(),
                          mass_weighting=mass, rmse_basis=basis, n_grid=w.n_grid)
    return b, b.score(mod)


def _same(a, b):
    return (np.isnan(a) and np.isnan(b)) or abs(a - b) <= TOL


@pytest.mark.parametrize("mass", [True, False], ids=["mass", "area"])
@pytest.mark.parametrize("kind", KINDS)
def test_ilamb2_every_component_and_overall(kind, mass):
    w = make_world(kind)
    _, s = _bench(w, mass=mass)
    ref = run_ilamb2(w, mass_weighting=mass)
    for region in w.regions:
        got = s.vector(region)
        for comp in ILAMB2_NAMES:
            assert (region, comp) in ref, f"ILAMB did not report {comp} {region}"
            assert _same(got[comp], ref[(region, comp)]), (kind, region, comp, got[comp], ref[(region, comp)])
        # 2.x Overall: weights B1 R2 S1 D1 (IAV off), computed from 2.x's own scalars
        ilamb_overall = (ref[(region, "bias")] + 2 * ref[(region, "rmse")] + ref[(region, "seasonal")]
                         + ref[(region, "spatial")]) / 5
        assert _same(s.overall("ilamb2", region), ilamb_overall)
        with_iav = (ilamb_overall * 5 + ref[(region, "iav")]) / 6
        assert _same(s.overall("ilamb2_iav", region), with_iav)


@pytest.mark.parametrize("kind", ["basic", "masks_missing", "leap_years"])
def test_ilamb2_series_rmse_basis(kind):
    w = make_world(kind)
    _, s = _bench(w, mass=True, basis="series")
    ref = run_ilamb2(w, mass_weighting=True, rmse_basis="series")
    for region in w.regions:
        assert _same(s.get("rmse", region), ref[(region, "rmse")])
        assert _same(s.get("rmse_series", region), ref[(region, "rmse")])


@pytest.mark.parametrize("mass", [True, False], ids=["mass", "area"])
@pytest.mark.parametrize("kind", KINDS)
def test_ilamb3_every_component_and_overall(kind, mass):
    w = make_world(kind)
    _, s = _bench(w, mass=mass)
    ref = run_ilamb3(w, mass_weighting=mass)
    assert not any(k[0] == "error" for k in ref), ref
    for region in w.regions:
        got = s.vector(region)
        present = []
        for comp in ("bias_ilamb3", "rmse_ilamb3", "seasonal_ilamb3", "spatial_ilamb3"):
            if (region, comp) in ref:
                assert _same(got[comp], ref[(region, comp)]), (kind, region, comp, got[comp], ref[(region, comp)])
                if not np.isnan(ref[(region, comp)]):
                    present.append(ref[(region, comp)])
            else:  # ilamb3 skipped it (no spatial variance): fireform says NaN, with a reason
                assert np.isnan(got[comp]) and (region, comp) in s.reasons
        if present:
            assert _same(s.overall("ilamb3", region), float(np.mean(present)))


def test_zero_fire_region_is_nan_in_both_tools_with_a_reason():
    w = make_world("zero_fire")
    _, s = _bench(w, mass=True)
    ref = run_ilamb2(w, mass_weighting=True)
    assert np.isnan(ref[("shaf", "bias")]) and np.isnan(s.get("bias", "shaf"))
    assert "never burns" in s.reasons[("shaf", "bias")]


def test_spatial_quirk_counts_every_grid_cell():
    """2.x's correlation uses n = all grid cells; it equals the plain one only without masked cells."""
    w = make_world("masks_missing")
    b, s = _bench(w, mass=True)
    assert abs(s.get("spatial") - s.get("spatial_plain")) > 1e-3
    obs, mod = w.packed()
    keep = ~np.isnan(obs).all(axis=1) & ~np.isnan(mod).all(axis=1)
    b2 = Benchmark.prepare(obs[keep], area=w.area()[keep], time=w.time, n_grid=int(keep.sum()))
    s2 = b2.score(mod[keep])
    assert abs(s2.get("spatial") - s2.get("spatial_plain")) < 1e-12
    assert abs(s2.get("spatial_plain") - s.get("spatial_plain")) < 1e-12


def test_seasonal_conventions_differ_as_documented():
    """A one-month shift: 2.x cosine of days (~0.93), ilamb3 linear in months (0.833)."""
    w = make_world("basic")
    obs, _ = w.packed()
    b = Benchmark.prepare(obs, area=w.area(), time=w.time, n_grid=w.n_grid)
    s = b.score(np.roll(obs, 1, axis=1))
    assert abs(s.get("seasonal_ilamb3") - (1 - 1 / 6)) < 0.02
    assert 0.92 < s.get("seasonal") < 0.95


def test_ilamb3_pitfall_builtin_regions_with_mass_weighting_fail():
    """2026.4.20 raises on its own (bbox) regions + mass weighting; fireform registers exact
    netCDF-style masks instead (run_ilamb3), which works."""
    from ilamb3.analysis.bias import bias_analysis

    w = make_world("basic")
    ref, com = ilamb3_dataset(w, w.obs), ilamb3_dataset(w, w.mod)
    with warnings.catch_warnings(), pytest.raises(NotImplementedError):
        warnings.simplefilter("ignore")
        bias_analysis("burntArea", regions=[None, "nhaf"], mass_weighting=True)(ref, com)


def test_ilamb3_pitfall_microsecond_times_skip_the_cycle():
    from ilamb3.analysis.cycle import cycle_analysis
    from ilamb3.exceptions import AnalysisNotAppropriate

    w = make_world("basic")
    ref, com = ilamb3_dataset(w, w.obs), ilamb3_dataset(w, w.mod)
    us = lambda d: d.assign_coords(time=d.time.values.astype("datetime64[us]"))  # noqa: E731
    with pytest.raises(AnalysisNotAppropriate):
        cycle_analysis("burntArea", regions=[None])(us(ref), us(com))
    df, _, _ = cycle_analysis("burntArea", regions=[None])(ref, com)  # ns: runs
    assert (df["name"] == "Seasonal Cycle Score").any()


def test_components_cover_every_reported_name():
    assert set(ILAMB2_NAMES) <= set(COMPONENTS)
    assert overall({c: 1.0 for c in COMPONENTS}, "ilamb2") == 1.0
