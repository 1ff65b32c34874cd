import numpy as np
import pytest

from fireform.fitting import fit_repeats, perturb, stability
from fireform.scoring import CONVENTIONS


def test_fit_repeats_spread(twin_ctx, truth_form):
    reps = fit_repeats(truth_form, twin_ctx, seeds=(0, 1, 2), trials=20)
    f = reps.frame
    assert list(f["seed"]) == [0, 1, 2]
    assert list(f["value"]) == [r.value for r in reps.fits]
    for c in CONVENTIONS:
        assert f"overall_{c}" in f.columns
    sp = reps.spread.set_index("score")
    assert sp.loc["value", "min"] == f["value"].min() and sp.loc["value", "max"] == f["value"].max()
    assert sp.loc["value", "std"] == pytest.approx(f["value"].std(ddof=1))
    assert reps.best.value == f["value"].max()
    with pytest.raises(ValueError, match="distinct"):
        fit_repeats(truth_form, twin_ctx, seeds=(1, 1), trials=5)


def test_perturb_keeps_shape_and_target(twin, truth_form):
    rng = np.random.default_rng(0)
    p = perturb(twin, rng=rng, bootstrap=True, noise=0.05, variables=list(truth_form.inputs))
    assert p.n_cells == twin.n_cells and p.n_months == twin.n_months
    assert list(p.time) == list(twin.time)
    years = twin.time.year
    # the target is resampled by whole years, never noised: each new year equals some old year
    t_new, t_old = p.array("burned_fraction"), twin.array("burned_fraction")
    for k in range(len(np.unique(years))):
        blk = t_new[:, 12 * k:12 * (k + 1)]
        assert any(np.array_equal(blk, t_old[:, 12 * j:12 * (j + 1)]) for j in range(6))
    assert not np.array_equal(p.array("tas"), twin.array("tas"))
    assert np.array_equal(p.array("popd"), twin.array("popd"))  # not an input of this form


def test_stability_reports_every_parameter(twin, truth_form):
    st = stability(truth_form, twin, replicates=2, trials=20, noise=0.02, seed=0)
    assert list(st.params["param"]) == truth_form.param_names
    assert st.params["slack"].dtype == bool
    assert (st.params["min"] <= st.params["max"]).all()
    assert len(st.scores) == 2 and len(st.fits) == 2
    assert set(st.slack) <= set(truth_form.param_names)
    s = st.score_spread
    assert s["min"] <= s["max"] and 0.0 <= s["min"] <= 1.0
