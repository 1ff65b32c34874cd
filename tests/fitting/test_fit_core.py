import math
import pickle

import numpy as np
import pytest

from fireform.exceptions import FitError, HoldoutAccessError, TimeMismatchError, UnknownNameError
from fireform.fitting import FitCache, FitContext, Objective, Split, fit, fitting_active
from fireform.fitting.split import fitting_guard
from fireform.scoring import CONVENTIONS


def test_objective_validates_names():
    with pytest.raises(UnknownNameError, match="valid"):
        Objective(metric="nope")
    with pytest.raises(UnknownNameError, match="valid"):
        Objective(convention="ilamb9")
    with pytest.raises(UnknownNameError, match="training period"):
        Objective(period="holdout")
    with pytest.raises(UnknownNameError, match="maximize"):
        Objective(direction="minimize")


def test_objective_component_and_nan(twin_ctx, truth_form, theta_true):
    s = twin_ctx.scores(truth_form, theta_true)
    assert Objective(metric="bias").value(s) == pytest.approx(s.get("bias"))
    assert Objective(convention="ilamb3").value(s) == pytest.approx(s.overall("ilamb3"))
    # a region with no reference data scores NaN -> the worst value, 0
    nan_region = next(r for r in s.regions if math.isnan(s.overall("ilamb2", r)))
    assert Objective(region=nan_region).value(s) == 0.0


def test_fit_result_fields_and_determinism(twin_ctx, truth_form):
    a = fit(truth_form, twin_ctx, trials=25, seed=3)
    b = fit(truth_form, twin_ctx, trials=25, seed=3)
    c = fit(truth_form, twin_ctx, trials=25, seed=4)
    assert a.n_trials == 25 and list(a.trials["number"]) == list(range(25))
    assert a.params == b.params and a.value == b.value
    assert a.trials[truth_form.param_names].equals(b.trials[truth_form.param_names])
    assert not a.trials[truth_form.param_names].equals(c.trials[truth_form.param_names])
    assert a.value == a.trials["value"].max() == a.trials["best_so_far"].iloc[-1]
    # the score vector of the best parameters under every convention
    assert a.overall("ilamb2") == pytest.approx(a.value)
    table = a.overall_table()
    assert set(table["convention"]) == set(CONVENTIONS)
    assert a.sampler_seconds > 0 and a.eval_seconds > 0 and a.wall_seconds >= a.sampler_seconds
    for name, p in zip(truth_form.param_names, truth_form.params):
        assert p.lo <= a.params[name] <= p.hi
    back = pickle.loads(pickle.dumps(a))
    assert back.params == a.params and back.overall("geometric") == a.overall("geometric")
    assert back.form.hash == truth_form.hash


def test_pipelined_fit_is_deterministic(twin_ctx, truth_form):
    a = fit(truth_form, twin_ctx, trials=30, seed=1, in_flight=2)
    b = fit(truth_form, twin_ctx, trials=30, seed=1, in_flight=2)
    assert a.n_trials == 30 and a.params == b.params
    assert a.trials[truth_form.param_names].equals(b.trials[truth_form.param_names])


def test_early_stop(twin_ctx, truth_form):
    r = fit(truth_form, twin_ctx, trials=400, seed=0, patience=8)
    assert r.stopped_early and r.n_trials < 400
    best_at = int(np.argmax(r.trials["value"].to_numpy()))
    assert r.n_trials - 1 - best_at >= 8  # the last 8 trials did not improve
    full = fit(truth_form, twin_ctx, trials=60, seed=0)
    assert not full.stopped_early and full.n_trials == 60


def test_cache_never_runs_a_fit_twice(tmp_path, twin, truth_form):
    ctx = FitContext(twin)
    first = fit(truth_form, ctx, trials=20, cache=tmp_path)
    n = ctx.n_evaluations
    again = fit(truth_form, ctx, trials=20, cache=tmp_path)
    assert ctx.n_evaluations == n  # not one evaluation
    assert again.from_cache and not first.from_cache
    assert again.params == first.params and again.cache_key == first.cache_key
    # from disk, in a fresh cache object and a fresh context
    ctx2 = FitContext(twin)
    disk = fit(truth_form, ctx2, trials=20, cache=FitCache(tmp_path))
    assert disk.from_cache and ctx2.n_evaluations == 0
    assert (tmp_path / "fits" / f"{first.cache_key}.json").is_file()
    assert (tmp_path / "studies" / f"{first.cache_key}.journal").is_file()
    # anything in the key changes -> a new fit
    other = fit(truth_form, ctx, trials=20, seed=1, cache=tmp_path)
    assert not other.from_cache and other.cache_key != first.cache_key
    assert ctx.n_evaluations > n


