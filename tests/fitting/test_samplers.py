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
