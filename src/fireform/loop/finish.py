"""The closing steps of a run: the sealed holdout scored once, the deployment check, the win
decision under the frozen spec."""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np
import pandas as pd

from fireform.exceptions import ScoringError
from fireform.fitting import FitResult
from fireform.forms import Form
from fireform.loop import uncertainty
from fireform.loop.data import COMPARISON_FIT_ID, COMPARISON_LABEL, MODEL_FIRE
from fireform.loop.deploy import deployment_check
from fireform.loop.identify import decision_fields
from fireform.loop.spec import WinSpec
from fireform.loop.state import RunState, fit_id, fmt
from fireform.scoring import CONVENTIONS, Benchmark, Scores, overall
from fireform.scoring.overall import undefined_components

__all__ = ["leaderboard_fits", "score_holdout", "deploy", "decide", "judge"]


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


def _nan_reasons(scores: Scores) -> dict[str, str]:
    """The global region's undefined components and why (the scorer's reasons)."""
    return {c: scores.reasons.get(("global", c), "undefined") for c, v in scores.vector("global").items()
            if not np.isfinite(v)} if "global" in scores.regions else {}


def score_holdout(st: RunState) -> None:
    """Score on the holdout, in one unseal (journaled per fit): the leaderboard's fits, the seed
    fits of the baseline and the final form, and the block-bootstrap intervals
    (:func:`fireform.loop.uncertainty.holdout_intervals`); scores, reasons for undefined
    components and intervals are committed with the read in one transaction. A run whose
    holdout was read once never reads it again."""
    j = st.journal
    j.put_state("final_fit", fit_id(st.final))
    recs = leaderboard_fits(st)
    j.put_state("leaderboard_fits", [r.id for r in recs])
    base_seeds, final_seeds = uncertainty.seed_fits(st, st.baseline), uncertainty.seed_fits(st, st.final)
    allfits = list({fit_id(r): r for r in [*recs, *base_seeds, *final_seeds]}.values())
    done = set(j.scores(period="holdout").fit_id)
    todo = [r for r in allfits if r.id not in done]
    # the model's own fire output (data.model), scored as the comparison row: never fitted, and
    # its holdout months read in the same unseal as the forms'
    compare = MODEL_FIRE in st.train and COMPARISON_FIT_ID not in done
    if not j.holdout_reads().empty:
        st.say("holdout", "already scored (journaled); not read again"
               + (f" ({len(todo)} fits left unscored by the earlier read)" if todo else ""))
    elif todo or compare:
        hold = st.split.unseal("final scoring: leaderboard of baseline, kept and final forms; seed fits "
                               "of the baseline and final forms; bootstrap intervals"
                               + (f"; {COMPARISON_LABEL!r} (the model's own burned area)" if compare else ""))
        assert st.holdout_read is not None, "the split journals every unseal through its callback"
        hb = Benchmark.from_drivers(hold)
        preds = {fit_id(r): np.asarray(j.form(r.form_hash).evaluate(r.params, hold)) for r in todo}
        scores = {fid: hb.score(p) for fid, p in preds.items()}
        extra: dict = {"holdout_reasons": {str(fid): _nan_reasons(sc) for fid, sc in scores.items()}}
        if st.spec.win.bootstrap > 0:
            try:
                extra["holdout_intervals"] = uncertainty.holdout_intervals(st, hold, hb, preds, base_seeds,
                                                                           final_seeds)
            except (ScoringError, ArithmeticError, ValueError) as e:
                # journaled with the read (which must be committed whatever happens here): the
                # verdict then says the intervals are missing and why
                extra["holdout_intervals_error"] = f"{type(e).__name__}: {e}"
        scored = [(fit_id(r), r.form_hash, scores[fit_id(r)].to_frame()) for r in todo]
        if compare:
            scored.append((COMPARISON_FIT_ID, "model", hb.score(hold.array(MODEL_FIRE)).to_frame()))
        j.add_holdout_scores(st.holdout_read, scored, state=extra)
        for r in todo:
            if r.id in (st.final.id, st.baseline.id):
                _residual_arrays(st, r, j.form(r.form_hash), hb, preds[fit_id(r)], "holdout")
        st.say("holdout", f"read once for {len(todo)} fits of {len({r.form_hash for r in todo})} forms "
               "(journaled)")
    for r in (st.baseline, st.final):
        if j.get_array(f"resid/train/{r.id}/cell_bias") is None:
            form = j.form(r.form_hash)
            _residual_arrays(st, r, form, st.bench, form.evaluate(r.params, st.train), "train")
    if MODEL_FIRE in st.train and j.scores(COMPARISON_FIT_ID, "train").empty:
        j.add_scores(COMPARISON_FIT_ID, "train", st.bench.score(st.train.array(MODEL_FIRE)).to_frame())
    for r, label in ((st.baseline, "baseline"), (st.final, "final")):
        v = j.vector(fit_id(r), "holdout")
        st.say("holdout", f"{label} [{r.form_hash}] " + " ".join(f"{c}={fmt(overall(v, c))}" for c in CONVENTIONS))
    if MODEL_FIRE in st.train:
        for period in ("train", "holdout"):
            v = j.vector(COMPARISON_FIT_ID, period)
            st.say("compare", f"{COMPARISON_LABEL} (the model's own burned area, not fitted) {period} "
                   + " ".join(f"{c}={fmt(overall(v, c))}" for c in CONVENTIONS))
    iv = j.get_state("holdout_intervals")
    if iv is None:
        err = j.get_state("holdout_intervals_error")
        st.say("interval", f"no holdout intervals: {err}" if err else "no holdout intervals (win.bootstrap "
               "= 0, or the holdout was read before they were computed)")
        return
    t = uncertainty.interval_frame(iv).set_index(["convention", "quantity"])
    st.say("interval", f"{iv['level']:.0%} intervals, {iv['how']}, seeds {len(iv['baseline_fits'])}+"
           f"{len(iv['final_fits'])}, {iv['seconds']:.1f}s | "
           + " ".join(f"{c}: diff {_pm(t.loc[(c, 'difference')])}" for c in dict.fromkeys(t.index.get_level_values(0))))


