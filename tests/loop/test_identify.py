"""The identification step of a run: swaps journaled, classes read back, resumable, the label in
the decision line; the spec switch."""

import shutil

import numpy as np
import pytest

import fireform as ff
from fireform import resume, run
from fireform.ablation.swaps import class_label, relatives
from fireform.exceptions import SpecError
from fireform.loop.identify import CLASS_COLUMNS
from fireform.loop.journal import Journal
from fireform.report.views.classes import classes as classes_view
from fireform.twin import DEMO_TRUTH
from tests.loop.helpers import small_spec


def test_swaps_are_journaled_fits_and_classes_follow_the_noise(finished_run):
    res, lines = finished_run
    j = Journal(res.run_dir)
    eq = j.get_state("equivalence")
    final = j.fit_by_id(j.get_state("final_fit"))
    form = j.form(final.form_hash)
    assert eq["final_hash"] == form.hash and eq["rows"]
    fits = j.fits().set_index("id")
    spec = j.frozen_spec().identify
    n, k = spec.max_swaps_per_term, spec.data_swaps_per_term
    for term in form.term_ids:
        cands = eq["candidates"][term]
        relation = {r["alternative"]: r["relation"] for r in eq["rows"] if r["term"] == term}
        by_data = [c for c in cands if relation.get(c, "").startswith("the data: swap screens at ")]
        meta = [c for c in cands if c not in by_data]
        assert len(meta) <= n and len(by_data) <= k and len(set(cands)) == len(cands)
        expected = [r.mechanism for r in relatives(form, term)]
        # the metadata candidates are the closest relatives the data can feed, in rank order,
        # then the best-screened swaps not among them
        assert [c for c in expected if c in meta] == meta == cands[:len(meta)]
    for r in eq["rows"]:
        f = fits.loc[r["fit_id"]]
        assert f.role == "swap" and f.form_hash == r["form_hash"]
        assert r["alternative"] in j.form(r["form_hash"]).term_ids and r["term"] not in j.form(r["form_hash"]).term_ids
        assert np.isclose(r["delta"], f.value - final.value)
        assert r["in_class"] == (r["delta"] >= -eq["noise"])
        assert r["within_noise"] == (abs(r["delta"]) <= eq["noise"])
        assert set(r["regions_differing"]) <= set(eq["regional_noise"]) - {"global"}
    assert any(ln.startswith("fireform swap | ") for ln in lines)


def test_run_exposes_classes_and_the_decision_names_them(finished_run):
    res, lines = finished_run
    r = ff.open_run(res.run_dir)
    df = r.classes
    assert list(df.columns) == CLASS_COLUMNS and len(df) == len(r.identify_state["rows"])
    classes = {t: list(g.alternative) for t, g in df[df.in_class].groupby("term", sort=False)}
    rob = r.shapley_robust
    flagged = [] if rob is None else list(rob.term[~rob.survives])
    label = class_label(r.final_form.term_ids, classes, flagged=flagged)
    assert r.class_label == label == r.decision["final_label"]
    dec_line = next(ln for ln in lines if ln.startswith("fireform decision | "))
    assert f"final {label} | " in dec_line
    cls_line = next(ln for ln in lines if ln.startswith("fireform classes | "))
    assert cls_line.split(" | ")[1] == label
    from html import escape

    from fireform.report.views.scores import decision

    assert f"final form {escape(label)} vs baseline" in decision(r)  # the report's verdict names the classes
    truth = r.truth_recovery  # a twin world: where each true mechanism ended up
    assert list(truth.true_mechanism) == list(ff.Form.from_json(DEMO_TRUTH).term_ids)
    for row in truth.itertuples():
        if row.status == "in the final form":
            assert row.true_mechanism in r.final_form.term_ids
        elif row.status.startswith("in the class of "):
            assert row.true_mechanism in classes[row.final_term]
    r.close()


def test_shapley_robustness_refits_the_final_game_at_a_higher_budget(finished_run):
    res, lines = finished_run
    j = Journal(res.run_dir)
    spec = j.frozen_spec()
    rob = j.get_state("shapley_robust")
    final = j.form(j.fit_by_id(j.get_state("final_fit")).form_hash)
    if len(final.terms) < 2:
        assert "one term" in rob["skipped"]
        return
    k = spec.identify.robust_trials_factor
    assert rob["form_hash"] == final.hash and rob["trials_high"] == k * rob["trials"]
    rows = {r["term"]: r for r in rob["rows"]}
    assert set(rows) == set(final.term_ids)
    assert np.isclose(sum(r["share_high"] for r in rows.values()), 1.0)
    for r in rows.values():  # the rule, as written in the spec
        assert r["survives"] == (r["share_high"] >= spec.shapley.prune_share
                                 and r["value_high"] >= spec.identify.robust_min_ratio * r["value"])
    line = next(ln for ln in lines if ln.startswith("fireform robust | "))
    assert f"Shapley at {k}x trials" in line
    flagged = [t for t, r in rows.items() if not r["survives"]]
    assert ("flagged: " + ",".join(flagged)) in line if flagged else "every share survives" in line


