"""prune: threshold on shares, refit, training and (journaled) holdout scores side by side."""

import pytest

from fireform.ablation import prune, shapley
from fireform.ablation.prune import kept_players, last_in_costs
from fireform.exceptions import FitError
from fireform.fitting import Split
from fireform.scoring import CONVENTIONS


@pytest.fixture(scope="module")
def split_and_result(world, form3):
    reads = []
    split = Split(world, train_years=range(2001, 2004), holdout_years=[2004], on_read=reads.append)
    r = shapley(form3, split, trials=15, executor="serial")
    return split, r, reads


def test_prune_reports_full_and_pruned_on_both_periods(split_and_result, form3):
    split, r, reads = split_and_result
    shares = dict(zip(r.values.player, r.values.share))
    thr = sorted(shares.values())[0] + 1e-9  # drops exactly the smallest
    p = prune(form3, r, split=split, threshold=thr, trials=20, cover_screen=0)
    smallest = min(shares, key=shares.get)
    assert p.dropped == (smallest,) and set(p.kept) == set(form3.term_ids) - {smallest}
    assert p.pruned_fit.form.term_ids == p.kept
    assert len(reads) == 1 and reads[0].years == (2004,) and "prune" in reads[0].reason
    s = p.scores
    assert set(s.form) == {"full", "pruned"} and set(s.period) == {"train", "holdout"}
    assert set(s.convention) == set(CONVENTIONS)
    n_regions = s.region.nunique()
    assert len(s) == 2 * 2 * len(CONVENTIONS) * n_regions
    # the training rows are the refits' own score vectors
    tr = s[(s.form == "pruned") & (s.period == "train") & (s.region == "global") & (s.convention == "ilamb2")]
    assert float(tr.value.iloc[0]) == pytest.approx(p.pruned_fit.overall("ilamb2"), abs=1e-12)
    assert {"convention", "full", "pruned", "pruned_minus_full"} <= set(p.compare().columns)


def test_prune_refuses_bad_inputs(split_and_result, form3, world):
    split, r, _ = split_and_result
    assert kept_players(r, 0.0) == r.players
    with pytest.raises(FitError, match="nothing would remain"):
        prune(form3, r, split=split, threshold=2.0)
    with pytest.raises(FitError, match="Split"):
        prune(form3, r, split=world)
    with pytest.raises(FitError, match="Shapley result is for"):
        prune(form3.subset(form3.term_ids[:2]), r, split=split)


def test_last_in_costs_rank_terms_by_what_leaving_them_out_costs():
    import numpy as np
    import pandas as pd

    from fireform.ablation.prune import last_in_costs

    players = ["a", "b", "c"]
    v = {(): 0.1, ("a",): 0.5, ("b",): 0.5, ("c",): 0.3, ("a", "b"): 0.6, ("a", "c"): 0.7,
         ("b", "c"): 0.69, ("a", "b", "c"): 0.7}
    sub = pd.DataFrame([{"value": val, **{p: p in k for p in players}} for k, val in v.items()])
    costs = last_in_costs(sub, players, players)
    # b adds 0.0 beside a and c although alone it is worth as much as a
    assert [t for t, _ in costs] == ["b", "a", "c"]
    assert dict(costs) == pytest.approx({"a": 0.01, "b": 0.0, "c": 0.1})
    assert dict(last_in_costs(sub, players, ["a", "b"])) == pytest.approx({"a": 0.1, "b": 0.1})
    # a coalition the game lacks ranks last, as NaN
    miss = sub[~(sub.a & sub.c & ~sub.b)]
    c2 = last_in_costs(miss, players, players)
    assert c2[-1][0] == "b" and np.isnan(c2[-1][1])


def test_a_game_given_the_optimum_it_ablates_starts_there(world, form3):
    """shapley(top=...): the grand coalition starts exactly on the given optimum (never below
    it) and every coalition gets it, terms removed, as a re-levelled start."""
    from fireform.ablation.subsets import SubsetRunner
    from fireform.ablation.tasks import FitSettings
    from fireform.fitting import FitContext, fit

    full = fit(form3, world, trials=120, seed=3)
    low = shapley(form3, world, trials=8, executor="serial", patience=None, first_trials=8)
    top = shapley(form3, world, trials=8, executor="serial", patience=None, first_trials=8, top=full.params)
    grand = lambda r: float(r.subsets.loc[r.subsets["size"] == 3, "value"].iloc[0])  # noqa: E731
    assert grand(top) >= full.value - 1e-12
    assert grand(top) >= grand(low) - 1e-12
    runner = SubsetRunner(form3, form3.term_ids, FitContext(world), FitSettings(trials=8), None, top=full.params)
    pair = 0b011
    relevel, exact = runner.warm(pair, [])
    names = set(form3.subset(form3.term_ids[:2]).param_names)
    assert exact == () and relevel == ({k: v for k, v in full.params.items() if k in names},)
    relevel, exact = runner.warm(0b111, [])
    assert relevel == () and exact == (dict(full.params),)


def test_prune_drops_a_term_the_others_cover_for(world):
    """The tiny world's truth is temperature x precip_wetting; hyperarid_suppression reads the
    same rain as its annual sum and takes a share well above 5% (it carries weight alone), but
    beside precip_wetting it adds nothing: the last-in rule refits without it and drops it."""
    from fireform.forms import Form

    form = Form.from_mechanisms(["temperature_ignition", "precip_wetting", "hyperarid_suppression"])
    split = Split(world, train_years=range(2001, 2004), holdout_years=[2004])
    r = shapley(form, split, trials=40, executor="serial")
    costs = dict(last_in_costs(r.subsets, form.term_ids, form.term_ids))
    p = prune(form, r, split=split, threshold=0.0, trials=60, noise=0.01, cover_screen=10.0)
    assert "hyperarid_suppression" in p.covered
    assert float(r.values.set_index("player").at["hyperarid_suppression", "share"]) > 0.05
    for t in p.covered:
        assert t in p.dropped and t not in p.kept and costs[t] <= 0.1
    # the rule's promise: what remains fits within the noise of the full form's refit
    assert p.pruned_fit.value >= p.full_fit.value - 0.01
    off = prune(form, r, split=Split(world, train_years=range(2001, 2004), holdout_years=[2004]),
                threshold=0.0, trials=60, noise=0.01, cover_screen=0)
    assert off.covered == () and off.dropped == ()
