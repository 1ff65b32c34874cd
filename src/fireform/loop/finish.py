"""The closing steps of a run: the sealed holdout scored once, the deployment check, the win
decision under the frozen spec."""

from __future__ import annotations

import json

import numpy as np

from fireform.fitting import FitResult
from fireform.forms import Form
from fireform.loop.deploy import deployment_check
from fireform.loop.identify import decision_fields
from fireform.loop.state import RunState, fit_id, fmt
from fireform.scoring import CONVENTIONS, Benchmark, overall

__all__ = ["leaderboard_fits", "score_holdout", "deploy", "decide"]


def leaderboard_fits(st: RunState) -> list[FitResult]:
    """Baseline, every kept form, the final form (distinct fits, in that order)."""
    out = [st.baseline]
    props = st.journal.proposals()
    fits = st.journal.fits()
    for h in props[props.status == "keep"].form_hash:
        f = fits[(fits.form_hash == h) & (fits.role == "candidate")]
        if not f.empty:
            out.append(st.journal.fit_by_id(int(f.iloc[0].id)))
    out.append(st.final)
    seen: set[int] = set()
    uniq = []
    for r in out:
        if fit_id(r) not in seen:
            seen.add(fit_id(r))
            uniq.append(r)
    return uniq


def _residual_arrays(st: RunState, rec: FitResult, form: Form, bench: Benchmark, pred: np.ndarray,
                     period: str) -> None:
    try:
        res = bench.residuals(pred)
    except ArithmeticError as e:  # degenerate region in the scorer's reference path
        st.say("residuals", f"{period} residuals of [{form.hash}] unavailable: {type(e).__name__}: {e}")
        return
    j = st.journal
    base = f"resid/{period}/{rec.id}"
    j.put_array(f"{base}/cell_bias", res.cell_bias)
    j.put_array(f"{base}/cell_shift", res.cell_shift_months)
    cyc = res.cycles
    regions = list(dict.fromkeys(cyc.region)) if not cyc.empty else []
    if regions:
        ref = np.array([cyc[cyc.region == r].sort_values("slot")["reference"].to_numpy(float) for r in regions])
        mod = np.array([cyc[cyc.region == r].sort_values("slot")["model"].to_numpy(float) for r in regions])
        j.put_array(f"{base}/cycle_ref", ref)
        j.put_array(f"{base}/cycle_model", mod)
        j.put_state(f"{base}/cycle_regions", regions)
    j.put_state(f"{base}/regions", json.loads(res.regions.to_json(orient="records")))


def score_holdout(st: RunState) -> None:
    """Score the leaderboard's fits on the holdout: one unseal (journaled per fit) for the fits
    not scored yet; a resumed run never reads it again."""
    j = st.journal
    j.put_state("final_fit", fit_id(st.final))
    recs = leaderboard_fits(st)
    j.put_state("leaderboard_fits", [r.id for r in recs])
    done = set(j.scores(period="holdout").fit_id)
    todo = [r for r in recs if r.id not in done]
    if not todo:
        st.say("holdout", "already scored (journaled); not read again")
    else:
        hold = st.split.unseal("final scoring: leaderboard of baseline, kept and final forms")
        assert st.holdout_read is not None, "the split journals every unseal through its callback"
        hb = Benchmark.from_drivers(hold)
        preds = {fit_id(r): j.form(r.form_hash).evaluate(r.params, hold) for r in todo}
        j.add_holdout_scores(st.holdout_read, [(fit_id(r), r.form_hash, hb.score(preds[fit_id(r)]).to_frame())
                                               for r in todo])
        for r in todo:
            if r.id in (st.final.id, st.baseline.id):
                _residual_arrays(st, r, j.form(r.form_hash), hb, preds[fit_id(r)], "holdout")
        st.say("holdout", f"read once for {len(todo)} forms (journaled)")
    for r in (st.baseline, st.final):
        if j.get_array(f"resid/train/{r.id}/cell_bias") is None:
            form = j.form(r.form_hash)
            _residual_arrays(st, r, form, st.bench, form.evaluate(r.params, st.train), "train")
    for r, label in ((st.baseline, "baseline"), (st.final, "final")):
        v = j.vector(fit_id(r), "holdout")
        st.say("holdout", f"{label} [{r.form_hash}] " + " ".join(f"{c}={fmt(overall(v, c))}" for c in CONVENTIONS))


def deploy(st: RunState) -> None:
    j = st.journal
    d = j.get_state("deploy")
    if d is not None:
        st.say("deploy", f"{'pass' if d['ok'] else 'FAIL'} (journaled) max rel diff {d.get('max_rel', 'nan')}")
        return
    if not st.spec.deploy.fortran:
        j.put_state("deploy", {"ok": None, "skipped": "deploy.fortran = false"})
        st.say("deploy", "skipped by the spec")
        return
    form = j.form(st.final.form_hash)
    d = deployment_check(form, st.final.params, st.train, rel_tol=st.spec.deploy.rel_tol,
                         workdir=st.dir / "deploy")
    j.put_state("deploy", d)
    first = d.get("first_fail")
    st.say("deploy", f"{'pass' if d['ok'] else 'FAIL'} Fortran vs Python max rel diff "
           f"{d.get('max_rel', float('nan')):.2e} over {d.get('n_values', 0)} values "
           f"(tol {st.spec.deploy.rel_tol:g}), full chain from raw drivers, derived in Fortran: "
           f"{', '.join(d.get('chain', {}).get('derived', [])) or 'none'}"
           + (f"; first parts at cell {first['cell']} {first['month']}" if first else ""))


def decide(st: RunState) -> dict:
    """WIN when the final form beats the baseline on the holdout by more than ``win.margin`` under
    every decidable convention and the deployment check did not fail."""
    j = st.journal
    vb = j.vector(fit_id(st.baseline), "holdout")
    vf = j.vector(fit_id(st.final), "holdout")
    rows = {}
    for c in st.spec.win.names():
        b, f = overall(vb, c), overall(vf, c)
        # A convention undefined on the holdout for both (e.g. IAV on a one-year holdout) cannot
        # be decided: reported as not applicable, not counted as a loss.
        applicable = bool(np.isfinite(b) or np.isfinite(f))
        rows[c] = {"baseline": b, "final": f, "margin": f - b, "applicable": applicable,
                   "wins": bool(np.isfinite(f) and np.isfinite(b) and f - b > st.spec.win.margin)}
    dep = j.get_state("deploy") or {}
    decided = [r for r in rows.values() if r["applicable"]]
    win = bool(decided) and all(r["wins"] for r in decided) and dep.get("ok") is not False
    final_form = j.form(st.final.form_hash)
    decision = {"win": bool(win), "margin_required": st.spec.win.margin, "conventions": rows,
                "deploy_ok": dep.get("ok"), "final_hash": final_form.hash,
                "final_terms": list(final_form.term_ids), "baseline_hash": st.baseline.form_hash,
                **decision_fields(j, final_form)}
    j.put_state("decision", decision)
    st.say("decision", f"{'WIN' if win else 'no win'} final {decision['final_label']} | "
           + " ".join(f"{c}:{fmt(r['baseline'])}->{fmt(r['final'])}" for c, r in rows.items()))
    return decision
