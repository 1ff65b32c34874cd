"""Score views from the journal: input checks, leaderboard (with the published reference rows),
scores per region, residual maps and seasonal cycles, deployment check, win decision."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fireform.loop import Run
from fireform.report import plots
from fireform.report.views.common import esc, figure, num, table
from fireform.scoring import CONVENTIONS, overall
from fireform.scoring.overall import DESCRIPTIONS

__all__ = ["PUBLISHED", "inputs", "leaderboard", "regions", "residuals", "deployment", "decision"]

# ILAMB 2.x native scores of burned area vs GFED4.1s, TRENDY v14 (published table).
PUBLISHED = pd.DataFrame(
    [["ED \"Model C\" (3 mechanisms, 12 parameters)", 0.728, 0.506, 0.846, 0.771, 0.6713],
     ["CLASSIC", 0.738, 0.507, 0.782, 0.797, 0.6665],
     ["CLM6.0", 0.759, 0.474, 0.758, 0.838, 0.6606],
     ["CLM-FATES", 0.725, 0.525, 0.802, 0.707, 0.6568],
     ["ED stock", 0.681, 0.489, 0.439, 0.290, 0.4774]],
    columns=["model", "bias", "rmse", "seasonal", "spatial", "overall_ilamb2"],
)

_COMP = ["bias", "rmse", "seasonal", "spatial", "iav", "bias_ilamb3", "rmse_ilamb3",
         "seasonal_ilamb3", "spatial_ilamb3", "spatial_plain", "rmse_series"]


def inputs(run: Run) -> str:
    ic = run.input_check
    if ic is None:
        return "<p>No input-check report in the journal.</p>"
    s = ic["summary"]
    f = pd.DataFrame(ic["findings"])
    body = (f"<p>Input checks: <b>{'passed' if ic['ok'] else 'FAILED'}</b> &mdash; "
            f"{s.get('error', 0)} errors, {s.get('warning', 0)} warnings, {s.get('info', 0)} notes"
            f"{' (errors overridden explicitly)' if ic.get('overridden') else ''}.</p>")
    if not f.empty:
        body += table(f[["severity", "check", "variable", "region", "message"]].head(40))
    der = run.derived_inputs
    if not der.empty:
        body += ("<p>Inputs derived from model outputs when the files were read (the host model must "
                 "compute them the same way; the Fortran export's README repeats this):</p>" + table(der))
    miss = run.unavailable_mechanisms
    if not miss.empty:
        body += (f"<p>{len(miss)} library mechanisms could not run on these inputs and were never "
                 "proposed (the input each lacks):</p>" + table(miss))
    return body


def leaderboard(run: Run) -> str:
    rows = []
    for fit in run.leaderboard_fits:
        form = run.form(fit.form_hash)
        for period in ("train", "holdout"):
            v = run.vector(fit, period)
            if not v:
                continue
            row = {"form": f"{run.label(fit)}: {','.join(form.term_ids)}", "hash": form.hash,
                   "params": len(form.params), "period": period}
            row.update({c: v.get(c, np.nan) for c in _COMP})
            row.update({f"overall {c}": overall(v, c) for c in CONVENTIONS})
            rows.append(row)
    if run.has_comparison:  # the model's own burned area: scored on the same years, never fitted
        for period in ("train", "holdout"):
            v = run.comparison_vector(period)
            if v:
                rows.append({"form": f"{run.comparison_label} (not fitted)", "hash": "", "params": 0,
                             "period": period, **{c: v.get(c, np.nan) for c in _COMP},
                             **{f"overall {c}": overall(v, c) for c in CONVENTIONS}})
    lb = pd.DataFrame(rows)
    pub = PUBLISHED.rename(columns={"overall_ilamb2": "overall ilamb2"}).assign(
        model=lambda d: "PUBLISHED (TRENDY v14 vs GFED4.1s, other data): " + d.model)
    conv_list = "".join(f"<li><code>{esc(c)}</code>: {esc(DESCRIPTIONS.get(c, ''))}</li>" for c in CONVENTIONS)
    return (
        "<p>Full component vector and every Overall convention, training (fitted on) and holdout "
        "(sealed until the end, read once) periods, global region.</p>"
        + (table(lb, cls="wide") if not lb.empty else "<p>No scored forms yet.</p>")
        + f"<ul>{conv_list}</ul>"
        "<h3>Published reference rows</h3><p class=warn>These are <b>published figures on other "
        "data</b> (ILAMB 2.x native scores of TRENDY v14 models against GFED4.1s). They are not "
        "comparable to this run's numbers and are shown for scale only.</p>" + table(pub, cls="published")
    )


def regions(run: Run) -> str:
    rows = []
    for fit, label in ((run.baseline, "baseline"), (run.final, "final")):
        if fit is None:
            continue
        for period in ("train", "holdout"):
            sc = run.scores(fit, period)
            for region, g in sc.groupby("region", sort=False):
                v = dict(zip(g.component, g.value))
                rows.append({"form": label, "period": period, "region": region,
                             **{c: v.get(c, np.nan) for c in ("bias", "rmse", "seasonal", "spatial")},
                             **{f"overall {c}": overall(v, c) for c in ("ilamb2", "ilamb3")}})
    if run.has_comparison:
        for period in ("train", "holdout"):
            for region, g in run.comparison_scores(period).groupby("region", sort=False):
                v = dict(zip(g.component, g.value))
                rows.append({"form": run.comparison_label, "period": period, "region": region,
                             **{c: v.get(c, np.nan) for c in ("bias", "rmse", "seasonal", "spatial")},
                             **{f"overall {c}": overall(v, c) for c in ("ilamb2", "ilamb3")}})
    return table(pd.DataFrame(rows)) if rows else "<p>No regional scores.</p>"


def residuals(run: Run, out: Path) -> str:
    grid = run.grid
    base, final = run.baseline, run.final
    figs = []
    for period in ("train", "holdout"):
        for fit, label in ((base, "baseline"), (final, "final")):
            r = None if fit is None or grid is None else run.residuals(fit, period)
            if r is None:
                continue
            assert grid is not None  # no residuals are read without a grid
            name = f"resid_{period}_{label}.png"
            plots.residual_map(out / name, *grid, r.cell_bias,
                               title=f"{label} residual, {period} period (period mean)")
            figs.append(figure(name, f"{label} residual map, {period}",
                               "Model minus observed period-mean burned fraction per month: red "
                               "cells burn too much, blue too little. Compare baseline and final: "
                               "the final map should be paler, and the holdout map should look like "
                               "the training one."))
        rf = None if final is None else run.residuals(final, period)
        rb = None if base is None else run.residuals(base, period)
        if rf is not None and rf.cycle_ref is not None and rf.cycle_regions:
            name = f"cycles_{period}.png"
            assert rf.cycle_model is not None  # journaled together with cycle_ref
            bmod = rb.cycle_model if rb is not None else None
            plots.seasonal_cycles(out / name, rf.cycle_regions, rf.cycle_ref, rf.cycle_model,
                                  baseline=bmod if bmod is not None and bmod.shape == rf.cycle_model.shape else None,
                                  title=f"mean seasonal cycle per region, {period} period")
            figs.append(figure(name, f"seasonal cycles per region, {period}",
                               "Mean burned fraction per calendar month in each region: black "
                               "observed, red final, blue dashed baseline. Look at the month of the "
                               "peak (the Seasonal score) before the height, and at regions whose "
                               "fire season the final form shifts or flattens."))
    return "".join(figs) or "<p>No residual arrays in the journal.</p>"


def deployment(run: Run) -> str:
    d = run.deploy
    if d is None:
        return "<p>Deployment check not run.</p>"
    verdict = "PASS" if d.get("ok") else ("skipped" if d.get("ok") is None else "FAIL")
    return (f"<p>Fortran export compiled with gfortran and run on {d.get('n_values', 0)} "
            f"training cell-months: <b>{verdict}</b>.</p>" + table(pd.DataFrame([dict(d)])))


def _largest_shift(run: Run) -> float:
    sh = run.intervals["shift"].abs()
    return float(sh.max()) if sh.notna().any() else 0.0


def _band(point, lo, hi) -> str:
    if not np.isfinite(point):
        return "undefined"
    return f"{point:.4f} [{num(lo)}, {num(hi)}]" if np.isfinite(lo) else f"{point:.4f}"


def decision(run: Run, out: Path | None = None) -> str:
    dec = run.decision
    if dec is None:
        return f"<p>No decision (run status {esc(run.status)}).</p>"
    v = run.verdict
    level = dec.get("interval_level")
    need = dec.get("require_interval", False)
    rule = (f"the final form must beat the baseline on the holdout by more than {dec['margin_required']:g}"
            + (f", and so must the lower end of the {level:.0%} interval of the difference" if need else
               " (point values; the intervals are shown but not required by the spec)"))
    rows = []
    for r in v.itertuples():
        verdict = ("win" if r.wins else "no win") if r.decidable else f"not decidable ({r.reason})"
        rows.append({"convention": r.convention, "baseline": _band(r.baseline, r.baseline_lo, r.baseline_hi),
                     "final": _band(r.final, r.final_lo, r.final_hi),
                     "final - baseline": _band(r.difference, r.difference_lo, r.difference_hi), "verdict": verdict})
    how = run.interval_method
    method = (f"<p>Intervals ({how['level']:.0%}, percentile): {esc(how['how'])}; each replicate scores one "
              f"seed fit drawn at random per form ({len(how['baseline_fits'])} baseline, "
              f"{len(how['final_fits'])} final seed fits), so they combine the fit noise with the doubt "
              "from which years and regions the holdout happens to hold; the difference is taken on "
              "the same replicate (paired). Each fit's replicates are first shifted so their mean is its "
              "observed score: redrawn years repeat some, which lowers every score by itself "
              f"(largest drop removed here: {_largest_shift(run):.3f}).</p>" if how else
              "<p class=skip>No intervals were computed (win.bootstrap = 0, or the holdout was read "
              "before this run computed them).</p>")
    fig = ""
    if out is not None and not v.empty:
        plots.verdict_intervals(out / "verdict.png", v, margin=float(dec["margin_required"]),
                                title="holdout Overall per convention, with intervals")
        fig = figure("verdict.png", "holdout scores and their difference with intervals",
                     "Left: each form's holdout Overall with its interval. Right: final minus baseline "
                     "(green: win, red: no win, grey: not decidable) against the dashed margin. Look for "
                     "intervals that cross the margin: there the data cannot tell the forms apart, "
                     "whatever the point value says.")
    # the final form with its equivalence classes (alternatives the training data cannot tell
    # apart from a term, identify step) when the run has them
    named = dec.get("final_label") or " x ".join(dec["final_terms"])
    return (f"<p class=verdict>{'WIN' if dec['win'] else 'NO WIN'}: final form "
            f"{esc(named)} vs baseline. Rule: {esc(rule)}, under every "
            f"decidable convention of {esc(', '.join(dec['conventions']))}; a convention that cannot be "
            "decided counts neither way.</p>"
            + table(pd.DataFrame(rows), caption="Point value [interval] per convention; "
                    "not decidable: the reason.") + method + fig)
