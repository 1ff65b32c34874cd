import optuna
import pytest

from fireform.exceptions import FitError, UnknownNameError
from fireform.fitting import SamplerSpec, fit, make_sampler, search_space
from fireform.fitting.samplers import CachedTPESampler, cmaes_available


def test_search_space_from_param_records(truth_form):
    sp = search_space(truth_form)
    assert list(sp) == truth_form.param_names
    for p in truth_form.params:
        d = sp[p.name]
        assert (d.low, d.high, d.log) == (p.lo, p.hi, p.log)


def test_sampler_spec_validates():
    with pytest.raises(UnknownNameError, match="tpe"):
        SamplerSpec("bayes")
    s = SamplerSpec("tpe", 1, {"n_ei_candidates": 48})
    assert s.key() == {"name": "tpe", "seed": 1, "options": [["n_ei_candidates", 48]]}
    tpe = make_sampler(s)
    assert isinstance(tpe, CachedTPESampler)
    assert isinstance(make_sampler(SamplerSpec("random")), optuna.samplers.RandomSampler)


@pytest.mark.parametrize("in_flight", [1, 2])
def test_cached_tpe_proposes_exactly_what_tpe_proposes(twin_ctx, truth_form, in_flight):
    a = fit(truth_form, twin_ctx, trials=40, seed=5, in_flight=in_flight)
    b = fit(truth_form, twin_ctx, trials=40, seed=5, in_flight=in_flight,
            sampler_options={"plain": True})
    cols = truth_form.param_names
    assert a.trials[cols].equals(b.trials[cols]) and a.value == b.value


def test_random_and_cmaes(twin_ctx, truth_form):
    r = fit(truth_form, twin_ctx, trials=15, sampler="random", seed=0)
    assert r.n_trials == 15 and r.sampler == "random"
    if cmaes_available():
        c = fit(truth_form, twin_ctx, trials=15, sampler="cmaes", seed=0)
        assert c.n_trials == 15
    else:
        with pytest.raises(FitError, match="pip install cmaes"):
            fit(truth_form, twin_ctx, trials=15, sampler="cmaes", seed=0)


def _normalised(form, df):
    """Trial parameters in Optuna's CMA-ES space: log where the parameter is log, then [0, 1]."""
    import numpy as np

    cols = []
    for p in form.params:
        x = df[p.name].to_numpy(float)
        lo, hi = (np.log(p.lo), np.log(p.hi)) if p.log else (p.lo, p.hi)
        cols.append(((np.log(x) if p.log else x) - lo) / (hi - lo))
    return np.column_stack(cols)


@pytest.mark.skipif(not cmaes_available(), reason="the cmaes package is a declared dependency")
def test_tpe_then_cmaes_switches_at_the_fraction_and_searches_locally(twin_ctx, truth_form):
    import numpy as np

    opts = {"tpe_fraction": 0.5, "sigma0": 0.03}
    r = fit(truth_form, twin_ctx, trials=40, sampler="tpe+cmaes", seed=3, sampler_options=opts,
            in_flight=2)
    again = fit(truth_form, twin_ctx, trials=40, sampler="tpe+cmaes", seed=3, sampler_options=opts,
                in_flight=2)
    assert r.n_trials == 40 and r.sampler == "tpe+cmaes"
    cols = ["value", *truth_form.param_names]
    assert r.trials[cols].equals(again.trials[cols])  # deterministic in the seed, pipelined too
    assert r.extra["phases"][0]["start"] == 20
    x = _normalised(truth_form, r.trials)
    first, local = x[:19], x[21:]  # around the switch one TPE trial may still be in flight
    best = x[int(np.argmax(r.trials["value"].to_numpy()[:19]))]
    # the local phase samples around the TPE phase's best point, far tighter than TPE did
    d_local = np.median(np.linalg.norm(local - best, axis=1))
    d_first = np.median(np.linalg.norm(first - best, axis=1))
    assert d_local < 0.3 * d_first, (d_local, d_first)
    assert r.value >= r.trials["value"].to_numpy()[:20].max()


def test_tpe_then_cmaes_option_checks():
    from fireform.fitting.samplers import hybrid_options

    with pytest.raises(FitError, match="tpe_fraction"):
        hybrid_options(SamplerSpec("tpe+cmaes", 0, {"tpe_fraction": 1.5}))
    o = hybrid_options(SamplerSpec("tpe+cmaes", 0, {"sigma0": 0.2}))
    assert o["sigma0"] == 0.2 and o["tpe_fraction"] == 0.4
