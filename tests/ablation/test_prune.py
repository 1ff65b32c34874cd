"""prune: threshold on shares, refit, training and (journaled) holdout scores side by side."""

import pytest

from fireform.ablation import prune, shapley
from fireform.ablation.prune import kept_players
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
    p = prune(form3, r, split=split, threshold=thr, trials=20)
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
