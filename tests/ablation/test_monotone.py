"""Subset fits rest on their subsets by construction: every coalition's fit evaluates, as given,
its best immediate subset's optimum with the added term at its most constant setting and the
scale divided by that term's level, so no coalition ends below that start; where the added term
can be exactly constant the start predicts, and so scores, exactly what the subset does."""

import numpy as np
import pytest

from fireform.ablation import shapley
from fireform.ablation.subsets import neutral_setting
from fireform.fitting import FitContext, fit
from fireform.forms import Form

# a term that is exactly 1 at a_f = 0 (a bound), and two that cannot be constant in their bounds
FLAT = {"name": "wind_damping", "expression": "exp(-a_f*wind)",
        "params": [{"name": "a_f", "lo": 0.0, "hi": 2.0, "units": "s m-1", "description": "rate"}],
        "rationale": "test term that can be switched off", "references": ["Li2012"]}
FORM = {"name": "monotone", "scale": {"lo": 1e-5, "hi": 1.0, "log": True},
        "terms": [{"mechanism": "temperature_ignition"}, {"mechanism": "cropland_suppression"}, FLAT]}


@pytest.fixture(scope="module")
def game(world):
    form = Form.from_json(FORM)
    ctx = FitContext(world)
    return form, ctx, shapley(form, ctx, trials=30, executor="serial")


def test_neutral_setting_finds_an_exactly_constant_term(game):
    form, ctx, _ = game
    nt = neutral_setting(form.subset(["wind_damping"]), ctx)
    assert nt.params == {"wind_damping.a_f": 0.0}
    assert nt.cv == 0.0 and nt.level == pytest.approx(1.0, abs=1e-12)
    crop = neutral_setting(form.subset(["cropland_suppression"]), ctx)
    assert crop.cv > 0 and 0 < crop.level < 1  # exp(-k f) with k >= 0.1 is never constant


def test_no_coalition_ends_below_its_start(game):
    form, _, r = game
    s = r.subsets
    with_src = s[s["size"] > 0]
    assert with_src["start_value"].notna().all()
    assert (with_src["value"] >= with_src["start_value"]).all()
    val = dict(zip(s["mask"], s["value"]))
    players = r.players
    k = players.index("wind_damping")
    for row in s.itertuples():
        m = int(row.mask)
        if not (m >> k) & 1:
            continue
        sub = m ^ (1 << k)
        # the best immediate subset is the start's source; adding the switchable term to it
        # starts exactly at its value, so the coalition never ends below it
        best_sub = max(val[m ^ (1 << i)] for i in range(len(players)) if (m >> i) & 1)
        if val[sub] == best_sub:
            assert row.start_value == val[sub], (row.subset, row.start_value, val[sub])
        assert row.value >= val[sub], (row.subset, row.value, val[sub])


def test_exact_warm_points_are_evaluated_as_given(world):
    form = Form.from_mechanisms(["temperature_ignition"])
    ctx = FitContext(world)
    pt = dict(zip(form.param_names, form.default_theta().tolist()))
    pt["scale"] = float(pt["scale"]) * 3.0  # off the reference's level: a re-levelled point differs
    r = fit(form, ctx, trials=12, sampler="tpe+cmaes", warm_exact=[pt])
    exact = ctx.evaluate(form, form.theta_vector(pt)).value
    assert r.extra["warm_exact_values"] == [exact]
    assert r.value >= exact
    hits = np.isclose(r.trials["scale"], pt["scale"], rtol=0, atol=0)
    assert hits.sum() == 1  # the point itself, scale kept
    # the key tells fits with and without exact points apart
    r0 = fit(form, ctx, trials=12, sampler="tpe+cmaes")
    assert r0.cache_key != r.cache_key and "warm_exact_values" not in r0.extra


def _check_below(r):
    """below_subsets(0) against its definition: every coalition below its best immediate subset
    at all, each with that subset's value, the term it adds and the cause its start says."""
    s = r.subsets
    val = dict(zip(s["mask"], s["value"]))
    low = r.below_subsets(0.0)
    n = len(r.players)
    expect = {lab for m, lab in zip(s["mask"], s["subset"])
              if m and val[m] < max(val[m ^ (1 << i)] for i in range(n) if (m >> i) & 1)}
    assert set(low["subset"]) == expect
    for x in low.itertuples():
        assert x.gap < 0 and x.value == val[int(s.loc[s["subset"] == x.subset, "mask"].iloc[0])]
        assert x.cause == ("cannot be neutral" if x.start_gap < 0 else "fit short")
        assert x.added in x.subset.split("+")
    assert r.below_subsets(1.0).empty  # nothing is a whole unit below
    return low


def test_below_subsets_never_blames_a_switchable_term(game):
    low = _check_below(game[2])
    # its start scores exactly what its subset does
    assert "wind_damping" not in set(low.loc[low["cause"] == "cannot be neutral", "added"])


# a wind term held far from constant (rate >= 1 s m-1) on a world without wind in its truth
FORCED = {"name": "wind_forced", "expression": "exp(-a_w*wind)",
          "params": [{"name": "a_w", "lo": 1.0, "hi": 2.0, "units": "s m-1", "description": "rate"}],
          "rationale": "test term that cannot be switched off", "references": ["Li2012"]}


def test_a_term_that_cannot_be_neutral_is_named_as_the_cause(world):
    form = Form.from_json({**FORM, "terms": [{"mechanism": "temperature_ignition"}, FORCED]})
    r = shapley(form, FitContext(world), trials=30, executor="serial")
    assert not _check_below(r).empty
    low = r.below_subsets(0.005)
    forced = low[low["added"] == "wind_forced"]
    assert len(forced) >= 1 and (forced["cause"] == "cannot be neutral").all()
    assert (forced["start_gap"] < -0.005).all() and (forced["value"] >= forced["subset_value"] + forced["start_gap"]).all()
    # the per-term summary the run logs and its report shows
    summary = r.cannot_be_neutral(0.005).set_index("term")
    assert summary.at["wind_forced", "coalitions"] == len(forced)
    assert summary.at["wind_forced", "cost_min"] == pytest.approx(-forced["start_gap"].max())
    assert summary.at["wind_forced", "cost_max"] >= summary.at["wind_forced", "cost_min"] > 0.005
    from fireform.report.views.search import forced_lines

    html = forced_lines(r.below_subsets(0.005))
    assert "<code>wind_forced</code>" in html and f"on {len(forced)} coalitions" in html
    assert forced_lines(r.below_subsets(0.005).iloc[0:0]) == "" and forced_lines(None) == ""