def test_resume_runs_only_missing_trials(tmp_path, twin, truth_form):
    ctx = FitContext(twin)
    store = f"journal:{tmp_path / 'study.journal'}"
    fit(truth_form, ctx, trials=12, storage=store, study_name="s")
    n = ctx.n_evaluations
    r = fit(truth_form, ctx, trials=20, storage=store, study_name="s")
    assert r.n_trials == 20 and list(r.trials["number"]) == list(range(20))
    assert ctx.n_evaluations - n == 8  # only the 8 missing trials are evaluated


def test_bad_arguments(twin_ctx, truth_form):
    with pytest.raises(FitError, match="trials"):
        fit(truth_form, twin_ctx, trials=0)
    with pytest.raises(UnknownNameError, match="sampler"):
        fit(truth_form, twin_ctx, trials=5, sampler="annealing")
    with pytest.raises(FitError, match="FitContext was built"):
        fit(truth_form, twin_ctx, trials=5, objective=Objective(convention="ilamb3"))
    with pytest.raises(FitError, match="region"):
        FitContext(twin_ctx.drivers, objective=Objective(region="atlantis"))


# -- the holdout seal ------------------------------------------------------------------------
def test_split_seal(twin):
    reads = []
    sp = Split(twin, train_years="2001-2004", holdout_years=(2005, 2006), on_read=reads.append)
    assert list(np.unique(sp.train.time.year)) == [2001, 2002, 2003, 2004]
    with pytest.raises(HoldoutAccessError):
        sp.holdout  # noqa: B018
    with pytest.raises(HoldoutAccessError):
        pickle.dumps(sp)
    with pytest.raises(HoldoutAccessError, match="reason"):
        sp.unseal("")
    with fitting_guard():
        assert fitting_active()
        with pytest.raises(HoldoutAccessError, match="while a fit is running"):
            sp.unseal("peek")
    h = sp.unseal("final holdout score")
    assert list(np.unique(h.time.year)) == [2005, 2006]
    assert len(sp.reads) == 1 and reads == list(sp.reads) and sp.reads[0].reason == "final holdout score"
    with pytest.raises(TimeMismatchError, match="overlap"):
        Split(twin, train_years="2001-2004", holdout_years="2004-2006")


def test_holdout_corruption_changes_nothing(twin, truth_form):
    """A fit on a world whose holdout years are garbage is exactly the fit on the clean world."""
    ds = twin.ds.copy(deep=True)
    hold = np.isin(twin.time.year, [2005, 2006])
    rng = np.random.default_rng(9)
    for v in ds.data_vars:
        if "time" in ds[v].dims:
            a = ds[v].values
            a[hold] = np.where(rng.random(a[hold].shape) < 0.5, np.nan, 1e6 * rng.standard_normal(a[hold].shape))
            ds[v].values = a
    corrupt = type(twin)(ds=ds, cell_area=twin.cell_area, mask=twin.mask, regions=twin.regions,
                         target=twin.target)
    assert corrupt.fingerprint() != twin.fingerprint()
    clean_split = Split(twin, train_years="2001-2004", holdout_years="2005-2006")
    bad_split = Split(corrupt, train_years="2001-2004", holdout_years="2005-2006")
    a = fit(truth_form, clean_split, trials=30, seed=2)
    b = fit(truth_form, bad_split, trials=30, seed=2)
    assert a.fingerprint == b.fingerprint and a.years == (2001, 2002, 2003, 2004)
    assert a.params == b.params and a.value == b.value and a.cache_key == b.cache_key
    cols = ["number", "value", *truth_form.param_names]
    assert a.trials[cols].equals(b.trials[cols])
    assert np.array_equal(a.scores.values, b.scores.values, equal_nan=True)
    # whereas corrupting a training year does change the fit
    ds2 = twin.ds.copy(deep=True)
    ds2["burned_fraction"].values[np.isin(twin.time.year, [2001])] *= 3.0
    c = fit(truth_form, Split(type(twin)(ds=ds2, cell_area=twin.cell_area, mask=twin.mask,
                                         regions=twin.regions, target=twin.target),
                              train_years="2001-2004"), trials=30, seed=2)
    assert c.value != a.value


def test_cache_key_helper_matches_fit(twin_ctx, truth_form):
    from fireform.fitting import DEFAULT_SAMPLER, SamplerSpec, fit_key, warm_points

    parent = {"scale": 0.01}
    r = fit(truth_form, twin_ctx, trials=6, seed=2, patience=3, warm_start=parent)
    k = fit_key(truth_form, twin_ctx, spec=SamplerSpec(DEFAULT_SAMPLER, 2), trials=6, patience=3,
                  warm=warm_points(truth_form, parent))
    assert k == r.cache_key


