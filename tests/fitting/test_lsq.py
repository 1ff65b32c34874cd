"""The ``lsq+cmaes`` fitter: least-squares multi-start on the JAX surrogate, then local CMA-ES."""

import numpy as np
import optuna
import pytest

from fireform.exceptions import FitError
from fireform.fitting import fit
from fireform.fitting.gradient import evaluations, lsq_options
from fireform.fitting.samplers import SAMPLERS, cmaes_available
from fireform.fitting.surrogate import Surrogate, from_unit, jax_available, to_unit
from fireform.twin import with_truth
from fireform.forms import Form

pytestmark = [
    pytest.mark.skipif(not jax_available(), reason="the surrogate needs jax"),
    pytest.mark.skipif(not cmaes_available(), reason="the local phase needs cmaes"),
]

# a harder truth than the conftest's: three interacting terms, scale + 3 terms
HARD_IDS = ("temperature_ignition", "precip_wetting", "vpd_flammability")


@pytest.fixture(scope="module")
def hard(base_drivers):
    form = Form.from_mechanisms(list(HARD_IDS))
    from fireform.fitting import FitContext

    return form, FitContext(with_truth(base_drivers, form, form.default_theta()))


def test_registered_sampler():
    assert "lsq+cmaes" in SAMPLERS


def test_unit_space_round_trip(truth_form, theta_true):
    u = to_unit(truth_form, theta_true)
    assert ((u >= 0) & (u <= 1)).all()
    np.testing.assert_allclose(from_unit(truth_form, u), theta_true, rtol=1e-12)


def test_surrogate_is_zero_at_the_truth_and_its_jacobian_matches_differences(twin_ctx, truth_form, theta_true):
    s = Surrogate(truth_form, twin_ctx)
    u = to_unit(truth_form, theta_true)
    assert s.loss(u) < 1e-12
    v = np.clip(u + 0.07, 0, 1)
    J = s.jacobian(v)
    h = 1e-6
    fd = np.column_stack([(s.residuals(v + h * e) - s.residuals(v - h * e)) / (2 * h)
                          for e in np.eye(len(v))])
    np.testing.assert_allclose(J, fd, rtol=1e-4, atol=1e-7 * np.abs(fd).max())


def test_reaches_the_truth_within_the_budget(hard):
    form, ctx = hard
    truth = ctx.evaluate(form, form.default_theta()).value
    for seed in (0, 1):
        r = fit(form, ctx, trials=30, sampler="lsq+cmaes", seed=seed)
        assert r.value >= 0.99 * truth
        assert evaluations(r)[-1] <= 1000  # trials + surrogate residuals + Jacobians


def test_every_exact_evaluation_is_a_study_trial(twin_ctx, truth_form):
    storage = optuna.storages.InMemoryStorage()
    n0 = twin_ctx.n_evaluations
    r = fit(truth_form, twin_ctx, trials=25, sampler="lsq+cmaes", seed=3, storage=storage)
    study = optuna.load_study(study_name=r.study_name, storage=storage)
    done = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(done) == r.n_trials == 25 == twin_ctx.n_evaluations - n0
    lsq = [t for t in done if t.user_attrs.get("phase") == "lsq"]
    assert [t.number for t in lsq] == list(range(len(lsq))) and len(lsq) == len(r.extra["lsq"]["starts"])
    assert r.extra["lsq"]["surrogate_calls"] > 0 and r.extra["lsq"]["jacobians"] > 0
    ev = evaluations(r)
    assert (np.diff(ev) >= 1).all() and ev[-1] == 25 + r.extra["lsq"]["surrogate_calls"] + r.extra["lsq"]["jacobians"]
    # the best trial is the result
    assert r.value == max(t.value for t in done)


def test_deterministic_for_a_seed(twin_ctx, truth_form):
    a = fit(truth_form, twin_ctx, trials=20, sampler="lsq+cmaes", seed=7)
    b = fit(truth_form, twin_ctx, trials=20, sampler="lsq+cmaes", seed=7)
    cols = truth_form.param_names
    assert a.trials[cols].equals(b.trials[cols]) and a.value == b.value


def test_warm_start_is_a_first_start_and_patience_stops_the_polish(twin_ctx, truth_form):
    parent = fit(truth_form, twin_ctx, trials=12, sampler="lsq+cmaes", seed=0)
    child = fit(truth_form, twin_ctx, trials=200, sampler="lsq+cmaes", seed=1, warm_start=parent,
                patience=15)
    assert child.trials["value"].iloc[0] >= parent.value - 1e-6
    assert child.stopped_early and child.n_trials < 200


def test_options_are_validated(twin_ctx, truth_form):
    assert lsq_options({})["starts"] >= 1
    with pytest.raises(FitError, match="starts"):
        fit(truth_form, twin_ctx, trials=5, sampler="lsq+cmaes", sampler_options={"starts": 0})
    with pytest.raises(FitError, match="one process"):
        fit(truth_form, twin_ctx, trials=5, sampler="lsq+cmaes", processes=2)
