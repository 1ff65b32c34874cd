"""The subset-fit defaults: patience in CMA-ES generations, terms switched off in warm starts,
and the local CMA-ES refiner's restarts (population doubling capped)."""

import numpy as np

from fireform.ablation.subsets import neutral_params
from fireform.ablation.tasks import FitSettings, cma_popsize
from fireform.fitting import FitContext, fit
from fireform.forms import Form
from tests.ablation.conftest import TRIALS


def _cv(ctx, form, point) -> float:
    pred = np.asarray(ctx.predict(form, point), dtype=np.float64)
    a = np.asarray(ctx.benchmark.area, dtype=np.float64)[:, None] * np.ones_like(pred)
    ok = np.isfinite(pred)
    m = np.average(pred[ok], weights=a[ok])
    return float(np.sqrt(np.average((pred[ok] - m) ** 2, weights=a[ok])) / m)


def test_patience_counts_cma_generations():
    assert [cma_popsize(n) for n in (1, 2, 5, 17)] == [4, 6, 8, 12]
    s = FitSettings(trials=200, patience=None, patience_generations=8)
    r = s.resolved(5)
    assert r.patience == 64 and r.patience_generations is None and r.trials == 200
    assert FitSettings(patience=30).resolved(5).patience == 30  # trials-based patience unchanged


def test_neutral_params_make_a_term_nearly_constant(world):
    ctx = FitContext(world)
    for tid in ("temperature_ignition", "cropland_suppression"):
        single = Form.from_mechanisms([tid])
        neu = neutral_params(single, ctx)
        assert set(neu) == set(single.param_names[1:])
        for p in single.params[1:]:
            assert p.lo <= neu[p.name] <= p.hi
        defaults = dict(zip(single.param_names, single.default_theta().tolist()))
        cv_def = _cv(ctx, single, defaults)
        cv_neu = _cv(ctx, single, {**defaults, **neu})
        assert cv_neu <= cv_def, (tid, cv_neu, cv_def)


def test_local_refiner_restarts_keep_the_population_bounded(world):
    # no early stop, a 1-parameter-ish term: many restarts; the population doubles at most 3x
    f = Form.from_mechanisms(["cropland_suppression"])
    ctx = FitContext(world)
    r = fit(f, ctx, trials=160, sampler="tpe+cmaes", seed=0,
            sampler_options={"tpe_fraction": 0.0, "sigma0": 0.1})
    phases = r.extra["phases"]
    base = phases[0]["popsize"]
    assert phases[0]["start"] <= 1 and r.n_trials == 160
    assert all(p["popsize"] <= 8 * base for p in phases)
    # each restart waited at least 4 generations of the population it replaced
    for a, b in zip(phases, phases[1:]):
        assert b["start"] - a["start"] >= 4 * a["popsize"], phases


def test_single_terms_and_pairs_get_the_broad_fit(serial_result, form3):
    # broad_size=2 (default): the scale alone, single terms and pairs get first_settings
    # (3 x trials of whole-box CMA-ES, stopped only once converged); larger coalitions the
    # local refiner
    from fireform.ablation.subsets import SubsetRunner

    s = serial_result.subsets
    small, big = s[s["size"] <= 2], s[s["size"] > 2]
    assert len(small) == 7 and len(big) == 1
    assert (small.trials_requested == 3 * TRIALS).all()
    for row in small.itertuples():  # all trials, or stopped by the convergence test alone
        res = serial_result.fits[row.subset]
        assert row.n_trials == 3 * TRIALS or _converged(res), row.subset
    assert (big.trials_requested == TRIALS).all()
    st = serial_result.settings
    first = FitSettings(trials=3 * TRIALS, sampler="cmaes", patience=None)
    r1 = SubsetRunner(form3, form3.term_ids, None, st, None, first_settings=first, broad_size=1)
    r3 = SubsetRunner(form3, form3.term_ids, None, st, None, first_settings=first, broad_size=3)
    assert r1.settings_for(0b011).sampler == st.sampler and r1.settings_for(0b001).sampler == "cmaes"
    assert r3.settings_for(0b111).sampler == "cmaes"


def _converged(res, generations=4, tol=1e-3) -> bool:
    w = generations * cma_popsize(len(res.params))
    v = res.trials["value"].to_numpy()
    return res.stopped_early and len(v) >= w and v[-w:].min() >= res.value - tol


def test_converge_counts_cma_generations():
    from fireform.ablation.shapley import FIRST_CONVERGE

    s = FitSettings(trials=450, sampler="cmaes", patience=None, converge_generations=4, converge_tol=1e-3)
    for n in (1, 3, 9):  # the window grows with the CMA-ES population, 4 + floor(3 ln n)
        r = s.resolved(n)
        assert r.converge == (4 * cma_popsize(n), 1e-3) and r.converge_generations is None
        assert r.fit_kwargs()["converge"] == r.converge and r.trials == 450
    assert "converge" not in FitSettings().resolved(5).fit_kwargs()
    assert FIRST_CONVERGE == (4, 1e-3)


def test_broad_fits_stop_once_converged_and_lose_nothing(world):
    """Real broad fits (the scale alone and single terms, 300 trials of whole-box CMA-ES) with the
    default convergence stop against the same game without it: the fits it stops ran fewer trials
    (the scale alone: the same trials, cut short), and no coalition ends more than the tolerance
    below its unstopped value."""
    from fireform.ablation import shapley

    form2 = Form.from_mechanisms(["precip_wetting", "cropland_suppression"])
    kw = {"trials": 20, "first_trials": 300, "executor": "serial", "broad_size": 1}
    stop = shapley(form2, world, **kw)
    full = shapley(form2, world, **kw, first_converge_generations=None)
    a = stop.subsets.set_index("subset")
    b = full.subsets.set_index("subset").loc[a.index]
    small = a["size"] <= 1
    assert (b[small].n_trials == 300).all() and not b[small].stopped_early.any()
    assert a[small].n_trials.sum() < b[small].n_trials.sum()
    for lab in a.index[small]:
        assert a.at[lab, "n_trials"] == 300 or _converged(stop.fits[lab]), lab
    s0, f0 = stop.fits["(scale)"].trials["value"].to_numpy(), full.fits["(scale)"].trials["value"].to_numpy()
    np.testing.assert_array_equal(s0, f0[: len(s0)])
    assert (a[small].value >= b[small].value - 1e-3).all(), (a[small].value - b[small].value)


def test_broad_size_is_checked_before_any_fit(world, form3):
    import pytest

    from fireform.ablation import shapley
    from fireform.exceptions import FitError

    with pytest.raises(FitError, match="broad_size must be an integer >= 0.*-1"):
        shapley(form3, world, broad_size=-1, executor="serial")
