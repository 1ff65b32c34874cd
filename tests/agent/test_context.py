import json

import numpy as np
import pytest

from fireform.agent.context import TrainingView, build_context, screen_moves
from fireform.forms.form import Form
from fireform.loop.journal import Journal
from fireform.scoring import Benchmark
from fireform.testing import tiny_drivers


@pytest.fixture(scope="module")
def world():
    d = tiny_drivers(years=(2001, 2003))
    return d, Benchmark.from_drivers(d)


def test_screen_ranks_moves_and_scores_them_on_training_data(world):
    d, bench = world
    form = Form.from_mechanisms(["rh_limiter", "agb_linear"])
    theta = form.default_theta()
    df = screen_moves(form, theta, d, bench, convention="ilamb2", n_points=4)
    assert set(df.action) == {"add", "drop", "swap"}
    assert df.objective.is_monotonic_decreasing
    assert df.form_hash.is_unique and form.hash not in set(df.form_hash)
    # a drop is scored exactly: the remaining product, scale rematched to the observed total
    drop = df[(df.action == "drop") & (df.remove == "agb_linear")].iloc[0]
    rest = form.without("agb_linear")
    pred = rest.evaluate(rest.default_theta(), d)
    obs = d.array("burned_fraction")
    pred = pred * (np.nansum(obs * d.area[:, None]) / np.nansum(pred * d.area[:, None]))
    assert drop.objective == pytest.approx(bench.score(pred).overall("ilamb2"), abs=1e-9)
    # deterministic
    again = screen_moves(form, theta, d, bench, convention="ilamb2", n_points=4)
    assert df.equals(again)


def test_the_screen_refines_each_new_term_locally(world):
    """Refinement starts from the best box point, so an add never screens lower with it, and
    most screen higher (the box points alone are a coarse draw)."""
    d, bench = world
    form = Form.from_mechanisms(["rh_limiter", "agb_linear"])
    theta = dict(zip(form.param_names, form.default_theta()))
    coarse = screen_moves(form, theta, d, bench, convention="ilamb2", n_points=4, refine=0)
    fine = screen_moves(form, theta, d, bench, convention="ilamb2", n_points=4, refine=24)
    a = coarse[coarse.action == "add"].set_index("add").objective
    b = fine[fine.action == "add"].set_index("add").objective.reindex(a.index)
    assert (b >= a - 1e-12).all()
    assert (b > a + 1e-6).sum() >= len(a) // 2
    # drops hold no new term: refinement leaves them exactly as they were
    da = coarse[coarse.action == "drop"].set_index("remove").objective
    db = fine[fine.action == "drop"].set_index("remove").objective.reindex(da.index)
    assert (da == db).all()


def test_context_from_journal_sees_training_only(world, tmp_path):
    from fireform.fitting import fit
    from fireform.loop.spec import parse_spec

    d, bench = world
    j = Journal(tmp_path, create=True)
    j.start(parse_spec({"name": "c", "split": {"train_years": [2001, 2002], "holdout_years": [2003, 2003]}}))
    form = Form.from_mechanisms(["rh_limiter", "agb_linear"])
    j.put_form(form)
    rec = j.add_fit(fit(form, d, trials=2, seed=0), role="baseline")
    sc = rec.scores.to_frame()
    # a holdout score with a distinctive value, as the loop would journal at the end
    hold = sc.assign(value=0.271828)
    j.add_scores(rec.id, "holdout", hold)
    ctx = build_context(iteration=1, view=TrainingView(j), incumbent_fit_id=rec.id, drivers=d, bench=bench,
                        convention="ilamb2", region="global", noise=0.01, n_points=3)
    text = ctx.to_json()
    assert "0.271828" not in text and "holdout" not in json.dumps(
        {k: v for k, v in ctx.to_dict().items() if k != "program"})
    assert ctx.incumbent["terms"] == ["agb_linear", "rh_limiter"]
    assert set(ctx.incumbent["overall"]) == {"ilamb2", "ilamb2_iav", "ilamb3", "worst", "geometric"}
    assert ctx.diagnostics and {"bias_relative", "phase_shift_months", "spatial_corr", "suspect"} <= set(ctx.diagnostics[0])
    assert any(m["id"] == "gpp_gating" for m in ctx.catalog)
    assert "Incumbent" in ctx.to_text()
    assert not hasattr(TrainingView(j), "holdout_reads")
