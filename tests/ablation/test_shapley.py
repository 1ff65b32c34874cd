"""Shapley over fitted sub-forms: tables, one fit per coalition, cache, warm starts."""

import numpy as np

from fireform.ablation import shapley
from fireform.ablation.subsets import expected_key
from fireform.fitting import FitCache, FitContext, Objective
from tests.ablation.conftest import TRIALS, same_values


def test_tables_are_consistent(serial_result, form3):
    r = serial_result
    assert r.players == tuple(form3.term_ids) and r.method == "exact"
    assert len(r.subsets) == 8 and r.n_fits == 8 and r.fits_run == 8
    v_full = r.full_fit.value
    v_empty = r.fit_of(()).value
    assert r.fit_of(()).form.term_ids == ()  # the empty coalition is the scale alone
    assert abs(r.values.value.sum() - (v_full - v_empty)) < 1e-12
    assert abs(r.values.share.sum() - 1.0) < 1e-12
    assert abs(r.total_gain - (v_full - v_empty)) < 1e-12
    assert set(r.interactions.columns) >= {"a", "b", "value"} and len(r.interactions) == 3
    # per region / component come from the same fits: the objective's own column reproduces
    # the headline values, and every region's values sum to that region's gain
    g = r.regions[r.regions.region == "global"].set_index("player")["value"]
    assert np.allclose(g.reindex(r.values.player).to_numpy(), r.values.value.to_numpy(), atol=1e-12)
    for reg, grp in r.components.groupby(["region", "metric"]):
        assert abs(grp.value.sum() - grp.total_gain.iloc[0]) < 1e-9, reg
    assert {"bias", "rmse", "seasonal", "spatial", "iav", "overall_ilamb3"} <= set(r.components.metric)
    # warm starts: every non-empty coalition started from its fitted immediate subsets
    for row in r.subsets.itertuples():
        if row.size > 0:
            srcs = row.warm_from.split(";")
            assert srcs and all(len(s.split("+")) == row.size - 1 or s == "(scale)" for s in srcs)


def test_expected_key_matches_fit(serial_result, world):
    from fireform.ablation.shapley import LOCAL_REFINER
    from fireform.ablation.tasks import FitSettings, cma_popsize

    ctx = FitContext(world)
    for label, res in serial_result.fits.items():
        row = serial_result.subsets.set_index("subset").loc[label]
        f = res.form
        if len(f.terms) >= 3:
            # the default: local CMA-ES from the warm start, patience 4 generations
            settings = FitSettings(trials=TRIALS, sampler="tpe+cmaes", patience=4 * cma_popsize(len(f.params)),
                                   sampler_options=tuple(sorted(LOCAL_REFINER.items())))
        else:
            # broad_size=2: the scale alone, single terms and pairs get 3x the trials of broad
            # CMA-ES, stopped once 4 generations score within 1e-3 of each other
            settings = FitSettings(trials=3 * TRIALS, sampler="cmaes", patience=None,
                                   converge=(4 * cma_popsize(len(f.params)), 1e-3))
        assert res.trials_requested == settings.trials and res.sampler == settings.sampler
        # the warm points the fit recorded are the ones the key was built from
        assert expected_key(f, ctx, settings, res.warm_start, res.extra.get("warm_exact", ())) == res.cache_key, label
        assert row.cache_key == res.cache_key


def test_cache_makes_a_rerun_free(world, form3, tmp_path):
    a = shapley(form3, world, trials=8, executor="serial", patience=None, cache=tmp_path)
    assert a.fits_run == 8 and len(list((tmp_path / "fits").glob("*.json"))) == 8
    b = shapley(form3, world, trials=8, executor="serial", patience=None, cache=FitCache(tmp_path))
    assert b.fits_run == 0 and b.subsets.from_cache.all()
    assert same_values(a, b)
    assert np.array_equal(a.values.value.to_numpy(), b.values.value.to_numpy())


def test_other_objective_and_component_metric(world, form3):
    obj = Objective(metric="rmse")
    r = shapley(form3.subset(form3.term_ids[:2]), world, objective=obj, trials=12, executor="serial")
    assert r.objective == obj and len(r.subsets) == 4
    reg = r.regions[r.regions.region == "global"].set_index("player")["value"]
    assert np.allclose(reg.reindex(r.values.player).to_numpy(), r.values.value.to_numpy(), atol=1e-12)


def test_sampled_path_fits_coalitions_in_batches(world, form3, serial_result):
    r = shapley(form3, world, trials=8, patience=None, executor="serial", method="permutation",
                budget=6, replicates=3)
    assert r.method == "permutation" and 2 <= r.n_fits <= 8
    v = r.values
    assert np.all(v.lo <= v.value) and np.all(v.value <= v.hi)
    assert abs(v.share.sum() - 1) < 1e-9
    assert len(r.regions) == 3 * r.regions.region.nunique()
    # every coalition but the scale alone starts from its nearest fitted coalitions
    sub = r.subsets.set_index("subset")
    for row in r.subsets.itertuples():
        srcs = [x for x in row.warm_from.split(";") if x]
        assert (row.size == 0) == (not srcs) and set(srcs) <= set(sub.index), row.subset