def _pm(row) -> str:
    if not np.isfinite(row["point"]):
        return "undefined"
    return f"{row['point']:+.4f} [{fmt(row['lo'])}, {fmt(row['hi'])}]"


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


def _undecidable(c: str, b: float, f: float, vb: Mapping[str, float], vf: Mapping[str, float],
                 reasons: Mapping[str, Mapping[str, str]]) -> str:
    """Why convention ``c`` cannot decide (empty when both scores are defined)."""
    parts = []
    for label, x, v, why in (("baseline", b, vb, reasons.get("baseline", {})),
                             ("final", f, vf, reasons.get("final", {}))):
        if np.isfinite(x):
            continue
        comps = undefined_components(v, c) if v else []
        detail = "; ".join(f"{k}: {why.get(k, 'undefined')}" for k in comps) or "no holdout scores"
        parts.append((label, detail))
    if not parts:
        return ""
    if len(parts) == 2 and parts[0][1] == parts[1][1]:
        return f"undefined on the holdout for both forms ({parts[0][1]})"
    return "; ".join(f"{label} undefined on the holdout ({d})" for label, d in parts) + (
        "; the other form's score is defined, but one side alone decides nothing" if len(parts) == 1 else "")


def judge(vb: Mapping[str, float], vf: Mapping[str, float], win: WinSpec, *,
          intervals: pd.DataFrame | None = None, reasons: Mapping[str, Mapping[str, str]] | None = None,
          replicates: int | None = None) -> dict[str, dict]:
    """The verdict per convention of ``win`` from the holdout component vectors of the baseline
    (``vb``) and the final form (``vf``); ``intervals``: :func:`uncertainty.interval_frame`;
    ``reasons``: {"baseline"|"final": {component: why undefined}}. Each row: baseline, final,
    difference, interval ({quantity: [lo, hi]} or None), level, decidable, reason, wins (None
    when not decidable)."""
    itab = (intervals if intervals is not None else uncertainty.interval_frame(None)).set_index(
        ["convention", "quantity"])
    reasons = reasons or {}
    rows = {}
    for c in win.names():
        b, f = overall(vb, c), overall(vf, c)
        reason = _undecidable(c, b, f, vb, vf, reasons)
        interval = None
        if (c, "difference") in itab.index:
            interval = {q: [float(itab.loc[(c, q), "lo"]), float(itab.loc[(c, q), "hi"])]
                        for q in ("baseline", "final", "difference")}
        lo = interval["difference"][0] if interval else float("nan")
        if not reason and win.require_interval and not np.isfinite(lo):
            reason = ("win.require_interval, but no interval of the difference: "
                      + ("none computed (win.bootstrap = 0 or the holdout was read before)" if interval is None
                         else f"fewer than half of the {replicates or 'bootstrap'} replicates are defined"))
        decidable = not reason
        wins = None
        if decidable:
            wins = bool(f - b > win.margin and (not win.require_interval or lo > win.margin))
        rows[c] = {"baseline": b, "final": f, "difference": f - b, "interval": interval,
                   "level": win.interval if interval else None, "decidable": decidable, "reason": reason,
                   "wins": wins}
    return rows


