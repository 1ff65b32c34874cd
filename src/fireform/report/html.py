"""The run report: static HTML + PNGs, built only from a :class:`~fireform.loop.Run`.

``build_report(run_dir) -> Path`` writes ``<run>/report/index.html`` and its figures. Sections
(each a ``<section id=...>``, checked in headless Chromium by the tests): spec, inputs,
leaderboard (with the published ILAMB reference rows, marked as figures on other data), regions,
residuals (maps and seasonal cycles, training and holdout), shapley, convergence, lineage,
formula, deployment, decision.
"""

from __future__ import annotations

import html
import string
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from fireform.loop import Run, open_run
from fireform.mechanisms import bib_entries
from fireform.report import plots
from fireform.scoring import CONVENTIONS, overall
from fireform.scoring.overall import DESCRIPTIONS

__all__ = ["build_report", "PUBLISHED", "SECTIONS"]

SECTIONS = ("spec", "inputs", "leaderboard", "regions", "residuals", "shapley", "convergence",
            "lineage", "formula", "deployment", "decision")

# ILAMB 2.x native scores of burned area vs GFED4.1s, TRENDY v14 (design/ILAMB_SCORING.md).
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


def _e(x) -> str:
    return html.escape(str(x))


def _n(x, d: int = 4) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "&ndash;"
    return "&ndash;" if not np.isfinite(v) else f"{v:.{d}f}"


