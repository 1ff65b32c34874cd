"""The run report: static HTML + PNGs, built only from the run's journal.

``build_report(run_dir) -> Path`` writes ``<run>/report/index.html`` and its figures. Sections
(each a ``<section id=...>``, checked in headless Chromium by the tests): spec, inputs,
leaderboard (with the published ILAMB reference rows, marked as figures on other data), regions,
residuals (maps and seasonal cycles, training and holdout), shapley, convergence, lineage,
formula, deployment, decision.
"""

from __future__ import annotations

import html
import json
import string
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from fireform.report import plots

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


def build_report(run_dir) -> Path:
    """Write ``<run_dir>/report/index.html`` (+ PNGs) from the journal; returns its path."""
    from fireform.loop.journal import Journal
    from fireform.scoring import CONVENTIONS, overall
    from fireform.scoring.overall import DESCRIPTIONS

    j = Journal(run_dir)
    out = j.folder / "report"
    out.mkdir(exist_ok=True)
    run = j.run()
    spec = json.loads(run["spec_json"])
    fits = j.fits()
    props = j.proposals()
    final_id = j.get_state("final_fit")
    base_hash = j.get_state("baseline_hash")
    base_rows = fits[(fits.role == "baseline")]
    base_id = int(base_rows.iloc[0].id) if not base_rows.empty else None
    noise = (j.get_state("noise") or {}).get("value", float("nan"))
    parts: dict[str, str] = {}

    # -- spec ---------------------------------------------------------------------------------
    from fireform.loop.spec import _to_toml

    parts["spec"] = (
        f"<p>Spec <b>{_e(spec['name'])}</b>, frozen at the start of the run; hash "
        f"<code class=hash>{_e(run['spec_hash'])}</code>. Status: <b>{_e(run['status'])}</b>"
        f"{' (resumed ' + str(run['resumes']) + 'x)' if run['resumes'] else ''}.</p>"
        f"<pre>{_e(_to_toml(spec))}</pre>"
    )

    # -- inputs -------------------------------------------------------------------------------
    ic = j.input_check()
    if ic is None:
        parts["inputs"] = "<p>No input-check report in the journal.</p>"
    else:
        s = ic["summary"]
        f = pd.DataFrame(ic["findings"])
        body = (f"<p>Input checks: <b>{'passed' if ic['ok'] else 'FAILED'}</b> &mdash; "
                f"{s.get('error', 0)} errors, {s.get('warning', 0)} warnings, {s.get('info', 0)} notes"
                f"{' (errors overridden explicitly)' if ic.get('overridden') else ''}.</p>")
        if not f.empty:
            body += _table(f[["severity", "check", "variable", "region", "message"]].head(40))
        parts["inputs"] = body

    # -- leaderboard --------------------------------------------------------------------------
    lb_ids = j.get_state("leaderboard_fits") or ([base_id] if base_id else [])
    rows = []
    for fid in lb_ids:
        rec = j.fit_by_id(int(fid))
        form = j.form(rec.form_hash)
        label = ("baseline" if fid == base_id else "final" if fid == final_id else
                 "pruned" if rec.role == "pruned" else "kept")
        if fid == final_id and fid == base_id:
            label = "baseline = final"
        for period in ("train", "holdout"):
            v = j.vector(int(fid), period)
            if not v:
                continue
            row = {"form": f"{label}: {','.join(form.term_ids)}", "hash": form.hash,
                   "params": len(form.params), "period": period}
            row.update({c: v.get(c, np.nan) for c in _COMP})
            row.update({f"overall {c}": overall(v, c) for c in CONVENTIONS})
            rows.append(row)
    lb = pd.DataFrame(rows)
    pub = PUBLISHED.rename(columns={"overall_ilamb2": "overall ilamb2"}).assign(
        model=lambda d: "PUBLISHED (TRENDY v14 vs GFED4.1s, other data): " + d.model)
    conv_list = "".join(f"<li><code>{_e(c)}</code>: {_e(DESCRIPTIONS.get(c, ''))}</li>" for c in CONVENTIONS)
    parts["leaderboard"] = (
        "<p>Full component vector and every Overall convention, training (fitted on) and holdout "
        "(sealed until the end, read once) periods, global region.</p>"
        + (_table(lb, cls="wide") if not lb.empty else "<p>No scored forms yet.</p>")
        + f"<ul>{conv_list}</ul>"
        "<h3>Published reference rows</h3><p class=warn>These are <b>published figures on other "
        "data</b> (ILAMB 2.x native scores of TRENDY v14 models against GFED4.1s, from "
        "design/ILAMB_SCORING.md). They are not comparable to this run's numbers and are shown "
        "for scale only.</p>" + _table(pub, cls="published")
    )

    # -- regions ------------------------------------------------------------------------------
    reg_rows = []
    for fid, label in ((base_id, "baseline"), (final_id, "final")):
        if fid is None:
            continue
        for period in ("train", "holdout"):
            sc = j.scores(int(fid), period)
            if sc.empty:
                continue
            for region, g in sc.groupby("region", sort=False):
                v = dict(zip(g.component, g.value))
                reg_rows.append({"form": label, "period": period, "region": region,
                                 **{c: v.get(c, np.nan) for c in ("bias", "rmse", "seasonal", "spatial")},
                                 **{f"overall {c}": overall(v, c) for c in ("ilamb2", "ilamb3")}})
    parts["regions"] = (_table(pd.DataFrame(reg_rows)) if reg_rows else "<p>No regional scores.</p>")

    # -- residuals ----------------------------------------------------------------------------
    lat, lon = j.get_array("grid/lat"), j.get_array("grid/lon")
    iy, ix = j.get_array("grid/iy"), j.get_array("grid/ix")
    figs = []
    for period in ("train", "holdout"):
        for fid, label in ((base_id, "baseline"), (final_id, "final")):
            if fid is None:
                continue
            a = j.get_array(f"resid/{period}/{fid}/cell_bias")
            if a is None or lat is None:
                continue
            name = f"resid_{period}_{label}.png"
            plots.residual_map(out / name, lat, lon, iy, ix, a,
                               title=f"{label} residual, {period} period (period mean)")
            figs.append(_img(name, f"{label} residual map, {period}"))
        fid = final_id
        ref = j.get_array(f"resid/{period}/{fid}/cycle_ref")
        mod = j.get_array(f"resid/{period}/{fid}/cycle_model")
        regs = j.get_state(f"resid/{period}/{fid}/cycle_regions")
        bmod = j.get_array(f"resid/{period}/{base_id}/cycle_model") if base_id is not None else None
        if ref is not None and regs:
            name = f"cycles_{period}.png"
            plots.seasonal_cycles(out / name, regs, ref, mod,
                                  baseline=bmod if bmod is not None and bmod.shape == mod.shape else None,
                                  title=f"mean seasonal cycle per region, {period} period")
            figs.append(_img(name, f"seasonal cycles per region, {period}"))
    parts["residuals"] = "".join(figs) or "<p>No residual arrays in the journal.</p>"

    # -- shapley ------------------------------------------------------------------------------
    sh_hash = None
    shap_rows = j.db.execute("SELECT form_hash FROM shapley WHERE kind = 'values' ORDER BY t DESC LIMIT 1").fetchone()
    if shap_rows is not None:
        sh_hash = shap_rows["form_hash"]
    if sh_hash is None:
        why = next((line for line in j.events().line if "fireform shapley" in line), "Shapley not run")
        parts["shapley"] = f"<p>{_e(why)}</p>"
    else:
        vals = j.shapley(sh_hash, "values")
        inter = j.shapley(sh_hash, "interactions")
        body = _img("shapley_bars.png", "Shapley shares of the incumbent's mechanisms")
        plots.shapley_bars(out / "shapley_bars.png", vals, title=f"Shapley shares, form {sh_hash}")
        if inter is not None and not inter.empty:
            plots.interaction_heatmap(out / "shapley_interactions.png", inter,
                                      [str(p) for p in vals.player], title="pairwise interactions")
            body += _img("shapley_interactions.png", "pairwise Shapley interaction indices")
        body += _table(vals)
        pr = j.get_state("prune")
        if pr:
            body += (f"<p>Prune: dropped {_e(', '.join(pr['dropped']))}; pruned form "
                     f"<code>{_e(pr['pruned_hash'])}</code> {'accepted' if pr['accepted'] else 'refused'}.</p>")
        parts["shapley"] = body

    # -- convergence --------------------------------------------------------------------------
    if not props.empty and base_id is not None:
        base_val = float(fits[fits.id == base_id].value.iloc[0])
        inc, cur = [], base_val
        vals = []
        for r in props.itertuples():
            f = fits[(fits.form_hash == r.form_hash) & (fits.role == "candidate")] if r.form_hash else fits.iloc[0:0]
            v = float(f.value.iloc[0]) if not f.empty else np.nan
            vals.append(v)
            if r.status == "keep" and np.isfinite(v):
                cur = v
            inc.append(cur)
        plots.convergence(out / "convergence.png", props.iteration.to_numpy(), np.array(vals),
                          list(props.status), np.array(inc), float(noise), base_val)
        parts["convergence"] = _img("convergence.png", "training objective per iteration") + (
            f"<p>Fit noise (acceptance threshold): {_n(noise)}. Stop: {_e(j.get_state('stop_reason', ''))}.</p>")
    else:
        parts["convergence"] = "<p>No iterations.</p>"

    # -- lineage ------------------------------------------------------------------------------
    if props.empty:
        parts["lineage"] = "<p>No proposals.</p>"
    else:
        forms = j.forms().set_index("hash")
        lin = pd.DataFrame({
            "iter": props.iteration, "status": props.status, "action": props.action,
            "parent": props.parent_hash.fillna(""), "form": props.form_hash.fillna(""),
            "terms": [forms.terms.get(h, "") if h else "" for h in props.form_hash],
            "rationale": props.rationale.fillna(""),
            "reasons": [" | ".join(r) for r in props.reasons],
        })
        parts["lineage"] = _table(lin, cls="lineage")

    # -- formula ------------------------------------------------------------------------------
    if final_id is None:
        parts["formula"] = "<p>No final form yet.</p>"
    else:
        from fireform.mechanisms.references import bib_entries

        rec = j.fit_by_id(int(final_id))
        form = j.form(rec.form_hash)
        tex = form.latex(rec.theta)
        refs = sorted({r for t in form.terms for r in t.references})
        bib = bib_entries()
        cites = "".join(
            f"<li><code>{_e(k)}</code>: {_e(bib[k].get('author', ''))} ({_e(bib[k].get('year', ''))}). "
            f"{_e(bib[k].get('title', ''))}. <i>{_e(bib[k].get('journal', bib[k].get('howpublished', '')))}</i></li>"
            if k in bib else f"<li><code>{_e(k)}</code></li>" for k in refs)
        lines = [ln.strip().rstrip("\\").replace("&=", "=").strip() for ln in tex.splitlines()
                 if "&=" in ln]
        png = plots.formula_png(out / "formula.png", lines)
        parts["formula"] = ((_img("formula.png", "final formula (fitted values)") if png else "")
                            + f"<pre class=tex>{_e(tex)}</pre><pre>{_e(form.text())}</pre>"
                            f"<h3>Citations</h3><ul>{cites}</ul>")

    # -- deployment ---------------------------------------------------------------------------
    d = j.get_state("deploy")
    if d is None:
        parts["deployment"] = "<p>Deployment check not run.</p>"
    else:
        verdict = "PASS" if d.get("ok") else ("skipped" if d.get("ok") is None else "FAIL")
        parts["deployment"] = (f"<p>Fortran export compiled with gfortran and run on {d.get('n_values', 0)} "
                               f"training cell-months: <b>{verdict}</b>.</p>"
                               + _table(pd.DataFrame([{k: v for k, v in d.items()}])))

    # -- decision -----------------------------------------------------------------------------
    dec = j.get_state("decision")
    if dec is None:
        parts["decision"] = f"<p>No decision (run status {_e(run['status'])}).</p>"
    else:
        t = pd.DataFrame([{"convention": c, **r} for c, r in dec["conventions"].items()])
        parts["decision"] = (f"<p class=verdict>{'WIN' if dec['win'] else 'NO WIN'}: final form "
                             f"{_e(', '.join(dec['final_terms']))} vs baseline on the holdout, margin "
                             f"required {dec['margin_required']} under {', '.join(dec['conventions'])}.</p>"
                             + _table(t))

    titles = {"spec": "Experiment spec", "inputs": "Input checks", "leaderboard": "Leaderboard",
              "regions": "Scores per region", "residuals": "Residual maps and seasonal cycles",
              "shapley": "Shapley ablation", "convergence": "Convergence", "lineage": "Form lineage",
              "formula": "Final formula", "deployment": "Deployment check", "decision": "Win decision"}
    body = "\n".join(f"<section id='{k}'><h2>{titles[k]}</h2>{parts[k]}</section>" for k in SECTIONS)
    nav = " ".join(f"<a href='#{k}'>{titles[k]}</a>" for k in SECTIONS)
    page = string.Template(_template("report.html")).substitute(
        title=_e(f"fireform run {spec['name']}"), css=_template("report.css"), nav=nav, body=body,
        spec_hash=_e(run["spec_hash"]), run_dir=_e(str(j.folder)))
    path = out / "index.html"
    path.write_text(page)
    j.close()
    return path
