"""Search views from the journal: Shapley ablation, convergence, form lineage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fireform.ablation.shapley import cannot_be_neutral
from fireform.loop import Run
from fireform.report import plots
from fireform.report.views.common import esc, figure, num, table

__all__ = ["shapley", "convergence", "lineage"]


def shapley(run: Run, out: Path) -> str:
    vals = run.shapley("values")
    if vals is None:
        why = next((line for line in run.events if "fireform shapley" in line), "Shapley not run")
        return f"<p>{esc(why)}</p>"
    inter = run.shapley("interactions")
    plots.shapley_bars(out / "shapley_bars.png", vals, title=f"Shapley shares, form {run.shapley_form_hash}")
    body = figure("shapley_bars.png", "Shapley shares of the incumbent's mechanisms",
                  "Each bar is a mechanism's share of the score gained over the scale-only form, "
                  "averaged over every order of adding mechanisms. A share near zero marks a "
                  "mechanism the form could drop (see the prune line below).")
    if inter is not None and not inter.empty:
        plots.interaction_heatmap(out / "shapley_interactions.png", inter,
                                  [str(p) for p in vals.player], title="pairwise interactions")
        body += figure("shapley_interactions.png", "pairwise Shapley interaction indices",
                       "Positive cells: two mechanisms help more together than apart; negative: "
                       "they explain the same thing (redundant).")
    body += table(vals)
    body += forced_lines(run.shapley("below_subsets"))
    body += prune_lines(run.prune)
    for a in run.adopted:
        body += (f"<p>Adopted after identification: the swap <code>{esc(a['to_hash'])}</code> "
                 f"({esc(' x '.join(a['terms']))}) fitted {a['to_value']:.4f} against the final form's "
                 f"{a['from_value']:.4f} (<code>{esc(a['from_hash'])}</code>), better by more than the fit noise "
                 f"{a['noise']:.4f}: the search had missed it, so it was pruned and identified in its place.</p>")
    return body


def forced_lines(below) -> str:
    """Terms whose most constant setting already costs their coalitions more than the noise:
    their share includes that cost."""
    forced = cannot_be_neutral(below)
    if forced.empty:
        return ""
    items = "".join(f"<li><code>{esc(r.term)}</code>: {r.cost_min:.4f} to {r.cost_max:.4f} on "
                    f"{r.coalitions} coalitions</li>" for r in forced.itertuples())
    return ("<p>Mechanisms that cannot be switched off inside their bounds: in the coalitions "
            "counted below, the mechanism at its most constant setting already scores lower than the "
            "same coalition without it, by the amounts shown. Their Shapley values include that "
            "cost, so a negative share means the mechanism cannot be neutral on these data, not "
            f"only that it explains nothing.</p><ul>{items}</ul>")


def prune_lines(pr: dict | None) -> str:
    """The prune step in words: the share rule's drop, then each term refitted without because
    the game said the others may cover for it."""
    if not pr:
        return ""
    out = ""
    if pr.get("dropped"):
        out += (f"<p>Prune: dropped {esc(', '.join(pr['dropped']))} (share under the threshold); pruned form "
                f"<code>{esc(pr['pruned_hash'])}</code> {'accepted' if pr['accepted'] else 'refused'}.</p>")
    rows = [(r, "dropped: the others cover for it") for r in pr.get("covered", [])]
    rows += [(r, "kept") for r in pr.get("kept_after_refit", [])]
    if rows:
        out += ("<p>Terms whose last-in cost in the game was within the screen were refitted without; a "
                "term is dropped when that fit stays within the fit noise of the best fit so far:</p><ul>"
                + "".join(f"<li><code>{esc(r['term'])}</code>: game cost {r['game_cost']:+.4f}, refit without "
                          f"it {r['without']:.4f} vs {r.get('reference', r['incumbent']):.4f}: {what}</li>" for r, what in rows)
                + "</ul>")
    return out


def convergence(run: Run, out: Path) -> str:
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
    return figure("convergence.png", "training objective per iteration",
                  "Dots are the proposals' fitted training objective (green kept, grey discarded); "
                  "the black step is the incumbent, the grey band the fit noise. A kept proposal "
                  "must clear the band; a flat step over the last iterations means the search "
                  "has stalled.") + (
        f"<p>Fit noise (acceptance threshold): {num(run.noise)}. Stop: {esc(run.stop_reason)}.</p>")


def lineage(run: Run) -> str:
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
    return table(lin, cls="lineage")