def _table(df: pd.DataFrame, *, cls: str = "", digits: int = 4) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    rows = []
    for r in df.itertuples(index=False):
        cells = []
        for v in r:
            if isinstance(v, (float, np.floating)):
                cells.append(f"<td class=num>{_n(v, digits)}</td>")
            else:
                cells.append(f"<td>{_e(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _img(rel: str, alt: str) -> str:
    return f"<figure><img src='{_e(rel)}' alt='{_e(alt)}'><figcaption>{_e(alt)}</figcaption></figure>"


def _template(name: str) -> str:
    return resources.files("fireform.report").joinpath("templates", name).read_text()


def _spec(run: Run) -> str:
    return (
        f"<p>Spec <b>{_e(run.name)}</b>, frozen at the start of the run; hash "
        f"<code class=hash>{_e(run.spec_hash)}</code>. Status: <b>{_e(run.status)}</b>"
        f"{' (resumed ' + str(run.resumes) + 'x)' if run.resumes else ''}.</p>"
        f"<pre>{_e(run.spec.to_toml())}</pre>"
    )


def _inputs(run: Run) -> str:
    ic = run.input_check
    if ic is None:
        return "<p>No input-check report in the journal.</p>"
    s = ic["summary"]
    f = pd.DataFrame(ic["findings"])
    body = (f"<p>Input checks: <b>{'passed' if ic['ok'] else 'FAILED'}</b> &mdash; "
            f"{s.get('error', 0)} errors, {s.get('warning', 0)} warnings, {s.get('info', 0)} notes"
            f"{' (errors overridden explicitly)' if ic.get('overridden') else ''}.</p>")
    if not f.empty:
        body += _table(f[["severity", "check", "variable", "region", "message"]].head(40))
    return body


def _leaderboard(run: Run) -> str:
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
    lb = pd.DataFrame(rows)
    pub = PUBLISHED.rename(columns={"overall_ilamb2": "overall ilamb2"}).assign(
        model=lambda d: "PUBLISHED (TRENDY v14 vs GFED4.1s, other data): " + d.model)
    conv_list = "".join(f"<li><code>{_e(c)}</code>: {_e(DESCRIPTIONS.get(c, ''))}</li>" for c in CONVENTIONS)
    return (
        "<p>Full component vector and every Overall convention, training (fitted on) and holdout "
        "(sealed until the end, read once) periods, global region.</p>"
        + (_table(lb, cls="wide") if not lb.empty else "<p>No scored forms yet.</p>")
        + f"<ul>{conv_list}</ul>"
        "<h3>Published reference rows</h3><p class=warn>These are <b>published figures on other "
        "data</b> (ILAMB 2.x native scores of TRENDY v14 models against GFED4.1s). They are not "
        "comparable to this run's numbers and are shown for scale only.</p>" + _table(pub, cls="published")
    )


def _regions(run: Run) -> str:
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
    return _table(pd.DataFrame(rows)) if rows else "<p>No regional scores.</p>"


def _residuals(run: Run, out: Path) -> str:
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
            figs.append(_img(name, f"{label} residual map, {period}"))
        rf = None if final is None else run.residuals(final, period)
        rb = None if base is None else run.residuals(base, period)
        if rf is not None and rf.cycle_ref is not None and rf.cycle_regions:
            name = f"cycles_{period}.png"
            assert rf.cycle_model is not None  # journaled together with cycle_ref
            bmod = rb.cycle_model if rb is not None else None
            plots.seasonal_cycles(out / name, rf.cycle_regions, rf.cycle_ref, rf.cycle_model,
                                  baseline=bmod if bmod is not None and bmod.shape == rf.cycle_model.shape else None,
                                  title=f"mean seasonal cycle per region, {period} period")
            figs.append(_img(name, f"seasonal cycles per region, {period}"))
    return "".join(figs) or "<p>No residual arrays in the journal.</p>"


def _shapley(run: Run, out: Path) -> str:
    vals = run.shapley("values")
    if vals is None:
        why = next((line for line in run.events if "fireform shapley" in line), "Shapley not run")
        return f"<p>{_e(why)}</p>"
    inter = run.shapley("interactions")
    body = _img("shapley_bars.png", "Shapley shares of the incumbent's mechanisms")
    plots.shapley_bars(out / "shapley_bars.png", vals, title=f"Shapley shares, form {run.shapley_form_hash}")
    if inter is not None and not inter.empty:
        plots.interaction_heatmap(out / "shapley_interactions.png", inter,
                                  [str(p) for p in vals.player], title="pairwise interactions")
        body += _img("shapley_interactions.png", "pairwise Shapley interaction indices")
    body += _table(vals)
    pr = run.prune
    if pr:
        body += (f"<p>Prune: dropped {_e(', '.join(pr['dropped']))}; pruned form "
                 f"<code>{_e(pr['pruned_hash'])}</code> {'accepted' if pr['accepted'] else 'refused'}.</p>")
    return body


def _convergence(run: Run, out: Path) -> str:
    props, fits, base = run.proposals, run.fits, run.baseline
    if props.empty or base is None:
        return "<p>No iterations.</p>"
    inc, cur, vals = [], base.value, []
    for r in props.itertuples():
        f = fits[(fits.form_hash == r.form_hash) & (fits.role == "candidate")] if r.form_hash else fits.iloc[0:0]
        v = float(f.value.iloc[0]) if not f.empty else np.nan
        vals.append(v)
        if r.status == "keep" and np.isfinite(v):
            cur = v
        inc.append(cur)
    plots.convergence(out / "convergence.png", props.iteration.to_numpy(), np.array(vals),
                      list(props.status), np.array(inc), run.noise, base.value)
    return _img("convergence.png", "training objective per iteration") + (
        f"<p>Fit noise (acceptance threshold): {_n(run.noise)}. Stop: {_e(run.stop_reason)}.</p>")


def _lineage(run: Run) -> str:
    props = run.proposals
    if props.empty:
        return "<p>No proposals.</p>"
    terms = {h: ",".join(run.form(h).term_ids) for h in props.form_hash.dropna().unique()}
    lin = pd.DataFrame({
        "iter": props.iteration, "status": props.status, "action": props.action,
        "parent": props.parent_hash.fillna(""), "form": props.form_hash.fillna(""),
        "terms": [terms.get(h, "") if h else "" for h in props.form_hash],
        "rationale": props.rationale.fillna(""),
        "reasons": [" | ".join(r) for r in props.reasons],
    })
    return _table(lin, cls="lineage")


def _formula(run: Run, out: Path) -> str:
    final = run.final
    if final is None:
        return "<p>No final form yet.</p>"
    form = run.form(final.form_hash)
    tex = form.latex(final.params)
    refs = sorted({r for t in form.terms for r in t.references})
    bib = bib_entries()
    cites = "".join(
        f"<li><code>{_e(k)}</code>: {_e(bib[k].get('author', ''))} ({_e(bib[k].get('year', ''))}). "
        f"{_e(bib[k].get('title', ''))}. <i>{_e(bib[k].get('journal', bib[k].get('howpublished', '')))}</i></li>"
        if k in bib else f"<li><code>{_e(k)}</code></li>" for k in refs)
    lines = [ln.strip().rstrip("\\").replace("&=", "=").strip() for ln in tex.splitlines() if "&=" in ln]
    png = plots.formula_png(out / "formula.png", lines)
    return ((_img("formula.png", "final formula (fitted values)") if png else "")
            + f"<pre class=tex>{_e(tex)}</pre><pre>{_e(form.text())}</pre>"
            f"<h3>Citations</h3><ul>{cites}</ul>")


def _deployment(run: Run) -> str:
    d = run.deploy
    if d is None:
        return "<p>Deployment check not run.</p>"
    verdict = "PASS" if d.get("ok") else ("skipped" if d.get("ok") is None else "FAIL")
    return (f"<p>Fortran export compiled with gfortran and run on {d.get('n_values', 0)} "
            f"training cell-months: <b>{verdict}</b>.</p>" + _table(pd.DataFrame([dict(d)])))


def _decision(run: Run) -> str:
    dec = run.decision
    if dec is None:
        return f"<p>No decision (run status {_e(run.status)}).</p>"
    t = pd.DataFrame([{"convention": c, **r} for c, r in dec["conventions"].items()])
    return (f"<p class=verdict>{'WIN' if dec['win'] else 'NO WIN'}: final form "
            f"{_e(', '.join(dec['final_terms']))} vs baseline on the holdout, margin "
            f"required {dec['margin_required']} under {', '.join(dec['conventions'])}.</p>" + _table(t))


_TITLES = {"spec": "Experiment spec", "inputs": "Input checks", "leaderboard": "Leaderboard",
           "regions": "Scores per region", "residuals": "Residual maps and seasonal cycles",
           "shapley": "Shapley ablation", "convergence": "Convergence", "lineage": "Form lineage",
           "formula": "Final formula", "deployment": "Deployment check", "decision": "Win decision"}


def build_report(run_dir: str | Path) -> Path:
    """Write ``<run_dir>/report/index.html`` (+ PNGs) from the run's results; returns its path."""
    run = open_run(run_dir)
    out = run.path / "report"
    out.mkdir(exist_ok=True)
    parts = {
        "spec": _spec(run), "inputs": _inputs(run), "leaderboard": _leaderboard(run),
        "regions": _regions(run), "residuals": _residuals(run, out), "shapley": _shapley(run, out),
        "convergence": _convergence(run, out), "lineage": _lineage(run), "formula": _formula(run, out),
        "deployment": _deployment(run), "decision": _decision(run),
    }
    body = "\n".join(f"<section id='{k}'><h2>{_TITLES[k]}</h2>{parts[k]}</section>" for k in SECTIONS)
    nav = " ".join(f"<a href='#{k}'>{_TITLES[k]}</a>" for k in SECTIONS)
    page = string.Template(_template("report.html")).substitute(
        title=_e(f"fireform run {run.name}"), css=_template("report.css"), nav=nav, body=body,
        spec_hash=_e(run.spec_hash), run_dir=_e(str(run.path)))
    path = out / "index.html"
    path.write_text(page)
    run.close()
    return path