def test_resume_reads_swaps_back_and_refits_nothing(finished_run, tmp_path):
    res, _ = finished_run
    rd = tmp_path / "copy"
    shutil.copytree(res.run_dir, rd, ignore=shutil.ignore_patterns("report", "*.lock"))
    before = Journal(rd).fits()[["id", "key", "t"]]
    lines: list[str] = []
    resume(rd, echo=lines.append, report=False)
    after = Journal(rd).fits()[["id", "key", "t"]]
    assert len(after) == len(before) and (after.t.to_numpy() == before.t.to_numpy()).all()
    swaps = [ln for ln in lines if ln.startswith("fireform swap | ")]
    assert swaps and all(ln.endswith("| cached") for ln in swaps)
    assert Journal(rd).get_state("equivalence")["rows"] == Journal(res.run_dir).get_state("equivalence")["rows"]


@pytest.mark.parametrize("identify", [{"enabled": False}, {"wall_minutes": 1e-9}])
def test_identify_switched_off_or_out_of_time_fits_no_swap(identify, tmp_path):
    spec = small_spec(budget={"iterations": 1, "trials": 16, "repeats": 2}, shapley={"enabled": False},
                      identify=identify, deploy={"fortran": False})
    lines: list[str] = []
    res = run(spec, run_dir=tmp_path / "off", echo=lines.append, report=None)
    j = Journal(res.run_dir)
    assert "swap" not in set(j.fits().role)
    assert res.decision["final_label"] == " x ".join(res.decision["final_terms"])
    eq = j.get_state("equivalence")
    if identify.get("enabled") is False:
        assert eq == {"skipped": "identify.enabled = false"}
        assert "fireform classes | skipped by the spec (identify.enabled = false)" in lines
    else:  # the step's own wall budget: nothing fitted past it, and it says so
        assert eq["rows"] == [] and "identify.wall_minutes" in eq["stopped"]
        assert any(ln.startswith("fireform classes | ") and "identify.wall_minutes" in ln for ln in lines)
        assert "<p class=skip>identify.wall_minutes" in classes_view(ff.open_run(res.run_dir))


def test_identify_spec_is_validated():
    with pytest.raises(SpecError, match="identify.max_swaps_per_term"):
        small_spec(identify={"max_swaps_per_term": -1})
    with pytest.raises(SpecError, match="identify.nope"):
        small_spec(identify={"nope": 1})
    s = small_spec(identify={"robust_trials_factor": 0})
    assert s.identify.robust_trials_factor == 0 and s.identify.enabled is True


def test_a_swap_better_than_the_final_form_is_adopted(tmp_path):
    """No search (0 iterations) from the demo truth with its GPP gating replaced by SIMFIRE's
    productivity term (same input, another shape): the swap back fits better beyond the noise,
    so the run takes it as its incumbent, prunes and identifies it, and reports the adoption."""
    spec = small_spec(baseline={"form": None, "mechanisms": ["simfire_productivity", "hyperarid_suppression",
                                                             "temperature_ignition"]},
                      budget={"iterations": 0, "trials": 60}, identify={"robust_trials_factor": 0, "adopt_rounds": 1})
    lines: list[str] = []
    res = run(spec, run_dir=tmp_path / "r", report=None, echo=lines.append)
    r = ff.open_run(res.run_dir)
    ad = r.adopted
    assert len(ad) == 1, lines
    a = ad[0]
    assert "gpp_gating" in a["terms"] and "simfire_productivity" not in a["terms"]
    assert a["to_value"] > a["from_value"] + a["noise"]
    fits = r.fits.set_index("id")
    assert fits.loc[a["to_fit"], "role"] == "swap" and fits.loc[a["to_fit"], "form_hash"] == a["to_hash"]
    # the identification ran again on the adopted form (or what its prune left)
    eq = r.identify_state
    assert eq["final_hash"] == r.final_form.hash != a["from_hash"]
    assert any(ln.startswith("fireform adopt | ") for ln in lines)
    assert sum(ln.startswith("fireform shapley | ") for ln in lines) == 2
    r.close()
    # a resumed run reads every fit back and adopts the same swap
    res2 = resume(res.run_dir, report=None, echo=lines.append)
    r2 = ff.open_run(res2.run_dir)
    assert r2.adopted == ad and len(r2.fits) == len(fits)
    r2.close()
