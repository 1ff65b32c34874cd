"""The fast path equals the plain reference path to 1e-9 on several datasets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.scoring.worlds import KINDS, make_world

from fireform.scoring import Benchmark


def _assert_equal(b, pred):
    f, p = b.score(pred), b.score_plain(pred)
    assert f.regions == p.regions and f.components == p.components
    np.testing.assert_array_equal(np.isnan(f.values), np.isnan(p.values))
    np.testing.assert_allclose(f.values, p.values, atol=1e-9, rtol=0, equal_nan=True)
    assert f.reasons == p.reasons


@pytest.mark.parametrize("mass", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_fast_equals_plain_on_worlds(kind, mass):
    w = make_world(kind, seed=3)
    obs, mod = w.packed()
    for basis in ("cycle", "series"):
        b = Benchmark.prepare(obs, area=w.area(), time=w.time, regions=w.region_masks(),
                              mass_weighting=mass, rmse_basis=basis, n_grid=w.n_grid)
        _assert_equal(b, mod)
        _assert_equal(b, mod.astype(np.float32))


def test_fast_equals_plain_random_with_gaps_in_both():
    rng = np.random.default_rng(7)
    n, T = 300, 30  # partial years, > 24 months
    obs = (rng.random((n, T)) ** 3 * 0.1).astype(np.float32)
    pred = (rng.random((n, T)) ** 3 * 0.1).astype(np.float32)
    obs[rng.random((n, T)) < 0.05] = np.nan
    pred[rng.random((n, T)) < 0.05] = np.nan
    obs[:10] = 0.0  # never-burning cells
    pred[20:25] = np.nan
    time = pd.date_range("2003-05-01", periods=T, freq="MS")
    regions = {"global": np.ones(n, bool), "a": rng.random(n) < 0.3, "b": rng.random(n) < 0.5}
    b = Benchmark.prepare(obs, area=rng.random(n) + 0.5, time=time, regions=regions, n_grid=1000)
    _assert_equal(b, pred)


def test_short_series_without_a_whole_year():
    rng = np.random.default_rng(1)
    obs, pred = rng.random((40, 8)), rng.random((40, 8))
    b = Benchmark.prepare(obs, area=np.ones(40), time=pd.date_range("2001-03-01", periods=8, freq="MS"))
    _assert_equal(b, pred)
    s = b.score(pred)
    assert np.isnan(s.get("seasonal")) and "annual cycle" in s.reasons[("global", "seasonal")]
    assert np.isnan(s.get("rmse_ilamb3")) and "24 months" in s.reasons[("global", "rmse_ilamb3")]
    assert not np.isnan(s.get("bias"))


@pytest.mark.parametrize("mass", [True, False])
def test_fast_equals_plain_with_map_areas(mass):
    """``area_diff`` (2.x's Bias/Seasonal map areas on composed grids) moves Bias and Seasonal
    only, the same way in both paths."""
    w = make_world("masks_missing", seed=2)
    obs, mod = w.packed()
    area = w.area()
    other = area * (1.0 + 0.5 * np.random.default_rng(0).random(area.size))
    kw = dict(time=w.time, regions=w.region_masks(), mass_weighting=mass, n_grid=w.n_grid)
    b = Benchmark.prepare(obs, area=area, area_diff=other, **kw)
    _assert_equal(b, mod)
    s, s0 = b.score(mod), Benchmark.prepare(obs, area=area, **kw).score(mod)
    for comp in ("bias", "seasonal"):
        assert abs(s.get(comp) - s0.get(comp)) > 1e-6
    for comp in ("rmse", "iav", "spatial", "bias_ilamb3", "rmse_ilamb3"):
        assert s.get(comp) == s0.get(comp)


@pytest.mark.parametrize("kind", KINDS)
def test_two_x_only_scores_the_same_two_x_values_bit_for_bit(kind):
    # a fit whose objective reads ILAMB 2.x only skips the ilamb3 sums: the 2.x components
    # (and so every 2.x Overall) must be exactly those of the full scorer
    w = make_world(kind, seed=5)
    obs, mod = w.packed()
    rng = np.random.default_rng(2)
    pred = np.where(rng.random(mod.shape) < 0.03, np.nan, mod).astype(np.float32)  # gappy rows too
    b = Benchmark.prepare(obs, area=w.area(), time=w.time, regions=w.region_masks(), n_grid=w.n_grid)
    for p in (mod, pred):
        full, two = b.score(p), b.score(p, ilamb3=False)
        three = [j for j, c in enumerate(full.components) if c.endswith("_ilamb3")]
        rest = [j for j in range(len(full.components)) if j not in three]
        assert three and rest
        np.testing.assert_array_equal(full.values[:, rest], two.values[:, rest])
        assert np.isnan(two.values[:, three]).all()
        for reg in full.regions:
            for conv in ("ilamb2", "ilamb2_iav", "worst", "geometric"):
                a, c = full.overall(conv, reg), two.overall(conv, reg)
                assert a == c or (np.isnan(a) and np.isnan(c))
            assert "2.x components only" in two.reasons[(reg, "bias_ilamb3")]
        if not np.isnan(full.overall("ilamb3")):
            assert np.isnan(two.overall("ilamb3"))
