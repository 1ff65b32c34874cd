"""The block bootstrap of Overall scores (years x spatial blocks) and its intervals."""

import numpy as np
import pandas as pd
import pytest

from fireform.exceptions import ScoringError
from fireform.scoring import CONVENTIONS, Benchmark
from fireform.scoring.bootstrap import bootstrap_scores, compare, percentile_interval, spatial_blocks

NY, NX = 8, 15


def _world(years=4, seed=0):
    """A coarse grid of cells with a seasonal cycle, year-to-year swings and noise; three boxes."""
    rng = np.random.default_rng(seed)
    time = pd.date_range("2001-01-01", periods=12 * years, freq="MS")
    iy, ix = [a.ravel() for a in np.meshgrid(np.arange(NY), np.arange(NX), indexing="ij")]
    n = iy.size
    peak = np.where(iy < NY // 2, 1, 7)
    phase = 2 * np.pi * (np.asarray(time.month - 1)[None, :] - peak[:, None]) / 12
    yearly = 1 + 0.4 * rng.standard_normal((n, years))[:, np.asarray(time.year - 2001)]
    base = 0.01 * (1 + 3 * rng.random(n))[:, None]
    obs = np.clip(base * np.exp(1.5 * np.cos(phase)) * yearly * (1 + 0.2 * rng.random((n, time.size))), 0, None)
    regions = {"global": np.ones(n, bool), "west": ix < 5, "mid": (ix >= 5) & (ix < 10), "east": ix >= 8}
    bench = Benchmark.prepare(obs, area=np.full(n, 1e9) * (1 + 0.1 * iy), time=time, regions=regions,
                              n_grid=2 * n)
    return bench, obs, rng, iy, ix


def _noisy(x, rng, sd):
    return x * np.exp(sd * rng.standard_normal(x.shape))


def test_observed_scores_are_the_scorers():
    bench, obs, rng, iy, ix = _world()
    preds = [_noisy(obs, rng, 0.3), np.roll(obs, 3, axis=1) * 1.5]
    lab, names = spatial_blocks(bench_masks(bench), iy, ix)
    boot = bootstrap_scores(bench, preds, blocks=lab, block_names=names, replicates=20, seed=1)
    for k, p in enumerate(preds):
        sc = bench.score(p)
        np.testing.assert_allclose(boot.observed[k], [sc.overall(c) for c in CONVENTIONS], rtol=1e-10, atol=1e-12)


def bench_masks(bench):
    return {r: bench.region_matrix[i] for i, r in enumerate(bench.region_labels)}


def test_a_replicate_equals_scoring_its_redrawn_data():
    """Known answer: replicate b is the score of the data it stands for, built explicitly (the
    years it drew laid end to end, each cell repeated as often as its block was drawn)."""
    bench, obs, rng, iy, ix = _world()
    pred = _noisy(obs, rng, 0.3)
    lab, names = spatial_blocks(bench_masks(bench), iy, ix)
    boot = bootstrap_scores(bench, [pred], blocks=lab, block_names=names, replicates=6, seed=3)
    assert len({tuple(d) for d in boot.years}) > 1  # the years were redrawn
    for b in range(boot.replicates):
        idx = np.concatenate([np.flatnonzero(bench.time.year == boot.year_labels[k]) for k in boot.years[b]])
        cells = np.concatenate([np.flatnonzero(lab == k).repeat(1) for k in range(len(names))
                                for _ in range(int(boot.counts[b, k]))])
        explicit = Benchmark.prepare(obs[cells][:, idx], area=bench.area[cells],
                                     time=pd.date_range("2001-01-01", periods=idx.size, freq="MS"),
                                     n_grid=bench.n_grid + cells.size - bench.n_cells)
        sc = explicit.score(pred[cells][:, idx])
        np.testing.assert_allclose(boot.values[0, b], [sc.overall(c) for c in CONVENTIONS], rtol=1e-9, atol=1e-12)


def test_identical_forms_give_a_narrow_interval_around_zero():
    bench, obs, rng, iy, ix = _world()
    shared = _noisy(obs, rng, 0.5)
    seeds = [_noisy(shared, rng, 0.05) for _ in range(3)]  # three fits of one form: close, not equal
    lab, names = spatial_blocks(bench_masks(bench), iy, ix)
    boot = bootstrap_scores(bench, seeds, blocks=lab, block_names=names, replicates=300, seed=0)
    t = compare(boot, baseline=[0, 1, 2], final=[0, 1, 2], point_baseline=0, point_final=0, level=0.9)
    for c in ("ilamb2", "ilamb3", "worst"):
        d = t[(t.convention == c) & (t.quantity == "difference")].iloc[0]
        f = t[(t.convention == c) & (t.quantity == "final")].iloc[0]
        assert d.point == 0.0 and d.lo <= 0.0 <= d.hi, (c, d)
        # paired: the years and regions drawn move both forms alike, so the difference's
        # interval is much narrower than either form's own
        assert d.hi - d.lo < 0.5 * (f.hi - f.lo), (c, d.hi - d.lo, f.hi - f.lo)
    one = compare(boot, baseline=[1], final=[1], point_baseline=1, point_final=1)
    d1 = one[one.quantity == "difference"]
    assert (d1.lo == 0).all() and (d1.hi == 0).all()  # one fit against itself: exactly nothing


def test_a_clearly_better_form_has_an_interval_above_zero():
    bench, obs, rng, iy, ix = _world()
    good = [_noisy(obs, rng, 0.2) for _ in range(3)]
    bad = [_noisy(np.roll(obs, 4, axis=1) * 2.5, rng, 0.2) for _ in range(3)]
    lab, names = spatial_blocks(bench_masks(bench), iy, ix)
    boot = bootstrap_scores(bench, bad + good, blocks=lab, block_names=names, replicates=300, seed=0)
    t = compare(boot, baseline=[0, 1, 2], final=[3, 4, 5], point_baseline=0, point_final=3)
    d = t[t.quantity == "difference"].set_index("convention")
    assert (d.loc[["ilamb2", "ilamb3", "worst", "geometric"], "lo"] > 0).all(), d
    assert d.loc["ilamb2", "n"] == 300


def test_a_one_year_period_is_not_redrawn_in_time():
    bench, obs, rng, iy, ix = _world(years=1)
    pred = _noisy(obs, rng, 0.3)
    boot = bootstrap_scores(bench, [pred], replicates=25, seed=0)  # one block, one year
    assert not boot.years_resampled and "not resampled" in boot.describe()
    np.testing.assert_array_equal(boot.values[0], np.tile(boot.observed[0], (25, 1)))  # nothing to redraw


def test_percentile_interval_known_answer():
    lo, hi, n = percentile_interval(np.arange(101.0), 0.90)
    assert (lo, hi, n) == (pytest.approx(5.0), pytest.approx(95.0), 101)
    x = np.r_[np.arange(10.0), np.full(11, np.nan)]
    lo, hi, n = percentile_interval(x, 0.9)
    assert np.isnan(lo) and np.isnan(hi) and n == 10  # fewer than half defined: no interval
    with pytest.raises(ScoringError, match="level"):
        percentile_interval(np.arange(3.0), 1.5)


def test_spatial_blocks_regions_then_tiles():
    n = 10
    masks = {"global": np.ones(n, bool), "a": np.arange(n) < 4, "b": (np.arange(n) >= 2) & (np.arange(n) < 7)}
    lab, names = spatial_blocks(masks)
    assert names == ("a", "b", "other")
    np.testing.assert_array_equal(lab, [0, 0, 0, 0, 1, 1, 1, 2, 2, 2])  # overlap goes to the first
    iy, ix = [a.ravel() for a in np.meshgrid(np.arange(6), np.arange(9), indexing="ij")]
    lab, names = spatial_blocks({"global": np.ones(iy.size, bool)}, iy, ix, tiles=3)
    assert len(names) == 9 == len(set(names)) and set(lab) == set(range(9))
    assert all(np.ptp(iy[lab == k]) <= 1 and np.ptp(ix[lab == k]) <= 2 for k in range(9))  # compact tiles


def test_bad_blocks_are_refused_with_the_shape():
    bench, obs, *_ = _world(years=1)
    with pytest.raises(ScoringError, match=r"blocks must be \(120,\)"):
        bootstrap_scores(bench, [obs], blocks=np.zeros(5, int), replicates=2)


def test_the_drop_from_duplicated_years_is_removed_and_reported():
    """Redrawn years repeat some: the climatologies compared are noisier and the raw replicates
    score lower than the observed period; the intervals are corrected for that drop and say how
    large it was."""
    bench, obs, rng, iy, ix = _world()
    fit = [_noisy(obs, rng, 0.3)]
    boot = bootstrap_scores(bench, fit, replicates=300, seed=2)  # years only
    raw = boot.values[0, :, list(boot.conventions).index("ilamb2")]
    assert np.mean(raw < boot.observed[0, 0]) > 0.6  # the artefact the correction removes
    t = compare(boot, baseline=[0], final=[0], point_baseline=0, point_final=0).set_index(["convention", "quantity"])
    f = t.loc[("ilamb2", "final")]
    assert f["shift"] < 0 and f.lo < f.point < f.hi
    assert f["shift"] == pytest.approx(np.mean(raw) - f.point)