def test_rescaled_levels_the_prediction_to_the_reference_total(twin_ctx, truth_form):
    """A re-levelled warm point predicts the reference's area-weighted total burned fraction
    (over the months the reference is finite); the reference's side is built once per context."""
    from fireform.fitting.study import rescaled

    ctx = twin_ctx
    obs = np.asarray(ctx.benchmark.obs, dtype=np.float64)
    a = np.asarray(ctx.benchmark.area, dtype=np.float64)[:, None]
    ok = np.isfinite(obs)
    total = float((a * np.where(ok, obs, 0.0)).sum())
    for s in (0.3, 3.0):
        pt = dict(zip(truth_form.param_names, truth_form.default_theta().tolist()))
        pt["scale"] = pt["scale"] * s
        out = rescaled(truth_form, ctx, pt)
        assert {k: v for k, v in out.items() if k != "scale"} == {k: v for k, v in pt.items() if k != "scale"}
        pred = np.asarray(ctx.predict(truth_form, out), dtype=np.float64)
        assert float((a * np.where(ok, pred, 0.0)).sum()) == pytest.approx(total, rel=1e-5)
    w, tot = ctx.level_weights()
    assert ctx.level_weights()[0] is w and tot == pytest.approx(total, rel=1e-12)


def test_converge_stops_once_the_search_has_collapsed(twin_ctx, truth_form):
    """``converge=(w, tol)`` ends a fit once its last w trials all scored within tol of the best:
    the stopped fit is the same search cut short (its trials are the first ones of the full fit),
    and what it leaves on the table is below tol-sized noise."""
    from fireform.fitting.samplers import cma_popsize

    one = truth_form.subset(["precip_wetting"])  # scale x one term: broad CMA-ES collapses in ~200 trials
    w = 4 * cma_popsize(len(one.params))
    full = fit(one, twin_ctx, trials=400, sampler="cmaes", seed=1)
    short = fit(one, twin_ctx, trials=400, sampler="cmaes", seed=1, converge=(w, 1e-3))
    assert not full.stopped_early and full.n_trials == 400
    assert short.stopped_early and w <= short.n_trials < 400
    last = short.trials["value"].to_numpy()[-w:]
    assert last.min() >= short.value - 1e-3
    np.testing.assert_array_equal(short.trials["value"].to_numpy(), full.trials["value"].to_numpy()[: short.n_trials])
    assert short.value >= full.value - 1e-3
    assert short.cache_key != full.cache_key


def test_converge_arguments(twin_ctx, truth_form):
    for bad in ((1, 1e-4), (10, 0.0), (True, 1e-4)):
        with pytest.raises(FitError, match="converge"):
            fit(truth_form, twin_ctx, trials=5, sampler="cmaes", converge=bad)
    with pytest.raises(FitError, match="converge"):
        fit(truth_form, twin_ctx, trials=5, sampler="tpe", processes=2, converge=(10, 1e-4))


def test_result_scores_are_the_best_trials_own(twin_ctx, truth_form):
    """A fit keeps the score vector of the best trial it told (no second evaluation); it is the
    one scoring the best parameters again gives."""
    for sampler in ("cmaes", "tpe+cmaes"):
        r = fit(truth_form, twin_ctx, trials=25, sampler=sampler, seed=3)
        again = twin_ctx.scores(truth_form, r.theta)
        for reg in again.regions:
            np.testing.assert_equal(r.scores.vector(reg), again.vector(reg))  # NaN where undefined
        assert r.objective.value(r.scores) == r.value


def test_a_two_x_objective_scores_two_x_only_and_the_fit_keeps_a_full_vector(twin, truth_form):
    assert not Objective().needs_ilamb3 and not Objective(convention="worst").needs_ilamb3
    assert Objective(convention="ilamb3").needs_ilamb3 and Objective(metric="bias_ilamb3").needs_ilamb3
    theta = truth_form.default_theta()
    for obj in (Objective(), Objective(convention="geometric"), Objective(convention="ilamb3"),
                Objective(metric="rmse_ilamb3")):
        ctx = FitContext(twin, objective=obj)
        ev = ctx.evaluate(truth_form, theta)
        full = ctx.scores(truth_form, theta)
        assert ev.value == obj.value(full)  # the same number, whatever was skipped
        assert (ev.scores is None) == (not obj.needs_ilamb3)
    r = fit(truth_form, FitContext(twin), trials=12, sampler="cmaes", seed=0)
    assert np.isfinite(r.scores.get("bias_ilamb3"))  # the best trial scored in full
    assert r.scores.get("bias") == FitContext(twin).scores(truth_form, r.theta).get("bias")