def decide(st: RunState) -> dict:
    """WIN when the deployment check did not fail, at least one convention is decidable, and under
    every decidable convention the final form beats the baseline on the holdout by more than
    ``win.margin`` (with ``win.require_interval``: the lower end of the difference's interval
    too). A convention is not decidable, with the reason, when either form's score is undefined
    on the holdout (e.g. IAV with one holdout year) or, with ``require_interval``, when its
    interval could not be computed; it counts neither as a loss nor as a win (:func:`judge`)."""
    j = st.journal
    w = st.spec.win
    reasons_all = j.get_state("holdout_reasons") or {}
    iv = j.get_state("holdout_intervals")
    rows = judge(j.vector(fit_id(st.baseline), "holdout"), j.vector(fit_id(st.final), "holdout"), w,
                 intervals=uncertainty.interval_frame(iv), replicates=iv["replicates"] if iv else None,
                 reasons={"baseline": reasons_all.get(str(fit_id(st.baseline)), {}),
                          "final": reasons_all.get(str(fit_id(st.final)), {})})
    dep = j.get_state("deploy") or {}
    decided = [r for r in rows.values() if r["decidable"]]
    win = bool(decided) and all(r["wins"] for r in decided) and dep.get("ok") is not False
    final_form = j.form(st.final.form_hash)
    decision = {"win": bool(win), "margin_required": w.margin, "require_interval": w.require_interval,
                "interval_level": w.interval, "conventions": rows,
                "not_decidable": {c: r["reason"] for c, r in rows.items() if not r["decidable"]},
                "deploy_ok": dep.get("ok"), "final_hash": final_form.hash,
                "final_terms": list(final_form.term_ids), "baseline_hash": st.baseline.form_hash,
                **decision_fields(j, final_form)}
    j.put_state("decision", decision)
    st.say("decision", f"{'WIN' if win else 'no win'} final {decision['final_label']} | margin "
           f"{w.margin:g}{f', interval lower end must clear it ({w.interval:.0%})' if w.require_interval else ''} | "
           + " ".join(_verdict(c, r) for c, r in rows.items()))
    return decision


def _verdict(c: str, r: dict) -> str:
    if not r["decidable"]:
        return f"{c}: not decidable ({r['reason']})"
    iv = r["interval"]["difference"] if r["interval"] else None
    band = f" [{fmt(iv[0])}, {fmt(iv[1])}]" if iv else ""
    return f"{c}: {fmt(r['baseline'])}->{fmt(r['final'])} diff {r['difference']:+.4f}{band} {'win' if r['wins'] else 'no win'}"
